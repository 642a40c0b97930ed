//! WMS 1.1.1 and 1.3.0 over GeoServer's release data directory, against a real node: the
//! capabilities, maps drawn through the layers' SLD styles (pixels checked), reprojection,
//! formats, backgrounds, the limits and the exceptions.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, Node};

fn wms(n: &Node, q: &str) -> reqwest::blocking::Response {
    n.anon()
        .get(format!("http://127.0.0.1:{}/geoserver/wms?{q}", n.port))
        .send()
        .unwrap()
}

/// A decoded PNG: width, height, RGBA pixels, and its colour type.
struct Image {
    w: u32,
    h: u32,
    rgba: Vec<u8>,
    color: png::ColorType,
}

impl Image {
    fn at(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.w + x) * 4) as usize;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }
}

fn decode(bytes: &[u8]) -> Image {
    let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
    d.set_transformations(png::Transformations::EXPAND);
    let mut r = d.read_info().unwrap();
    let color = r.info().color_type;
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let f = r.next_frame(&mut buf).unwrap();
    let data = &buf[..f.buffer_size()];
    let rgba = match f.color_type {
        png::ColorType::Rgba => data.to_vec(),
        png::ColorType::Rgb => data
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        other => panic!("unexpected {other:?}"),
    };
    Image {
        w: f.width,
        h: f.height,
        rgba,
        color,
    }
}

/// GET a map and decode it (asserting a PNG came back); also saved for a person to look at.
fn map(n: &Node, q: &str, name: &str) -> Image {
    let r = wms(n, q);
    let status = r.status();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let body = r.bytes().unwrap();
    assert_eq!(status, 200, "{q}: {}", String::from_utf8_lossy(&body));
    assert!(
        ct.starts_with("image/png"),
        "{q}: {ct}: {}",
        String::from_utf8_lossy(&body)
    );
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name),
        &body,
    )
    .unwrap();
    decode(&body)
}

/// Population classes of popshade at 70 % over white.
fn blended(c: [u8; 3]) -> [u8; 3] {
    c.map(|v| (f64::from(v) * 0.7 + 255.0 * 0.3).round() as u8)
}

fn near(p: [u8; 4], c: [u8; 3]) -> bool {
    p[..3]
        .iter()
        .zip(c)
        .all(|(a, b)| (i32::from(*a) - i32::from(b)).abs() <= 3)
}

const STATES_130: &str = "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=topp:states&STYLES=&CRS=EPSG:4326&BBOX=24,-125,50,-66&WIDTH=768&HEIGHT=339&FORMAT=image/png";

#[test]
fn capabilities_list_layers_styles_and_bounds_in_both_versions() {
    let n = Node::with_fixture();
    let r = wms(&n, "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/xml"));
    let x = r.text().unwrap();
    assert!(x.contains("<WMS_Capabilities version=\"1.3.0\""), "{x}");
    assert!(x.contains("updateSequence=\""));
    assert!(
        x.contains("<Title>GeoServer Web Map Service</Title>"),
        "service title from wms.xml"
    );
    assert!(x.contains("<Name>topp:states</Name>"));
    assert!(
        x.contains("<Name>population</Name>"),
        "the default style of topp:states"
    );
    assert!(x.contains("<westBoundLongitude>"));
    assert!(x.contains("<Format>image/png8</Format>"));
    assert!(x.contains("<Format>INIMAGE</Format>"));
    // 1.3.0 writes EPSG:4326 boxes latitude first.
    assert!(
        x.contains("<BoundingBox CRS=\"EPSG:4326\" minx=\"24."),
        "{x}"
    );
    let v11 = wms(&n, "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetCapabilities")
        .text()
        .unwrap();
    assert!(v11.contains("<WMT_MS_Capabilities version=\"1.1.1\""));
    assert!(v11.contains("<SRS>EPSG:4326</SRS>") && v11.contains("<LatLonBoundingBox"));
    assert!(
        v11.contains("<BoundingBox SRS=\"EPSG:4326\" minx=\"-124."),
        "{v11}"
    );
    // A workspace's own service lists only its layers.
    let topp = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/topp/wms?service=WMS&request=GetCapabilities",
            n.port
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(topp.contains("<Name>topp:states</Name>") && !topp.contains("<Name>sf:roads</Name>"));
    // /ows with service=WMS is the WMS.
    let ows = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/ows?service=WMS&version=1.3.0&request=GetCapabilities",
            n.port
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(ows.contains("<WMS_Capabilities"));
}

#[test]
fn a_map_is_drawn_through_the_layers_style_with_the_versions_axis_order() {
    let n = Node::with_fixture();
    let m = map(&n, STATES_130, "wms-states-130.png");
    assert_eq!((m.w, m.h), (768, 339));
    let px = |lon: f64, lat: f64| {
        let x = ((lon + 125.0) / 59.0 * 768.0) as u32;
        let y = ((50.0 - lat) / 26.0 * 339.0) as u32;
        m.at(x, y)
    };
    assert!(
        near(px(-102.0, 31.0), blended([0x4d, 0x4d, 0xff])),
        "Texas: {:?}",
        px(-102.0, 31.0)
    );
    assert!(
        near(px(-110.0, 42.0), blended([0x4d, 0xff, 0x4d])),
        "Wyoming: {:?}",
        px(-110.0, 42.0)
    );
    assert_eq!(px(-90.0, 25.0), [255, 255, 255, 255], "the sea stays white");
    // 1.1.1 with x/y order draws the same map.
    let v11 = map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=topp:states&STYLES=&SRS=EPSG:4326&BBOX=-125,24,-66,50&WIDTH=768&HEIGHT=339&FORMAT=image/png",
        "wms-states-111.png",
    );
    assert_eq!(v11.rgba, m.rgba);
}

