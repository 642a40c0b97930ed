//! The tile services against a real node: WMTS (KVP and RESTful), TMS and the gmaps XYZ
//! service give the same tiles of the same grid; a tile is drawn once and then read from the
//! cache; a style changed over REST truncates the tiles it made stale; tile layers and
//! gridsets follow GeoServer's files; refusals say what is wrong.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, Node};
use reqwest::blocking::Response;

fn node() -> Node {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    Node::start(dir, Some(tmp))
}

fn get(n: &Node, path: &str) -> Response {
    n.anon()
        .get(format!("http://127.0.0.1:{}/geoserver{path}", n.port))
        .send()
        .unwrap()
}

/// A call to GeoWebCache's REST API as the administrator: its status and body.
fn gwc_rest(n: &Node, method: &str, path: &str, ct: &str, body: &str) -> (u16, String) {
    let r = n
        .anon()
        .request(
            method.parse().unwrap(),
            format!("http://127.0.0.1:{}/geoserver/gwc/rest{path}", n.port),
        )
        .basic_auth("admin", Some("geoserver"))
        .header("content-type", ct)
        .body(body.to_string())
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn wmts_tile(layer: &str, set: &str, matrix: &str, row: u64, col: u64, format: &str) -> String {
    format!(
        "/gwc/service/wmts?SERVICE=WMTS&VERSION=1.0.0&REQUEST=GetTile&LAYER={layer}&STYLE=&TILEMATRIXSET={set}&TILEMATRIX={matrix}&TILEROW={row}&TILECOL={col}&FORMAT={format}"
    )
}

fn painted(png: &[u8]) -> usize {
    let (w, h, px) = meridian_testkit::images::rgb(png);
    assert_eq!((w, h), (256, 256));
    px.chunks(3).filter(|p| p != &[255, 255, 255]).count()
}

#[test]
fn the_tile_services_share_one_grid_and_one_cache() {
    let n = node();
    // Capabilities: the layer, its formats, both default gridsets and their matrices.
    let r = get(&n, "/gwc/service/wmts?REQUEST=GetCapabilities");
    assert_eq!(r.status(), 200);
    let caps = r.text().unwrap();
    assert!(caps.contains("<ows:Identifier>topp:states</ows:Identifier>"));
    assert!(caps.contains("<TileMatrixSet>EPSG:4326</TileMatrixSet>"));
    assert!(caps.contains("<TileMatrixSet>EPSG:900913</TileMatrixSet>"));
    assert!(caps.contains("<ows:Identifier>EPSG:4326:2</ows:Identifier><ScaleDenominator>6.988528300358972E7</ScaleDenominator><TopLeftCorner>90.0 -180.0</TopLeftCorner><TileWidth>256</TileWidth><TileHeight>256</TileHeight><MatrixWidth>8</MatrixWidth><MatrixHeight>4</MatrixHeight>"), "{caps}");
    assert!(caps.contains("template=\""));
    // KVP: drawn, then cached.
    let kvp = wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 1, "image/png");
    let first = get(&n, &kvp);
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["geowebcache-cache-result"], "MISS");
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let drawn = first.bytes().unwrap().to_vec();
    assert!(painted(&drawn) > 5000, "the western states are drawn");
    let second = get(&n, &kvp);
    assert_eq!(second.headers()["geowebcache-cache-result"], "HIT");
    assert_eq!(second.bytes().unwrap().to_vec(), drawn);
    // Its metatile's neighbours were cached by the same drawing.
    let neighbour = get(
        &n,
        &wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 2, "image/png"),
    );
    assert_eq!(neighbour.headers()["geowebcache-cache-result"], "HIT");
    // A client that has it: 304.
    let r = n
        .anon()
        .get(format!("http://127.0.0.1:{}/geoserver{kvp}", n.port))
        .header("if-none-match", etag.as_str())
        .send()
        .unwrap();
    assert_eq!(r.status(), 304);
    // The same tile RESTfully, through TMS (rows from the bottom: row 1 of 4 from the top is
    // 2), and TMS with flipY.
    let rest = get(
        &n,
        "/gwc/service/wmts/rest/topp:states/EPSG:4326/EPSG:4326:2/1/1?format=image/png",
    );
    assert_eq!(rest.bytes().unwrap().to_vec(), drawn);
    let tms = get(
        &n,
        "/gwc/service/tms/1.0.0/topp%3Astates@EPSG%3A4326@png/2/1/2.png",
    );
    assert_eq!(tms.status(), 200);
    assert_eq!(tms.bytes().unwrap().to_vec(), drawn);
    let xyz = get(
        &n,
        "/gwc/service/tms/1.0.0/topp:states@EPSG:4326@png/2/1/1.png?flipY=true",
    );
    assert_eq!(xyz.bytes().unwrap().to_vec(), drawn);
    // Web Mercator through gmaps (rows from the top) and TMS agree too.
    let g = get(&n, "/gwc/service/gmaps?layers=topp:states&zoom=3&x=1&y=2");
    assert_eq!(g.status(), 200);
    let g = g.bytes().unwrap().to_vec();
    assert!(painted(&g) > 5000);
    let t = get(
        &n,
        "/gwc/service/tms/1.0.0/topp:states@EPSG:900913@png/3/1/5.png",
    );
    assert_eq!(t.bytes().unwrap().to_vec(), g);
    // JPEG tiles are JPEG.
    let j = get(
        &n,
        &wmts_tile(
            "topp:states",
            "EPSG:4326",
            "EPSG:4326:2",
            1,
            1,
            "image/jpeg",
        ),
    );
    assert_eq!(j.headers()["content-type"], "image/jpeg");
    assert_eq!(&j.bytes().unwrap()[..2], &[0xff, 0xd8]);
    // The cache is GeoServer's default place, with no file half written.
    let cache = n.dir.join("gwc");
    let mut files = Vec::new();
    walk(&cache, &mut files);
    assert!(files.len() >= 16, "{files:?}");
    assert!(files.iter().all(|f| !f.to_string_lossy().ends_with(".tmp")));
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            walk(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

#[test]
fn wrong_tile_requests_say_what_is_wrong() {
    let n = node();
    let report = |path: &str, status: u16, code: &str| {
        let r = get(&n, path);
        assert_eq!(r.status(), status, "{path}");
        let body = r.text().unwrap();
        assert!(body.contains(code), "{path}: {body}");
    };
    report(
        &wmts_tile("topp:nosuch", "EPSG:4326", "EPSG:4326:2", 0, 0, "image/png"),
        400,
        "no tile layer named 'topp:nosuch'",
    );
    report(
        &wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 9, 0, "image/png"),
        400,
        "TileOutOfRange",
    );
    report(
        &wmts_tile(
            "topp:states",
            "EPSG:4326",
            "EPSG:4326:2",
            0,
            99,
            "image/png",
        ),
        400,
        "TileOutOfRange",
    );
    report(
        &wmts_tile("topp:states", "EPSG:1234", "EPSG:4326:2", 0, 0, "image/png"),
        400,
        "no gridset named 'EPSG:1234'",
    );
    report(
        &wmts_tile(
            "topp:states",
            "EPSG:4326",
            "EPSG:4326:99",
            0,
            0,
            "image/png",
        ),
        400,
        "has no matrix",
    );
    report(
        &wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 0, 0, "image/gif"),
        400,
        "not a tile format",
    );
    report(
        "/gwc/service/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=topp:states",
        400,
        "MissingParameterValue",
    );
    report(
        "/gwc/service/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=topp:states&STYLE=nosuch&TILEMATRIXSET=EPSG:4326&TILEMATRIX=EPSG:4326:1&TILEROW=0&TILECOL=0&FORMAT=image/png",
        400,
        "no cached style 'nosuch'",
    );
    report(
        "/gwc/service/tms/1.0.0/topp:states@EPSG:4326@png/2/99/0.png",
        404,
        "column 99",
    );
    report(
        "/gwc/service/tms/1.0.0/topp:nosuch@EPSG:4326@png/2/0/0.png",
        404,
        "no tile layer",
    );
}

