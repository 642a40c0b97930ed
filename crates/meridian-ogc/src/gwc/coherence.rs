//! Which cached tiles a catalog change makes stale. Every node runs this on every state its
//! catalog takes — a local change, a replicated batch, a snapshot — so the tiles of a layer
//! whose drawing changed are truncated wherever they are cached, with no reload.
//!
//! What changes a layer's tiles: its style's body or settings, the layer (its styles), its
//! resource (`cqlFilter`, bounds, attributes), its store (the data it reads), its tile layer
//! file, and for a group its members and their styles; a group holding a stale layer or
//! group is stale too. A truncation asked for (`masstruncate`) is recorded in
//! `gwc/meridian-truncations.xml`, so it reaches every node the same way (`*`: every layer;
//! a `truncateExtent` truncates its box, [`truncated_extents`]).

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
        // Truncations asked for: the layers whose count changed (`*`: all of them), but for
        // one truncation of a box (`truncated_extents`).
        if let Some(t) = old.or(new).filter(|o| o.name() == gwc_files::TRUNCATIONS) {
            if t.kind == Kind::TileCache {
                let (whole, _) = truncation_changes(old, new);
                stale.extend(whole);
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

/// The truncations of a box recorded between `before` and `after`: the layer or group, and
/// the box (its own tiles and those of the groups holding it are truncated there).
pub fn truncated_extents(
    before: &Catalog,
    after: &Catalog,
) -> Vec<(String, gwc_files::TruncatedExtent)> {
    let id = gwc_files::id_of(gwc_files::TRUNCATIONS);
    let (old, new) = (
        before.get_kind(Kind::TileCache, &id),
        after.get_kind(Kind::TileCache, &id),
    );
    match (old, new) {
        (Some(a), Some(b)) if Arc::ptr_eq(a, b) => Vec::new(),
        _ => truncation_changes(old, new).1,
    }
}

/// What changed between two versions of the truncations file: the layers to truncate whole,
/// and those to truncate in a box. A box counts only when it is the one truncation made
/// since (a node that missed several truncates the whole layer: it does not know the others'
/// boxes).
fn truncation_changes(
    old: Option<&Arc<Object>>,
    new: Option<&Arc<Object>>,
) -> (Vec<String>, Vec<(String, gwc_files::TruncatedExtent)>) {
    let was = gwc_files::truncation_records(old.and_then(|o| o.body.as_deref()));
    let is = gwc_files::truncation_records(new.and_then(|o| o.body.as_deref()));
    let (mut whole, mut boxes) = (Vec::new(), Vec::new());
    for (id, t) in is {
        let before = was.get(&id).map_or(0, |w| w.count);
        if before == t.count {
            continue;
        }
        match t.extent {
            Some(x) if t.count == before + 1 => boxes.push((id, x)),
            _ => whole.push(id),
        }
    }
    (whole, boxes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gwc_files::{truncated, truncated_extent, TruncatedExtent};

    fn file(text: String) -> Arc<Object> {
        Arc::new(gwc_files::object(gwc_files::TRUNCATIONS, text))
    }

    #[test]
    fn one_truncated_box_is_a_box_and_several_missed_are_the_whole_layer() {
        let boxed = |b: [f64; 4]| TruncatedExtent {
            gridset: None,
            bbox: b,
        };
        let first = truncated(None, &["L1"]);
        let one = truncated_extent(Some(&first), "L2", boxed([0.0, 0.0, 1.0, 1.0]));
        let (whole, boxes) =
            truncation_changes(Some(&file(first.clone())), Some(&file(one.clone())));
        assert!(whole.is_empty());
        assert_eq!(boxes, vec![("L2".to_string(), boxed([0.0, 0.0, 1.0, 1.0]))]);
        // Two boxes since the state a node last saw: it knows only the last one.
        let two = truncated_extent(Some(&one), "L2", boxed([2.0, 2.0, 3.0, 3.0]));
        let (whole, boxes) = truncation_changes(Some(&file(first)), Some(&file(two)));
        assert_eq!(whole, vec!["L2".to_string()]);
        assert!(boxes.is_empty());
        // A whole-layer truncation after a box forgets the box.
        let after = truncated(Some(&one), &["L2"]);
        assert!(gwc_files::truncation_records(Some(&after))["L2"]
            .extent
            .is_none());
    }
}