#[test]
fn maps_reproject_take_other_styles_backgrounds_and_formats() {
    let n = Node::with_fixture();
    // Web Mercator: the same states, Texas where its mercator coordinates say.
    let m = map(
        &n,
        "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=topp:states&STYLES=&CRS=EPSG:3857&BBOX=-13914936,2764607,-7347086,6446275&WIDTH=800&HEIGHT=449&FORMAT=image/png",
        "wms-states-3857.png",
    );
    // West Texas (-102, 31) in EPSG:3857: x -11354588, y 3632749 (off its label).
    let x = ((-11_354_588.0 + 13_914_936.0) / 6_567_850.0 * 800.0) as u32;
    let y = ((6_446_275.0 - 3_632_749.0) / 3_681_668.0 * 449.0) as u32;
    assert!(
        near(m.at(x, y), blended([0x4d, 0x4d, 0xff])),
        "Texas in 3857: {:?}",
        m.at(x, y)
    );
    // Another style by name: polygon (grey fill).
    let g = map(
        &n,
        &STATES_130.replace("STYLES=", "STYLES=polygon"),
        "wms-states-polygon.png",
    );
    let tx = g.at(
        ((-102.0 + 125.0) / 59.0 * 768.0) as u32,
        ((50.0 - 31.0) / 26.0 * 339.0) as u32,
    );
    assert!(near(tx, [0xaa, 0xaa, 0xaa]), "polygon style: {tx:?}");
    // Transparent: the sea is see-through.
    let t = map(
        &n,
        &format!("{STATES_130}&TRANSPARENT=TRUE"),
        "wms-states-transparent.png",
    );
    assert_eq!(t.at(540, 320)[3], 0, "{:?}", t.at(540, 320));
    // A background colour.
    let b = map(
        &n,
        &format!("{STATES_130}&BGCOLOR=0x000000"),
        "wms-states-black.png",
    );
    assert_eq!(b.at(540, 320), [0, 0, 0, 255]);
    // 8-bit paletted.
    let p8 = map(
        &n,
        &STATES_130.replace("image/png", "image/png8"),
        "wms-states-png8.png",
    );
    assert_eq!(p8.color, png::ColorType::Indexed);
    assert!(near(
        p8.at(
            ((-102.0 + 125.0) / 59.0 * 768.0) as u32,
            ((50.0 - 31.0) / 26.0 * 339.0) as u32
        ),
        blended([0x4d, 0x4d, 0xff])
    ));
}

#[test]
fn mistakes_get_service_exceptions_and_limits_hold() {
    let n = Node::with_fixture();
    let report = |q: &str, code: &str| {
        let r = wms(&n, q);
        assert_eq!(r.status(), 400, "{q}");
        let t = r.text().unwrap();
        assert!(
            t.contains("ServiceExceptionReport") && t.contains(&format!("code=\"{code}\"")),
            "{q}: {t}"
        );
        t
    };
    report(
        &STATES_130.replace("topp:states", "topp:nope"),
        "LayerNotDefined",
    );
    report(
        &STATES_130.replace("STYLES=", "STYLES=nope"),
        "StyleNotDefined",
    );
    report(
        &STATES_130.replace("CRS=EPSG:4326", "CRS=EPSG:123456789"),
        "InvalidCRS",
    );
    report(
        &STATES_130.replace("image/png", "image/tiff"),
        "InvalidFormat",
    );
    // Over maxRequestMemory (65536 KB in the release wms.xml): 8000×8000×8 bytes.
    let t = report(
        &STATES_130.replace("WIDTH=768&HEIGHT=339", "WIDTH=8000&HEIGHT=8000"),
        "InvalidParameterValue",
    );
    assert!(t.contains("maxRequestMemory"), "{t}");
    // 1.1.1 reports in its own format.
    let r = wms(&n, "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=x&SRS=EPSG:4326&BBOX=0,0,1,1&WIDTH=1&HEIGHT=1");
    assert_eq!(r.headers()["content-type"], "application/vnd.ogc.se_xml");
    // EXCEPTIONS=BLANK answers a blank image of the size asked for.
    let b = map(
        &n,
        &format!(
            "{}&EXCEPTIONS=BLANK",
            STATES_130.replace("topp:states", "topp:nope")
        ),
        "wms-blank.png",
    );
    assert_eq!((b.w, b.h), (768, 339));
    // EXCEPTIONS=INIMAGE writes the message in the image.
    let i = map(
        &n,
        &format!(
            "{}&EXCEPTIONS=INIMAGE",
            STATES_130.replace("topp:states", "topp:nope")
        ),
        "wms-inimage.png",
    );
    let ink = (0..i.w)
        .flat_map(|x| (0..30).map(move |y| (x, y)))
        .filter(|&(x, y)| i.at(x, y)[0] < 100)
        .count();
    assert!(ink > 50, "the message is written: {ink}");
    // An unknown operation.
    report(
        "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetSomething",
        "OperationNotSupported",
    );
}

/// A style changed through REST shows in the next map: nothing parsed before survives.
#[test]
fn a_changed_style_shows_in_the_next_map() {
    let n = Node::with_fixture();
    let before = map(&n, STATES_130, "wms-before.png");
    let red = r#"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>x</Name><UserStyle><Name>population</Name><FeatureTypeStyle><Rule><PolygonSymbolizer><Fill><CssParameter name="fill">#FF0000</CssParameter></Fill></PolygonSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"#;
    let r = n.send(
        "PUT",
        "/styles/population",
        "application/vnd.ogc.sld+xml",
        red,
    );
    expect(r, 200);
    let after = map(&n, STATES_130, "wms-after.png");
    let (x, y) = (
        ((-102.0 + 125.0) / 59.0 * 768.0) as u32,
        ((50.0 - 31.0) / 26.0 * 339.0) as u32,
    );
    assert_ne!(before.at(x, y), after.at(x, y));
    assert_eq!(after.at(x, y), [255, 0, 0, 255]);
}

