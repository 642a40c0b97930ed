//! Meridian's maps against MapServer 8's (Debian's `cgi-mapserver` under lighttpd, started by
//! `scripts/mapserver.sh`) for the same data, box, size and SLD (sent to both as `SLD_BODY`).
//! The tolerance, per pixel and for the whole image: fewer than 3 % of the pixels differ, a
//! pixel differing when no pixel within one pixel of it in the other image is within 48 of it
//! in every channel (the servers put a 1-pixel line half a pixel apart, and shade its
//! antialiased edge differently; MapServer ends lines round where SLD says butt), and the mean
//! difference over every channel of every pixel is under 8 (of 255). Labels are left out of the compared
//! styles: the two servers place text by different rules. So are line rules of polygon
//! styles: MapServer turns a polygon layer whose SLD has a LineSymbolizer into a line layer
//! (every rule then draws outlines only), which GeoServer and Meridian do not.
#![allow(clippy::unwrap_used)]

mod common;
use common::Node;
use std::path::{Path, PathBuf};
use std::process::Command;

struct MapServer {
    dir: PathBuf,
    base: String,
    _tmp: tempfile::TempDir,
}

impl MapServer {
    fn start(data: &Path) -> MapServer {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ms");
        std::fs::create_dir_all(&dir).unwrap();
        let map = dir.join("wms.map");
        std::fs::write(&map, mapfile(data)).unwrap();
        let port = meridian_testkit::free_port();
        let out = Command::new("bash")
            .arg(meridian_testkit::repo_root().join("scripts/mapserver.sh"))
            .args([
                "start",
                dir.to_str().unwrap(),
                &port.to_string(),
                map.to_str().unwrap(),
                "2",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "MapServer did not start (Debian packages cgi-mapserver, lighttpd): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        MapServer {
            dir,
            base: format!("http://127.0.0.1:{port}/mapserv?map=bench"),
            _tmp: tmp,
        }
    }
}

impl Drop for MapServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(meridian_testkit::repo_root().join("scripts/mapserver.sh"))
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

/// The mapfile: the fixture's files under the names Meridian publishes them by.
fn mapfile(data: &Path) -> String {
    let layer = |name: &str, kind: &str, source: String, epsg: u32| {
        format!(
            "  LAYER\n    NAME \"{name}\"\n    TYPE {kind}\n    STATUS ON\n{source}\n    PROJECTION \"init=epsg:{epsg}\" END\n    METADATA \"wms_title\" \"{name}\" END\n  END\n"
        )
    };
    let gpkg = data.join("ne/natural_earth.gpkg");
    format!(
        "MAP\n  NAME \"bench\"\n  EXTENT -180 -90 180 90\n  MAXSIZE 4096\n  IMAGECOLOR 255 255 255\n  PROJECTION \"init=epsg:4326\" END\n  WEB\n    METADATA\n      \"wms_title\" \"bench\"\n      \"wms_onlineresource\" \"http://127.0.0.1/mapserv?map=bench\"\n      \"wms_srs\" \"EPSG:4326 EPSG:3857\"\n      \"wms_enable_request\" \"*\"\n    END\n  END\n{}{}{}END\n",
        layer("topp:states", "POLYGON", format!("    DATA \"{}\"", data.join("shapefiles/states").display()), 4326),
        layer("tiger:tiger_roads", "LINE", format!("    DATA \"{}\"", data.join("nyc/tiger_roads").display()), 4326),
        layer(
            "ne:countries",
            "POLYGON",
            format!("    CONNECTIONTYPE OGR\n    CONNECTION \"{}\"\n    DATA \"countries\"", gpkg.display()),
            4326
        ),
    )
}

/// An SLD for `layer` from a style of the fixture, labels removed (and, for `polygons`, the
/// rules that draw lines).
fn sld_for(layer: &str, style_file: &Path, polygons: bool) -> String {
    let raw = std::fs::read_to_string(style_file).unwrap();
    // Without comments (MapServer's SLD reader takes a comment for a missing value).
    let mut text = String::new();
    let mut r = raw.as_str();
    while let Some(i) = r.find("<!--") {
        text.push_str(&r[..i]);
        r = r[i..].find("-->").map_or("", |j| &r[i + j + 3..]);
    }
    text.push_str(r);
    let mut out = String::new();
    let mut rest = text.as_str();
    // Drop every TextSymbolizer (with or without a prefix).
    loop {
        let open = ["<TextSymbolizer", "<sld:TextSymbolizer"]
            .iter()
            .filter_map(|t| rest.find(t).map(|i| (i, *t)))
            .min();
        let Some((i, tag)) = open else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..i]);
        let close = format!("</{}>", &tag[1..]);
        let j = rest[i..].find(&close).unwrap() + i + close.len();
        rest = &rest[j..];
    }
    // Name the layer as both servers know it.
    let start = out
        .find("<NamedLayer>")
        .or_else(|| out.find("<sld:NamedLayer>"))
        .unwrap();
    let name_open = out[start..].find("Name>").unwrap() + start + 5;
    let name_close = out[name_open..].find("</").unwrap() + name_open;
    let mut named = format!("{}{layer}{}", &out[..name_open], &out[name_close..]);
    if polygons {
        let mut kept = String::new();
        let mut r = named.as_str();
        while let Some(i) = r.find("<Rule>") {
            kept.push_str(&r[..i]);
            let j = r[i..]
                .find("</Rule>")
                .map_or(r.len(), |j| i + j + "</Rule>".len());
            let rule = &r[i..j];
            if !rule.contains("LineSymbolizer") {
                kept.push_str(rule);
            }
            r = &r[j..];
        }
        kept.push_str(r);
        named = kept;
    }
    // One line (lighttpd refuses control characters in a URL, encoded or not).
    named.split_whitespace().collect::<Vec<_>>().join(" ")
}

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

