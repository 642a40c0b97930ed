//! Where each kind of object lives in the data directory.

use meridian_catalog::Kind;

/// The file a store of this kind is written to.
pub fn store_file_name(kind: Kind) -> &'static str {
    match kind {
        Kind::CoverageStore => "coveragestore.xml",
        Kind::WmsStore => "wmsstore.xml",
        Kind::WmtsStore => "wmtsstore.xml",
        _ => "datastore.xml",
    }
}

/// The file a resource of this kind is written to.
pub fn resource_file_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Coverage => "coverage.xml",
        Kind::WmsLayer => "wmslayer.xml",
        Kind::WmtsLayer => "wmtslayer.xml",
        _ => "featuretype.xml",
    }
}

/// Store files in the order GeoServer looks for them.
pub const STORE_FILES: &[(&str, Kind)] = &[
    ("datastore.xml", Kind::DataStore),
    ("coveragestore.xml", Kind::CoverageStore),
    ("wmsstore.xml", Kind::WmsStore),
    ("wmtsstore.xml", Kind::WmtsStore),
];

/// Resource files in the order GeoServer looks for them.
pub const RESOURCE_FILES: &[(&str, Kind)] = &[
    ("featuretype.xml", Kind::FeatureType),
    ("coverage.xml", Kind::Coverage),
    ("wmslayer.xml", Kind::WmsLayer),
    ("wmtslayer.xml", Kind::WmtsLayer),
];

/// The config file name of a style: `<name>.xml`, or `<name>.xml.xml` when the style body itself
/// is called `<name>.xml`.
pub fn style_file_name(name: &str, filename: Option<&str>) -> String {
    let plain = format!("{name}.xml");
    if filename == Some(plain.as_str()) {
        format!("{name}.xml.xml")
    } else {
        plain
    }
}