/// A layer group is a layer: listed, and drawn member by member, bottom first.
#[test]
fn layer_groups_are_listed_and_drawn() {
    let n = Node::with_fixture();
    let caps = wms(&n, "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities")
        .text()
        .unwrap();
    for g in ["spearfish", "tasmania", "tiger-ny", "ne:world"] {
        assert!(caps.contains(&format!("<Name>{g}</Name>")), "{g}");
    }
    let m = map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=spearfish&STYLES=&SRS=EPSG:26713&BBOX=589425.93,4913959.22,609518.67,4928082.95&WIDTH=800&HEIGHT=562&FORMAT=image/png",
        "wms-spearfish.png",
    );
    let count = |pred: &dyn Fn([u8; 4]) -> bool| {
        (0..m.h)
            .flat_map(|y| (0..m.w).map(move |x| (x, y)))
            .filter(|&(x, y)| pred(m.at(x, y)))
            .count()
    };
    // Streams are blue, roads #AA3333, restricted areas red: each member is drawn.
    let streams = count(&|p| p[2] > 150 && p[0] < 80 && p[1] < 80);
    let roads = count(&|p| near(p, [0xaa, 0x33, 0x33]));
    let restricted = count(&|p| p[0] > 200 && p[1] < 120 && p[2] < 120);
    assert!(
        streams > 1000 && roads > 1000 && restricted > 1000,
        "{streams} {roads} {restricted}"
    );
    // The same group within its workspace's service, by a qualified name.
    map(
        &n,
        "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=ne:world&STYLES=&CRS=CRS:84&BBOX=-180,-90,180,90&WIDTH=512&HEIGHT=256&FORMAT=image/png",
        "wms-world.png",
    );
}

/// GetFeatureInfo: what is under a pixel, in every format.
#[test]
fn feature_info_tells_what_is_under_a_pixel() {
    let n = Node::with_fixture();
    // Texas at (-99, 31.5) on the 768×339 map: pixel (338, 240).
    let base = STATES_130.replace("REQUEST=GetMap", "REQUEST=GetFeatureInfo")
        + "&QUERY_LAYERS=topp:states&I=338&J=240";
    let t = wms(&n, &format!("{base}&INFO_FORMAT=text/plain"))
        .text()
        .unwrap();
    assert!(t.contains("STATE_NAME = Texas"), "{t}");
    let h = wms(&n, &format!("{base}&INFO_FORMAT=text/html"))
        .text()
        .unwrap();
    assert!(h.contains("<td>Texas</td>") && h.contains("<table"), "{h}");
    let j: serde_json::Value = wms(&n, &format!("{base}&INFO_FORMAT=application/json"))
        .json()
        .unwrap();
    assert_eq!(j["features"].as_array().unwrap().len(), 1);
    assert_eq!(j["features"][0]["properties"]["STATE_ABBR"], "TX");
    let g = wms(&n, &format!("{base}&INFO_FORMAT=application/vnd.ogc.gml"))
        .text()
        .unwrap();
    assert!(
        g.contains("Texas") && g.contains("FeatureCollection"),
        "{g}"
    );
    // 1.1.1 takes X and Y.
    let v11 = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetFeatureInfo&LAYERS=topp:states&QUERY_LAYERS=topp:states&STYLES=&SRS=EPSG:4326&BBOX=-125,24,-66,50&WIDTH=768&HEIGHT=339&X=338&Y=240&INFO_FORMAT=text/plain";
    assert!(wms(&n, v11).text().unwrap().contains("Texas"));
    // The sea: nothing.
    let sea = base.replace("I=338&J=240", "I=460&J=320");
    assert!(wms(&n, &format!("{sea}&INFO_FORMAT=application/json"))
        .json::<serde_json::Value>()
        .unwrap()["features"]
        .as_array()
        .unwrap()
        .is_empty());
    // A wide buffer over several points, up to FEATURE_COUNT of them.
    let pts = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetFeatureInfo&LAYERS=sf:bugsites&QUERY_LAYERS=sf:bugsites&STYLES=&SRS=EPSG:26713&BBOX=589425.93,4913959.22,609518.67,4928082.95&WIDTH=800&HEIGHT=562&X=100&Y=450&INFO_FORMAT=application/json&BUFFER=60";
    let few: serde_json::Value = wms(&n, &format!("{pts}&FEATURE_COUNT=3")).json().unwrap();
    assert_eq!(few["features"].as_array().unwrap().len(), 3, "{few}");
    // Mistakes.
    let r = wms(&n, &base.replace("I=338", "I=9999"));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("InvalidPoint"));
    let r = wms(&n, &format!("{base}&INFO_FORMAT=application/pdf"));
    assert_eq!(r.status(), 400);
}

/// CQL_FILTER and FEATUREID choose what is drawn; JPEG is offered.
#[test]
fn filters_choose_the_features_drawn_and_jpeg_is_offered() {
    let n = Node::with_fixture();
    let (tx, ty) = (
        ((-102.0 + 125.0) / 59.0 * 768.0) as u32,
        ((50.0 - 31.0) / 26.0 * 339.0) as u32,
    );
    let (wx, wy) = (
        ((-110.0 + 125.0) / 59.0 * 768.0) as u32,
        ((50.0 - 42.0) / 26.0 * 339.0) as u32,
    );
    let only_tx = map(
        &n,
        &format!("{STATES_130}&CQL_FILTER=STATE_ABBR%3D%27TX%27"),
        "wms-cql.png",
    );
    assert!(near(only_tx.at(tx, ty), blended([0x4d, 0x4d, 0xff])));
    assert_eq!(
        only_tx.at(wx, wy),
        [255, 255, 255, 255],
        "Wyoming is filtered out"
    );
    // Every feature but the ones named.
    let big = map(
        &n,
        &format!("{STATES_130}&CQL_FILTER=PERSONS%3E4000000"),
        "wms-cql-big.png",
    );
    assert!(near(big.at(tx, ty), blended([0x4d, 0x4d, 0xff])));
    assert_eq!(big.at(wx, wy), [255, 255, 255, 255]);
    // FEATUREID: Wyoming alone.
    let wy_id: serde_json::Value = n
        .anon()
        .get(format!("http://127.0.0.1:{}/geoserver/ogc/features/v1/collections/topp:states/items?STATE_ABBR=WY&f=json", n.port))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = wy_id["features"][0]["id"].as_str().unwrap().to_string();
    let one = map(
        &n,
        &format!("{STATES_130}&FEATUREID={id}"),
        "wms-featureid.png",
    );
    assert_eq!(one.at(tx, ty), [255, 255, 255, 255]);
    assert!(near(one.at(wx, wy), blended([0x4d, 0xff, 0x4d])));
    // GetFeatureInfo takes the same filter: Texas filtered out answers nothing.
    let fi = STATES_130.replace("REQUEST=GetMap", "REQUEST=GetFeatureInfo")
        + &format!("&QUERY_LAYERS=topp:states&I={tx}&J={ty}&INFO_FORMAT=text/plain");
    assert!(wms(&n, &fi).text().unwrap().contains("Texas"));
    let none = wms(&n, &format!("{fi}&CQL_FILTER=STATE_ABBR%3D%27WY%27"))
        .text()
        .unwrap();
    assert!(!none.contains("Texas"), "{none}");
    // A CQL filter that does not read.
    let r = wms(&n, &format!("{STATES_130}&CQL_FILTER=PERSONS%3E%3E"));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("CQL_FILTER"));
    // JPEG.
    let r = wms(&n, &STATES_130.replace("image/png", "image/jpeg"));
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(&r.bytes().unwrap()[..2], &[0xff, 0xd8]);
}

