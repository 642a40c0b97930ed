//! `/rest/layers` and `/rest/workspaces/{ws}/layers`.

use crate::ctx::{list, method_not_allowed, not_found, Ctx};
use crate::decode::{strip_links, Resolver};
use crate::encode::{encode, reference as named_ref};
use crate::error::{RestError, RestResult};
use crate::links::{qualified_name, seg, url_of};
use crate::req::{render, Req, Resp};
use meridian_catalog::{cascade_remove, reference, Change, Kind, Object};
use meridian_xml::Element;
use std::sync::Arc;

/// `/layers` (names `ws:layer`) or `/workspaces/{ws}/layers` (plain names).
pub fn collection(c: &Ctx, req: &Req, ws_name: Option<&str>) -> RestResult<Resp> {
    if req.method != "GET" {
        return Err(method_not_allowed(req));
    }
    let ws = match ws_name {
        Some(w) => Some(c.workspace(req, w)?),
        None => None,
    };
    // The layers in order now; their names and links as the answer is written.
    let layers: Arc<[Arc<Object>]> = match &ws {
        None => c.st.layer_order.of(&c.cat),
        Some(w) => c.cat.layers_in(Some(w.id())).into_iter().cloned().collect(),
    };
    let cat = c.cat.clone();
    let mut link_req = req.clone();
    link_req.body = Vec::new();
    let access = crate::ctx::readers_access(c.st, req);
    let items = (0..layers.len()).filter_map(move |i| {
        let l = &layers[i];
        // A caller who is not the administrator lists only the layers they may read.
        if let Some(a) = &access {
            if !crate::ctx::may_read(a, &cat, l) {
                return None;
            }
        }
        let name = match &ws {
            Some(_) => cat.layer_name(l).to_string(),
            None => qualified_name(&cat, l),
        };
        let href = match &ws {
            Some(w) => format!(
                "{}/workspaces/{}/layers/{}",
                link_req.rest(),
                seg(w.name()),
                seg(cat.layer_name(l))
            ),
            None => url_of(&cat, l, &link_req)?,
        };
        Some((name, href))
    });
    Ok(list(req, "layers", "layer", Box::new(items)))
}

/// Find a layer by `ws:name`, by name within a workspace, or by bare name.
pub fn find_layer(
    c: &Ctx,
    req: &Req,
    ws_name: Option<&str>,
    name: &str,
) -> RestResult<Arc<Object>> {
    let (ws, name) = match (ws_name, name.split_once(':')) {
        // `/workspaces/topp/layers/topp:states`: the prefixed name under its own workspace.
        (Some(w), Some((p, n))) if p == w => (Some(w.to_string()), n.to_string()),
        (Some(w), _) => (Some(w.to_string()), name.to_string()),
        (None, Some((w, n))) => (Some(w.to_string()), n.to_string()),
        (None, None) => (None, name.to_string()),
    };
    let missing = || not_found(req, format!("No such layer: {name}"));
    let found = find_layer_in(c, req, ws, &name, missing)?;
    // A layer the caller may not read does not exist for them.
    if let Some(a) = crate::ctx::readers_access(c.st, req) {
        if !crate::ctx::may_read(&a, &c.cat, &found) {
            return Err(missing());
        }
    }
    Ok(found)
}

fn find_layer_in(
    c: &Ctx,
    req: &Req,
    ws: Option<String>,
    name: &str,
    missing: impl Fn() -> RestError,
) -> RestResult<Arc<Object>> {
    match ws {
        Some(w) => {
            let ws = c.workspace(req, &w)?;
            c.cat
                .find(Kind::Layer, Some(ws.id()), name)
                .cloned()
                .ok_or_else(missing)
        }
        None => Resolver {
            cat: &c.cat,
            ws: None,
        }
        .first_layer(name)
        .cloned()
        .ok_or_else(missing),
    }
}

/// `/layers/{layer}` and `/workspaces/{ws}/layers/{layer}`.
pub fn item(c: &Ctx, req: &Req, ws_name: Option<&str>, name: &str) -> RestResult<Resp> {
    let layer = find_layer(c, req, ws_name, name)?;
    match req.method.as_str() {
        "GET" => Ok(render(req, &encode(&c.cat, &layer, req), &[])),
        "PUT" => {
            let mut body = req.body_as("layer")?;
            strip_links(&mut body);
            for f in ["id", "name", "resource", "path"] {
                body.remove(f);
            }
            let ws_id = c.cat.workspace_id_of(&layer);
            let r = Resolver {
                cat: &c.cat,
                ws: ws_id.as_deref(),
            };
            r.resolve_field(&mut body, "defaultStyle", Kind::Style)?;
            r.resolve_styles(&mut body)?;
            let mut updated = (*layer).clone();
            updated.edit_xml(|x| x.merge_from(&body));
            c.apply(vec![Change::Modify { object: updated }])?;
            Ok(Resp::ok())
        }
        "DELETE" => {
            let changes = if req.flag("recurse") {
                let res = layer
                    .ref_id("resource")
                    .and_then(|id| c.cat.get(id))
                    .cloned();
                match res {
                    Some(r) => cascade_remove(&c.cat, r.kind, r.id()),
                    None => cascade_remove(&c.cat, Kind::Layer, layer.id()),
                }
            } else {
                cascade_remove(&c.cat, Kind::Layer, layer.id())
            };
            c.apply(changes)?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `/layers/{layer}/styles`: the alternate styles; POST adds one (`?default=true` also makes it
/// the default).
pub fn styles(c: &Ctx, req: &Req, name: &str) -> RestResult<Resp> {
    let layer = find_layer(c, req, None, name)?;
    match req.method.as_str() {
        "GET" => {
            let mut e = Element::new("styles");
            for id in layer
                .layer_styles()
                .into_iter()
                .skip(usize::from(layer.ref_id("defaultStyle").is_some()))
            {
                if let Some(s) = c.cat.get(id) {
                    e.children.push(named_ref(&c.cat, "style", None, s, req));
                }
            }
            Ok(render(req, &e, &["style"]))
        }
        "POST" => {
            let body = req.body_as("style")?;
            let ws_id = c.cat.workspace_id_of(&layer);
            let r = Resolver {
                cat: &c.cat,
                ws: ws_id.as_deref(),
            };
            let style = r
                .lookup(&body, Kind::Style)?
                .ok_or_else(|| RestError::BadRequest("style has no <name>".into()))?;
            let mut updated = (*layer).clone();
            let mut x = updated.element();
            if x.get("styles").is_none() {
                x.children
                    .push(Element::new("styles").attr("class", "linked-hash-set"));
            }
            if let Some(styles) = x.get_mut("styles") {
                if !styles
                    .children
                    .iter()
                    .any(|s| meridian_catalog::ref_of(s) == Some(style.id()))
                {
                    styles.children.push(reference("style", style.id()));
                }
            }
            if req.flag("default") {
                x.put_child(reference("defaultStyle", style.id()));
            }
            updated.set_xml(&x);
            c.apply(vec![Change::Modify { object: updated }])?;
            let loc = format!("{}/styles/{}", req.rest(), seg(style.name()));
            Ok(Resp::created(style.name(), Some(loc)))
        }
        _ => Err(method_not_allowed(req)),
    }
}
