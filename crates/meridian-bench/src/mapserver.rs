//! Feature serving against MapServer 8: the same shapefile and GeoPackage layers of GeoServer's
//! release data directory served by Meridian and by MapServer (Debian `cgi-mapserver` under
//! lighttpd's FastCGI, started by `scripts/mapserver.sh`), requested alternately row by row.

use crate::load::get_loop;
use crate::node::{client, free_port, meridian_binary, repo_script, run_script, Node};
use crate::{BenchError, Summary};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of the comparison.
#[derive(Debug, Clone)]
pub struct Options {
    /// GeoServer's release data directory (copied; never written).
    pub fixture: PathBuf,
    /// Concurrent clients per row.
    pub clients: usize,
    /// How long each server runs each row.
    pub duration: Duration,
    /// MapServer FastCGI processes.
    pub procs: usize,
    /// The `meridian` binary.
    pub meridian: Option<PathBuf>,
}

/// One request kind, measured on both servers.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was requested.
    pub what: &'static str,
    /// Features in one answer (checked on both servers).
    pub features: usize,
    /// Meridian: requests per second and latency.
    pub meridian: (f64, Summary),
    /// MapServer: requests per second and latency.
    pub mapserver: (f64, Summary),
}

impl Row {
    /// Meridian's throughput over MapServer's (above 1: Meridian is faster).
    pub fn ratio(&self) -> f64 {
        self.meridian.0 / self.mapserver.0
    }
}

/// A request on both servers: Meridian's path and MapServer's, and how to count features.
struct Case {
    what: &'static str,
    meridian: String,
    mapserver: String,
    count: Count,
}

#[derive(Clone, Copy)]
enum Count {
    /// `"type":"Feature"` occurrences in GeoJSON (with or without spaces).
    GeoJson,
    /// `<wfs:member>` elements in a WFS 2.0 answer.
    Gml,
}

fn count(kind: Count, body: &str) -> usize {
    match kind {
        Count::GeoJson => {
            body.matches("\"type\":\"Feature\"").count()
                + body.matches("\"type\": \"Feature\"").count()
        }
        Count::Gml => body.matches("<wfs:member").count(),
    }
}

fn cases() -> Vec<Case> {
    let wfs = |layer: &str, ms_layer: &str, count: Option<usize>, json: bool| {
        let n = count.map(|c| format!("&COUNT={c}")).unwrap_or_default();
        let (mf, sf) = if json {
            ("&OUTPUTFORMAT=application/json", "&OUTPUTFORMAT=geojson")
        } else {
            ("", "")
        };
        (
            format!("/geoserver/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={layer}{n}{mf}"),
            format!("/mapserv?map=bench&SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={ms_layer}{n}{sf}"),
        )
    };
    let items = |layer: &str, ms_layer: &str, limit: usize| {
        (
            format!("/geoserver/ogc/features/v1/collections/{layer}/items?f=application/geo%2Bjson&limit={limit}"),
            format!("/mapserv/bench/ogcapi/collections/{ms_layer}/items?f=json&limit={limit}"),
        )
    };
    let case = |what, (meridian, mapserver): (String, String), count| Case {
        what,
        meridian,
        mapserver,
        count,
    };
    vec![
        case(
            "WFS GeoJSON, shapefile, 10 features",
            wfs("tiger:tiger_roads", "tiger_roads", Some(10), true),
            Count::GeoJson,
        ),
        case(
            "WFS GML 3.2, shapefile, 10 features",
            wfs("tiger:tiger_roads", "tiger_roads", Some(10), false),
            Count::Gml,
        ),
        case(
            "WFS GeoJSON, shapefile, whole layer",
            wfs("tiger:tiger_roads", "tiger_roads", None, true),
            Count::GeoJson,
        ),
        case(
            "WFS GML 3.2, shapefile, whole layer",
            wfs("tiger:tiger_roads", "tiger_roads", None, false),
            Count::Gml,
        ),
        case(
            "OGC API items, shapefile, 10 features",
            items("tiger:tiger_roads", "tiger_roads", 10),
            Count::GeoJson,
        ),
        case(
            "WFS GeoJSON, GeoPackage, 10 features",
            wfs("ne:countries", "countries", Some(10), true),
            Count::GeoJson,
        ),
        case(
            "WFS GML 3.2, GeoPackage, whole layer",
            wfs("ne:countries", "countries", None, false),
            Count::Gml,
        ),
        case(
            "OGC API items, GeoPackage, 10 features",
            items("ne:populated_places", "populated_places", 10),
            Count::GeoJson,
        ),
    ]
}