/// GetLegendGraphic: a row per rule, its swatch drawn with the rule's symbolizers, its title.
#[test]
fn legends_show_each_rule() {
    let n = Node::with_fixture();
    let q = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetLegendGraphic&LAYER=topp:states&FORMAT=image/png&WIDTH=20&HEIGHT=20";
    let l = map(&n, q, "wms-legend.png");
    assert!(l.h >= 4 * 20, "four rules: {}×{}", l.w, l.h);
    assert!(l.w > 40, "titles beside the swatches: {}", l.w);
    assert!(
        near(l.at(10, 10), blended([0x4d, 0xff, 0x4d])),
        "the first rule's swatch: {:?}",
        l.at(10, 10)
    );
    // Some ink in the title area of the first row.
    let ink = (25..l.w)
        .flat_map(|x| (0..20).map(move |y| (x, y)))
        .filter(|&(x, y)| l.at(x, y)[0] < 100)
        .count();
    assert!(ink > 10, "the title is written: {ink}");
    // A style of one rule: a lone swatch, titled only when asked.
    let one = map(&n, &format!("{q}&STYLE=polygon"), "wms-legend-one.png");
    assert_eq!((one.w, one.h), (20, 20));
    let titled = map(
        &n,
        &format!("{q}&STYLE=polygon&LEGEND_OPTIONS=forceLabels:on"),
        "wms-legend-titled.png",
    );
    assert!(titled.w > 20);
    // A coverage's colour map: a row per entry.
    let dem = map(
        &n,
        &q.replace("topp:states", "sf:sfdem"),
        "wms-legend-dem.png",
    );
    assert_eq!(dem.h, 6 * 20);
    assert!(
        near(dem.at(10, 30), [0x00, 0xff, 0x00]),
        "{:?}",
        dem.at(10, 30)
    );
    // A rule that is not there.
    let r = wms(&n, &format!("{q}&RULE=nope"));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("no rule named 'nope'"));
}

/// SLD_BODY styles the layers it names (and names them when LAYERS does not).
#[test]
fn sld_body_styles_the_map() {
    let n = Node::with_fixture();
    let (tx, ty) = (
        ((-102.0 + 125.0) / 59.0 * 768.0) as u32,
        ((50.0 - 31.0) / 26.0 * 339.0) as u32,
    );
    let red = r#"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>topp:states</Name><UserStyle><FeatureTypeStyle><Rule><PolygonSymbolizer><Fill><CssParameter name="fill">#FF0000</CssParameter></Fill></PolygonSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"#;
    let enc = |s: &str| form_urlencoded_byte(s);
    let m = map(
        &n,
        &format!("{STATES_130}&SLD_BODY={}", enc(red)),
        "wms-sld-body.png",
    );
    assert_eq!(m.at(tx, ty), [255, 0, 0, 255]);
    // Without LAYERS: the SLD's layers.
    let no_layers = STATES_130.replace("LAYERS=topp:states&STYLES=&", "");
    let m = map(
        &n,
        &format!("{no_layers}&SLD_BODY={}", enc(red)),
        "wms-sld-body-nolayers.png",
    );
    assert_eq!(m.at(tx, ty), [255, 0, 0, 255]);
    // A named style of the catalog.
    let named = r#"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>topp:states</Name><NamedStyle><Name>polygon</Name></NamedStyle></NamedLayer></StyledLayerDescriptor>"#;
    let m = map(
        &n,
        &format!("{STATES_130}&SLD_BODY={}", enc(named)),
        "wms-sld-named.png",
    );
    assert!(near(m.at(tx, ty), [0xaa, 0xaa, 0xaa]), "{:?}", m.at(tx, ty));
    // A document that does not read, and a style by URL.
    let r = wms(&n, &format!("{STATES_130}&SLD_BODY=%3Cnot-sld"));
    assert_eq!(r.status(), 400);
    let r = wms(&n, &format!("{STATES_130}&SLD=http://127.0.0.1:9/x.sld"));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("SLD_BODY"));
}

#[test]
fn svg_graphics_draw_and_hostile_svgs_do_no_harm() {
    let n = Node::with_fixture();
    let q = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sf:bugsites&STYLES=burg&SRS=EPSG:26713&BBOX=590000,4914000,609000,4928000&WIDTH=600&HEIGHT=440&FORMAT=image/png";
    let m = map(&n, q, "wms-svg-burg.png");
    // burg02.svg: a red flag on a black pole, 20 pixels high, at every bug site.
    let red = (0..m.h)
        .flat_map(|y| (0..m.w).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = m.at(x, y);
            p[0] > 200 && p[1] < 60 && p[2] < 60
        })
        .count();
    assert!(red > 200, "{red} red pixels");
    // Files in the style folder are input too: entity expansion, a reference to a file
    // outside, an absurd size. Each map still comes back, without the graphic.
    let svg = n.dir.join("styles/burg02.svg");
    let laughs = {
        let mut d = String::from("<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a0 \"lol\">");
        for i in 1..12 {
            let p = format!("&a{};", i - 1).repeat(10);
            d.push_str(&format!("<!ENTITY a{i} \"{p}\">"));
        }
        d + "]><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"20\" height=\"20\"><text>&a11;</text></svg>"
    };
    for (what, body) in [
        ("entities", laughs),
        ("outside", "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"20\" height=\"20\"><image xlink:href=\"/etc/passwd\" width=\"20\" height=\"20\"/><image xlink:href=\"../../global.xml\" width=\"20\" height=\"20\"/></svg>".to_string()),
        ("huge", "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000000\" height=\"100000000\"><rect width=\"100000000\" height=\"100000000\" fill=\"red\"/></svg>".to_string()),
        ("garbage", "\u{0}\u{1}not svg".to_string()),
    ] {
        std::fs::write(&svg, body).unwrap();
        let started = std::time::Instant::now();
        let m = map(&n, q, &format!("wms-svg-{what}.png"));
        assert_eq!((m.w, m.h), (600, 440), "{what}");
        assert!(started.elapsed().as_secs() < 10, "{what}: {:?}", started.elapsed());
    }
}

