//! The feature types the services publish, as the catalog says right now.

use meridian_catalog::{Catalog, Kind, Object};
use meridian_features::{describe, transform_bbox, Filter, FilterError};
use meridian_sources::{Bounds, StoreParams};
use std::path::Path;
use std::sync::Arc;

/// A published feature type.
#[derive(Debug, Clone)]
pub struct FeatureLayer {
    /// Workspace (namespace prefix).
    pub prefix: String,
    /// Namespace URI.
    pub uri: String,
    /// Published name.
    pub name: String,
    /// Name in the store.
    pub native: String,
    /// Title.
    pub title: String,
    /// Abstract.
    pub abstract_: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Declared CRS (EPSG code).
    pub epsg: u32,
    /// WGS84 bounds.
    pub lat_lon: Option<Bounds>,
    /// How to read the store.
    pub store: StoreParams,
    /// Advertised in capabilities and collection lists.
    pub advertised: bool,
    /// Most features a request may return (0 = no limit).
    pub max_features: usize,
    /// Decimal places of output coordinates.
    pub num_decimals: Option<u32>,
    /// Ids of the layer's styles: its default first, then the alternates.
    pub styles: Vec<String>,
    /// Native bounds (in `epsg`), when the catalog has them.
    pub native_bounds: Option<Bounds>,
    /// The feature type's own `cqlFilter` (every service shows only what it selects).
    pub cql_filter: Option<String>,
}

impl FeatureLayer {
    /// The layer with a request's `viewparams` for its SQL view (its `n`th list), checked
    /// against the view's validators; a layer without a view is unchanged.
    pub fn with_view_params(
        mut self,
        viewparams: Option<&str>,
        n: usize,
    ) -> Result<FeatureLayer, meridian_sources::ViewError> {
        if let Some((view, values)) = self.store.view.as_mut() {
            if let Some(text) = viewparams {
                *values = meridian_sources::parse_view_params(text, n);
            }
            view.expand(values)?;
        }
        Ok(self)
    }

    /// `prefix:name`.
    pub fn qualified(&self) -> String {
        format!("{}:{}", self.prefix, self.name)
    }

    /// The feature type's own `cqlFilter`, read (`None` when it has none): every service shows
    /// only the features it selects.
    pub fn own_filter(&self) -> Result<Option<Filter>, FilterError> {
        match self.cql_filter.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(text) => self.read_cql(text).map(Some),
            None => Ok(None),
        }
    }

    /// CQL text about this layer: a BBOX without a CRS is in the layer's CRS; with one, it is
    /// transformed into it.
    pub fn read_cql(&self, text: &str) -> Result<Filter, FilterError> {
        let epsg = self.epsg;
        let env = |b: [f64; 4], crs: Option<&str>| {
            let from = match crs {
                None => epsg,
                Some(c) => crate::ows::parse_crs(c)
                    .map(|(code, _)| code)
                    .map_err(|e| FilterError::Geometry(e.text))?,
            };
            transform_bbox(b, from, epsg).map_err(|e| FilterError::Geometry(e.to_string()))
        };
        meridian_features::filter::cql::parse_cql(text, &env)
    }

    /// The geometry attribute and the other attributes (name, binding), read from the store.
    pub fn attributes(&self) -> (String, Vec<(String, String)>) {
        match describe(&self.store, &self.native) {
            Ok(s) => {
                let geom = s
                    .attributes
                    .iter()
                    .find(|a| a.binding.starts_with("org.locationtech.jts.geom."))
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| "the_geom".into());
                let others = s
                    .attributes
                    .into_iter()
                    .filter(|a| a.name != geom)
                    .map(|a| (a.name, a.binding))
                    .collect();
                (geom, others)
            }
            Err(_) => ("the_geom".into(), Vec::new()),
        }
    }
}

/// The SQL view a feature type declares (`JDBC_VIRTUAL_TABLE`), if any. A malformed one is
/// logged and left out: reading the layer then fails with the store's own error.
fn sql_view_of(res: &Object) -> Option<meridian_sources::SqlView> {
    let md = res.xml().get("metadata")?;
    let entry = md
        .children()
        .find(|e| e.attr_value("key") == Some("JDBC_VIRTUAL_TABLE"))?;
    let vt = entry.get("virtualTable")?;
    match meridian_sources::SqlView::from_xml(&vt.to_element()) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(resource = res.name(), error = %e, "a SQL view that does not read");
            None
        }
    }
}

