//! Reading features from the stores the catalog names. Every backend implements one
//! interface ([`FeatureStore`], [`FeatureSource`]) in a folder of its own — [`shapefile`],
//! [`geopackage`], [`postgis`] — and [`query`] runs filters, sorting and paging over any
//! source, leaving to it what it can do itself. Features are reprojected on request and
//! written as GeoJSON or GML 3.2.

mod csv;
mod edit;
mod feature;
pub mod filter;
mod geojson;
pub mod geopackage;
mod gml;
mod gml2;
pub mod gml_read;
mod kml;
pub mod postgis;
mod query;
mod reproject;
mod shape_zip;
pub mod shapefile;
mod source;
mod store;
mod wkb;
mod wkt;

pub use csv::{csv_header, csv_row, CSV_CONTENT_TYPE};
pub use feature::{Feature, Value};
pub use filter::{Compare, Filter, FilterError, Spatial};
pub use geojson::{FeatureCollectionJson, FeatureJson, FeaturesJson, JSON_TAIL};
pub use gml::{
    gml31_head, gml31_member, gml_feature_collection, gml_feature_document, gml_geometry, gml_head,
    gml_member, GmlOptions, GML31_CONTENT_TYPE, GML31_TAIL, GML_TAIL,
};
pub use gml2::{gml2_head, gml2_member, GML2_CONTENT_TYPE, GML2_TAIL};
pub use kml::{kml_head, kml_placemark, KML_CONTENT_TYPE, KML_TAIL};
pub use query::{query, query_source, Query, QueryResult, SortKey};
pub use reproject::{transform_bbox, Transformer};
pub use shape_zip::{shape_zip, SHAPE_ZIP_CONTENT_TYPE};
pub use source::{
    scan_in_crs, Applied, FeatureChange, FeatureSource, FeatureStore, MvtFuture, MvtTile, Pushdown,
    StoreTransaction,
};
pub use store::{begin, describe, is_database, list_types, open_source, open_store};
pub use wkb::{parse_wkb, to_wkb};
pub use wkt::{parse_wkt, to_wkt};

/// Errors reading features.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The store or type could not be found or read.
    #[error(transparent)]
    Source(#[from] meridian_sources::SourceError),
    /// The data is damaged.
    #[error("{0}")]
    Data(String),
    /// A CRS Meridian cannot transform.
    #[error("unsupported CRS: {0}")]
    Crs(String),
    /// The source takes no writes.
    #[error("this store is read-only in Meridian")]
    ReadOnly,
    /// A change the store cannot take (the caller's mistake: a value of the wrong kind, a
    /// geometry the file cannot hold).
    #[error("{0}")]
    Invalid(String),
}
