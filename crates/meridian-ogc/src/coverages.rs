//! The coverages the services publish, as the catalog says right now: a layer whose resource
//! is a coverage, its store's file and type.

use meridian_catalog::{Catalog, Kind, Object};
use meridian_sources::{Bounds, StoreParams};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A published coverage.
#[derive(Debug, Clone)]
pub struct CoverageLayer {
    /// Workspace (namespace prefix).
    pub prefix: String,
    /// Namespace URI.
    pub uri: String,
    /// Published name.
    pub name: String,
    /// Title.
    pub title: String,
    /// Abstract.
    pub abstract_: String,
    /// Declared CRS (EPSG code).
    pub epsg: u32,
    /// WGS84 bounds.
    pub lat_lon: Option<Bounds>,
    /// Native bounds.
    pub native_bounds: Option<Bounds>,
    /// The store's type (`GeoTIFF`, `WorldImage`, `ArcGrid`, ...).
    pub store_type: String,
    /// The file, resolved against the data directory.
    pub path: PathBuf,
    /// Advertised in capabilities.
    pub advertised: bool,
    /// Style ids: the default first.
    pub styles: Vec<String>,
}

impl CoverageLayer {
    /// `prefix:name`.
    pub fn qualified(&self) -> String {
        format!("{}:{}", self.prefix, self.name)
    }
}

fn coverage_for(cat: &Catalog, layer: &Object, data_dir: &Path) -> Option<CoverageLayer> {
    let res = cat.get(layer.ref_id("resource")?)?;
    if res.kind != Kind::Coverage {
        return None;
    }
    let store = cat.get(res.ref_id("store")?)?;
    let ns = cat.get(res.ref_id("namespace")?)?;
    if !layer.enabled() || !res.enabled() || !store.enabled() {
        return None;
    }
    let url = store.xml().child_text("url")?.to_string();
    let params = StoreParams {
        params: vec![("url".into(), url.clone())],
        store_type: store.xml().child_text("type").map(str::to_string),
        data_dir: data_dir.to_path_buf(),
        view: None,
    };
    let bounds = |k: &str| {
        res.xml()
            .get(k)
            .and_then(|b| Bounds::from_xml(&b.to_element()))
    };
    Some(CoverageLayer {
        prefix: ns.name().to_string(),
        uri: ns.xml().child_text("uri").unwrap_or("").to_string(),
        name: cat.layer_name(layer).to_string(),
        title: res
            .xml()
            .child_text("title")
            .unwrap_or(res.name())
            .to_string(),
        abstract_: res.xml().child_text("abstract").unwrap_or("").to_string(),
        epsg: res
            .xml()
            .child_text("srs")
            .and_then(|s| s.rsplit(':').next())
            .and_then(|c| c.parse().ok())
            .unwrap_or(4326),
        lat_lon: bounds("latLonBoundingBox"),
        native_bounds: bounds("nativeBoundingBox"),
        store_type: store.xml().child_text("type").unwrap_or("").to_string(),
        path: params.resolve_path(&url),
        advertised: layer.xml().child_text("advertised") != Some("false")
            && res.xml().child_text("advertised") != Some("false"),
        styles: layer
            .layer_styles()
            .into_iter()
            .map(str::to_string)
            .collect(),
    })
}

/// The coverage of layer `id`, when it is one and is enabled.
pub fn coverage_by_id(cat: &Catalog, data_dir: &Path, id: &str) -> Option<CoverageLayer> {
    coverage_for(cat, cat.get(id)?, data_dir)
}

/// Every enabled coverage layer, sorted by qualified name; `ws` limits to one workspace.
pub fn published_coverages(
    cat: &Arc<Catalog>,
    data_dir: &Path,
    ws: Option<&str>,
) -> Vec<CoverageLayer> {
    let mut v: Vec<CoverageLayer> = cat
        .list(Kind::Layer)
        .into_iter()
        .filter_map(|l| coverage_for(cat, l, data_dir))
        .filter(|l| ws.is_none_or(|w| l.prefix == w))
        .collect();
    v.sort_by_key(CoverageLayer::qualified);
    v
}

/// One coverage by `prefix:name` (or `name` within `ws`).
pub fn find_coverage(
    cat: &Arc<Catalog>,
    data_dir: &Path,
    ws: Option<&str>,
    name: &str,
) -> Option<CoverageLayer> {
    let (p, n) = match name.split_once(':') {
        Some((p, n)) => (Some(p), n),
        None => (ws, name),
    };
    match p {
        Some(prefix) => {
            if ws.is_some_and(|w| w != prefix) {
                return None;
            }
            let w = cat.find(Kind::Workspace, None, prefix)?;
            let layer = cat.find(Kind::Layer, Some(w.id()), n)?;
            coverage_for(cat, layer, data_dir).filter(|l| l.name == n && l.prefix == prefix)
        }
        None => published_coverages(cat, data_dir, ws)
            .into_iter()
            .find(|l| l.name == n),
    }
}