fn get(url: &str) -> Vec<u8> {
    let r = reqwest::blocking::Client::new().get(url).send().unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|c| c.to_str().unwrap().to_string())
        .unwrap_or_default();
    let b = r.bytes().unwrap().to_vec();
    assert!(
        ct.starts_with("image/png"),
        "{url}: {ct}: {}",
        String::from_utf8_lossy(&b)
    );
    b
}

/// Compare the two servers' maps of one request.
fn compare(n: &Node, ms: &MapServer, name: &str, layer: &str, style: &Path, query: &str) {
    let polygons = layer != "tiger:tiger_roads";
    let sld = encode(&sld_for(layer, style, polygons));
    let q = format!("SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS={layer}&STYLES=&FORMAT=image/png&BGCOLOR=0xFFFFFF&{query}&SLD_BODY={sld}");
    let mine = get(&format!("http://127.0.0.1:{}/geoserver/wms?{q}", n.port));
    let theirs = get(&format!("{}&{q}", ms.base));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(tmp.join(format!("cmp-{name}-meridian.png")), &mine).unwrap();
    std::fs::write(tmp.join(format!("cmp-{name}-mapserver.png")), &theirs).unwrap();
    let d = meridian_testkit::images::compare(&mine, &theirs);
    eprintln!(
        "{name}: {:.2} % of pixels differ, mean difference {:.2}, {:.1} % inked",
        d.far * 100.0,
        d.mean,
        d.inked * 100.0
    );
    // The maps must not be empty either (a blank pair would compare equal).
    assert!(d.inked > 0.05, "{name}: the map is nearly empty");
    assert!(
        d.far < 0.03,
        "{name}: {:.2} % of pixels differ",
        d.far * 100.0
    );
    assert!(d.mean < 8.0, "{name}: mean difference {:.2}", d.mean);
}

#[test]
fn maps_match_mapservers_for_the_release_styles() {
    let n = Node::with_fixture();
    let fixture = meridian_testkit::fixture_datadir();
    let ms = MapServer::start(&fixture.join("data"));
    let styles = fixture.join("styles");
    compare(
        &n,
        &ms,
        "states-popshade",
        "topp:states",
        &styles.join("popshade.sld"),
        "SRS=EPSG:4326&BBOX=-125,24,-66,50&WIDTH=768&HEIGHT=339",
    );
    compare(
        &n,
        &ms,
        "states-polygon",
        "topp:states",
        &styles.join("default_polygon.sld"),
        "SRS=EPSG:4326&BBOX=-125,24,-66,50&WIDTH=768&HEIGHT=339",
    );
    compare(
        &n,
        &ms,
        "tiger-roads",
        "tiger:tiger_roads",
        &styles.join("tiger_roads.sld"),
        "SRS=EPSG:4326&BBOX=-74.01,40.70,-73.97,40.73&WIDTH=768&HEIGHT=552",
    );
    compare(
        &n,
        &ms,
        "countries-3857",
        "ne:countries",
        &styles.join("default_polygon.sld"),
        "SRS=EPSG:3857&BBOX=-2500000,4000000,4500000,8500000&WIDTH=700&HEIGHT=450",
    );
}