#[test]
fn lines_offset_sideways_and_graphic_strokes_repeat_along_them() {
    let n = Node::with_fixture();
    // Colorado alone, 100 pixels a degree: its north border (41° N) on row 100.
    let q = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=topp:states&SRS=EPSG:4326&BBOX=-110,36,-101,42&WIDTH=900&HEIGHT=600&FORMAT=image/png&CQL_FILTER=STATE_NAME=%27Colorado%27";
    let sld = |body: &str| {
        form_urlencoded_byte(&format!(
            r#"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc"><NamedLayer><Name>topp:states</Name><UserStyle><FeatureTypeStyle><Rule>{body}</Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"#
        ))
    };
    let offset = sld(
        r##"<LineSymbolizer><Stroke><CssParameter name="stroke">#000000</CssParameter></Stroke></LineSymbolizer><LineSymbolizer><Stroke><CssParameter name="stroke">#FF0000</CssParameter><CssParameter name="stroke-width">2</CssParameter></Stroke><PerpendicularOffset>-5</PerpendicularOffset></LineSymbolizer>"##,
    );
    let m = map(&n, &format!("{q}&SLD_BODY={offset}"), "wms-offset.png");
    let red = |p: [u8; 4]| p[0] > 200 && p[1] < 80 && p[2] < 80;
    let dark = |p: [u8; 4]| p[0] < 140 && p[1] < 140 && p[2] < 140;
    // Along the north border: black on the line (between rows 99 and 100), red 5 pixels to
    // one side only (the outer ring turns clockwise, so its right is inside the state:
    // south, down the image).
    for x in [300, 450, 600] {
        // One pixel of ink between the two rows.
        let ink = |y: u32| 255 - u32::from(m.at(x, y)[1]);
        assert!(ink(99) + ink(100) > 200, "{x}: {:?}", m.at(x, 100));
        assert!(red(m.at(x, 105)), "{x}: {:?}", m.at(x, 105));
        assert!(!red(m.at(x, 95)), "{x}: {:?}", m.at(x, 95));
    }
    // The west border (109.05° W, column 95): red 5 pixels east, inside.
    assert!(red(m.at(100, 300)), "{:?}", m.at(100, 300));
    // A graphic stroke: vertical ticks across the line, one every 20 pixels, turned with it.
    let ticks = sld(
        r##"<LineSymbolizer><Stroke><GraphicStroke><Graphic><Mark><WellKnownName>shape://vertline</WellKnownName><Stroke><CssParameter name="stroke">#000000</CssParameter><CssParameter name="stroke-width">2</CssParameter></Stroke></Mark><Size>12</Size></Graphic></GraphicStroke><CssParameter name="stroke-dasharray">12 8</CssParameter></Stroke></LineSymbolizer>"##,
    );
    let m = map(
        &n,
        &format!("{q}&SLD_BODY={ticks}"),
        "wms-graphic-stroke.png",
    );
    // Across the north border, 4 pixels off the line: dark only where a tick crosses.
    let inked: Vec<u32> = (200..700).filter(|&x| dark(m.at(x, 96))).collect();
    assert!(
        inked.len() > 25 && inked.len() < 120,
        "{} inked: {inked:?}",
        inked.len()
    );
    // Ticks come every 20 pixels (one per dash cycle): gaps between inked runs.
    let runs = inked.windows(2).filter(|w| w[1] - w[0] > 5).count();
    assert!((20..=30).contains(&runs), "{runs} runs");
    // Along the west border the ticks are turned: horizontal, so column 91 (4 pixels
    // off the line) is crossed by them.
    assert!((150..450).any(|y| dark(m.at(91, y))));
}

