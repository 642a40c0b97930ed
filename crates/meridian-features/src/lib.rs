//! Reading features from the stores the catalog names: shapefiles and GeoPackage tables,
//! streamed with bbox and attribute filters and paging, reprojected on request, and written as
//! GeoJSON or GML 3.2.

mod feature;
mod filter;
mod geojson;
mod gml;
mod gpkg;
mod postgis;
mod query;
mod reproject;
mod shp;
mod wkt;

pub use feature::{Feature, Value};
pub use filter::{Compare, Filter, Spatial};
pub use geojson::{FeatureCollectionJson, FeatureJson, FeaturesJson};
pub use gml::{gml_feature_collection, GmlOptions};
pub use query::{query, Query, QueryResult, SortKey};
pub use reproject::Transformer;
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
}
