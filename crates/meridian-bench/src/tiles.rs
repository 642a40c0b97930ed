//! Cached tiles against the limit: the same tile files served by Meridian's WMTS (its cache
//! read, access checked, headers made) and by lighttpd as static files (`scripts/static.sh`),
//! requested in turn from 1 and more clients; requests per second and latency.

use crate::load::get_loop;
use crate::node::{client, free_port, meridian_binary, repo_script, run_script, send_admin, Node};
use crate::{BenchError, Summary};
use meridian_tiles::{DiskCache, TileKey};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of the comparison.
#[derive(Debug, Clone)]
pub struct Options {
    /// GeoServer's release data directory (copied; never written).
    pub fixture: PathBuf,
    /// Client counts.
    pub clients: Vec<usize>,
    /// How long each server runs each row.
    pub duration: Duration,
    /// The `meridian` binary.
    pub meridian: Option<PathBuf>,
}

/// One client count, on both servers.
#[derive(Debug, Clone)]
pub struct Row {
    /// Concurrent clients.
    pub clients: usize,
    /// Tiles requested in turn.
    pub tiles: usize,
    /// Meridian: tiles per second and latency (ms).
    pub meridian: (f64, Summary),
    /// lighttpd on the same files: tiles per second and latency (ms).
    pub static_files: (f64, Summary),
}

impl Row {
    /// Meridian's throughput over the static server's.
    pub fn ratio(&self) -> f64 {
        self.meridian.0 / self.static_files.0
    }
}

/// lighttpd serving a folder, stopped when dropped.
struct Static {
    dir: PathBuf,
    base: String,
}