const RED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc">
<NamedLayer><Name>states</Name><UserStyle><FeatureTypeStyle><Rule><PolygonSymbolizer><Fill><CssParameter name="fill">#ff0000</CssParameter></Fill></PolygonSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"#;

/// Pixels of pure red.
fn red(png: &[u8]) -> usize {
    let (_, _, px) = meridian_testkit::images::rgb(png);
    px.chunks(3).filter(|p| p == &[255, 0, 0]).count()
}

#[test]
fn a_style_changed_over_rest_truncates_the_tiles_it_drew() {
    let n = node();
    let kvp = wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 1, "image/png");
    let before = get(&n, &kvp).bytes().unwrap().to_vec();
    // Read from the cache, then answered from memory.
    for _ in 0..2 {
        assert_eq!(get(&n, &kvp).headers()["geowebcache-cache-result"], "HIT");
    }
    assert_eq!(red(&before), 0);
    expect(
        n.send(
            "PUT",
            "/styles/population",
            "application/vnd.ogc.sld+xml",
            RED,
        ),
        200,
    );
    let after = get(&n, &kvp);
    assert_eq!(after.headers()["geowebcache-cache-result"], "MISS");
    assert!(
        red(&after.bytes().unwrap()) > 5000,
        "drawn with the new style"
    );
    // Another layer's tiles stay cached.
    let other = wmts_tile(
        "topp:tasmania_roads",
        "EPSG:4326",
        "EPSG:4326:2",
        1,
        7,
        "image/png",
    );
    get(&n, &other);
    expect(
        n.send(
            "PUT",
            "/styles/population",
            "application/vnd.ogc.sld+xml",
            RED,
        ),
        200,
    );
    assert_eq!(get(&n, &other).headers()["geowebcache-cache-result"], "HIT");
}

