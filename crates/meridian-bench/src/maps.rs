//! Map drawing against MapServer 8: the same layers of GeoServer's release data directory, the
//! same SLD (sent to both as `SLD_BODY`), the same boxes and sizes, requested alternately row
//! by row from 1 and more clients; requests per second, latency and peak memory.

use crate::load::get_loop;
use crate::mapserver::{mapfile, write_fontset, MapServer};
use crate::node::{client, meridian_binary, Node};
use crate::{BenchError, Summary};
use std::path::PathBuf;
use std::time::Duration;

/// Options of the comparison.
#[derive(Debug, Clone)]
pub struct Options {
    /// GeoServer's release data directory (copied; never written).
    pub fixture: PathBuf,
    /// Client counts; every row runs at each.
    pub clients: Vec<usize>,
    /// How long each server runs each row.
    pub duration: Duration,
    /// MapServer FastCGI processes.
    pub procs: usize,
    /// The `meridian` binary.
    pub meridian: Option<PathBuf>,
}

/// One kind of map at one client count, on both servers.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was drawn.
    pub what: &'static str,
    /// Concurrent clients.
    pub clients: usize,
    /// Meridian: maps per second and latency (ms).
    pub meridian: (f64, Summary),
    /// MapServer: maps per second and latency (ms).
    pub mapserver: (f64, Summary),
}

impl Row {
    /// Meridian's throughput over MapServer's.
    pub fn ratio(&self) -> f64 {
        self.meridian.0 / self.mapserver.0
    }
}

/// Peak resident memory after the rows, in MB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Meridian's process.
    pub meridian: f64,
    /// MapServer's FastCGI processes, summed.
    pub mapserver: f64,
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

fn sld(layer: &str, style: &str) -> String {
    encode(&format!(
        "<StyledLayerDescriptor version=\"1.0.0\" xmlns=\"http://www.opengis.net/sld\" xmlns:ogc=\"http://www.opengis.net/ogc\"><NamedLayer><Name>{layer}</Name><UserStyle><FeatureTypeStyle>{style}</FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"
    ))
}

const ROADS: &str = "<Rule><LineSymbolizer><Stroke><CssParameter name=\"stroke\">#666666</CssParameter><CssParameter name=\"stroke-width\">3</CssParameter></Stroke></LineSymbolizer></Rule>";
const COUNTRIES: &str = "<Rule><PolygonSymbolizer><Fill><CssParameter name=\"fill\">#E6E2C8</CssParameter></Fill><Stroke><CssParameter name=\"stroke\">#888888</CssParameter></Stroke></PolygonSymbolizer><TextSymbolizer><Label><ogc:PropertyName>NAME</ogc:PropertyName></Label><Font><CssParameter name=\"font-family\">DejaVuSans</CssParameter><CssParameter name=\"font-size\">10</CssParameter></Font><Fill><CssParameter name=\"fill\">#000000</CssParameter></Fill></TextSymbolizer></Rule>";
const DEM: &str = "<Rule><RasterSymbolizer><Opacity>1.0</Opacity><ColorMap><ColorMapEntry color=\"#AAFFAA\" quantity=\"0\"/><ColorMapEntry color=\"#00FF00\" quantity=\"1000\"/><ColorMapEntry color=\"#FFFF00\" quantity=\"1200\"/><ColorMapEntry color=\"#FF7F00\" quantity=\"1400\"/><ColorMapEntry color=\"#BF7F3F\" quantity=\"1600\"/><ColorMapEntry color=\"#000000\" quantity=\"2000\"/></ColorMap></RasterSymbolizer></Rule>";
const STATES: &str = "<Rule><ogc:Filter><ogc:PropertyIsLessThan><ogc:PropertyName>PERSONS</ogc:PropertyName><ogc:Literal>2000000</ogc:Literal></ogc:PropertyIsLessThan></ogc:Filter><PolygonSymbolizer><Fill><CssParameter name=\"fill\">#4DFF4D</CssParameter><CssParameter name=\"fill-opacity\">0.7</CssParameter></Fill></PolygonSymbolizer></Rule><Rule><ogc:Filter><ogc:PropertyIsGreaterThanOrEqualTo><ogc:PropertyName>PERSONS</ogc:PropertyName><ogc:Literal>2000000</ogc:Literal></ogc:PropertyIsGreaterThanOrEqualTo></ogc:Filter><PolygonSymbolizer><Fill><CssParameter name=\"fill\">#4D4DFF</CssParameter><CssParameter name=\"fill-opacity\">0.7</CssParameter></Fill></PolygonSymbolizer></Rule>";

/// A 256-pixel web mercator tile's box at `z`, column `x`, row `y`.
fn tile_box(z: u32, x: u32, y: u32) -> [f64; 4] {
    let size = 2.0 * 20_037_508.342_789_244 / f64::from(1u32 << z);
    let minx = -20_037_508.342_789_244 + f64::from(x) * size;
    let maxy = 20_037_508.342_789_244 - f64::from(y) * size;
    [minx, maxy - size, minx + size, maxy]
}

/// The tiles of zoom 15 over Manhattan's tiger roads (columns and rows).
const TILES: (std::ops::Range<u32>, std::ops::Range<u32>) = (9644..9652, 12306..12318);

/// One row: Meridian's query and MapServer's (a function of the request number).
struct Case {
    what: &'static str,
    meridian: Box<dyn Fn(usize) -> String + Send + Sync>,
    mapserver: Box<dyn Fn(usize) -> String + Send + Sync>,
}