/// A loopback HTTP server answering GETs from `routes` (path → status, body), every request
/// line it was sent recorded.
fn style_server(
    routes: Vec<(&'static str, u16, String)>,
) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
            }
            log.lock().unwrap().push(line.trim().to_string());
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, body) = routes
                .iter()
                .find(|(p, _, _)| *p == path)
                .map(|(_, s, b)| (*s, b.clone()))
                .unwrap_or((404, String::new()));
            let extra = if status == 302 {
                format!("Location: http://127.0.0.1:{port}/secret\r\n")
            } else {
                String::new()
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

/// `SLD=<url>` is fetched only from the prefixes wms.xml lists: under one, the map takes the
/// style; elsewhere (another path, a redirect, a look-alike host) nothing is fetched or
/// followed, and the answer says why.
#[test]
fn styles_by_url_come_only_from_allowed_prefixes() {
    let n = Node::with_fixture();
    let red = r#"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>topp:states</Name><UserStyle><FeatureTypeStyle><Rule><PolygonSymbolizer><Fill><CssParameter name="fill">#FF0000</CssParameter></Fill></PolygonSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"#;
    let (port, seen) = style_server(vec![
        ("/styles/red.sld", 200, red.to_string()),
        ("/styles/moved.sld", 302, String::new()),
        ("/styles/huge.sld", 200, "x".repeat(2 << 20)),
        ("/secret", 200, red.to_string()),
    ]);
    let (tx, ty) = (
        ((-102.0 + 125.0) / 59.0 * 768.0) as u32,
        ((50.0 - 31.0) / 26.0 * 339.0) as u32,
    );
    let url = |path: &str| form_urlencoded_byte(&format!("http://127.0.0.1:{port}{path}"));
    // Not allowed yet: refused before any request leaves.
    let r = wms(&n, &format!("{STATES_130}&SLD={}", url("/styles/red.sld")));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("sldUrlPrefixes"));
    assert!(seen.lock().unwrap().is_empty());
    // The administrator allows the folder.
    let r = n.put_xml(
        "/services/wms/settings",
        &format!("<wms><metadata><entry key=\"sldUrlPrefixes\">http://127.0.0.1:{port}/styles/</entry></metadata></wms>"),
    );
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    let m = map(
        &n,
        &format!("{STATES_130}&SLD={}", url("/styles/red.sld")),
        "wms-sld-url.png",
    );
    assert_eq!(m.at(tx, ty), [255, 0, 0, 255]);
    // Outside the folder, through a redirect, too large, or a host that only starts alike.
    for (path, why) in [
        ("/secret", "sldUrlPrefixes"),
        ("/styles/moved.sld", "302"),
        ("/styles/huge.sld", "larger than"),
    ] {
        let r = wms(&n, &format!("{STATES_130}&SLD={}", url(path)));
        assert_eq!(r.status(), 400, "{path}");
        assert!(r.text().unwrap().contains(why), "{path}");
    }
    let r = wms(
        &n,
        &format!(
            "{STATES_130}&SLD={}",
            form_urlencoded_byte(&format!(
                "http://127.0.0.1:{port}@127.0.0.2:{port}/styles/red.sld"
            ))
        ),
    );
    assert_eq!(r.status(), 400);
    let asked = seen.lock().unwrap().clone();
    assert!(
        !asked.iter().any(|l| l.contains("/secret")),
        "the redirect was followed: {asked:?}"
    );
    // With dynamic styling disabled (wms.xml), neither SLD nor SLD_BODY is taken.
    let r = n.put_xml(
        "/services/wms/settings",
        "<wms><dynamicStylingDisabled>true</dynamicStylingDisabled></wms>",
    );
    assert!(r.status().is_success());
    let r = wms(&n, &format!("{STATES_130}&SLD={}", url("/styles/red.sld")));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("dynamicStylingDisabled"));
}

/// A symbol straddling a map's edge is drawn on both sides: features are read around the map
/// as far as the style's symbols reach (or as far as `BUFFER` says), so tiles meet without
/// cut symbols.
#[test]
fn symbols_across_the_edge_are_drawn_on_both_tiles() {
    let n = Node::with_fixture();
    let j: serde_json::Value = n
        .anon()
        .get(format!(
            "{}/ogc/features/v1/collections/sf:bugsites/items?limit=1",
            n.base()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let c = &j["features"][0]["geometry"]["coordinates"];
    let (x0, y0) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    // 256-pixel tiles of 0.01°: the point lies 15 pixels left of the second tile.
    let px = 0.01 / 256.0;
    let big_red = form_urlencoded_byte(
        r##"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>sf:bugsites</Name><UserStyle><FeatureTypeStyle><Rule><PointSymbolizer><Graphic><Mark><WellKnownName>circle</WellKnownName><Fill><CssParameter name="fill">#FF0000</CssParameter></Fill></Mark><Size>40</Size></Graphic></PointSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"##,
    );
    let tile = |min_x: f64, extra: &str| {
        let q = format!(
            "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sf:bugsites&STYLES=&SRS=EPSG:4326&BBOX={},{},{},{}&WIDTH=256&HEIGHT=256&FORMAT=image/png&SLD_BODY={big_red}{extra}",
            min_x,
            y0 - 128.0 * px,
            min_x + 256.0 * px,
            y0 + 128.0 * px
        );
        map(&n, &q, "wms-seam.png")
    };
    let red = |p: [u8; 4]| p[0] > 200 && p[1] < 60;
    let a = tile(x0 - 241.0 * px, "");
    assert!(red(a.at(241, 128)), "the point's own tile");
    assert!(red(a.at(255, 128)), "reaching the edge");
    let b = tile(x0 + 15.0 * px, "");
    assert!(
        red(b.at(0, 128)),
        "the neighbour draws the rest of the symbol"
    );
    // BUFFER=0 reads only what lies inside the map.
    let none = tile(x0 + 15.0 * px, "&BUFFER=0");
    assert!(!red(none.at(0, 128)));
    let r = wms(&n, "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sf:bugsites&STYLES=&SRS=EPSG:4326&BBOX=0,0,1,1&WIDTH=2&HEIGHT=2&FORMAT=image/png&BUFFER=lots");
    assert_eq!(r.status(), 400);
}

/// Percent-encode a query value.
fn form_urlencoded_byte(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Coverages draw: a GeoTIFF through its colour map (also reprojected, and under the vector
/// layers of its group), an image with its world file as it is, an ASCII grid.
#[test]
fn coverages_are_drawn() {
    let n = Node::with_fixture();
    let caps = wms(&n, "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities")
        .text()
        .unwrap();
    for c in ["sf:sfdem", "nurc:Img_Sample", "nurc:Arc_Sample"] {
        assert!(caps.contains(&format!("<Name>{c}</Name>")), "{c}");
    }
    let dem = map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sf:sfdem&STYLES=&SRS=EPSG:26713&BBOX=589980,4913700,609000,4928010&WIDTH=634&HEIGHT=477&FORMAT=image/png",
        "wms-sfdem.png",
    );
    // The dem style's ramp: low ground green (top right), high ground brown (bottom left).
    let ne = dem.at(620, 20);
    assert!(ne[1] > 200 && ne[2] < 100, "low ground: {ne:?}");
    let sw = dem.at(30, 440);
    assert!(
        sw[0] > sw[1] && sw[1] > sw[2] && sw[0] < 200,
        "high ground: {sw:?}"
    );
    // Every pixel of the coverage's own box is drawn, but its no-data edge (3 %).
    let white = (0..dem.h)
        .flat_map(|y| (0..dem.w).map(move |x| (x, y)))
        .filter(|&(x, y)| dem.at(x, y) == [255, 255, 255, 255])
        .count();
    assert!(
        white < (dem.w * dem.h / 25) as usize,
        "{white} white pixels"
    );
    // The same, reprojected to EPSG:4326, in its group under the vector layers.
    let group = map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=spearfish&STYLES=&SRS=EPSG:4326&BBOX=-103.877,44.371,-103.622,44.502&WIDTH=800&HEIGHT=411&FORMAT=image/png",
        "wms-spearfish-dem.png",
    );
    let g = group.at(760, 30);
    assert!(g[1] > 200 && g[2] < 100, "the dem under the group: {g:?}");
    // An image with a .meta: the Gulf of Mexico is dark blue.
    let img = map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=nurc:Img_Sample&STYLES=&SRS=EPSG:4326&BBOX=-130.85,20.7,-62,54.1&WIDTH=600&HEIGHT=291&FORMAT=image/png",
        "wms-img-sample.png",
    );
    let gulf = img.at(
        ((-90.0 + 130.85) / 68.85 * 600.0) as u32,
        ((54.1 - 25.0) / 33.4 * 291.0) as u32,
    );
    assert!(gulf[2] > gulf[0] && gulf[2] > gulf[1], "sea: {gulf:?}");
    // An ASCII grid through its style.
    map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=nurc:Arc_Sample&STYLES=&SRS=EPSG:4326&BBOX=-180,-90,180,90&WIDTH=720&HEIGHT=360&FORMAT=image/png",
        "wms-arc-sample.png",
    );
    // The ImageMosaic: 25 granules of 50×50 pixels, each drawn where it lies; with a
    // transparent background every pixel of the mosaic's box is inked.
    let m = map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=nurc:mosaic&STYLES=&SRS=EPSG:4326&BBOX=6.38,36.5,20.8,46.57&WIDTH=600&HEIGHT=419&FORMAT=image/png&TRANSPARENT=true",
        "wms-mosaic.png",
    );
    let empty = (0..m.h)
        .flat_map(|y| (0..m.w).map(move |x| (x, y)))
        .filter(|&(x, y)| m.at(x, y)[3] == 0)
        .count();
    assert!(empty < (m.w * m.h / 100) as usize, "{empty} empty pixels");
    // Zoomed on one granule's corner, reprojected: only granules there are read.
    map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=nurc:mosaic&STYLES=&SRS=EPSG:3857&BBOX=1100000,4800000,1300000,5000000&WIDTH=256&HEIGHT=256&FORMAT=image/png",
        "wms-mosaic-3857.png",
    );
    // Feature info reads the granule under the pixel.
    let j: serde_json::Value = wms(&n, "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetFeatureInfo&LAYERS=nurc:mosaic&QUERY_LAYERS=nurc:mosaic&STYLES=&SRS=EPSG:4326&BBOX=6.38,36.5,20.8,46.57&WIDTH=600&HEIGHT=419&X=300&Y=200&INFO_FORMAT=application/json").json().unwrap();
    assert!(
        j["features"][0]["properties"]["RED_BAND"].is_number(),
        "{j}"
    );
}

