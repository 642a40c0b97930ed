//! Which layers have tiles, and how: the tile cache's settings (`gwc-gs.xml`), its gridsets
//! (GeoWebCache's built-in ones and those of `gwc/geowebcache.xml`) and the tile layer of each
//! published layer or group — its `gwc-layers/` file, or, without one, the tile layer the
//! settings give every layer (`cacheLayersByDefault`), which is what GeoServer writes for a
//! new layer.

use crate::{gwc_files, Catalog, Kind, Object};
use meridian_tiles::{GridSet, LayerKind, Settings, TileLayer};
use std::sync::Arc;

/// The tile cache's settings and gridsets, as the catalog has them now.
#[derive(Debug, Clone)]
pub struct TileConfig {
    /// `gwc-gs.xml`.
    pub settings: Settings,
    /// The built-in gridsets and those of `gwc/geowebcache.xml`.
    pub gridsets: Vec<GridSet>,
}

impl TileConfig {
    /// The configuration in `cat` (a file that does not read falls back to the defaults;
    /// the catalog refuses such files, so only a hand-edited directory has one). Made once
    /// for the files it reads, and shared while they are the same objects.
    pub fn of(cat: &Catalog) -> Arc<TileConfig> {
        type Made = (Option<Arc<Object>>, Option<Arc<Object>>, Arc<TileConfig>);
        static MADE: std::sync::Mutex<Option<Made>> = std::sync::Mutex::new(None);
        let file = |name: &str| {
            cat.get_kind(Kind::TileCache, &gwc_files::id_of(name))
                .cloned()
        };
        let (settings, geowebcache) = (file(gwc_files::SETTINGS), file(gwc_files::GEOWEBCACHE));
        let same = |a: &Option<Arc<Object>>, b: &Option<Arc<Object>>| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, g, cfg)) = made.as_ref() {
            if same(s, &settings) && same(g, &geowebcache) {
                return cfg.clone();
            }
        }
        let cfg = Arc::new(TileConfig::read(
            settings.as_ref().and_then(|o| o.body.as_deref()),
            geowebcache.as_ref().and_then(|o| o.body.as_deref()),
        ));
        *made = Some((settings, geowebcache, cfg.clone()));
        cfg
    }

    /// The configuration of these files' texts.
    fn read(settings: Option<&str>, geowebcache: Option<&str>) -> TileConfig {
        let settings = settings
            .and_then(|t| Settings::parse(t).ok())
            .unwrap_or_default();
        let mut gridsets = meridian_tiles::builtin();
        if let Some(root) = geowebcache.and_then(|t| meridian_xml::parse(t).ok()) {
            for g in root
                .get("gridSets")
                .into_iter()
                .flat_map(|l| l.all("gridSet"))
            {
                match GridSet::from_xml(g) {
                    Ok(g) => {
                        gridsets.retain(|b| b.name != g.name);
                        gridsets.push(g);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a gridset of gwc/geowebcache.xml is left out")
                    }
                }
            }
        }
        TileConfig { settings, gridsets }
    }

    /// The gridset of this name.
    pub fn gridset(&self, name: &str) -> Option<&GridSet> {
        self.gridsets.iter().find(|g| g.name == name)
    }
}

/// A published layer or group that may have tiles.
#[derive(Debug, Clone)]
pub struct Published {
    /// The layer's (or group's) id.
    pub id: String,
    /// `ws:name`, or a global group's name.
    pub name: String,
    /// Its workspace's name (`""`: a global group).
    pub workspace: String,
    /// Its name within the workspace.
    pub local: String,
    /// Its title.
    pub title: String,
    /// What it is.
    pub kind: LayerKind,
    /// The names of the styles it may be drawn with (its default first).
    pub styles: Vec<String>,
    /// West, south, east, north in WGS84, when known.
    pub lat_lon: Option<[f64; 4]>,
}

/// A published layer with its tile layer.
#[derive(Debug, Clone)]
pub struct Tiled {
    /// The layer or group.
    pub published: Published,
    /// Its tile layer.
    pub layer: TileLayer,
}

fn style_name(cat: &Catalog, id: &str) -> Option<String> {
    let s = cat.get(id)?;
    Some(match s.workspace().and_then(|w| cat.get(w)) {
        Some(ws) => format!("{}:{}", ws.name(), s.name()),
        None => s.name().to_string(),
    })
}

fn lat_lon(o: &Object, field: &str) -> Option<[f64; 4]> {
    let b = o.xml().get(field)?;
    let v = |k: &str| b.child_text(k).and_then(|t| t.trim().parse::<f64>().ok());
    let (w, s, e, n) = (v("minx")?, v("miny")?, v("maxx")?, v("maxy")?);
    (w < e && s < n).then_some([w, s, e, n])
}

