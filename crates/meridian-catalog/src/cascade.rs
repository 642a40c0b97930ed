//! Expanding a recursive delete into the per-object changes it implies, as GeoServer's
//! `CascadeDeleteVisitor` does. The changes are computed on a working copy so that an object
//! touched twice (a group losing two layers) comes out with its final state.

use crate::apply::apply_unchecked;
use crate::catalog::Catalog;
use crate::object::ref_of;
use crate::{Change, Kind, Object};
use meridian_xml::Element;

struct Planner {
    work: Catalog,
    out: Vec<Change>,
}

impl Planner {
    fn push(&mut self, c: Change) {
        let mut sink = Vec::new();
        apply_unchecked(&mut self.work, &c, &mut sink);
        self.out.push(c);
    }

    fn remove(&mut self, kind: Kind, id: &str) {
        if self.work.get_kind(kind, id).is_some() {
            self.push(Change::Remove {
                kind,
                id: id.to_string(),
            });
        }
    }
}

/// The changes that remove an object and everything under it: a workspace with its stores,
/// resources, layers, styles, groups, settings, services and namespace; a store with its
/// resources and layers; a resource with its layer; a layer or group with its group memberships
/// (groups left empty are removed); a style with its uses by layers and groups.
pub fn cascade_remove(cat: &Catalog, kind: Kind, id: &str) -> Vec<Change> {
    let mut p = Planner {
        work: cat.clone(),
        out: Vec::new(),
    };
    remove_any(&mut p, kind, id);
    p.out
}

/// The changes that take a layer (or group) out of every group, then remove it.
pub fn remove_layer_everywhere(cat: &Catalog, kind: Kind, id: &str) -> Vec<Change> {
    cascade_remove(cat, kind, id)
}

/// The changes that take a style off every layer and group, then remove it.
pub fn remove_style_everywhere(cat: &Catalog, id: &str) -> Vec<Change> {
    cascade_remove(cat, Kind::Style, id)
}

fn remove_any(p: &mut Planner, kind: Kind, id: &str) {
    match kind {
        Kind::Workspace => remove_workspace(p, id),
        k if k.is_store() => remove_store(p, k, id),
        k if k.is_resource() => remove_resource(p, k, id),
        Kind::Layer | Kind::LayerGroup => remove_published(p, kind, id),
        Kind::Style => remove_style(p, id),
        Kind::Namespace => {
            let ws = p
                .work
                .get(id)
                .and_then(|ns| p.work.workspace_of_namespace(ns))
                .map(|w| w.id().to_string());
            match ws {
                Some(ws) => remove_workspace(p, &ws),
                None => p.remove(Kind::Namespace, id),
            }
        }
        k => p.remove(k, id),
    }
}

fn remove_workspace(p: &mut Planner, ws: &str) {
    let Some(w) = p.work.get_kind(Kind::Workspace, ws).cloned() else {
        return;
    };
    let groups: Vec<String> = ids(p.work.scoped(Kind::LayerGroup, Some(ws)));
    for g in groups {
        remove_published(p, Kind::LayerGroup, &g);
    }
    for k in [
        Kind::DataStore,
        Kind::CoverageStore,
        Kind::WmsStore,
        Kind::WmtsStore,
    ] {
        for s in ids(p.work.stores_in(ws, k)) {
            remove_store(p, k, &s);
        }
    }
    for s in ids(p.work.scoped(Kind::Style, Some(ws))) {
        remove_style(p, &s);
    }
    for k in [Kind::Settings, Kind::Service] {
        for s in ids(p.work.scoped(k, Some(ws))) {
            p.remove(k, &s);
        }
    }
    if let Some(ns) = p.work.namespace_of(&w).map(|n| n.id().to_string()) {
        // Resources of other workspaces' stores may still point at this namespace.
        let users: Vec<(Kind, String)> = p
            .work
            .objects()
            .filter(|o| o.kind.is_resource() && o.ref_id("namespace") == Some(ns.as_str()))
            .map(|o| (o.kind, o.id().to_string()))
            .collect();
        for (k, r) in users {
            remove_resource(p, k, &r);
        }
        p.remove(Kind::Namespace, &ns);
    }
    p.remove(Kind::Workspace, ws);
}

