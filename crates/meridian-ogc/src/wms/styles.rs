//! The style a layer is drawn with: the one `STYLES` names (one of the layer's, or any style by
//! name) or the layer's default, read from the catalog as it is now. Parsed styles are kept by
//! style id and body, so a style changed by REST or replication is read again at once.

use super::layer::WmsLayer;
use meridian_catalog::{Catalog, Kind, Object};
use meridian_render::sld::{self, Style};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A style to draw with.
#[derive(Debug, Clone)]
pub(crate) struct StyleSource {
    /// Its catalog id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its body (SLD).
    pub body: Arc<str>,
    /// Its folder in the data directory (external graphics are read from there).
    pub dir: Option<PathBuf>,
}

/// Parsed styles by id: the body's hash and the style.
type Parsed = HashMap<String, (u64, Arc<Style>)>;

fn parsed_styles() -> &'static Mutex<Parsed> {
    static CACHE: OnceLock<Mutex<Parsed>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The style a body that does not read draws with: GeoServer's grey default.
fn fallback() -> Style {
    Style::default()
}

impl StyleSource {
    /// The parsed style (read once per body; a style that does not read draws nothing and
    /// says why once).
    pub(crate) fn parsed(&self) -> Arc<Style> {
        let mut h = DefaultHasher::new();
        self.body.hash(&mut h);
        let hash = h.finish();
        let mut cache = meridian_catalog::sync::lock(parsed_styles());
        if let Some((k, s)) = cache.get(&self.id) {
            if *k == hash {
                return s.clone();
            }
        }
        let style = match sld::parse(&self.body) {
            Ok(s) => {
                if !s.skipped.is_empty() {
                    tracing::info!(style = %self.name, skipped = ?s.skipped, "style drawn without what Meridian does not draw yet");
                }
                s
            }
            Err(e) => {
                tracing::warn!(style = %self.name, error = %e, "style does not read; its layers draw nothing");
                fallback()
            }
        };
        let style = Arc::new(style);
        cache.insert(self.id.clone(), (hash, style.clone()));
        style
    }
}

/// The folder of a style's files.
fn style_dir(cat: &Catalog, data_dir: &Path, style: &Object) -> PathBuf {
    match style.workspace().and_then(|id| cat.get(id)) {
        Some(ws) => data_dir.join("workspaces").join(ws.name()).join("styles"),
        None => data_dir.join("styles"),
    }
}

fn source(cat: &Catalog, data_dir: &Path, o: &Object) -> Result<StyleSource, String> {
    let body = o
        .body
        .as_deref()
        .ok_or_else(|| format!("the style '{}' has no body", o.name()))?;
    Ok(StyleSource {
        id: o.id().to_string(),
        name: o.name().to_string(),
        body: Arc::from(body),
        dir: Some(style_dir(cat, data_dir, o)),
    })
}

/// The style `asked` for `layer` (empty: its default).
pub(crate) fn layer_style(
    cat: &Catalog,
    data_dir: &Path,
    layer: &WmsLayer,
    asked: &str,
) -> Result<StyleSource, String> {
    let asked = asked.trim();
    if asked.is_empty() {
        let id = layer
            .styles()
            .first()
            .ok_or_else(|| format!("the layer '{}' has no default style", layer.qualified()))?;
        let o = cat
            .get(id)
            .ok_or_else(|| format!("the default style of '{}' is missing", layer.qualified()))?;
        return source(cat, data_dir, o);
    }
    // One of the layer's own styles first, then any style by (qualified) name.
    let (ws, name) = match asked.split_once(':') {
        Some((w, n)) => (Some(w), n),
        None => (None, asked),
    };
    let own = layer
        .styles()
        .iter()
        .filter_map(|id| cat.get(id))
        .find(|o| o.name() == name);
    let found = own.or_else(|| {
        let ws_id = ws
            .and_then(|w| cat.find(Kind::Workspace, None, w))
            .map(|w| w.id().to_string());
        match ws {
            Some(_) => ws_id.and_then(|id| cat.find(Kind::Style, Some(&id), name)),
            None => cat.find(Kind::Style, None, name).or_else(|| {
                cat.find(Kind::Workspace, None, layer.prefix())
                    .and_then(|w| cat.find(Kind::Style, Some(w.id()), name))
            }),
        }
    });
    let o = found.ok_or_else(|| format!("no style named '{asked}'"))?;
    source(cat, data_dir, o)
}

/// The style with catalog id `id`.
pub(crate) fn style_by_id(cat: &Catalog, data_dir: &Path, id: &str) -> Result<StyleSource, String> {
    let o = cat
        .get(id)
        .ok_or_else(|| format!("the style {id} is missing"))?;
    source(cat, data_dir, o)
}
