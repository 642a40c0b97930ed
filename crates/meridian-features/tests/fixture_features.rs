//! Every vector layer of GeoServer's release data directory reads with the README's counts.
#![allow(clippy::unwrap_used)]

use meridian_features::{query, Compare, Filter, Query, SortKey};
use meridian_sources::StoreParams;

fn store(params: &[(&str, &str)]) -> StoreParams {
    StoreParams::from_pairs(params, meridian_testkit::fixture_datadir())
}

fn count(s: &StoreParams, t: &str) -> usize {
    let q = Query {
        limit: 0,
        ..Default::default()
    };
    query(s, t, t, &q).unwrap().matched
}

#[test]
fn feature_counts_match_the_fixture_readme() {
    let sf = store(&[("url", "file:data/sf")]);
    for (t, n) in [
        ("streams", 104),
        ("restricted", 4),
        ("archsites", 25),
        ("roads", 825),
        ("bugsites", 90),
    ] {
        assert_eq!(count(&sf, t), n, "sf:{t}");
    }
    let nyc = store(&[("url", "file:data/nyc")]);
    for (t, n) in [
        ("poly_landmarks", 80),
        ("giant_polygon", 1),
        ("tiger_roads", 8333),
        ("poi", 6),
    ] {
        assert_eq!(count(&nyc, t), n, "nyc:{t}");
    }
    let taz = store(&[("url", "file:data/taz_shapes")]);
    for (t, n) in [
        ("tasmania_roads", 14),
        ("tasmania_cities", 1),
        ("tasmania_water_bodies", 7),
        ("tasmania_state_boundaries", 1),
    ] {
        assert_eq!(count(&taz, t), n, "taz:{t}");
    }
    assert_eq!(
        count(
            &store(&[("url", "file:data/shapefiles/states.shp")]),
            "states"
        ),
        49
    );
    let ne = store(&[
        ("dbtype", "geopkg"),
        ("database", "file:data/ne/natural_earth.gpkg"),
    ]);
    for (t, n) in [
        ("countries", 177),
        ("populated_places", 243),
        ("boundary_lines_land", 177),
        ("coastlines", 176),
        ("disputed_areas", 4),
    ] {
        assert_eq!(count(&ne, t), n, "ne:{t}");
    }
}

#[test]
fn paging_sorting_filters_and_attributes() {
    let states = store(&[("url", "file:data/shapefiles/states.shp")]);
    let q = Query {
        offset: 10,
        limit: 5,
        ..Default::default()
    };
    let r = query(&states, "states", "states", &q).unwrap();
    assert_eq!((r.matched, r.features.len()), (49, 5));
    assert_eq!(r.features[0].id, "states.11");
    let q = Query {
        sort: vec![SortKey {
            property: "STATE_NAME".into(),
            descending: false,
        }],
        limit: 3,
        ..Default::default()
    };
    let r = query(&states, "states", "states", &q).unwrap();
    let names: Vec<String> = r
        .features
        .iter()
        .map(|f| f.get("STATE_NAME").unwrap().as_text())
        .collect();
    assert_eq!(names, ["Alabama", "Arizona", "Arkansas"]);
    let q = Query {
        filter: Filter::Cmp("STATE_ABBR".into(), Compare::Eq, "TX".into()),
        ..Default::default()
    };
    let r = query(&states, "states", "states", &q).unwrap();
    assert_eq!(r.matched, 1);
    assert!(matches!(
        r.features[0].geometry,
        Some(geo_types::Geometry::MultiPolygon(_))
    ));
    // GeoPackage: R-tree bbox and attributes.
    let ne = store(&[
        ("dbtype", "geopkg"),
        ("database", "file:data/ne/natural_earth.gpkg"),
    ]);
    let bbox = geo_types::Rect::new(
        geo_types::Coord { x: -10.0, y: 35.0 },
        geo_types::Coord { x: 30.0, y: 60.0 },
    );
    let q = Query {
        filter: Filter::BBox(bbox),
        ..Default::default()
    };
    let r = query(&ne, "populated_places", "populated_places", &q).unwrap();
    assert!(r.matched > 10 && r.matched < 243, "{}", r.matched);
    assert!(r
        .features
        .iter()
        .any(|f| f.get("NAME").map(|v| v.as_text()) == Some("Paris".into())));
    assert!(query(&ne, "nope", "nope", &Query::default()).is_err());
}