#[test]
fn tile_layers_and_gridsets_follow_geoservers_files() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    // The states layer's id, from its layer.xml.
    let layer_xml =
        std::fs::read_to_string(dir.join("workspaces/topp/states_shapefile/states/layer.xml"))
            .unwrap();
    let id = meridian_xml::parse(&layer_xml)
        .unwrap()
        .child_text("id")
        .unwrap()
        .to_string();
    std::fs::create_dir_all(dir.join("gwc-layers")).unwrap();
    std::fs::write(
        dir.join(format!("gwc-layers/{}.xml", id.replace(':', "_"))),
        format!(
            "<GeoServerTileLayer><id>{id}</id><enabled>true</enabled><name>topp:states</name>\
             <mimeFormats><string>image/png</string></mimeFormats>\
             <gridSubsets><gridSubset><gridSetName>My200</gridSetName><zoomStart>0</zoomStart><zoomStop>2</zoomStop></gridSubset></gridSubsets>\
             <metaWidthHeight><int>2</int><int>2</int></metaWidthHeight><gutter>0</gutter></GeoServerTileLayer>"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("gwc")).unwrap();
    std::fs::write(
        dir.join("gwc/geowebcache.xml"),
        "<gwcConfiguration><gridSets><gridSet><name>My200</name><srs><number>4326</number></srs>\
         <extent><coords><double>-130</double><double>20</double><double>-60</double><double>55</double></coords></extent>\
         <resolutions><double>0.35</double><double>0.175</double><double>0.0875</double><double>0.04375</double></resolutions>\
         <tileHeight>200</tileHeight><tileWidth>200</tileWidth></gridSet></gridSets></gwcConfiguration>",
    )
    .unwrap();
    let n = Node::start(dir, Some(tmp));
    let caps = get(&n, "/gwc/service/wmts?REQUEST=GetCapabilities")
        .text()
        .unwrap();
    assert!(
        caps.contains("<ows:Identifier>My200</ows:Identifier>"),
        "{caps}"
    );
    assert!(
        caps.contains("<TileMatrixLimits><TileMatrix>My200:2</TileMatrix>"),
        "{caps}"
    );
    let ok = get(
        &n,
        &wmts_tile("topp:states", "My200", "My200:1", 0, 0, "image/png"),
    );
    assert_eq!(ok.status(), 200);
    let (w, h, _) = meridian_testkit::images::rgb(&ok.bytes().unwrap());
    assert_eq!((w, h), (200, 200));
    // Only what the tile layer serves.
    for (path, why) in [
        (
            wmts_tile("topp:states", "My200", "My200:1", 0, 0, "image/jpeg"),
            "is not cached as image/jpeg",
        ),
        (
            wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:1", 0, 0, "image/png"),
            "has no tiles in the gridset EPSG:4326",
        ),
        (
            wmts_tile("topp:states", "My200", "My200:3", 0, 0, "image/png"),
            "levels 0 to 2",
        ),
    ] {
        let r = get(&n, &path);
        assert_eq!(r.status(), 400);
        assert!(r.text().unwrap().contains(why), "{why}");
    }
}

#[test]
fn cached_tiles_answered_from_memory_follow_the_rules_and_the_files() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    common::add_user(&dir, "reader", "reader", &["ROLE_STATES"]);
    let n = Node::start(dir, Some(tmp));
    let kvp = wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 1, "image/png");
    let drawn = get(&n, &kvp);
    assert_eq!(drawn.headers()["geowebcache-cache-result"], "MISS");
    let etag = drawn.headers()["etag"].to_str().unwrap().to_string();
    let bytes = drawn.bytes().unwrap().to_vec();
    // The second is read from the cache, the third and later kept in memory: the same
    // tile, the same headers, and 304 for the ETag.
    for _ in 0..3 {
        let r = get(&n, &kvp);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(r.headers()["geowebcache-cache-result"], "HIT");
        assert_eq!(r.bytes().unwrap().to_vec(), bytes);
    }
    let again = n
        .anon()
        .get(format!("http://127.0.0.1:{}/geoserver{kvp}", n.port))
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    // The layer closed to anonymous callers: the tile kept in memory is not given to them.
    expect(
        n.send(
            "POST",
            "/security/acl/layers",
            "application/json",
            r#"{"topp.states.r": "ROLE_STATES"}"#,
        ),
        200,
    );
    assert_eq!(get(&n, &kvp).status(), 400);
    let reader = || {
        n.anon()
            .get(format!("http://127.0.0.1:{}/geoserver{kvp}", n.port))
            .basic_auth("reader", Some("reader"))
            .send()
            .unwrap()
    };
    for _ in 0..3 {
        assert_eq!(reader().status(), 200);
    }
    // Kept for the reader's requests? Never: anonymous callers are still refused.
    assert_eq!(get(&n, &kvp).status(), 400);
    // Opened again, kept again; then the cache emptied: the next tile is drawn anew.
    expect(
        n.send("DELETE", "/security/acl/layers/topp.states.r", "", ""),
        200,
    );
    for _ in 0..3 {
        assert_eq!(get(&n, &kvp).status(), 200);
    }
    let (status, _) = gwc_rest(
        &n,
        "POST",
        "/masstruncate",
        "text/xml",
        "<truncateLayer><layerName>topp:states</layerName></truncateLayer>",
    );
    assert_eq!(status, 200);
    assert_eq!(get(&n, &kvp).headers()["geowebcache-cache-result"], "MISS");
}

