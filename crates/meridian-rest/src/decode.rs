//! Turning a REST body into data-directory form: references given by name (`<name>ws:x</name>`,
//! bare text, a nested `<workspace>`) become references by id; links are dropped.

use crate::error::{RestError, RestResult};
use meridian_catalog::{reference, Catalog, Kind, Object};
use meridian_xml::Element;
use std::sync::Arc;

/// Resolution context: the catalog and the workspace named by the URL, if any.
pub struct Resolver<'a> {
    /// The catalog.
    pub cat: &'a Catalog,
    /// Workspace id from the URL.
    pub ws: Option<&'a str>,
}

/// The name inside a reference element: `<name>`, bare text, or `<prefix>`; and its workspace
/// from a nested `<workspace>` (text or `<name>`).
fn ref_name(e: &Element) -> Option<(Option<String>, String)> {
    let name = e
        .child_text("name")
        .or_else(|| e.child_text("prefix"))
        .or_else(|| {
            if e.children.is_empty() {
                e.text_trim()
            } else {
                None
            }
        })?;
    let ws = e
        .get("workspace")
        .and_then(|w| w.child_text("name").or_else(|| w.text_trim()))
        .map(str::to_string);
    match name.split_once(':') {
        Some((w, n)) => Some((Some(w.to_string()), n.to_string())),
        None => Some((ws, name.to_string())),
    }
}

