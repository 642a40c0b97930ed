//! The one interface every backend implements: a store lists its feature types and opens
//! each as a [`FeatureSource`], which gives its schema and bounds, streams its features (by
//! bounding box) and runs what it can of a query itself; a store takes writes as a
//! [`StoreTransaction`].
//!
//! WFS, OGC API Features and the REST configuration use only these traits; [`crate::query`]
//! runs the rest of a query (filters, sorting, paging) over any source in memory.

use crate::feature::{Feature, Value};
use crate::filter::Filter;
use crate::query::{Query, QueryResult};
use crate::reproject::transform_bbox;
use crate::FeatureError;
use geo_types::{Geometry, Rect};
use meridian_sources::{Bounds, Schema};

/// What a source runs itself rather than leaving it to the generic query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushdown {
    /// Any filter ([`FeatureSource::run`] takes whole queries).
    pub filters: bool,
    /// A bounding box ([`FeatureSource::scan`] reads only what may intersect it).
    pub bbox: bool,
    /// Sorting.
    pub sorting: bool,
    /// Offset and limit.
    pub paging: bool,
    /// Counting every feature without reading them ([`FeatureSource::count_all`]).
    pub count: bool,
}

/// A change to the features of one type (WFS-T): what [`StoreTransaction::apply`] takes.
/// Geometries are in the type's native CRS; property names are the type's own.
#[derive(Debug, Clone)]
pub enum FeatureChange {
    /// Add a feature (its id is the source's to give).
    Insert(Feature),
    /// Set properties (and the geometry, if given) of the features the filter selects.
    Update {
        /// Which features.
        filter: Filter,
        /// New values.
        properties: Vec<(String, Value)>,
        /// A new geometry.
        geometry: Option<Geometry<f64>>,
    },
    /// Remove the features the filter selects.
    Delete(Filter),
}

/// The features one change touched, by id (`<id_prefix>.<key>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Ids of the inserted features.
    pub inserted: Vec<String>,
    /// Ids of the updated features.
    pub updated: Vec<String>,
    /// Ids of the deleted features.
    pub deleted: Vec<String>,
}

/// Changes to one store, applied in order and kept only by [`StoreTransaction::commit`]:
/// dropped uncommitted, it leaves the store as it was.
pub trait StoreTransaction: Send {
    /// Apply one change to the feature type `type_name` (native name) whose feature ids are
    /// `<id_prefix>.<key>`; later changes see it.
    fn apply(
        &mut self,
        type_name: &str,
        id_prefix: &str,
        change: &FeatureChange,
    ) -> Result<Applied, FeatureError>;

    /// Keep every change applied.
    fn commit(self: Box<Self>) -> Result<(), FeatureError>;
}

/// One feature type of a store.
pub trait FeatureSource: Send {
    /// Its schema: attributes, native CRS, bounds.
    fn schema(&self) -> Result<Schema, FeatureError>;

    /// Its native bounds, when known.
    fn bounds(&self) -> Result<Option<Bounds>, FeatureError> {
        Ok(self.schema()?.bounds)
    }

    /// What it runs itself.
    fn pushdown(&self) -> Pushdown;

    /// Hand every feature that may intersect `bbox` (native CRS; every feature when `None`)
    /// to `each`, in the source's natural order, until `each` returns false. Feature ids are
    /// `<id_prefix>.<key>`.
    fn scan(
        &self,
        bbox: Option<Rect<f64>>,
        id_prefix: &str,
        each: &mut dyn FnMut(Feature) -> bool,
    ) -> Result<(), FeatureError>;

    /// Like [`FeatureSource::scan`], for a caller that reads geometries only: a source may
    /// leave the attributes out (features then have no properties).
    fn scan_geometries(
        &self,
        bbox: Option<Rect<f64>>,
        id_prefix: &str,
        each: &mut dyn FnMut(Feature) -> bool,
    ) -> Result<(), FeatureError> {
        self.scan(bbox, id_prefix, each)
    }

    /// A Mapbox vector tile of this source's features in `tile`, when the source makes it
    /// itself (PostGIS: `ST_AsMVT`), as a future to run on the caller's runtime: it waits for
    /// the database without holding a thread. `None`, or the future's `Ok(None)`: the caller
    /// builds the tile from a scan.
    fn mvt(&self, _tile: &MvtTile<'_>) -> Option<MvtFuture> {
        None
    }

    /// How many features there are, when known without reading them.
    fn count_all(&self) -> Result<Option<usize>, FeatureError> {
        Ok(None)
    }

    /// Run a whole query (sources whose [`Pushdown::filters`] is set).
    fn run(&self, _q: &Query, _id_prefix: &str) -> Result<QueryResult, FeatureError> {
        Err(FeatureError::Data(
            "this source does not run queries itself".into(),
        ))
    }
}

/// A store: the feature types it offers.
pub trait FeatureStore: Send {
    /// The native names of its feature types.
    fn type_names(&self) -> Result<Vec<String>, FeatureError>;

    /// One feature type by native name.
    fn source(&self, name: &str) -> Result<Box<dyn FeatureSource>, FeatureError>;

    /// Start changing the store's features (stores that take no writes answer
    /// [`FeatureError::ReadOnly`]).
    fn begin(&self) -> Result<Box<dyn StoreTransaction>, FeatureError> {
        Err(FeatureError::ReadOnly)
    }
}

/// Hand `each` the features that may intersect `bbox`, given in EPSG:`crs`, of a source whose
/// native CRS is EPSG:`native` (the box is transformed to it; features stay native).
pub fn scan_in_crs(
    source: &dyn FeatureSource,
    bbox: [f64; 4],
    crs: u32,
    native: u32,
    id_prefix: &str,
    each: &mut dyn FnMut(Feature) -> bool,
) -> Result<(), FeatureError> {
    let native_box = transform_bbox(bbox, crs, native)?;
    source.scan(Some(native_box), id_prefix, &mut |f: Feature| {
        let hit = f.geometry.as_ref().is_some_and(|g| {
            use geo::Intersects;
            g.intersects(&native_box)
        });
        !hit || each(f)
    })
}

/// A vector tile a source makes itself ([`FeatureSource::mvt`]): the tile, or `None` when the
/// source cannot make this one.
pub type MvtFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Vec<u8>>, FeatureError>> + Send>,
>;

/// A vector tile asked of a source ([`FeatureSource::mvt`]).
#[derive(Debug, Clone)]
pub struct MvtTile<'a> {
    /// The tile's box, in `epsg`.
    pub bbox: [f64; 4],
    /// The tile's CRS.
    pub epsg: u32,
    /// Units of a tile side.
    pub extent: u32,
    /// Units kept around the tile.
    pub buffer: u32,
    /// The tile layer's name.
    pub layer: &'a str,
    /// The features to keep (the layer's own filter).
    pub filter: Option<&'a crate::Filter>,
}