fn cases(m: String, s: String) -> Vec<Case> {
    let getmap = "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&STYLES=&FORMAT=image/png";
    let tile = |i: usize| {
        let n = TILES.0.len() * TILES.1.len();
        let k = i % n;
        let (x, y) = (
            TILES.0.start + (k % TILES.0.len()) as u32,
            TILES.1.start + (k / TILES.0.len()) as u32,
        );
        let b = tile_box(15, x, y);
        format!(
            "SRS=EPSG:3857&BBOX={},{},{},{}&WIDTH=256&HEIGHT=256",
            b[0], b[1], b[2], b[3]
        )
    };
    let both = |what: &'static str,
                m_layer: &'static str,
                s_layer: &'static str,
                style: &'static str,
                q: Box<dyn Fn(usize) -> String + Send + Sync>| {
        let q = std::sync::Arc::new(q);
        let (mq, sq) = (q.clone(), q);
        let (mb, sb) = (m.clone(), s.clone());
        let (m_sld, s_sld) = (sld(m_layer, style), sld(s_layer, style));
        Case {
            what,
            meridian: Box::new(move |i| {
                format!(
                    "{mb}/geoserver/wms?{getmap}&LAYERS={m_layer}&{}&SLD_BODY={m_sld}",
                    mq(i)
                )
            }),
            mapserver: Box::new(move |i| {
                format!(
                    "{sb}/mapserv?map=bench&{getmap}&LAYERS={s_layer}&{}&SLD_BODY={s_sld}",
                    sq(i)
                )
            }),
        }
    };
    vec![
        both(
            "256×256 tiles, tiger_roads (zoom 15, 96 tiles in turn)",
            "tiger:tiger_roads",
            "tiger_roads",
            ROADS,
            Box::new(tile),
        ),
        both(
            "1024×768, tiger_roads (whole layer)",
            "tiger:tiger_roads",
            "tiger_roads",
            ROADS,
            Box::new(|_| {
                "SRS=EPSG:4326&BBOX=-74.047185,40.679648,-73.90782,40.882078&WIDTH=1024&HEIGHT=768"
                    .into()
            }),
        ),
        both(
            "1024×512, ne countries with labels",
            "ne:countries",
            "countries",
            COUNTRIES,
            Box::new(|_| "SRS=EPSG:4326&BBOX=-180,-90,180,90&WIDTH=1024&HEIGHT=512".into()),
        ),
        both(
            "634×477, sf:sfdem through its colour map (the dem style)",
            "sf:sfdem",
            "sfdem",
            DEM,
            Box::new(|_| {
                "SRS=EPSG:26713&BBOX=589980,4913700,609000,4928010&WIDTH=634&HEIGHT=477".into()
            }),
        ),
        both(
            "768×450, topp:states reprojected to EPSG:3857",
            "topp:states",
            "states",
            STATES,
            Box::new(|_| {
                "SRS=EPSG:3857&BBOX=-13914936,2764607,-7347086,6446275&WIDTH=768&HEIGHT=450".into()
            }),
        ),
    ]
}

/// One map: it must be a 200 PNG.
fn check(url: &str) -> Result<(), BenchError> {
    let r = client()?
        .get(url)
        .send()
        .map_err(|e| BenchError::Http(e.to_string()))?;
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|c| c.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.bytes().map_err(|e| BenchError::Http(e.to_string()))?;
    if status != 200 || !ct.starts_with("image/png") {
        let head: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        return Err(BenchError::Http(format!(
            "GET {url} answered {status} {ct}: {head}"
        )));
    }
    Ok(())
}

/// Peak resident memory of MapServer's FastCGI processes, in MB.
fn mapserver_memory() -> f64 {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let p = entry.path();
        let cmd = std::fs::read_to_string(p.join("cmdline")).unwrap_or_default();
        if !cmd.contains("cgi-bin/mapserv") {
            continue;
        }
        let status = std::fs::read_to_string(p.join("status")).unwrap_or_default();
        if let Some(kb) = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
        {
            total += kb / 1024.0;
        }
    }
    total
}

/// Run every row at every client count, Meridian then MapServer.
pub fn run(opts: &Options) -> Result<(Vec<Row>, Memory), BenchError> {
    let tmp = crate::node::work_dir()?;
    let data_dir = tmp.path().join("data");
    meridian_testkit::copy_dir(&opts.fixture, &data_dir)
        .map_err(|e| BenchError::Io(opts.fixture.display().to_string(), e))?;
    let map = tmp.path().join("bench.map");
    let fonts = write_fontset(tmp.path())?;
    std::fs::write(&map, mapfile(&data_dir.join("data"), &fonts))
        .map_err(|e| BenchError::Io(map.display().to_string(), e))?;
    let ms = MapServer::start(&tmp.path().join("mapserver"), &map, opts.procs)?;
    let binary = meridian_binary(opts.meridian.as_deref())?;
    let mut node = Node::start(&binary, &data_dir, &[], &tmp.path().join("meridian.log"))?;
    node.wait_ready(Duration::from_secs(60))?;
    let base = node.base.trim_end_matches("/geoserver").to_string();
    let mut rows = Vec::new();
    for c in cases(base, ms.base.clone()) {
        check(&(c.meridian)(0))?;
        check(&(c.mapserver)(0))?;
        for &n in &opts.clients {
            let m = get_loop(n, opts.duration, &*c.meridian, false)?;
            let s = get_loop(n, opts.duration, &*c.mapserver, false)?;
            rows.push(Row {
                what: c.what,
                clients: n,
                meridian: m,
                mapserver: s,
            });
        }
    }
    let memory = Memory {
        meridian: node.memory_mb().1,
        mapserver: mapserver_memory(),
    };
    Ok((rows, memory))
}