impl Resolver<'_> {
    fn ws_id(&self, name: &str) -> Option<&str> {
        self.cat.find(Kind::Workspace, None, name).map(|w| w.id())
    }

    /// Find the object a reference element names.
    pub fn lookup(&self, e: &Element, kind: Kind) -> RestResult<Option<Arc<Object>>> {
        if let Some(id) = e.child_text("id") {
            if let Some(o) = self.cat.get(id) {
                return Ok(Some(o.clone()));
            }
        }
        let Some((ws, name)) = ref_name(e) else {
            return Ok(None);
        };
        let ws_id = match ws.as_deref() {
            Some(w) => Some(
                self.ws_id(w)
                    .ok_or_else(|| RestError::BadRequest(format!("No such workspace: '{w}'")))?
                    .to_string(),
            ),
            None => None,
        };
        let found = match kind {
            Kind::Workspace => self.cat.find(Kind::Workspace, None, &name),
            Kind::Namespace => self.cat.find(Kind::Namespace, None, &name),
            k if k.is_store() => {
                let w = ws_id.as_deref().or(self.ws);
                w.and_then(|w| self.cat.find(k, Some(w), &name))
            }
            k if k.is_resource() => {
                let w = ws_id.as_deref().or(self.ws);
                let ns = w
                    .and_then(|w| self.cat.get(w))
                    .and_then(|w| self.cat.namespace_of(w))
                    .map(|n| n.id().to_string());
                ns.and_then(|ns| self.cat.find(k, Some(&ns), &name))
            }
            Kind::Style | Kind::LayerGroup | Kind::Layer => {
                let scoped = |w: Option<&str>| self.cat.find(kind, w, &name);
                match ws_id.as_deref() {
                    Some(w) => scoped(Some(w)),
                    None if kind == Kind::Layer => self
                        .ws
                        .and_then(|w| scoped(Some(w)))
                        .or_else(|| self.first_layer(&name)),
                    None => scoped(None).or_else(|| self.ws.and_then(|w| scoped(Some(w)))),
                }
            }
            _ => None,
        };
        match found {
            Some(o) => Ok(Some(o.clone())),
            None => Err(RestError::BadRequest(format!(
                "No such {}: '{}'",
                kind.label(),
                match ws {
                    Some(w) => format!("{w}:{name}"),
                    None => name,
                }
            ))),
        }
    }

    /// A layer by bare name, as GeoServer finds one: in the default workspace first, then
    /// the first workspace (in name order) that has one so named.
    pub fn first_layer(&self, name: &str) -> Option<&Arc<Object>> {
        let default = self.cat.default_workspace();
        default
            .into_iter()
            .chain(self.cat.list(Kind::Workspace))
            .find_map(|w| self.cat.find(Kind::Layer, Some(w.id()), name))
    }

    /// Replace a single reference field by an id reference; an empty one is removed.
    pub fn resolve_field(&self, e: &mut Element, field: &str, kind: Kind) -> RestResult<()> {
        let Some(pos) = e.children.iter().position(|c| c.name == field) else {
            return Ok(());
        };
        let class = e.children[pos].attr_value("class").map(str::to_string);
        match self.lookup(&e.children[pos], kind)? {
            Some(o) => {
                let mut r = reference(field, o.id());
                if let Some(c) = class {
                    r.set_attr("class", c);
                }
                e.children[pos] = r;
            }
            None => {
                e.children.remove(pos);
            }
        }
        Ok(())
    }

    /// Resolve a list of style references (`<styles><style>…`); empty entries stay empty.
    pub fn resolve_styles(&self, e: &mut Element) -> RestResult<()> {
        let Some(styles) = e.get_mut("styles") else {
            return Ok(());
        };
        let mut out = Vec::new();
        for s in &styles.children {
            if s.name != "style" {
                continue;
            }
            match self.lookup(s, Kind::Style)? {
                Some(o) => out.push(reference("style", o.id())),
                None => out.push(Element::new("style")),
            }
        }
        styles.children = out;
        Ok(())
    }

    /// Resolve every reference a layer group body may carry.
    pub fn resolve_group(&self, e: &mut Element) -> RestResult<()> {
        self.resolve_members(e)?;
        self.resolve_styles(e)?;
        self.resolve_field(e, "rootLayer", Kind::Layer)?;
        self.resolve_field(e, "rootLayerStyle", Kind::Style)
    }

    /// Resolve group members (`<publishables><published type=…>` or the 2.2 `<layers><layer>`)
    /// into the modern form.
    pub fn resolve_members(&self, e: &mut Element) -> RestResult<()> {
        let legacy = e.get("publishables").is_none() && e.get("layers").is_some();
        let (container, item) = if legacy {
            ("layers", "layer")
        } else {
            ("publishables", "published")
        };
        let Some(list) = e.get(container).cloned() else {
            return Ok(());
        };
        let mut out = Element::new("publishables");
        for m in list.all(item) {
            let want_group = m.attr_value("type") == Some("layerGroup");
            let first = if want_group {
                Kind::LayerGroup
            } else {
                Kind::Layer
            };
            let second = if want_group {
                Kind::Layer
            } else {
                Kind::LayerGroup
            };
            // Neither: the refusal names both kinds, not only the second tried.
            let found = match self.lookup(m, first) {
                Ok(Some(o)) => Some(o),
                Ok(None) => self.lookup(m, second)?,
                Err(_) => self.lookup(m, second).map_err(|e| match e {
                    RestError::BadRequest(_) => RestError::BadRequest(format!(
                        "No such layer or layer group: '{}'",
                        m.child_text("name").or(m.text_trim()).unwrap_or("")
                    )),
                    other => other,
                })?,
            };
            let Some(o) = found else { continue };
            let ty = if o.kind == Kind::LayerGroup {
                "layerGroup"
            } else {
                "layer"
            };
            out.children.push(
                Element::new("published")
                    .attr("type", ty)
                    .child(Element::with_text("id", o.id())),
            );
        }
        e.remove(container);
        e.put_child(out);
        Ok(())
    }
}

/// The workspace a body names in `<workspace>`: `<name>` inside, or bare text (gsconfig).
pub fn body_workspace(body: &Element) -> Option<&str> {
    let w = body.get("workspace")?;
    w.child_text("name").or_else(|| {
        if w.children.is_empty() {
            w.text_trim()
        } else {
            None
        }
    })
}

/// 403 when a body names another workspace than the URL, as GeoServer answers.
pub fn check_body_workspace(body: &Element, expected: &str) -> RestResult<()> {
    match body_workspace(body) {
        Some(n) if n != expected => Err(RestError::Forbidden(format!(
            "Expected workspace {expected} but client specified {n}"
        ))),
        _ => Ok(()),
    }
}

/// Remove `atom:link`s a client echoed back.
pub fn strip_links(e: &mut Element) {
    e.children.retain(|c| c.name != "atom:link");
    for c in e.children.iter_mut() {
        strip_links(c);
    }
}
