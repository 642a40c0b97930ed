//! What a store is, below the backends that read it (`meridian-features`): its connection
//! parameters, the filesystem sandbox its files must lie in, CRS helpers, and the schema of
//! a feature type (attributes, native CRS, bounds) as GeoServer reports it.

mod crs;
pub mod sandbox;
mod sql_view;
mod store;

pub use crs::{epsg_from_wkt, is_geographic, lat_lon_bounds, wkt_for_epsg};
pub use sql_view::{parse_view_params, SqlView, ViewError, ViewGeometry, ViewParameter};
pub use store::StoreParams;

/// Errors reading a store.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The store's files are missing or unreadable.
    #[error("{0}")]
    Io(String),
    /// The store type is not readable by Meridian yet.
    #[error("reading {0} stores is not supported yet")]
    Unsupported(String),
    /// The type is not in the store.
    #[error("'{0}' is not a feature type of this store")]
    NoSuchType(String),
    /// The data is malformed.
    #[error("{0}")]
    Format(String),
    /// The file lies outside `GEOSERVER_FILESYSTEM_SANDBOX`.
    #[error("'{0}' is outside the filesystem sandbox (GEOSERVER_FILESYSTEM_SANDBOX)")]
    OutsideSandbox(String),
}

/// The JTS binding GeoServer gives a geometry column of an SQL geometry type (GeoPackage and
/// PostGIS name them alike: `MULTIPOLYGON`, …); unknown or generic types are `Geometry`.
pub fn jts_binding(sql_type: &str) -> String {
    let name = match sql_type.to_ascii_uppercase().as_str() {
        "POINT" => "Point",
        "LINESTRING" => "LineString",
        "POLYGON" => "Polygon",
        "MULTIPOINT" => "MultiPoint",
        "MULTILINESTRING" => "MultiLineString",
        "MULTIPOLYGON" => "MultiPolygon",
        "GEOMETRYCOLLECTION" => "GeometryCollection",
        _ => "Geometry",
    };
    format!("org.locationtech.jts.geom.{name}")
}

/// A bounding box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// West.
    pub minx: f64,
    /// South.
    pub miny: f64,
    /// East.
    pub maxx: f64,
    /// North.
    pub maxy: f64,
}

impl Bounds {
    /// A bounding box as GeoServer stores it (`<minx>`, `<maxx>`, `<miny>`, `<maxy>`); `None`
    /// when a corner is missing or not a number.
    pub fn from_xml(e: &meridian_xml::Element) -> Option<Bounds> {
        let n = |k: &str| e.child_text(k).and_then(|t| t.parse::<f64>().ok());
        Some(Bounds {
            minx: n("minx")?,
            miny: n("miny")?,
            maxx: n("maxx")?,
            maxy: n("maxy")?,
        })
    }
}

/// An attribute as GeoServer reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Column name.
    pub name: String,
    /// The Java class GeoServer reports (`java.lang.String`, `org.locationtech.jts.geom.Point`).
    pub binding: String,
    /// Whether null is allowed.
    pub nillable: bool,
    /// Declared length for strings.
    pub length: Option<u32>,
}

/// The schema of one feature type.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Type name.
    pub name: String,
    /// Attributes, geometry included.
    pub attributes: Vec<Attribute>,
    /// `EPSG:xxxx` when known.
    pub srs: Option<String>,
    /// Native CRS as WKT when known.
    pub native_wkt: Option<String>,
    /// Native bounds.
    pub bounds: Option<Bounds>,
}