#[test]
fn masstruncate_of_an_extent_truncates_only_the_tiles_meeting_it() {
    let n = node();
    // Level 2 of EPSG:4326: 45° tiles; row 1 holds latitudes 0 to 45, column 1 longitudes
    // -135 to -90, column 2 -90 to -45 (both drawn by one metatile).
    let west = wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 1, "image/png");
    let east = wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 2, "image/png");
    let result = |path: &str| {
        get(&n, path).headers()["geowebcache-cache-result"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(result(&west), "MISS");
    assert_eq!(result(&east), "HIT");
    assert_eq!(result(&east), "HIT");
    let truncate = |body: &str| gwc_rest(&n, "POST", "/masstruncate", "text/xml", body);
    // A box in WGS84 (no gridset named): the western tile only.
    let (status, text) = truncate(
        "<truncateExtent><layerName>topp:states</layerName><bounds><coords><double>-130</double><double>10</double><double>-100</double><double>40</double></coords></bounds></truncateExtent>",
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(result(&east), "HIT");
    assert_eq!(result(&west), "MISS");
    // A box in a named gridset's CRS: the eastern tile only.
    let (status, text) = truncate(
        "<truncateExtent><layerName>topp:states</layerName><bounds><coords><double>-80</double><double>10</double><double>-50</double><double>40</double></coords></bounds><gridSetId>EPSG:4326</gridSetId></truncateExtent>",
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(result(&west), "HIT");
    assert_eq!(result(&east), "MISS");
    // Wrong boxes and gridsets say what is wrong.
    for (body, says) in [
        (
            "<truncateExtent><layerName>topp:states</layerName><bounds><coords><double>-80</double><double>10</double></coords></bounds></truncateExtent>",
            "four numbers",
        ),
        (
            "<truncateExtent><layerName>topp:states</layerName><bounds><coords><double>-50</double><double>10</double><double>-80</double><double>40</double></coords></bounds></truncateExtent>",
            "not a box",
        ),
        (
            "<truncateExtent><layerName>topp:states</layerName><bounds><coords><double>-80</double><double>10</double><double>-50</double><double>40</double></coords></bounds><gridSetId>nope</gridSetId></truncateExtent>",
            "no gridset named 'nope'",
        ),
    ] {
        let (status, text) = truncate(body);
        assert_eq!(status, 400, "{body}");
        assert!(text.contains(says), "{text}");
    }
    // Nothing was truncated by the refused requests.
    assert_eq!(result(&west), "HIT");
    assert_eq!(result(&east), "HIT");
}

/// A WMTS GetFeatureInfo of `topp:states`' EPSG:4326 level 2 tile at row 1, column 1
/// (longitudes -135 to -90, latitudes 45 to 0), at pixel (i, j).
fn wmts_info(i: &str, j: &str, info_format: &str) -> String {
    format!(
        "/gwc/service/wmts?SERVICE=WMTS&VERSION=1.0.0&REQUEST=GetFeatureInfo&LAYER=topp:states&STYLE=&TILEMATRIXSET=EPSG:4326&TILEMATRIX=EPSG:4326:2&TILEROW=1&TILECOL=1&FORMAT=image/png&I={i}&J={j}&INFOFORMAT={info_format}"
    )
}

#[test]
fn wmts_getfeatureinfo_answers_the_features_under_a_pixel_of_a_tile() {
    let n = node();
    // Pixel (210, 37): longitude -98.1, latitude 38.5, in Kansas.
    let r = get(&n, &wmts_info("210", "37", "application/json"));
    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = r.json().unwrap();
    let names: Vec<&str> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["STATE_NAME"].as_str())
        .collect();
    assert_eq!(names, ["Kansas"], "{doc}");
    // Over the Pacific: nothing.
    let doc: serde_json::Value = get(&n, &wmts_info("5", "250", "application/json"))
        .json()
        .unwrap();
    assert_eq!(doc["features"].as_array().unwrap().len(), 0);
    let text = get(&n, &wmts_info("210", "37", "text/plain"))
        .text()
        .unwrap();
    assert!(text.contains("Kansas"), "{text}");
    // Wrong requests say what is wrong, in WMTS's terms.
    for (path, code, locator) in [
        (
            wmts_info("", "37", "text/plain"),
            "MissingParameterValue",
            "i",
        ),
        (
            wmts_info("256", "37", "text/plain"),
            "PointIJOutOfRange",
            "i",
        ),
        (
            wmts_info("10", "-1", "text/plain"),
            "PointIJOutOfRange",
            "j",
        ),
        (wmts_info("10", "10", "image/bogus"), "", "infoformat"),
    ] {
        let r = get(&n, &path);
        assert_eq!(r.status(), 400, "{path}");
        let body = r.text().unwrap();
        assert!(body.contains(code), "{path}: {body}");
        assert!(
            body.contains(&format!("locator=\"{locator}\"")),
            "{path}: {body}"
        );
    }
    // The capabilities say so.
    let caps = get(&n, "/gwc/service/wmts?REQUEST=GetCapabilities")
        .text()
        .unwrap();
    assert!(caps.contains("<ows:Operation name=\"GetFeatureInfo\">"));
    assert!(caps.contains("<InfoFormat>application/json</InfoFormat>"));
}

#[test]
fn tiles_of_a_layer_the_caller_may_not_read_are_not_given() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    common::add_user(&dir, "reader", "reader", &["ROLE_STATES"]);
    std::fs::write(
        dir.join("security/layers.properties"),
        "*.*.r=*\ntopp.states.r=ROLE_STATES\n",
    )
    .unwrap();
    let n = Node::start(dir, Some(tmp));
    let kvp = wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 1, "image/png");
    // The reader draws it (and it is cached)...
    let r = n
        .anon()
        .get(format!("http://127.0.0.1:{}/geoserver{kvp}", n.port))
        .basic_auth("reader", Some("reader"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // ...and anonymous callers still do not get it, cached or not, nor its features.
    assert_eq!(get(&n, &kvp).status(), 400);
    assert_eq!(
        get(&n, &wmts_info("210", "37", "application/json")).status(),
        400
    );
    assert!(!get(&n, "/gwc/service/wmts?REQUEST=GetCapabilities")
        .text()
        .unwrap()
        .contains("topp:states"));
    assert_eq!(
        get(
            &n,
            "/gwc/service/tms/1.0.0/topp:states@EPSG:4326@png/2/1/2.png"
        )
        .status(),
        404
    );
}

#[test]
fn geowebcaches_rest_api_keeps_tile_layers_as_geoservers_files_and_truncates() {
    let n = node();
    let gwc = |method: &str, path: &str, ct: &str, body: &str| gwc_rest(&n, method, path, ct, body);
    // The administrator's only.
    let r = get(&n, "/gwc/rest/layers");
    assert_eq!(r.status(), 401);
    let (s, list) = gwc("GET", "/layers", "", "");
    assert_eq!(s, 200);
    assert!(list.contains("<name>topp:states</name>"), "{list}");
    let (s, json) = gwc("GET", "/layers.json", "", "");
    assert_eq!(s, 200);
    let names: Vec<String> = serde_json::from_str(&json).unwrap();
    assert!(names.contains(&"topp:states".to_string()));
    let (s, one) = gwc("GET", "/layers/topp:states.xml", "", "");
    assert_eq!(s, 200);
    assert!(
        one.contains("<GeoServerLayer>") && one.contains("<gridSetName>EPSG:4326</gridSetName>"),
        "{one}"
    );
    // PUT: only PNG, EPSG:4326 levels 0–3; saved as GeoServer's file.
    let body = "<GeoServerLayer><name>topp:states</name><enabled>true</enabled><mimeFormats><string>image/png</string></mimeFormats>\
        <gridSubsets><gridSubset><gridSetName>EPSG:4326</gridSetName><zoomStart>0</zoomStart><zoomStop>3</zoomStop></gridSubset></gridSubsets>\
        <metaWidthHeight><int>2</int><int>2</int></metaWidthHeight></GeoServerLayer>";
    let (s, msg) = gwc("PUT", "/layers/topp:states.xml", "text/xml", body);
    assert_eq!((s, msg.as_str()), (200, "layer saved"));
    let files: Vec<_> = std::fs::read_dir(n.dir.join("gwc-layers"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let file = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        file.starts_with("<GeoServerTileLayer>") && file.contains("<zoomStop>3</zoomStop>"),
        "{file}"
    );
    let r = get(
        &n,
        &wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:4", 0, 0, "image/png"),
    );
    assert_eq!(r.status(), 400, "level 4 is no longer served");
    // Wrong bodies: another layer's name, an unknown gridset, a format Meridian does not draw.
    for (bad, why) in [
        (body.replace("topp:states", "topp:roads"), "names the layer"),
        (
            body.replace("<gridSetName>EPSG:4326", "<gridSetName>Nope"),
            "no gridset named 'Nope'",
        ),
        (body.replace("image/png", "image/tiff"), "image/tiff"),
    ] {
        let (s, msg) = gwc("PUT", "/layers/topp:states.xml", "text/xml", &bad);
        assert_eq!(s, 400, "{why}");
        assert!(msg.contains(why), "{msg}");
    }
    let (s, _) = gwc("PUT", "/layers/topp:nosuch.xml", "text/xml", body);
    assert_eq!(s, 404);
    // masstruncate empties the layer's tiles.
    let kvp = wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 1, "image/png");
    get(&n, &kvp);
    assert_eq!(get(&n, &kvp).headers()["geowebcache-cache-result"], "HIT");
    let (s, _) = gwc(
        "POST",
        "/masstruncate",
        "text/xml",
        "<truncateLayer><layerName>topp:states</layerName></truncateLayer>",
    );
    assert_eq!(s, 200);
    assert_eq!(get(&n, &kvp).headers()["geowebcache-cache-result"], "MISS");
    let (s, msg) = gwc(
        "POST",
        "/masstruncate",
        "text/xml",
        "<truncateLayer><layerName>topp:nosuch</layerName></truncateLayer>",
    );
    assert_eq!(s, 400, "{msg}");
    // DELETE: no tiles any more, and the layer is gone from the list.
    let (s, _) = gwc("DELETE", "/layers/topp:states.xml", "", "");
    assert_eq!(s, 200);
    assert_eq!(get(&n, &kvp).status(), 400);
    let (_, list) = gwc("GET", "/layers", "", "");
    assert!(!list.contains("<name>topp:states</name>"));
    let (s, _) = gwc("GET", "/layers/topp:states.xml", "", "");
    assert_eq!(s, 404);
}

#[test]
fn seeding_fills_the_cache_reports_progress_and_stops_when_told() {
    let n = node();
    let gwc = |method: &str, path: &str, ct: &str, body: &str| gwc_rest(&n, method, path, ct, body);
    let (s, msg) = gwc(
        "POST",
        "/seed/topp:states.xml",
        "text/xml",
        "<seedRequest><name>topp:states</name><gridSetId>EPSG:4326</gridSetId><zoomStart>0</zoomStart><zoomStop>2</zoomStop>\
         <format>image/png</format><type>seed</type><threadCount>2</threadCount></seedRequest>",
    );
    assert_eq!(s, 200, "{msg}");
    common::wait_for(
        "seeding done",
        &[&n],
        std::time::Duration::from_secs(60),
        || {
            let (_, status) = gwc("GET", "/seed/topp:states.json", "", "");
            let v: serde_json::Value = serde_json::from_str(&status).unwrap();
            v["long-array-array"].as_array().unwrap().is_empty()
        },
    );
    // Every tile of levels 0 to 2 is cached: 2 + 8 + 32.
    let mut files = Vec::new();
    walk(&n.dir.join("gwc"), &mut files);
    let png = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .count();
    assert_eq!(png, 42, "{files:?}");
    assert_eq!(
        get(
            &n,
            &wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 3, 7, "image/png")
        )
        .headers()["geowebcache-cache-result"],
        "HIT"
    );
    // A big task is stopped by kill_all.
    let (s, _) = gwc(
        "POST",
        "/seed/topp:states.json",
        "application/json",
        r#"{"seedRequest":{"name":"topp:states","gridSetId":"EPSG:900913","zoomStart":0,"zoomStop":12,"format":"image/png","type":"seed","threadCount":1}}"#,
    );
    assert_eq!(s, 200);
    let (_, status) = gwc("GET", "/seed.json", "", "");
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let row = &v["long-array-array"][0];
    assert!(row[1].as_i64().unwrap() > 1_000_000, "{status}");
    let (s, _) = gwc(
        "POST",
        "/seed/topp:states",
        "application/x-www-form-urlencoded",
        "kill_all=all",
    );
    assert_eq!(s, 200);
    common::wait_for(
        "seeding stopped",
        &[&n],
        std::time::Duration::from_secs(30),
        || {
            let (_, status) = gwc("GET", "/seed.json", "", "");
            status.contains("[]")
        },
    );
    assert!(n.log_contains("aborted=true"));
    // Wrong requests say why.
    let (s, msg) = gwc(
        "POST",
        "/seed/topp:states.xml",
        "text/xml",
        "<seedRequest><gridSetId>EPSG:4326</gridSetId><zoomStart>5</zoomStart><zoomStop>99</zoomStop></seedRequest>",
    );
    assert_eq!(s, 400);
    assert!(msg.contains("not within"), "{msg}");
    let (s, _) = gwc(
        "POST",
        "/seed/topp:nosuch.xml",
        "text/xml",
        "<seedRequest/>",
    );
    assert_eq!(s, 404);
}

#[test]
fn wms_getmap_requests_that_are_tiles_come_from_the_cache_when_direct_integration_is_on() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    std::fs::write(
        dir.join("gwc-gs.xml"),
        "<GeoServerGWCConfig><version>1.1.0</version><directWMSIntegrationEnabled>true</directWMSIntegrationEnabled>\
         <requireTiledParameter>true</requireTiledParameter></GeoServerGWCConfig>",
    )
    .unwrap();
    let n = Node::start(dir, Some(tmp));
    let map = |extra: &str| {
        format!("/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=topp:states&STYLES=&SRS=EPSG:4326&WIDTH=256&HEIGHT=256&FORMAT=image/png&TRANSPARENT=true{extra}")
    };
    let tiled = map("&BBOX=-135,0,-90,45&TILED=true");
    let first = get(&n, &tiled);
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["geowebcache-cache-result"], "MISS");
    assert_eq!(first.headers()["geowebcache-tile-index"], "[1, 2, 2]");
    let bytes = first.bytes().unwrap().to_vec();
    let again = get(&n, &tiled);
    assert_eq!(again.headers()["geowebcache-cache-result"], "HIT");
    assert_eq!(again.bytes().unwrap().to_vec(), bytes);
    // The same tile through WMTS is the same bytes.
    let w = get(
        &n,
        &wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 1, "image/png"),
    );
    assert_eq!(w.bytes().unwrap().to_vec(), bytes);
    // Off the grid: drawn, and says why.
    let off = get(&n, &map("&BBOX=-130,0,-85,45&TILED=true"));
    assert_eq!(off.status(), 200);
    assert_eq!(off.headers()["geowebcache-cache-result"], "MISS");
    assert!(off.headers()["geowebcache-miss-reason"]
        .to_str()
        .unwrap()
        .contains("does not align"));
    // Without TILED=true, plain WMS (no cache headers).
    let plain = get(&n, &map("&BBOX=-135,0,-90,45"));
    assert!(plain.headers().get("geowebcache-cache-result").is_none());
    // A filter is not cached.
    let filtered = get(
        &n,
        &map("&BBOX=-135,0,-90,45&TILED=true&CQL_FILTER=STATE_ABBR='TX'"),
    );
    assert!(filtered.headers()["geowebcache-miss-reason"]
        .to_str()
        .unwrap()
        .contains("CQL_FILTER"));
}