fn layer_for(cat: &Catalog, layer: &Object, data_dir: &Path) -> Option<FeatureLayer> {
    let res = cat.get(layer.ref_id("resource")?)?;
    if res.kind != Kind::FeatureType {
        return None;
    }
    let store = cat.get(res.ref_id("store")?)?;
    let ns = cat.get(res.ref_id("namespace")?)?;
    if !layer.enabled() || !res.enabled() || !store.enabled() {
        return None;
    }
    let advertised = layer.xml().child_text("advertised") != Some("false")
        && res.xml().child_text("advertised") != Some("false");
    let epsg = res
        .xml()
        .child_text("srs")
        .and_then(|s| s.rsplit(':').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or(4326);
    Some(FeatureLayer {
        prefix: ns.name().to_string(),
        uri: ns.xml().child_text("uri").unwrap_or("").to_string(),
        name: cat.layer_name(layer).to_string(),
        native: res
            .xml()
            .child_text("nativeName")
            .unwrap_or(res.name())
            .to_string(),
        title: res
            .xml()
            .child_text("title")
            .unwrap_or(res.name())
            .to_string(),
        abstract_: res.xml().child_text("abstract").unwrap_or("").to_string(),
        keywords: res
            .xml()
            .get("keywords")
            .map(|k| {
                k.children()
                    .filter_map(|c| c.text_trim())
                    .map(|t| t.split("\\@").next().unwrap_or(t).to_string())
                    .collect()
            })
            .unwrap_or_default(),
        epsg,
        lat_lon: res
            .xml()
            .get("latLonBoundingBox")
            .and_then(|b| Bounds::from_xml(&b.to_element())),
        store: StoreParams {
            params: store.connection_parameters(),
            store_type: store.xml().child_text("type").map(str::to_string),
            data_dir: data_dir.to_path_buf(),
            view: sql_view_of(res).map(|v| (Arc::new(v), Default::default())),
        },
        advertised,
        max_features: res
            .xml()
            .child_text("maxFeatures")
            .and_then(|m| m.parse().ok())
            .unwrap_or(0),
        num_decimals: res
            .xml()
            .child_text("numDecimals")
            .and_then(|m| m.parse().ok())
            .filter(|n: &u32| *n > 0),
        styles: layer
            .layer_styles()
            .into_iter()
            .map(str::to_string)
            .collect(),
        native_bounds: res
            .xml()
            .get("nativeBoundingBox")
            .and_then(|b| Bounds::from_xml(&b.to_element())),
        cql_filter: res.xml().child_text("cqlFilter").map(str::to_string),
    })
}

/// The feature type of layer `id`, when it is one and is enabled.
pub fn layer_by_id(cat: &Catalog, data_dir: &Path, id: &str) -> Option<FeatureLayer> {
    layer_for(cat, cat.get(id)?, data_dir)
}

/// Every enabled feature type with a layer, sorted by qualified name; `ws` limits to one
/// workspace.
pub fn published_layers(
    cat: &Arc<Catalog>,
    data_dir: &Path,
    ws: Option<&str>,
) -> Vec<FeatureLayer> {
    let mut v: Vec<FeatureLayer> = cat
        .list(Kind::Layer)
        .into_iter()
        .filter_map(|l| layer_for(cat, l, data_dir))
        .filter(|l| ws.is_none_or(|w| l.prefix == w))
        .collect();
    v.sort_by_key(FeatureLayer::qualified);
    v
}

/// Every layer of a catalog snapshot in qualified-name order (`prefix:name`), made once per
/// snapshot and shared by the documents that list them.
#[derive(Default)]
pub struct PublishedOrder(std::sync::Mutex<Option<Ordered>>);

/// A catalog snapshot and its layers in qualified-name order.
type Ordered = (Arc<Catalog>, Arc<[Arc<Object>]>);

impl PublishedOrder {
    /// The layers of `cat` in qualified-name order.
    pub fn of(&self, cat: &Arc<Catalog>) -> Arc<[Arc<Object>]> {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((c, order)) = &*kept {
            if Arc::ptr_eq(c, cat) {
                return order.clone();
            }
        }
        let mut v: Vec<(String, Arc<Object>)> = cat
            .list(Kind::Layer)
            .into_iter()
            .map(|l| (qualified_key(cat, l), l.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let order: Arc<[Arc<Object>]> = v.into_iter().map(|(_, l)| l).collect();
        *kept = Some((cat.clone(), order.clone()));
        order
    }
}

/// `prefix:name` of a layer, from its resource's namespace.
fn qualified_key(cat: &Catalog, layer: &Object) -> String {
    let prefix = layer
        .ref_id("resource")
        .and_then(|r| cat.get(r))
        .and_then(|r| r.ref_id("namespace"))
        .and_then(|n| cat.get(n))
        .map(|n| n.name())
        .unwrap_or("");
    format!("{prefix}:{}", cat.layer_name(layer))
}

/// The published feature types of `order` (from [`PublishedOrder::of`]), one at a time as
/// they are asked for; `ws` limits to one workspace. The same as [`published_layers`].
pub fn published_iter(
    cat: Arc<Catalog>,
    order: Arc<[Arc<Object>]>,
    data_dir: std::path::PathBuf,
    ws: Option<String>,
) -> impl Iterator<Item = FeatureLayer> + Send + 'static {
    (0..order.len()).filter_map(move |i| {
        layer_for(&cat, &order[i], &data_dir)
            .filter(|l| ws.as_deref().is_none_or(|w| l.prefix == w))
    })
}

/// One feature type by `prefix:name` (or `name` within `ws`).
pub fn find_layer(
    cat: &Arc<Catalog>,
    data_dir: &Path,
    ws: Option<&str>,
    name: &str,
) -> Option<FeatureLayer> {
    let (p, n) = match name.split_once(':') {
        Some((p, n)) => (Some(p), n),
        None => (ws, name),
    };
    match p {
        // Qualified (or within a workspace): straight through the name index.
        Some(prefix) => {
            if ws.is_some_and(|w| w != prefix) {
                return None;
            }
            let w = cat.find(Kind::Workspace, None, prefix)?;
            let layer = cat.find(Kind::Layer, Some(w.id()), n)?;
            layer_for(cat, layer, data_dir).filter(|l| l.name == n && l.prefix == prefix)
        }
        // A bare name on the global service: the first match in qualified-name order.
        None => published_layers(cat, data_dir, ws)
            .into_iter()
            .find(|l| l.name == n),
    }
}