/// GetFeatureInfo on a coverage answers the grid's value under the pixel.
#[test]
fn feature_info_reads_coverage_values() {
    let n = Node::with_fixture();
    let q = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetFeatureInfo&LAYERS=sf:sfdem&QUERY_LAYERS=sf:sfdem&STYLES=&SRS=EPSG:26713&BBOX=589980,4913700,609000,4928010&WIDTH=634&HEIGHT=477&X=300&Y=200&INFO_FORMAT=application/json";
    let j: serde_json::Value = wms(&n, q).json().unwrap();
    let v = j["features"][0]["properties"]["GRAY_INDEX"]
        .as_f64()
        .unwrap();
    assert!((1000.0..2000.0).contains(&v), "{j}");
    let t = wms(&n, &q.replace("application/json", "text/plain"))
        .text()
        .unwrap();
    assert!(t.contains("GRAY_INDEX = "), "{t}");
}

/// A GeoTIFF uploaded through REST (`file.geotiff`) or named on the server
/// (`external.geotiff`) becomes a store, a coverage and a layer that draws; a file that does
/// not read configures nothing.
#[test]
fn coverages_uploaded_through_rest_draw() {
    let n = Node::with_fixture();
    let tif = std::fs::read(meridian_testkit::fixture_datadir().join("data/sf/sfdem.tif")).unwrap();
    let r = n.send(
        "PUT",
        "/workspaces/sf/coveragestores/dem2/file.geotiff?coverageName=dem2",
        "image/tiff",
        tif,
    );
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    let cov = n.json("/workspaces/sf/coveragestores/dem2/coverages/dem2.json");
    assert_eq!(cov["coverage"]["srs"], "EPSG:26713", "{cov}");
    let layer = n.json("/layers/sf:dem2.json");
    assert_eq!(layer["layer"]["defaultStyle"]["name"], "raster", "{layer}");
    let m = map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sf:dem2&STYLES=dem&SRS=EPSG:26713&BBOX=589980,4913700,609000,4928010&WIDTH=317&HEIGHT=238&FORMAT=image/png",
        "wms-uploaded-dem.png",
    );
    let ne = m.at(310, 10);
    assert!(ne[1] > 200 && ne[2] < 100, "{ne:?}");
    // Named on the server.
    let path = meridian_testkit::fixture_datadir().join("coverages/arc_sample/precip30min.asc");
    let r = n.send(
        "PUT",
        "/workspaces/nurc/coveragestores/rain2/external.arcgrid",
        "text/plain",
        path.to_str().unwrap(),
    );
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    assert_eq!(n.get("/layers/nurc:rain2.json").status(), 200);
    // Not a GeoTIFF: refused, nothing left behind.
    let r = n.send(
        "PUT",
        "/workspaces/sf/coveragestores/junk/file.geotiff",
        "image/tiff",
        b"II*\0not a tiff".to_vec(),
    );
    assert_eq!(r.status(), 400);
    assert_eq!(
        n.get("/workspaces/sf/coveragestores/junk.json").status(),
        404
    );
    assert!(!n.dir.join("data/sf/junk").exists(), "no file is kept");
    // A format Meridian does not read.
    let r = n.send(
        "PUT",
        "/workspaces/sf/coveragestores/x/file.netcdf",
        "application/x-netcdf",
        b"CDF".to_vec(),
    );
    assert_eq!(r.status(), 400);
}

