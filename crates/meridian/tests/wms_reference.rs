//! Maps of what MapServer does not draw as GeoServer does (labels and GeoServer's vendor
//! options, graphic strokes, SVG symbols, mosaics, groups of the release data directory),
//! compared with reference images a person has looked at, committed in `tests/reference/`.
//! The tolerance is the MapServer comparison's, tighter: fewer than 1 % of pixels differ (a
//! pixel differing when no pixel within one pixel of it in the reference is within 48 of it in
//! every channel) and the mean difference is under 3 (of 255).
//!
//! After a deliberate change of drawing, `MERIDIAN_UPDATE_REFERENCE=1 cargo test -p meridian
//! --test wms_reference` rewrites the references; look at every image before committing them.
#![allow(clippy::unwrap_used)]

use meridian_testkit::node::Node;
use std::path::{Path, PathBuf};

/// Percent-encode a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sld(layer: &str, rules: &str) -> String {
    encode(&format!(
        r#"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc"><NamedLayer><Name>{layer}</Name><UserStyle><FeatureTypeStyle>{rules}</FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"#
    ))
}

const ROAD_LABELS: &str = r##"<Rule><LineSymbolizer><Stroke><CssParameter name="stroke">#999999</CssParameter><CssParameter name="stroke-width">2</CssParameter></Stroke></LineSymbolizer><TextSymbolizer><Label><ogc:PropertyName>NAME</ogc:PropertyName></Label><Font><CssParameter name="font-family">DejaVu Sans</CssParameter><CssParameter name="font-size">10</CssParameter></Font><LabelPlacement><LinePlacement/></LabelPlacement><Halo><Radius>1.5</Radius><Fill><CssParameter name="fill">#FFFFFF</CssParameter></Fill></Halo><Fill><CssParameter name="fill">#000000</CssParameter></Fill><VendorOption name="followLine">true</VendorOption><VendorOption name="group">true</VendorOption><VendorOption name="spaceAround">6</VendorOption><VendorOption name="maxAngleDelta">30</VendorOption></TextSymbolizer></Rule>"##;

const RAILWAY_AND_OFFSET: &str = r##"<Rule><LineSymbolizer><Stroke><CssParameter name="stroke">#333333</CssParameter><CssParameter name="stroke-width">2</CssParameter></Stroke></LineSymbolizer><LineSymbolizer><Stroke><GraphicStroke><Graphic><Mark><WellKnownName>shape://vertline</WellKnownName><Stroke><CssParameter name="stroke">#333333</CssParameter></Stroke></Mark><Size>10</Size></Graphic></GraphicStroke><CssParameter name="stroke-dasharray">10 6</CssParameter></Stroke></LineSymbolizer><LineSymbolizer><Stroke><CssParameter name="stroke">#D03030</CssParameter><CssParameter name="stroke-width">3</CssParameter><CssParameter name="stroke-opacity">0.6</CssParameter></Stroke><PerpendicularOffset>-8</PerpendicularOffset></LineSymbolizer></Rule>"##;

/// The cases: a file name and the query drawing it.
fn cases() -> Vec<(&'static str, String)> {
    let getmap = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&FORMAT=image/png";
    vec![
        (
            "countries-labels",
            format!("{getmap}&LAYERS=ne:countries&STYLES=countries&SRS=EPSG:4326&BBOX=-30,20,60,70&WIDTH=900&HEIGHT=500"),
        ),
        (
            "populated-places",
            format!("{getmap}&LAYERS=ne:countries,ne:populated_places&STYLES=&SRS=EPSG:4326&BBOX=0,40,20,55&WIDTH=800&HEIGHT=600"),
        ),
        (
            "tiger-ny",
            format!("{getmap}&LAYERS=tiger-ny&STYLES=&SRS=EPSG:4326&BBOX=-74.02,40.70,-73.97,40.74&WIDTH=768&HEIGHT=614"),
        ),
        (
            "roads-follow-line",
            format!(
                "{getmap}&LAYERS=tiger:tiger_roads&STYLES=&SRS=EPSG:4326&BBOX=-74.02,40.70,-73.97,40.74&WIDTH=768&HEIGHT=614&SLD_BODY={}",
                sld("tiger:tiger_roads", ROAD_LABELS)
            ),
        ),
        (
            "railway-and-offset",
            format!(
                "{getmap}&LAYERS=topp:states&STYLES=&SRS=EPSG:4326&BBOX=-112,35,-99,43&WIDTH=780&HEIGHT=480&SLD_BODY={}",
                sld("topp:states", RAILWAY_AND_OFFSET)
            ),
        ),
        (
            "bugsites-svg",
            format!("{getmap}&LAYERS=sf:roads,sf:bugsites&STYLES=,burg&SRS=EPSG:26713&BBOX=590000,4914000,609000,4928000&WIDTH=600&HEIGHT=442"),
        ),
        (
            "mosaic",
            format!("{getmap}&LAYERS=nurc:mosaic&STYLES=&SRS=EPSG:4326&BBOX=6.38,36.5,20.8,46.57&WIDTH=600&HEIGHT=419"),
        ),
        (
            "spearfish",
            format!("{getmap}&LAYERS=spearfish&STYLES=&SRS=EPSG:26713&BBOX=589425.93,4913959.22,609518.67,4928082.95&WIDTH=800&HEIGHT=562"),
        ),
    ]
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

#[test]
fn maps_match_their_reference_images() {
    let n = Node::with_fixture();
    let update = std::env::var_os("MERIDIAN_UPDATE_REFERENCE").is_some();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut failures = Vec::new();
    for (name, q) in cases() {
        let r = n
            .anon()
            .get(format!("{}/wms?{q}", n.base()))
            .send()
            .unwrap();
        let status = r.status();
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        let body = r.bytes().unwrap().to_vec();
        assert!(
            status == 200 && ct.starts_with("image/png"),
            "{name}: {status} {ct}: {}",
            String::from_utf8_lossy(&body)
        );
        std::fs::write(tmp.join(format!("ref-{name}.png")), &body).unwrap();
        let path = reference_dir().join(format!("{name}.png"));
        if update {
            std::fs::create_dir_all(reference_dir()).unwrap();
            std::fs::write(&path, &body).unwrap();
            continue;
        }
        let reference = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: draw it with MERIDIAN_UPDATE_REFERENCE=1, look at it, commit it",
                path.display()
            )
        });
        let d = meridian_testkit::images::compare(&body, &reference);
        eprintln!(
            "{name}: {:.2} % of pixels differ, mean difference {:.2}, {:.1} % inked",
            d.far * 100.0,
            d.mean,
            d.inked * 100.0
        );
        if d.inked < 0.02 || d.far >= 0.01 || d.mean >= 3.0 {
            failures.push(format!(
                "{name}: {:.2} % of pixels differ, mean {:.2}, {:.1} % inked (this map: {})",
                d.far * 100.0,
                d.mean,
                d.inked * 100.0,
                tmp.join(format!("ref-{name}.png")).display()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