#[test]
fn vector_tiles_hold_the_features_of_the_tile_with_their_attributes() {
    let n = node();
    let put = n
        .anon()
        .put(format!(
            "http://127.0.0.1:{}/geoserver/gwc/rest/layers/topp:states.xml",
            n.port
        ))
        .basic_auth("admin", Some("geoserver"))
        .header("content-type", "text/xml")
        .body(
            "<GeoServerLayer><name>topp:states</name><enabled>true</enabled><mimeFormats><string>image/png</string>\
             <string>application/vnd.mapbox-vector-tile</string></mimeFormats>\
             <gridSubsets><gridSubset><gridSetName>EPSG:900913</gridSetName></gridSubset><gridSubset><gridSetName>EPSG:4326</gridSetName></gridSubset></gridSubsets></GeoServerLayer>",
        )
        .send()
        .unwrap();
    assert_eq!(put.status(), 200);
    // Texas, at web mercator level 3 (rows from the top: column 1, row 3).
    let r = get(
        &n,
        "/gwc/service/wmts/rest/topp:states/EPSG:900913/EPSG:900913:3/3/1?format=application/vnd.mapbox-vector-tile",
    );
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    let bytes = r.bytes().unwrap().to_vec();
    let has = |s: &[u8]| bytes.windows(s.len()).any(|w| w == s);
    assert!(has(b"states"), "the layer is named after the layer");
    assert!(has(b"STATE_NAME") && has(b"Texas") && has(b"Oklahoma"));
    assert!(!has(b"Maine"), "only what the tile holds");
    // The same through TMS, from the cache.
    let t = get(
        &n,
        "/gwc/service/tms/1.0.0/topp:states@EPSG:900913@pbf/3/1/4.pbf",
    );
    assert_eq!(t.headers()["geowebcache-cache-result"], "HIT");
    assert_eq!(t.bytes().unwrap().to_vec(), bytes);
    // A tile of the ocean is empty.
    let empty = get(
        &n,
        "/gwc/service/wmts/rest/topp:states/EPSG:900913/EPSG:900913:3/7/7?format=application/vnd.mapbox-vector-tile",
    );
    assert_eq!(empty.status(), 200);
    assert!(empty.bytes().unwrap().is_empty());
}

