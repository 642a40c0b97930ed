//! Which cached tiles a catalog change makes stale. Every node runs this on every state its
//! catalog takes — a local change, a replicated batch, a snapshot — so the tiles of a layer
//! whose drawing changed are truncated wherever they are cached, with no reload.
//!
//! What changes a layer's tiles: its style's body or settings, the layer (its styles), its
//! resource (`cqlFilter`, bounds, attributes), its store (the data it reads), its tile layer
//! file, and for a group its members and their styles; a group holding a stale layer or
//! group is stale too. A truncation asked for (`masstruncate`) is recorded in
//! `gwc/meridian-truncations.xml`, so it reaches every node the same way (`*`: every layer).

use meridian_catalog::{gwc_files, Catalog, Kind, Object, ObjectDiff};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The ids of the layers and groups whose tiles differ between `before` and `after`.
pub fn stale_layers(before: &Catalog, after: &Catalog) -> BTreeSet<String> {
    let mut stale = BTreeSet::new();
    for d in after.changed_objects(before) {
        let (old, new): (Option<&Arc<Object>>, Option<&Arc<Object>>) = match d {
            ObjectDiff::Added(n) => (None, Some(n)),
            ObjectDiff::Removed(o) => (Some(o), None),
            ObjectDiff::Replaced { old, new } => (Some(old), Some(new)),
        };
        // Truncations asked for: the layers whose count changed (`*`: all of them).
        if let Some(t) = old.or(new).filter(|o| o.name() == gwc_files::TRUNCATIONS) {
            if t.kind == Kind::TileCache {
                let was = gwc_files::truncations(old.and_then(|o| o.body.as_deref()));
                let is = gwc_files::truncations(new.and_then(|o| o.body.as_deref()));
                for (id, n) in &is {
                    if was.get(id) != Some(n) {
                        stale.insert(id.clone());
                    }
                }
                continue;
            }
        }
        for (cat, o) in [(before, old), (after, new)] {
            let Some(o) = o else { continue };
            affected(cat, o, &mut stale);
        }
    }
    // Groups holding a stale layer or group, in either state.
    let mut todo: Vec<String> = stale.iter().cloned().collect();
    let mut seen = 0;
    while let Some(id) = todo.pop() {
        seen += 1;
        if seen > 100_000 {
            break;
        }
        for cat in [before, after] {
            for g in cat.groups_containing(&id) {
                if stale.insert(g.id().to_string()) {
                    todo.push(g.id().to_string());
                }
            }
        }
    }
    stale
}

/// The layers and groups `o` (in `cat`) draws into.
fn affected(cat: &Catalog, o: &Object, stale: &mut BTreeSet<String>) {
    let layer_of_resource = |res: &str, stale: &mut BTreeSet<String>| {
        if let Some(l) = cat.layer_of(res) {
            stale.insert(l.id().to_string());
        }
    };
    match o.kind {
        Kind::Layer | Kind::LayerGroup => {
            stale.insert(o.id().to_string());
        }
        Kind::Style => {
            for l in cat.layers_using_style(o.id()) {
                stale.insert(l.id().to_string());
            }
            for g in cat.groups_using_style(o.id()) {
                stale.insert(g.id().to_string());
            }
        }
        k if k.is_resource() => layer_of_resource(o.id(), stale),
        k if k.is_store() => {
            for r in cat.resources_of(o.id()) {
                layer_of_resource(r.id(), stale);
            }
        }
        // A tile layer's file names its layer.
        Kind::TileCache if o.name().starts_with(gwc_files::LAYERS_DIR) => {
            let id = o
                .body
                .as_deref()
                .and_then(|t| meridian_xml::parse(t).ok())
                .and_then(|x| x.child_text("id").map(|s| s.trim().to_string()));
            if let Some(id) = id.filter(|i| !i.is_empty()) {
                stale.insert(id);
            }
        }
        _ => {}
    }
}
