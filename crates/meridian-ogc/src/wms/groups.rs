//! Layer groups as WMS layers: a group names its members bottom first (layers and nested
//! groups), each with the group's style for it or its own default.

use super::layer::{wms_layer_by_id, WmsLayer};
use meridian_catalog::{node_ref, Catalog, Kind, Object};
use std::path::Path;
use std::sync::Arc;

/// Groups nest at most this deep.
const MAX_DEPTH: usize = 8;

/// A group by `name` (`ws:name`, or a name within `ws`, or a global group).
pub(crate) fn find_group<'a>(
    cat: &'a Catalog,
    ws: Option<&str>,
    name: &str,
) -> Option<&'a Arc<Object>> {
    let (w, n) = match name.split_once(':') {
        Some((w, n)) => (Some(w), n),
        None => (ws, name),
    };
    match w {
        Some(w) => {
            if ws.is_some_and(|x| x != w) {
                return None;
            }
            let ws_obj = cat.find(Kind::Workspace, None, w)?;
            cat.find(Kind::LayerGroup, Some(ws_obj.id()), n)
        }
        None => cat.find(Kind::LayerGroup, None, n),
    }
}

/// The layers a group draws for `access`'s caller, bottom first, each with the style id the
/// group gives it (`None`: the layer's default). Members the caller may not read — layers,
/// and nested groups by their own rules — are left out, as are members that are neither
/// feature types nor coverages Meridian reads (`skipped` gets their ids).
pub(crate) fn group_layers(
    cat: &Catalog,
    data_dir: &Path,
    group: &Object,
    skipped: &mut Vec<String>,
    access: &meridian_security::LayerAccess,
) -> Vec<(WmsLayer, Option<String>)> {
    let mut out = Vec::new();
    expand(cat, data_dir, group, 0, &mut out, skipped, access);
    out
}

fn expand(
    cat: &Catalog,
    data_dir: &Path,
    group: &Object,
    depth: usize,
    out: &mut Vec<(WmsLayer, Option<String>)>,
    skipped: &mut Vec<String>,
    access: &meridian_security::LayerAccess,
) {
    if depth > MAX_DEPTH {
        return;
    }
    // Styles line up with members, an empty `<style/>` meaning the member's default.
    let styles: Vec<Option<String>> = group
        .xml()
        .get("styles")
        .map(|s| {
            s.all("style")
                .map(|e| node_ref(e).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for (i, m) in group.group_members().into_iter().enumerate() {
        match m.kind {
            Kind::LayerGroup => {
                if let Some(g) = cat.get(&m.id) {
                    let ws = g
                        .workspace()
                        .and_then(|id| cat.get(id))
                        .map(|w| w.name().to_string())
                        .unwrap_or_default();
                    if crate::access::read(access, &ws, g.name()).is_ok() {
                        expand(cat, data_dir, g, depth + 1, out, skipped, access);
                    }
                }
            }
            _ => match wms_layer_by_id(cat, data_dir, &m.id) {
                Some(l) if l.readable(access).is_err() => {}
                Some(l) => out.push((l, styles.get(i).cloned().flatten())),
                None => skipped.push(m.id.clone()),
            },
        }
    }
}