#[test]
fn ogc_api_tiles_lists_tilesets_and_serves_the_same_tiles() {
    let n = node();
    let json = |path: &str| -> serde_json::Value {
        let r = get(&n, path);
        assert_eq!(r.status(), 200, "{path}");
        serde_json::from_str(&r.text().unwrap()).unwrap()
    };
    let landing = json("/ogc/tiles/v1");
    assert!(landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "data"));
    let sets = json("/ogc/tiles/v1/tileMatrixSets");
    assert!(sets["tileMatrixSets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "EPSG:4326"));
    let set = json("/ogc/tiles/v1/tileMatrixSets/EPSG:4326");
    let m2 = &set["tileMatrices"][2];
    assert_eq!(
        (m2["matrixWidth"].as_u64(), m2["matrixHeight"].as_u64()),
        (Some(8), Some(4))
    );
    assert_eq!(m2["pointOfOrigin"], serde_json::json!([-180.0, 90.0]));
    let cols = json("/ogc/tiles/v1/collections");
    assert!(cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "topp:states"));
    let tilesets = json("/ogc/tiles/v1/collections/topp:states/map/tiles");
    assert!(tilesets["tilesets"].as_array().unwrap().len() >= 2);
    // The same tile as WMTS's.
    let wmts = get(
        &n,
        &wmts_tile("topp:states", "EPSG:4326", "EPSG:4326:2", 1, 1, "image/png"),
    )
    .bytes()
    .unwrap()
    .to_vec();
    let api = get(
        &n,
        "/ogc/tiles/v1/collections/topp:states/map/tiles/EPSG:4326/EPSG:4326:2/1/1?f=image%2Fpng",
    );
    assert_eq!(api.status(), 200);
    assert_eq!(api.bytes().unwrap().to_vec(), wmts);
    // A bare level number names the matrix too.
    let api = get(
        &n,
        "/ogc/tiles/v1/collections/topp:states/map/tiles/EPSG:4326/2/1/1",
    );
    assert_eq!(api.bytes().unwrap().to_vec(), wmts);
    // What is not there.
    assert_eq!(
        get(&n, "/ogc/tiles/v1/collections/topp:nosuch").status(),
        404
    );
    assert_eq!(get(&n, "/ogc/tiles/v1/tileMatrixSets/Nope").status(), 404);
    assert_eq!(
        get(
            &n,
            "/ogc/tiles/v1/collections/topp:states/map/tiles/EPSG:4326/2/9/1"
        )
        .status(),
        404
    );
    // Vector tiles only where the tile layer caches them.
    assert_eq!(
        get(
            &n,
            "/ogc/tiles/v1/collections/topp:states/tiles/EPSG:4326/2/1/1"
        )
        .status(),
        400
    );
}

