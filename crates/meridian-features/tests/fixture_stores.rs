//! Reading the stores of GeoServer's release data directory.
#![allow(clippy::unwrap_used)]

use meridian_features::{describe, list_types};
use meridian_sources::{lat_lon_bounds, StoreParams};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    meridian_testkit::fixture_datadir()
}

fn store(params: &[(&str, &str)]) -> StoreParams {
    StoreParams::from_pairs(params, data_dir())
}

#[test]
fn shapefile_directory_store_lists_and_describes() {
    let s = store(&[("url", "file:data/sf")]);
    assert_eq!(
        list_types(&s).unwrap(),
        ["archsites", "bugsites", "restricted", "roads", "streams"]
    );
    let a = describe(&s, "archsites").unwrap();
    assert_eq!(a.srs.as_deref(), Some("EPSG:26713"));
    let names: Vec<&str> = a.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["the_geom", "cat", "str1"]);
    assert_eq!(a.attributes[0].binding, "org.locationtech.jts.geom.Point");
    assert_eq!(a.attributes[2].binding, "java.lang.String");
    let b = a.bounds.unwrap();
    assert_eq!(
        (b.minx, b.miny, b.maxx, b.maxy),
        (589860.0, 4914479.0, 608355.0, 4926490.0)
    );
    let ll = lat_lon_bounds(26713, b).unwrap();
    assert!((ll.minx - -103.8725).abs() < 0.01, "{ll:?}");
    assert!(describe(&s, "nope").is_err());
}

#[test]
fn single_shapefile_store_describes_states() {
    let s = store(&[("url", "file:data/shapefiles/states.shp")]);
    assert_eq!(list_types(&s).unwrap(), ["states"]);
    let st = describe(&s, "states").unwrap();
    assert_eq!(st.srs.as_deref(), Some("EPSG:4326"));
    assert!(st
        .attributes
        .iter()
        .any(|a| a.name == "STATE_NAME" && a.binding == "java.lang.String"));
    assert_eq!(
        st.attributes[0].binding,
        "org.locationtech.jts.geom.MultiPolygon"
    );
}

#[test]
fn geopackage_store_lists_and_describes() {
    let s = store(&[
        ("dbtype", "geopkg"),
        ("database", "file:data/ne/natural_earth.gpkg"),
    ]);
    assert_eq!(
        list_types(&s).unwrap(),
        [
            "boundary_lines_land",
            "coastlines",
            "countries",
            "disputed_areas",
            "populated_places"
        ]
    );
    let p = describe(&s, "populated_places").unwrap();
    assert_eq!(p.srs.as_deref(), Some("EPSG:4326"));
    assert!(
        p.attributes.iter().all(|a| a.name != "fid"),
        "primary key hidden"
    );
    assert!(p
        .attributes
        .iter()
        .any(|a| a.name == "GEOMETRY" && a.binding == "org.locationtech.jts.geom.Point"));
    assert!(p
        .attributes
        .iter()
        .any(|a| a.name == "NAME" && a.binding == "java.lang.String"));
    assert!(describe(&s, "nope").is_err());
}

#[test]
fn missing_files_and_unsupported_stores_are_errors_not_panics() {
    assert!(list_types(&store(&[("url", "file:data/missing")])).is_err());
    let e = list_types(&store(&[("dbtype", "postgis"), ("host", "localhost")])).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("postgis"), "{e}");
    assert!(list_types(&store(&[
        ("dbtype", "geopkg"),
        ("database", "file:none.gpkg")
    ]))
    .is_err());
}