/// The layer `layer` as something with tiles (feature types and coverages only).
fn published_layer(cat: &Catalog, layer: &Object) -> Option<Published> {
    let res = cat.get(layer.ref_id("resource")?)?;
    let kind = match res.kind {
        Kind::FeatureType => LayerKind::Vector,
        Kind::Coverage => LayerKind::Coverage,
        _ => return None,
    };
    if res.xml().child_text("enabled") == Some("false")
        || layer.xml().child_text("enabled") == Some("false")
    {
        return None;
    }
    let ws = cat.get(&cat.workspace_id_of(layer)?)?.name().to_string();
    let local = cat.layer_name(layer).to_string();
    Some(Published {
        id: layer.id().to_string(),
        name: format!("{ws}:{local}"),
        workspace: ws,
        title: res.xml().child_text("title").unwrap_or(&local).to_string(),
        local,
        kind,
        styles: layer
            .layer_styles()
            .into_iter()
            .filter_map(|id| style_name(cat, id))
            .collect(),
        lat_lon: lat_lon(res, "latLonBoundingBox"),
    })
}

/// The group `g` as something with tiles (a container tree has no image of its own).
fn published_group(cat: &Catalog, g: &Object) -> Option<Published> {
    if g.group_mode() == "CONTAINER" {
        return None;
    }
    let ws = g
        .workspace()
        .and_then(|w| cat.get(w))
        .map(|w| w.name().to_string())
        .unwrap_or_default();
    let local = g.name().to_string();
    Some(Published {
        id: g.id().to_string(),
        name: if ws.is_empty() {
            local.clone()
        } else {
            format!("{ws}:{local}")
        },
        workspace: ws,
        title: g.xml().child_text("title").unwrap_or(&local).to_string(),
        local,
        kind: LayerKind::Group,
        styles: Vec::new(),
        lat_lon: None,
    })
}

/// The published layer or group `name` names (`ws:name`, or a global group's name; a layer
/// before a group of the same name, as GetMap reads names).
pub fn find_published(cat: &Catalog, name: &str) -> Option<Published> {
    match name.split_once(':') {
        Some((ws, local)) => {
            let w = cat.find(Kind::Workspace, None, ws)?;
            if let Some(l) = cat.find(Kind::Layer, Some(w.id()), local) {
                return published_layer(cat, l);
            }
            published_group(cat, cat.find(Kind::LayerGroup, Some(w.id()), local)?)
        }
        None => published_group(cat, cat.find(Kind::LayerGroup, None, name)?),
    }
}

/// The published layer or group with id `id`.
pub fn published_by_id(cat: &Catalog, id: &str) -> Option<Published> {
    let o = cat.get(id)?;
    match o.kind {
        Kind::Layer => published_layer(cat, o),
        Kind::LayerGroup => published_group(cat, o),
        _ => None,
    }
}

/// The tile layer of a published layer or group: its file, else the settings' default for
/// it when layers are cached by default.
pub fn tile_layer_of(cat: &Catalog, cfg: &TileConfig, p: &Published) -> Option<TileLayer> {
    match cat.get_kind(
        Kind::TileCache,
        &gwc_files::id_of(&gwc_files::layer_file(&p.id)),
    ) {
        Some(o) => parsed_tile_layer(o),
        None => cfg
            .settings
            .cache_layers_by_default
            .then(|| TileLayer::new_for(&p.id, &p.name, &cfg.settings, p.kind)),
    }
}

/// A tile layer file read, kept while the catalog holds the same object (a tile is asked
/// for far more often than its tile layer changes).
fn parsed_tile_layer(o: &Arc<Object>) -> Option<TileLayer> {
    type Kept = std::collections::HashMap<String, (Arc<Object>, Option<TileLayer>)>;
    static KEPT: std::sync::Mutex<Option<Kept>> = std::sync::Mutex::new(None);
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    let m = kept.get_or_insert_with(Default::default);
    if let Some((obj, layer)) = m.get(o.id()) {
        if Arc::ptr_eq(obj, o) {
            return layer.clone();
        }
    }
    let layer = o.body.as_deref().and_then(|t| TileLayer::parse(t).ok());
    if m.len() >= 10_000 {
        m.clear();
    }
    m.insert(o.id().to_string(), (o.clone(), layer.clone()));
    layer
}

/// The tile layer named `name`, if it serves tiles.
pub fn find_tiled(cat: &Catalog, cfg: &TileConfig, name: &str) -> Option<Tiled> {
    let published = find_published(cat, name)?;
    let layer = tile_layer_of(cat, cfg, &published)?;
    Some(Tiled { published, layer })
}

/// Every published layer and group with an enabled tile layer, by name.
pub fn all_tiled(cat: &Arc<Catalog>, cfg: &TileConfig) -> Vec<Tiled> {
    let mut out: Vec<Tiled> = cat
        .layers_in(None)
        .into_iter()
        .filter_map(|l| published_layer(cat, l))
        .chain(
            cat.list(Kind::LayerGroup)
                .into_iter()
                .filter_map(|g| published_group(cat, g)),
        )
        .filter_map(|published| {
            let layer = tile_layer_of(cat, cfg, &published)?;
            layer.enabled.then_some(Tiled { published, layer })
        })
        .collect();
    out.sort_by(|a, b| a.published.name.cmp(&b.published.name));
    out
}