impl Static {
    fn start(dir: &Path, root: &Path) -> Result<Static, BenchError> {
        let port = free_port()?;
        run_script(
            &repo_script("static.sh"),
            &[
                "start",
                &dir.display().to_string(),
                &port.to_string(),
                &root.display().to_string(),
            ],
        )?;
        Ok(Static {
            dir: dir.to_path_buf(),
            base: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Static {
    fn drop(&mut self) {
        let _ = run_script(
            &repo_script("static.sh"),
            &["stop", &self.dir.display().to_string()],
        );
    }
}

/// The id of the layer `topp:states` in a data directory.
fn states_id(data: &Path) -> Result<String, BenchError> {
    let p = data.join("workspaces/topp/states_shapefile/states/layer.xml");
    let text =
        std::fs::read_to_string(&p).map_err(|e| BenchError::Io(p.display().to_string(), e))?;
    meridian_xml::parse(&text)
        .ok()
        .and_then(|x| x.child_text("id").map(str::to_string))
        .ok_or_else(|| BenchError::Node(format!("{}: no layer id", p.display())))
}

/// Seed the tiles (one request each), then measure each client count on both servers.
pub fn run(opts: &Options) -> Result<Vec<Row>, BenchError> {
    let tmp = crate::node::work_dir()?;
    let data = tmp.path().join("data");
    meridian_testkit::copy_dir(&opts.fixture, &data)
        .map_err(|e| BenchError::Io(opts.fixture.display().to_string(), e))?;
    let layer = states_id(&data)?;
    let binary = meridian_binary(opts.meridian.as_deref())?;
    let mut node = Node::start(&binary, &data, &[], &tmp.path().join("meridian.log"))?;
    node.wait_ready(Duration::from_secs(60))?;
    // The tiles of topp:states at EPSG:4326 levels 4 to 6 over the United States.
    let grid = meridian_tiles::builtin()
        .into_iter()
        .find(|g| g.name == "EPSG:4326")
        .ok_or_else(|| BenchError::Node("no EPSG:4326 gridset".into()))?;
    let mut tiles = Vec::new();
    for z in 4..=6 {
        if let Some(((x0, x1), (y0, y1))) = grid.tiles_covering(z, [-125.0, 24.0, -66.0, 50.0]) {
            for y in y0..=y1 {
                for x in x0..=x1 {
                    tiles.push((z, x, y));
                }
            }
        }
    }
    let wmts = |&(z, x, y): &(usize, u64, u64)| {
        format!(
            "{}/gwc/service/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=topp:states&STYLE=&TILEMATRIXSET=EPSG:4326&TILEMATRIX=EPSG:4326:{z}&TILEROW={}&TILECOL={x}&FORMAT=image/png",
            node.base,
            grid.wmts_row(z, y)
        )
    };
    let http = client()?;
    for t in &tiles {
        let r = http
            .get(wmts(t))
            .send()
            .map_err(|e| BenchError::Http(e.to_string()))?;
        if r.status() != 200 {
            return Err(BenchError::Http(format!(
                "seeding a tile answered {}",
                r.status()
            )));
        }
    }
    // The same files, where Meridian's cache keeps them.
    let root = data.join("gwc");
    let cache = DiskCache::open(&root, None).map_err(|e| BenchError::Node(e.to_string()))?;
    let paths: Vec<String> = tiles
        .iter()
        .map(|&(z, x, y)| {
            let p = cache.path(&TileKey {
                layer: layer.clone(),
                gridset: grid.name.clone(),
                style: String::new(),
                ext: "png",
                z: z as u32,
                x,
                y,
            });
            p.strip_prefix(&root)
                .map(|r| r.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    if let Some(missing) = paths.iter().find(|p| !root.join(p).is_file()) {
        return Err(BenchError::Node(format!(
            "the cached tile {missing} is not on disk"
        )));
    }
    let server = Static::start(&tmp.path().join("lighttpd"), &root)?;
    let m_urls: Vec<String> = tiles.iter().map(wmts).collect();
    let s_urls: Vec<String> = paths
        .iter()
        .map(|p| format!("{}/{p}", server.base))
        .collect();
    let mut rows = Vec::new();
    for &clients in &opts.clients {
        let m = get_loop(
            clients,
            opts.duration,
            &|i| m_urls[i % m_urls.len()].clone(),
            false,
        )?;
        let s = get_loop(
            clients,
            opts.duration,
            &|i| s_urls[i % s_urls.len()].clone(),
            false,
        )?;
        rows.push(Row {
            clients,
            tiles: tiles.len(),
            meridian: m,
            static_files: s,
        });
    }
    Ok(rows)
}

/// One client count of the uncached comparison.
#[derive(Debug, Clone)]
pub struct UncachedRow {
    /// Concurrent clients.
    pub clients: usize,
    /// The level the tiles were asked at (a new one for each row, so none is cached).
    pub zoom: usize,
    /// Meridian: tiles per second and latency (ms).
    pub meridian: (f64, Summary),
    /// MapServer behind MapCache: tiles per second and latency (ms).
    pub mapcache: (f64, Summary),
}

impl UncachedRow {
    /// Meridian's throughput over MapCache's.
    pub fn ratio(&self) -> f64 {
        self.meridian.0 / self.mapcache.0
    }
}

/// The style both servers draw `topp:states` with: the population classes, no labels.
const STATES_SLD: &str = r#"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc"><NamedLayer><Name>states</Name><UserStyle><Name>bench_states</Name><FeatureTypeStyle><Rule><ogc:Filter><ogc:PropertyIsLessThan><ogc:PropertyName>PERSONS</ogc:PropertyName><ogc:Literal>2000000</ogc:Literal></ogc:PropertyIsLessThan></ogc:Filter><PolygonSymbolizer><Fill><CssParameter name="fill">#4DFF4D</CssParameter><CssParameter name="fill-opacity">0.7</CssParameter></Fill></PolygonSymbolizer></Rule><Rule><ogc:Filter><ogc:PropertyIsGreaterThanOrEqualTo><ogc:PropertyName>PERSONS</ogc:PropertyName><ogc:Literal>2000000</ogc:Literal></ogc:PropertyIsGreaterThanOrEqualTo></ogc:Filter><PolygonSymbolizer><Fill><CssParameter name="fill">#4D4DFF</CssParameter><CssParameter name="fill-opacity">0.7</CssParameter></Fill></PolygonSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"#;

/// The same classes as a mapfile.
fn states_mapfile(states: &Path) -> String {
    format!(
        r#"MAP
  NAME "bench"
  EXTENT -180 -90 180 90
  MAXSIZE 4096
  PROJECTION "init=epsg:4326" END
  WEB
    METADATA
      "wms_title" "bench"
      "wms_onlineresource" "http://127.0.0.1/mapserv?map=bench"
      "wms_srs" "EPSG:4326 EPSG:3857 EPSG:900913"
      "wms_enable_request" "*"
    END
  END
  LAYER
    NAME "states"
    TYPE POLYGON
    DATA "{}"
    PROJECTION "init=epsg:4326" END
    METADATA "wms_title" "states" END
    CLASS
      EXPRESSION ([PERSONS] < 2000000)
      STYLE COLOR 77 255 77 OPACITY 70 END
    END
    CLASS
      EXPRESSION ([PERSONS] >= 2000000)
      STYLE COLOR 77 77 255 OPACITY 70 END
    END
  END
END
"#,
        states.display()
    )
}

/// MapServer behind MapCache under lighttpd, stopped when dropped.
struct MapCache {
    dir: PathBuf,
    base: String,
}

impl MapCache {
    fn start(dir: &Path, map: &Path) -> Result<MapCache, BenchError> {
        let port = free_port()?;
        run_script(
            &repo_script("mapcache.sh"),
            &[
                "start",
                &dir.display().to_string(),
                &port.to_string(),
                &map.display().to_string(),
                "states",
            ],
        )?;
        Ok(MapCache {
            dir: dir.to_path_buf(),
            base: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for MapCache {
    fn drop(&mut self) {
        let _ = run_script(
            &repo_script("mapcache.sh"),
            &["stop", &self.dir.display().to_string()],
        );
    }
}

/// Web mercator metres of a WGS84 point.
fn mercator(lon: f64, lat: f64) -> (f64, f64) {
    let r = 6_378_137.0;
    (
        lon.to_radians() * r,
        (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
            .tan()
            .ln()
            * r,
    )
}

/// Uncached raster tiles: every request the first of its metatile (4×4, no gutter, on both),
/// over the United States at a level of its own per row, from Meridian and from MapServer
/// behind MapCache, both drawing the same classes.
pub fn run_uncached(opts: &Options) -> Result<Vec<UncachedRow>, BenchError> {
    let tmp = crate::node::work_dir()?;
    let data = tmp.path().join("data");
    meridian_testkit::copy_dir(&opts.fixture, &data)
        .map_err(|e| BenchError::Io(opts.fixture.display().to_string(), e))?;
    let binary = meridian_binary(opts.meridian.as_deref())?;
    let mut node = Node::start(&binary, &data, &[], &tmp.path().join("meridian.log"))?;
    node.wait_ready(Duration::from_secs(60))?;
    let http = client()?;
    let rest = |method: reqwest::Method, path: &str, ct: &str, body: &str| {
        send_admin(
            &http,
            method,
            &format!("{}/rest{path}", node.base),
            ct,
            body.to_string(),
        )
    };
    rest(
        reqwest::Method::POST,
        "/styles?name=bench_states",
        "application/vnd.ogc.sld+xml",
        STATES_SLD,
    )?;
    rest(
        reqwest::Method::PUT,
        "/layers/topp:states",
        "text/xml",
        "<layer><defaultStyle><name>bench_states</name></defaultStyle></layer>",
    )?;
    let map = tmp.path().join("states.map");
    std::fs::write(&map, states_mapfile(&data.join("data/shapefiles/states")))
        .map_err(|e| BenchError::Io(map.display().to_string(), e))?;
    let mc = MapCache::start(&tmp.path().join("mapcache"), &map)?;
    let grid = meridian_tiles::builtin()
        .into_iter()
        .find(|g| g.name == "EPSG:900913")
        .ok_or_else(|| BenchError::Node("no EPSG:900913 gridset".into()))?;
    let (w, s) = mercator(-125.0, 24.0);
    let (e, n) = mercator(-66.0, 50.0);
    let mut rows = Vec::new();
    for (k, &clients) in opts.clients.iter().enumerate() {
        let z = 11 + k;
        let Some(((x0, x1), (y0, y1))) = grid.tiles_covering(z, [w, s, e, n]) else {
            continue;
        };
        // One tile per metatile, spread over the country.
        let mut tiles: Vec<(u64, u64)> = Vec::new();
        let mut y = y0 - y0 % 4;
        while y <= y1 {
            let mut x = x0 - x0 % 4;
            while x <= x1 {
                tiles.push((x, y));
                x += 4;
            }
            y += 4;
        }
        let count = tiles.len();
        let spread: Vec<(u64, u64)> = (0..count).map(|i| tiles[(i * 7919) % count]).collect();
        let m_urls: Vec<String> = spread
            .iter()
            .map(|&(x, y)| {
                format!(
                    "{}/gwc/service/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=topp:states&STYLE=&TILEMATRIXSET=EPSG:900913&TILEMATRIX=EPSG:900913:{z}&TILEROW={}&TILECOL={x}&FORMAT=image/png",
                    node.base,
                    grid.wmts_row(z, y)
                )
            })
            .collect();
        let s_urls: Vec<String> = spread
            .iter()
            .map(|&(x, y)| {
                format!(
                    "{}/mapcache/tms/1.0.0/states@GoogleMapsCompatible/{z}/{x}/{y}.png",
                    mc.base
                )
            })
            .collect();
        let m = get_loop(
            clients,
            opts.duration,
            &|i| m_urls[i % count].clone(),
            false,
        )?;
        let s = get_loop(
            clients,
            opts.duration,
            &|i| s_urls[i % count].clone(),
            false,
        )?;
        rows.push(UncachedRow {
            clients,
            zoom: z,
            meridian: m,
            mapcache: s,
        });
    }
    Ok(rows)
}

/// PostgreSQL with PostGIS (`scripts/postgis.sh`), stopped when dropped.
struct Postgis {
    dir: PathBuf,
    port: u16,
}

impl Postgis {
    fn start(dir: &Path) -> Result<Postgis, BenchError> {
        let port = free_port()?;
        run_script(
            &repo_script("postgis.sh"),
            &["start", &dir.display().to_string(), &port.to_string()],
        )?;
        Ok(Postgis {
            dir: dir.to_path_buf(),
            port,
        })
    }
}

impl Drop for Postgis {
    fn drop(&mut self) {
        let _ = run_script(
            &repo_script("postgis.sh"),
            &["stop", &self.dir.display().to_string()],
        );
    }
}

/// martin serving a database's tables, stopped when dropped.
struct Martin {
    child: std::process::Child,
    base: String,
}

impl Drop for Martin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client count of the vector tile comparison.
#[derive(Debug, Clone)]
pub struct VectorRow {
    /// Concurrent clients.
    pub clients: usize,
    /// The level (a new one for each row, so Meridian's cache holds none of them).
    pub zoom: usize,
    /// Meridian: tiles per second and latency (ms).
    pub meridian: (f64, Summary),
    /// martin: tiles per second and latency (ms).
    pub martin: (f64, Summary),
}

impl VectorRow {
    /// Meridian's throughput over martin's.
    pub fn ratio(&self) -> f64 {
        self.meridian.0 / self.martin.0
    }
}

/// Vector tiles of one PostGIS table (`states`), from Meridian (drawn on request: a level of
/// its own per row) and from martin (`martin` is the binary to run).
pub fn run_vector(opts: &Options, martin: &Path) -> Result<Vec<VectorRow>, BenchError> {
    let tmp = crate::node::work_dir()?;
    let pg = Postgis::start(&tmp.path().join("pg"))?;
    let shp = opts.fixture.join("data/shapefiles/states.shp");
    run_script(
        &repo_script("postgis.sh"),
        &[
            "load",
            &pg.dir.display().to_string(),
            &pg.port.to_string(),
            &shp.display().to_string(),
            "states",
            "4326",
        ],
    )?;
    let data = tmp.path().join("data");
    meridian_testkit::copy_dir(&opts.fixture, &data)
        .map_err(|e| BenchError::Io(opts.fixture.display().to_string(), e))?;
    let binary = meridian_binary(opts.meridian.as_deref())?;
    // No tile cache (a folder that cannot be made): every tile drawn, as martin without its
    // cache draws each.
    let mut node = Node::start(
        &binary,
        &data,
        &[("GEOWEBCACHE_CACHE_DIR", "/dev/null/no-cache".to_string())],
        &tmp.path().join("meridian.log"),
    )?;
    node.wait_ready(Duration::from_secs(60))?;
    let http = client()?;
    let call = |method: reqwest::Method, url: String, body: String| {
        send_admin(&http, method, &url, "text/xml", body)
    };
    let rest = format!("{}/rest", node.base);
    call(
        reqwest::Method::POST,
        format!("{rest}/workspaces"),
        "<workspace><name>pg</name></workspace>".into(),
    )?;
    call(
        reqwest::Method::POST,
        format!("{rest}/workspaces/pg/datastores"),
        format!("<dataStore><name>db</name><connectionParameters><entry key=\"dbtype\">postgis</entry><entry key=\"host\">127.0.0.1</entry><entry key=\"port\">{}</entry><entry key=\"database\">gis</entry><entry key=\"schema\">public</entry><entry key=\"user\">postgres</entry><entry key=\"passwd\"></entry></connectionParameters></dataStore>", pg.port),
    )?;
    call(
        reqwest::Method::POST,
        format!("{rest}/workspaces/pg/datastores/db/featuretypes"),
        "<featureType><name>states</name></featureType>".into(),
    )?;
    call(
        reqwest::Method::PUT,
        format!("{}/gwc/rest/layers/pg:states.xml", node.base),
        "<GeoServerLayer><name>pg:states</name><enabled>true</enabled><mimeFormats><string>application/vnd.mapbox-vector-tile</string></mimeFormats><gridSubsets><gridSubset><gridSetName>EPSG:900913</gridSetName></gridSubset></gridSubsets></GeoServerLayer>".into(),
    )?;
    let martin_port = free_port()?;
    let log = std::fs::File::create(tmp.path().join("martin.log"))
        .map_err(|e| BenchError::Io("martin.log".into(), e))?;
    let child = std::process::Command::new(martin)
        .args([
            // No tile cache: every tile drawn, as Meridian draws each of the levels it is asked.
            "--cache-size",
            "0",
            "--listen-addresses",
            &format!("127.0.0.1:{martin_port}"),
            &format!("postgresql://postgres@127.0.0.1:{}/gis", pg.port),
        ])
        .stdout(
            log.try_clone()
                .map_err(|e| BenchError::Io("martin.log".into(), e))?,
        )
        .stderr(log)
        .spawn()
        .map_err(|e| BenchError::Node(format!("{}: {e}", martin.display())))?;
    let m = Martin {
        child,
        base: format!("http://127.0.0.1:{martin_port}"),
    };
    // martin answers once it has read the database's tables.
    let started = std::time::Instant::now();
    while !http
        .get(format!("{}/catalog", m.base))
        .send()
        .is_ok_and(|r| r.status().is_success())
    {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(BenchError::Node("martin did not start".into()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let grid = meridian_tiles::builtin()
        .into_iter()
        .find(|g| g.name == "EPSG:900913")
        .ok_or_else(|| BenchError::Node("no EPSG:900913 gridset".into()))?;
    let (w, s) = mercator(-125.0, 24.0);
    let (e, n) = mercator(-66.0, 50.0);
    let mut rows = Vec::new();
    for (k, &clients) in opts.clients.iter().enumerate() {
        let z = 9 + k;
        let Some(((x0, x1), (y0, y1))) = grid.tiles_covering(z, [w, s, e, n]) else {
            continue;
        };
        let all: Vec<(u64, u64)> = (y0..=y1)
            .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
            .collect();
        // The tiles with features (martin answers 204 for the others): up to 3,000, spread.
        let mut spread: Vec<(u64, u64)> = Vec::new();
        for i in 0..all.len() {
            let (x, y) = all[(i * 7919) % all.len()];
            let r = http
                .get(format!("{}/states/{z}/{x}/{}", m.base, grid.wmts_row(z, y)))
                .send()
                .map_err(|e| BenchError::Http(e.to_string()))?;
            if r.status() == 200 {
                spread.push((x, y));
            }
            if spread.len() >= 3000 {
                break;
            }
        }
        let count = spread.len();
        if count == 0 {
            return Err(BenchError::Node(
                "martin has no tile of states over the country".into(),
            ));
        }
        let m_urls: Vec<String> = spread
            .iter()
            .map(|&(x, y)| {
                format!(
                    "{}/gwc/service/wmts/rest/pg:states/EPSG:900913/EPSG:900913:{z}/{}/{x}?format=application/vnd.mapbox-vector-tile",
                    node.base,
                    grid.wmts_row(z, y)
                )
            })
            .collect();
        let s_urls: Vec<String> = spread
            .iter()
            .map(|&(x, y)| format!("{}/states/{z}/{x}/{}", m.base, grid.wmts_row(z, y)))
            .collect();
        let a = get_loop(
            clients,
            opts.duration,
            &|i| m_urls[i % count].clone(),
            false,
        )?;
        let b = get_loop(
            clients,
            opts.duration,
            &|i| s_urls[i % count].clone(),
            false,
        )?;
        rows.push(VectorRow {
            clients,
            zoom: z,
            meridian: a,
            martin: b,
        });
    }
    Ok(rows)
}