#[test]
fn the_cpg_file_names_the_text_encoding() {
    let tmp = tempfile::tempdir().unwrap();
    let src = meridian_testkit::fixture_datadir().join("data/sf");
    for ext in ["shp", "shx", "dbf", "prj"] {
        std::fs::copy(
            src.join(format!("archsites.{ext}")),
            tmp.path().join(format!("archsites.{ext}")),
        )
        .unwrap();
    }
    // "Signature Rock" becomes "Signature Röck", the ö as one Latin-1 byte.
    let dbf = tmp.path().join("archsites.dbf");
    let mut bytes = std::fs::read(&dbf).unwrap();
    let at = bytes
        .windows(14)
        .position(|w| w == b"Signature Rock")
        .unwrap()
        + 11;
    bytes[at] = 0xF6;
    std::fs::write(&dbf, bytes).unwrap();
    std::fs::write(tmp.path().join("archsites.cpg"), "ISO-8859-1").unwrap();
    let s = StoreParams {
        params: vec![("url".into(), format!("file:{}", tmp.path().display()))],
        store_type: None,
        data_dir: tmp.path().to_path_buf(),
        view: None,
    };
    let r = query(
        &s,
        "archsites",
        "archsites",
        &Query {
            limit: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        r.features[0].get("str1").unwrap().as_text(),
        "Signature Röck"
    );
}

#[test]
fn an_unfiltered_page_counts_from_the_index_like_a_full_scan() {
    let nyc = store(&[("url", "file:data/nyc")]);
    let gpkg = store(&[
        ("database", "file:data/ne/natural_earth.gpkg"),
        ("dbtype", "geopkg"),
    ]);
    let world = geo_types::Rect::new((-180.0, -90.0), (180.0, 90.0));
    for (s, t, n) in [(&nyc, "tiger_roads", 8333), (&gpkg, "countries", 177)] {
        let page = Query {
            offset: 20,
            limit: 10,
            ..Default::default()
        };
        // Filter::All stops reading after the page and takes the count from the source.
        let r = query(s, t, t, &page).unwrap();
        assert_eq!((r.matched, r.features.len()), (n, 10), "{t}");
        // A filter every feature passes scans everything: same count, same page.
        let scanned = query(
            s,
            t,
            t,
            &Query {
                filter: Filter::BBox(world),
                ..page
            },
        )
        .unwrap();
        assert_eq!(scanned.matched, n, "{t}");
        let ids = |r: &meridian_features::QueryResult| {
            r.features.iter().map(|f| f.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&r), ids(&scanned), "{t}");
    }
}

/// Every backend answers through the same interface: its types, its schema, what it pushes
/// down, and features by a bounding box given in another CRS.
#[test]
fn sources_answer_through_one_interface_and_read_by_a_box_in_another_crs() {
    use meridian_features::{open_store, scan_in_crs};
    let sf = open_store(&store(&[("url", "file:data/sf")])).unwrap();
    assert!(sf.type_names().unwrap().contains(&"archsites".to_string()));
    let archsites = sf.source("archsites").unwrap();
    assert_eq!(
        archsites.schema().unwrap().srs.as_deref(),
        Some("EPSG:26713")
    );
    assert!(archsites.pushdown().count && !archsites.pushdown().filters);
    assert_eq!(archsites.count_all().unwrap(), Some(25));
    // A box in WGS84 around part of the sites (EPSG:26713 natively).
    let bbox = [-103.8, 44.35, -103.6, 44.5];
    let mut inside = Vec::new();
    scan_in_crs(&*archsites, bbox, 4326, 26713, "archsites", &mut |f| {
        inside.push(f);
        true
    })
    .unwrap();
    assert!(!inside.is_empty() && inside.len() < 25, "{}", inside.len());
    let native = meridian_features::transform_bbox(bbox, 4326, 26713).unwrap();
    for f in &inside {
        use geo::Intersects;
        assert!(f.geometry.as_ref().unwrap().intersects(&native), "{}", f.id);
    }
    // Stores of unknown kinds take no writes, and say so.
    let odd = store(&[("dbtype", "oracle")]);
    assert!(meridian_features::begin(&odd).is_err());
    let ne = open_store(&store(&[
        ("dbtype", "geopkg"),
        ("database", "file:data/ne/natural_earth.gpkg"),
    ]))
    .unwrap();
    let first = ne.type_names().unwrap().remove(0);
    assert!(ne.source(&first).unwrap().pushdown().bbox);
}
