//! The release data directory's styles drawn over its data.
#![allow(clippy::unwrap_used)]

use meridian_features::{open_source, Feature};
use meridian_render::{encode, scale_denominator, sld, Map, MapExtent};
use meridian_sources::StoreParams;
use std::path::Path;

fn fixture() -> std::path::PathBuf {
    meridian_testkit::fixture_datadir()
}

/// Draw shapefile `shp` (under the fixture's data folder) with style file `style` into a
/// `w`×`h` map of `bbox` (EPSG:4326), white background.
fn draw(shp: &str, style: &str, bbox: [f64; 4], w: u32, h: u32) -> (Map, sld::Style) {
    let dd = fixture();
    let params = StoreParams {
        params: vec![("url".into(), format!("file:data/{shp}"))],
        store_type: Some("Shapefile".into()),
        data_dir: dd.clone(),
        view: None,
    };
    let native = Path::new(shp)
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let source = open_source(&params, &native).unwrap();
    let text = std::fs::read_to_string(dd.join("styles").join(style)).unwrap();
    let st = sld::parse(&text).unwrap();
    let extent = MapExtent {
        min_x: bbox[0],
        min_y: bbox[1],
        max_x: bbox[2],
        max_y: bbox[3],
        width: w,
        height: h,
    };
    let scale = scale_denominator(bbox[2] - bbox[0], true, w, None);
    let mut map = Map::new(extent, Some(meridian_render::Color::WHITE), scale, true).unwrap();
    map.set_style_dir(Some(dd.join("styles")));
    let rect = geo_types::Rect::new(
        geo_types::coord! { x: bbox[0], y: bbox[1] },
        geo_types::coord! { x: bbox[2], y: bbox[3] },
    );
    map.draw(&st, &mut |each: &mut dyn FnMut(Feature) -> bool| {
        source.scan(Some(rect), "t", each)
    })
    .unwrap();
    map.draw_labels();
    (map, st)
}

fn save(map: &Map, name: &str) -> Vec<u8> {
    let png = encode::png(map.pixmap()).unwrap();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&out, &png).unwrap();
    png
}

fn pixel(map: &Map, x: u32, y: u32) -> [u8; 4] {
    let p = map.pixmap().pixel(x, y).unwrap().demultiply();
    [p.red(), p.green(), p.blue(), p.alpha()]
}

/// Pixel of a lon/lat on the map.
fn at(map: &Map, lon: f64, lat: f64) -> [u8; 4] {
    let (x, y) = map.extent().to_pixel(lon, lat);
    pixel(map, x as u32, y as u32)
}

/// popshade: states filled by population class at 70 % over white, outlines 0.2 px.
#[test]
fn states_by_population() {
    let (map, st) = draw(
        "shapefiles/states.shp",
        "popshade.sld",
        [-125.0, 24.0, -66.0, 50.0],
        768,
        339,
    );
    save(&map, "popshade.png");
    assert_eq!(st.feature_type_styles[0].rules.len(), 4);
    // Texas (> 4M): #4D4DFF at 0.7 over white.
    let blend = |c: u8| (f64::from(c) * 0.7 + 255.0 * 0.3).round() as i32;
    let near = |p: [u8; 4], c: [u8; 3]| {
        p[..3]
            .iter()
            .zip(c)
            .all(|(a, b)| (i32::from(*a) - blend(b)).abs() <= 2)
    };
    assert!(
        near(at(&map, -102.0, 31.0), [0x4d, 0x4d, 0xff]),
        "{:?}",
        at(&map, -102.0, 31.0)
    );
    // Wyoming (< 2M): #4DFF4D.
    assert!(
        near(at(&map, -110.0, 42.0), [0x4d, 0xff, 0x4d]),
        "{:?}",
        at(&map, -110.0, 42.0)
    );
    // The Gulf of Mexico stays white.
    assert_eq!(at(&map, -90.0, 25.0), [255, 255, 255, 255]);
}

/// GeoServer's `inclusion`: a legend-only rule is not drawn on the map.
#[test]
fn legend_only_rules_stay_off_the_map() {
    let text =
        std::fs::read_to_string(fixture().join("workspaces/ne/styles/countries_mapcolor9.sld"))
            .unwrap();
    let st = sld::parse(&text).unwrap();
    let rules = &st.feature_type_styles[0].rules;
    assert_eq!(rules[0].map_symbolizers().count(), 0, "legendOnly");
    assert_eq!(rules[0].legend_symbolizers().count(), 1);
    assert_eq!(rules[1].map_symbolizers().count(), 1, "mapOnly");
    assert_eq!(rules[1].legend_symbolizers().count(), 0);
}

/// A style that reads no attribute lets sources skip them; one with filters, labels or
/// property-driven parameters does not.
#[test]
fn styles_say_whether_they_read_attributes() {
    let read = |f: &str| {
        sld::parse(&std::fs::read_to_string(fixture().join("styles").join(f)).unwrap()).unwrap()
    };
    assert!(!read("default_line.sld").reads_properties());
    assert!(!read("default_polygon.sld").reads_properties());
    assert!(
        read("popshade.sld").reads_properties(),
        "filters and labels"
    );
    assert!(read("tiger_roads.sld").reads_properties(), "labels");
    let recode = sld::parse(
        &std::fs::read_to_string(fixture().join("workspaces/ne/styles/countries_mapcolor9.sld"))
            .unwrap(),
    )
    .unwrap();
    assert!(recode.reads_properties(), "a Recode of a property");
}