/// The node's peak resident memory so far, in MB.
fn peak_mb(n: &Node) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", n.child.id())).unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    kb / 1024.0
}

/// A GeoTIFF too large to read whole (sfdem enlarged 8 times: 5,072 × 3,816 values, tiled and
/// compressed, with overviews made by GDAL) draws from its overviews and only the tiles a map
/// needs, in a small fraction of the memory the whole grid would take; feature info reads the
/// full resolution under the pixel.
#[test]
fn a_large_geotiff_draws_from_overviews_in_bounded_memory() {
    let n = Node::with_fixture();
    let big = n.dir.join("data/sf/bigdem.tif");
    let src = n.dir.join("data/sf/sfdem.tif");
    let run = |cmd: &mut std::process::Command| {
        let out = cmd.output().expect(
            "GDAL's tools (Debian's gdal-bin) are needed: bash scripts/test-all.sh installs them",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(std::process::Command::new("gdal_translate").args([
        "-q",
        "-outsize",
        "800%",
        "800%",
        "-co",
        "TILED=YES",
        "-co",
        "COMPRESS=DEFLATE",
        src.to_str().unwrap(),
        big.to_str().unwrap(),
    ]));
    run(std::process::Command::new("gdaladdo").args([
        "-q",
        "-r",
        "average",
        big.to_str().unwrap(),
        "2",
        "4",
        "8",
        "16",
    ]));
    let r = n.send(
        "PUT",
        "/workspaces/sf/coveragestores/bigdem/external.geotiff?coverageName=bigdem",
        "text/plain",
        big.to_str().unwrap(),
    );
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    let before = peak_mb(&n);
    let whole = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&STYLES=dem&SRS=EPSG:26713&BBOX=589980,4913700,609000,4928010&WIDTH=634&HEIGHT=477&FORMAT=image/png";
    let m = map(&n, &format!("{whole}&LAYERS=sf:bigdem"), "wms-bigdem.png");
    let small = map(
        &n,
        &format!("{whole}&LAYERS=sf:sfdem"),
        "wms-bigdem-sfdem.png",
    );
    // The same picture as the small file's.
    let differing = (0..m.h)
        .flat_map(|y| (0..m.w).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let (a, b) = (m.at(x, y), small.at(x, y));
            a.iter().zip(b).any(|(p, q)| p.abs_diff(q) > 40)
        })
        .count();
    assert!(
        differing < (m.w * m.h / 50) as usize,
        "{differing} pixels differ from sfdem's map"
    );
    // Zoomed in: full resolution tiles of one corner.
    map(
        &n,
        "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sf:bigdem&STYLES=dem&SRS=EPSG:26713&BBOX=590000,4926000,591000,4927000&WIDTH=512&HEIGHT=512&FORMAT=image/png",
        "wms-bigdem-zoom.png",
    );
    let grown = peak_mb(&n) - before;
    // Read whole, the grid alone is 5,072 × 3,816 × 4 bytes = 77 MB (and as much again
    // while decoding).
    assert!(grown < 40.0, "peak memory grew {grown:.0} MB");
    let info = |layer: &str| -> f64 {
        let j: serde_json::Value = wms(&n, &format!("SERVICE=WMS&VERSION=1.1.1&REQUEST=GetFeatureInfo&LAYERS={layer}&QUERY_LAYERS={layer}&STYLES=&SRS=EPSG:26713&BBOX=589980,4913700,609000,4928010&WIDTH=634&HEIGHT=477&X=300&Y=200&INFO_FORMAT=application/json")).json().unwrap();
        j["features"][0]["properties"]["GRAY_INDEX"]
            .as_f64()
            .unwrap()
    };
    assert!((info("sf:bigdem") - info("sf:sfdem")).abs() < 5.0);
}

/// Every layer and group of the release data directory draws with its default style: a PNG
/// of the size asked for with something on it, and no style that fails to read.
#[test]
fn every_release_layer_draws_with_its_style() {
    let n = Node::with_fixture();
    let caps = wms(&n, "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetCapabilities")
        .text()
        .unwrap();
    // Each named layer with its lat/lon box.
    let mut checked = 0;
    for part in caps.split("<Layer queryable=").skip(1) {
        let name = part
            .split("<Name>")
            .nth(1)
            .and_then(|s| s.split("</Name>").next())
            .unwrap()
            .to_string();
        let Some(bb) = part.split("<LatLonBoundingBox ").nth(1) else {
            continue;
        };
        let attr = |k: &str| -> f64 {
            bb.split(&format!("{k}=\""))
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let (minx, miny, maxx, maxy) = (attr("minx"), attr("miny"), attr("maxx"), attr("maxy"));
        // Populated places show from 1:70M down (their MIN_ZOOM is 3 everywhere): a box of
        // Europe.
        let (minx, miny, maxx, maxy) = if name == "ne:populated_places" {
            (0.0, 40.0, 20.0, 55.0)
        } else {
            (minx, miny, maxx, maxy)
        };
        let q = format!(
            "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS={name}&STYLES=&SRS=EPSG:4326&BBOX={minx},{miny},{maxx},{maxy}&WIDTH=256&HEIGHT=256&FORMAT=image/png&TRANSPARENT=TRUE"
        );
        let m = map(&n, &q, &format!("release-{}.png", name.replace(':', "_")));
        assert_eq!((m.w, m.h), (256, 256), "{name}");
        let inked = (0..m.h)
            .flat_map(|y| (0..m.w).map(move |x| (x, y)))
            .filter(|&(x, y)| m.at(x, y)[3] > 0)
            .count();
        assert!(inked > 0, "{name} draws nothing");
        checked += 1;
    }
    assert!(checked >= 20, "{checked} layers checked");
    assert!(
        !n.log_contains("style does not read"),
        "a release style failed to read"
    );
}