#[test]
fn the_disk_quota_set_over_rest_keeps_the_cache_under_it() {
    let n = node();
    let gwc = |method: &str, path: &str, body: &str| gwc_rest(&n, method, path, "text/xml", body);
    let (s, q) = gwc("GET", "/diskquota.xml", "");
    assert_eq!(s, 200);
    assert!(q.contains("<enabled>false</enabled>"), "{q}");
    // A quota of 150 KiB, as GeoWebCache's clients send it.
    let (s, msg) = gwc(
        "PUT",
        "/diskquota.xml",
        "<gwcQuotaConfiguration><enabled>true</enabled><globalQuota><value>150</value><units>KiB</units></globalQuota></gwcQuotaConfiguration>",
    );
    assert_eq!(s, 200, "{msg}");
    let file = std::fs::read_to_string(n.dir.join("gwc/geowebcache-diskquota.xml")).unwrap();
    assert!(
        file.contains("<units>KiB</units>") && file.contains("<value>150</value>"),
        "{file}"
    );
    // Many tiles later, the cache is under the quota (the last metatile's tiles at most
    // beyond it while they are written).
    for row in 0..8 {
        for col in (0..16).step_by(4) {
            get(
                &n,
                &wmts_tile(
                    "topp:states",
                    "EPSG:4326",
                    "EPSG:4326:3",
                    row,
                    col,
                    "image/png",
                ),
            );
        }
    }
    let mut files = Vec::new();
    walk(&n.dir.join("gwc"), &mut files);
    let bytes: u64 = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(bytes <= 150 * 1024 + 100 * 1024, "{bytes} bytes cached");
    let png = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .count();
    assert!(
        png > 0 && png < 128,
        "{png} of level 3's 128 tiles kept: the oldest were evicted"
    );
    // A wrong unit is refused with the reason, and nothing changes.
    let (s, msg) = gwc(
        "PUT",
        "/diskquota.xml",
        "<gwcQuotaConfiguration><globalQuota><value>1</value><units>parsecs</units></globalQuota></gwcQuotaConfiguration>",
    );
    assert_eq!(s, 400);
    assert!(msg.contains("parsecs"), "{msg}");
}