/// The mapfile: the same files Meridian's catalog points at, WFS, OGC API and WMS enabled;
/// `fontset` names the fonts labels use (DejaVu, as Meridian's).
pub(crate) fn mapfile(data: &Path, fontset: &Path) -> String {
    let layer = |name: &str, kind: &str, source: &str, id: &str| {
        format!(
            r#"  LAYER
    NAME "{name}"
    TYPE {kind}
    TEMPLATE "none"
{source}
    PROJECTION "init=epsg:4326" END
    METADATA
      "wfs_title" "{name}"
      "wms_title" "{name}"
      "gml_include_items" "all"
      "gml_featureid" "{id}"
    END
  END
"#
        )
    };
    let nyc = data.join("nyc/tiger_roads");
    let dem = format!(
        "  LAYER\n    NAME \"sfdem\"\n    TYPE RASTER\n    STATUS ON\n    DATA \"{}\"\n    PROJECTION \"init=epsg:26713\" END\n    METADATA \"wms_title\" \"sfdem\" END\n  END\n",
        data.join("sf/sfdem.tif").display()
    );
    let gpkg = data.join("ne/natural_earth.gpkg");
    let ogr = |l: &str| {
        format!(
            "    CONNECTIONTYPE OGR\n    CONNECTION \"{}\"\n    DATA \"{l}\"",
            gpkg.display()
        )
    };
    format!(
        r#"MAP
  NAME "bench"
  EXTENT -180 -90 180 90
  MAXSIZE 4096
  PROJECTION "init=epsg:4326" END
  WEB
    METADATA
      "wfs_title" "bench"
      "wfs_onlineresource" "http://127.0.0.1/mapserv?map=bench"
      "wfs_srs" "EPSG:4326"
      "wfs_enable_request" "*"
      "wfs_getfeature_formatlist" "geojson"
      "oga_enable_request" "*"
      "wms_title" "bench"
      "wms_onlineresource" "http://127.0.0.1/mapserv?map=bench"
      "wms_srs" "EPSG:4326 EPSG:3857"
      "wms_enable_request" "*"
    END
  END
  FONTSET "{fontset}"
  IMAGECOLOR 255 255 255
  OUTPUTFORMAT
    NAME "geojson"
    DRIVER "OGR/GEOJSON"
    MIMETYPE "application/json; subtype=geojson"
    FORMATOPTION "STORAGE=stream"
    FORMATOPTION "FORM=SIMPLE"
  END
{}{}{}{}{}END
"#,
        layer(
            "tiger_roads",
            "LINE",
            &format!("    DATA \"{}\"", nyc.display()),
            "NAME"
        ),
        layer("countries", "POLYGON", &ogr("countries"), "ISO_A3"),
        layer(
            "populated_places",
            "POINT",
            &ogr("populated_places"),
            "NAME"
        ),
        layer(
            "states",
            "POLYGON",
            &format!("    DATA \"{}\"", data.join("shapefiles/states").display()),
            "STATE_ABBR"
        ),
        dem,
        fontset = fontset.display(),
    )
}

/// MapServer under lighttpd, stopped when dropped.
pub(crate) struct MapServer {
    dir: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
}

impl MapServer {
    pub(crate) fn start(dir: &Path, map: &Path, procs: usize) -> Result<MapServer, BenchError> {
        let port = free_port()?;
        let (d, m) = (dir.display().to_string(), map.display().to_string());
        run_script(
            &repo_script("mapserver.sh"),
            &["start", &d, &port.to_string(), &m, &procs.to_string()],
        )?;
        Ok(MapServer {
            dir: dir.to_path_buf(),
            base: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for MapServer {
    fn drop(&mut self) {
        let dir = self.dir.display().to_string();
        let _ = run_script(&repo_script("mapserver.sh"), &["stop", &dir]);
    }
}

/// Start both servers and measure every row on each, Meridian first, then MapServer.
pub fn run(opts: &Options) -> Result<Vec<Row>, BenchError> {
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
    let meridian_base = node.base.trim_end_matches("/geoserver").to_string();

    let mut rows = Vec::new();
    for c in cases() {
        let a = check(&meridian_base, &c.meridian, c.count)?;
        let b = check(&ms.base, &c.mapserver, c.count)?;
        if a != b {
            return Err(BenchError::Node(format!(
                "{}: Meridian answered {a} features, MapServer {b}",
                c.what
            )));
        }
        let m_url = format!("{meridian_base}{}", c.meridian);
        let s_url = format!("{}{}", ms.base, c.mapserver);
        let m = get_loop(opts.clients, opts.duration, &|_| m_url.clone(), false)?;
        let s = get_loop(opts.clients, opts.duration, &|_| s_url.clone(), false)?;
        rows.push(Row {
            what: c.what,
            features: a,
            meridian: m,
            mapserver: s,
        });
    }
    Ok(rows)
}

/// One request; the answer must be a 200 with features.
fn check(base: &str, path: &str, kind: Count) -> Result<usize, BenchError> {
    let c = client()?;
    let r = c
        .get(format!("{base}{path}"))
        .send()
        .map_err(|e| BenchError::Http(e.to_string()))?;
    let status = r.status().as_u16();
    let body = r.text().map_err(|e| BenchError::Http(e.to_string()))?;
    let n = count(kind, &body);
    if status != 200 || n == 0 {
        let head: String = body.chars().take(300).collect();
        return Err(BenchError::Http(format!(
            "GET {base}{path} answered {status} with {n} features: {head}"
        )));
    }
    Ok(n)
}

/// A MapServer fontset naming DejaVu Sans (Debian's fonts-dejavu-core), in `dir`.
pub(crate) fn write_fontset(dir: &Path) -> Result<PathBuf, BenchError> {
    let path = dir.join("fonts.list");
    std::fs::write(
        &path,
        "DejaVuSans /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf\nDejaVuSans-bold /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf\n",
    )
    .map_err(|e| BenchError::Io(path.display().to_string(), e))?;
    Ok(path)
}
