//! Turning a stored object into its REST representation: ids removed, references by name with
//! links, collection links added.

use crate::links::{atom_link, link_ext, qualified_name, url_of, ws_name};
use crate::req::Req;
use meridian_catalog::{ref_of, Catalog, Kind, Object};
use meridian_xml::Element;

/// Reference fields whose value is one object.
const SINGLE_REFS: &[&str] = &[
    "workspace",
    "namespace",
    "store",
    "resource",
    "defaultStyle",
    "rootLayer",
    "rootLayerStyle",
];

/// The REST representation of an object.
pub fn encode(cat: &Catalog, o: &Object, req: &Req) -> Element {
    // Connection secrets are never answered in clear: a write that sends the mask back keeps
    // them (see the stores' PUT).
    let masked = meridian_catalog::secrets::masked(o);
    let mut e = masked.as_ref().unwrap_or(o).element();
    e.remove("id");
    for c in e.children.iter_mut() {
        if SINGLE_REFS.contains(&c.name.as_str()) {
            if let Some(t) = ref_of(c).and_then(|id| cat.get(id)) {
                *c = reference(cat, &c.name, c.attr_value("class"), t, req);
            }
        } else if matches!(c.name.as_str(), "styles" | "publishables" | "layers") {
            for m in c.children.iter_mut() {
                if let Some(t) = ref_of(m).and_then(|id| cat.get(id)) {
                    let mut r = reference(cat, &m.name, m.attr_value("class"), t, req);
                    if let Some(ty) = m.attr_value("type") {
                        r.attrs.insert(0, ("type".into(), ty.into()));
                    }
                    *m = r;
                }
            }
        }
    }
    let ext = link_ext(req);
    match o.kind {
        Kind::Layer if e.get("name").is_none() => {
            e.children
                .insert(0, Element::with_text("name", cat.layer_name(o)));
        }
        Kind::Style => {
            if e.get("format").is_none() {
                e.set_child_text_after("format", "sld", "name");
            }
            if e.get("languageVersion").is_none() {
                let lv =
                    Element::new("languageVersion").child(Element::with_text("version", "1.0.0"));
                let pos = e
                    .children
                    .iter()
                    .position(|c| c.name == "format")
                    .map(|p| p + 1)
                    .unwrap_or(e.children.len());
                e.children.insert(pos, lv);
            }
        }
        Kind::Workspace => {
            if let Some(url) = url_of(cat, o, req) {
                for (name, coll) in [
                    ("dataStores", "datastores"),
                    ("coverageStores", "coveragestores"),
                    ("wmsStores", "wmsstores"),
                    ("wmtsStores", "wmtsstores"),
                ] {
                    e.children.push(Element::new(name).child(atom_link(
                        format!("{url}/{coll}{ext}"),
                        false,
                        req,
                    )));
                }
            }
        }
        Kind::DataStore | Kind::CoverageStore => {
            let (name, coll) = if o.kind == Kind::DataStore {
                ("featureTypes", "featuretypes")
            } else {
                ("coverages", "coverages")
            };
            if let Some(url) = url_of(cat, o, req) {
                e.children.push(Element::new(name).child(atom_link(
                    format!("{url}/{coll}{ext}"),
                    false,
                    req,
                )));
            }
        }
        _ => {}
    }
    e
}

/// A reference by name with a link: `<store class="dataStore"><name>ws:s</name><atom:link/></store>`.
pub fn reference(
    cat: &Catalog,
    field: &str,
    class: Option<&str>,
    t: &Object,
    req: &Req,
) -> Element {
    let mut r = Element::new(field);
    if let Some(c) = class {
        r.set_attr("class", c);
    }
    let name = match (t.kind, field) {
        (Kind::Workspace, _) | (Kind::Namespace, _) => t.name().to_string(),
        _ => qualified_name(cat, t),
    };
    r.children.push(Element::with_text("name", name));
    if t.kind == Kind::Style && t.workspace().is_some() {
        if let Some(ws) = ws_name(cat, t) {
            r.children.push(Element::with_text("workspace", ws));
        }
    }
    if let Some(url) = url_of(cat, t, req) {
        r.children
            .push(atom_link(format!("{url}{}", link_ext(req)), false, req));
    }
    r
}