fn remove_store(p: &mut Planner, kind: Kind, store: &str) {
    for r in p
        .work
        .resources_of(store)
        .into_iter()
        .map(|o| (o.kind, o.id().to_string()))
        .collect::<Vec<_>>()
    {
        remove_resource(p, r.0, &r.1);
    }
    p.remove(kind, store);
}

fn remove_resource(p: &mut Planner, kind: Kind, res: &str) {
    let layers: Vec<String> = p
        .work
        .referencing(Kind::Layer, "resource", res)
        .map(|l| l.id().to_string())
        .collect();
    for l in layers {
        remove_published(p, Kind::Layer, &l);
    }
    p.remove(kind, res);
}

/// Take a layer or group out of every group (removing groups that become empty), then remove it.
fn remove_published(p: &mut Planner, kind: Kind, id: &str) {
    let parents: Vec<String> = ids(p.work.groups_containing(id));
    for g in parents {
        let Some(group) = p.work.get(&g).cloned() else {
            continue;
        };
        let updated = group_without(&group, id);
        if updated.group_members().is_empty() && updated.ref_id("rootLayer").is_none() {
            remove_published(p, Kind::LayerGroup, &g);
        } else {
            p.push(Change::Modify { object: updated });
        }
    }
    p.remove(kind, id);
}

/// A copy of a group without member `id` (and its paired style entry).
fn group_without(group: &Object, id: &str) -> Object {
    let mut g = group.clone();
    let mut x = g.element();
    let members_name = if x.get("publishables").is_some() {
        ("publishables", "published")
    } else {
        ("layers", "layer")
    };
    let positions: Vec<usize> = x
        .get(members_name.0)
        .map(|m| {
            m.all(members_name.1)
                .enumerate()
                .filter(|(_, e)| ref_of(e) == Some(id))
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default();
    if let Some(m) = x.get_mut(members_name.0) {
        remove_positions(m, members_name.1, &positions);
    }
    if let Some(s) = x.get_mut("styles") {
        remove_positions(s, "style", &positions);
    }
    if g.ref_id("rootLayer") == Some(id) {
        x.remove("rootLayer");
        x.remove("rootLayerStyle");
    }
    g.set_xml(&x);
    g
}

fn remove_positions(parent: &mut Element, name: &str, positions: &[usize]) {
    let mut i = 0;
    parent.children.retain(|c| {
        if c.name != name {
            return true;
        }
        let keep = !positions.contains(&i);
        i += 1;
        keep
    });
}

fn remove_style(p: &mut Planner, style: &str) {
    let fallback = ["generic", "point", "polygon", "line", "raster"]
        .iter()
        .filter_map(|n| p.work.find(Kind::Style, None, n))
        .map(|s| s.id().to_string())
        .find(|s| s != style);
    let layers: Vec<Object> = p
        .work
        .layers_using_style(style)
        .into_iter()
        .map(|l| (**l).clone())
        .collect();
    for mut l in layers {
        let mut x = l.element();
        if let Some(styles) = x.get_mut("styles") {
            styles.children.retain(|s| ref_of(s) != Some(style));
        }
        if l.ref_id("defaultStyle") == Some(style) {
            let next = x
                .get("styles")
                .and_then(|s| s.children.first())
                .and_then(ref_of)
                .map(str::to_string)
                .or_else(|| fallback.clone());
            match next {
                Some(n) => {
                    x.put_child(crate::object::reference("defaultStyle", &n));
                    if let Some(styles) = x.get_mut("styles") {
                        styles.children.retain(|s| ref_of(s) != Some(n.as_str()));
                    }
                }
                None => {
                    x.remove("defaultStyle");
                }
            }
        }
        l.set_xml(&x);
        p.push(Change::Modify { object: l });
    }
    let groups: Vec<Object> = p
        .work
        .groups_using_style(style)
        .into_iter()
        .map(|g| (**g).clone())
        .collect();
    for mut g in groups {
        let mut x = g.element();
        if let Some(styles) = x.get_mut("styles") {
            for s in styles.children.iter_mut() {
                if ref_of(s) == Some(style) {
                    *s = Element::new("style");
                }
            }
        }
        if g.ref_id("rootLayerStyle") == Some(style) {
            x.remove("rootLayerStyle");
        }
        g.set_xml(&x);
        p.push(Change::Modify { object: g });
    }
    p.remove(Kind::Style, style);
}

fn ids(v: Vec<&std::sync::Arc<Object>>) -> Vec<String> {
    v.into_iter().map(|o| o.id().to_string()).collect()
}
