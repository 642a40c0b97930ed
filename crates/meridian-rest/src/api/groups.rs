//! `/rest/layergroups` and `/rest/workspaces/{ws}/layergroups`.

use crate::ctx::{list_objects, method_not_allowed, not_found, Ctx};
use crate::decode::{body_workspace, check_body_workspace, strip_links, Resolver};
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::links::seg;
use crate::req::{render, Req, Resp};
use meridian_catalog::{cascade_remove, new_id, reference, Catalog, Change, Kind, Object};
use meridian_xml::Element;
use std::sync::Arc;

/// `/layergroups` and `/workspaces/{ws}/layergroups`.
pub fn collection(c: &Ctx, req: &Req, ws_name: Option<&str>) -> RestResult<Resp> {
    let url_ws = match ws_name {
        Some(w) => Some(c.workspace(req, w)?),
        None => None,
    };
    match req.method.as_str() {
        "GET" => {
            let mut groups = c
                .cat
                .scoped(Kind::LayerGroup, url_ws.as_ref().map(|w| w.id()));
            // A caller who is not the administrator lists only what they may read.
            if let Some(a) = crate::ctx::readers_access(c.st, req) {
                groups.retain(|g| crate::ctx::may_read(&a, &c.cat, g));
            }
            Ok(list_objects(c, req, "layerGroups", "layerGroup", groups))
        }
        "POST" => {
            let mut body = req.body_as("layerGroup")?;
            strip_links(&mut body);
            let name = body
                .child_text("name")
                .ok_or_else(|| RestError::BadRequest("layer group has no <name>".into()))?
                .to_string();
            let body_ws = body_workspace(&body).map(str::to_string);
            let ws = match (&url_ws, body_ws) {
                (Some(w), _) => {
                    check_body_workspace(&body, w.name())?;
                    Some(w.clone())
                }
                (None, Some(b)) => Some(c.workspace(req, &b)?),
                (None, None) => None,
            };
            if c.cat
                .find(Kind::LayerGroup, ws.as_ref().map(|w| w.id()), &name)
                .is_some()
            {
                return Err(RestError::Conflict(format!(
                    "Layer group named '{name}' already exists"
                )));
            }
            let r = Resolver {
                cat: &c.cat,
                ws: ws.as_ref().map(|w| w.id()),
            };
            r.resolve_group(&mut body)?;
            let members = body
                .get("publishables")
                .map(|p| p.children.len())
                .unwrap_or(0);
            if members == 0 && body.get("rootLayer").is_none() {
                return Err(RestError::BadRequest(format!(
                    "Layer group '{name}' has no layers"
                )));
            }
            let mut x = Element::new("layerGroup")
                .child(Element::with_text("id", new_id(Kind::LayerGroup)))
                .child(Element::with_text("name", name.clone()))
                .child(Element::with_text(
                    "mode",
                    body.child_text("mode").unwrap_or("SINGLE"),
                ));
            for k in ["title", "abstractTxt"] {
                if let Some(e) = body.get(k) {
                    x.children.push(e.clone());
                }
            }
            if let Some(w) = &ws {
                x.children.push(reference("workspace", w.id()));
            }
            let mut styles = body
                .get("styles")
                .cloned()
                .unwrap_or_else(|| Element::new("styles"));
            while styles.children.len() < members {
                styles.children.push(Element::new("style"));
            }
            styles.children.truncate(members);
            x.children.push(
                body.get("publishables")
                    .cloned()
                    .unwrap_or_else(|| Element::new("publishables")),
            );
            x.children.push(styles);
            for e in body.children {
                if !matches!(
                    e.name.as_str(),
                    "id" | "name"
                        | "mode"
                        | "title"
                        | "abstractTxt"
                        | "workspace"
                        | "publishables"
                        | "styles"
                        | "layers"
                ) {
                    x.children.push(e);
                }
            }
            if x.get("bounds").is_none() {
                if let Some(b) = group_bounds(&c.cat, &Object::new(Kind::LayerGroup, x.clone()), 0)
                {
                    x.children.push(b);
                }
            }
            c.apply(vec![Change::Add {
                object: Object::new(Kind::LayerGroup, x),
            }])?;
            Ok(Resp::created(
                &name,
                Some(format!("{}/layergroups/{}", req.rest(), seg(&name))),
            ))
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// The union of the members' lat/lon bounds, in EPSG:4326.
fn group_bounds(cat: &Catalog, g: &Object, depth: usize) -> Option<Element> {
    if depth > 16 {
        return None;
    }
    let mut acc: Option<[f64; 4]> = None;
    for m in g.group_members() {
        let Some(o) = cat.get(&m.id) else { continue };
        let bbox = match o.kind {
            Kind::Layer => o
                .ref_id("resource")
                .and_then(|r| cat.get(r))
                .and_then(|r| r.xml().get("latLonBoundingBox").map(|b| b.to_element())),
            Kind::LayerGroup => o
                .xml()
                .get("bounds")
                .map(|b| b.to_element())
                .or_else(|| group_bounds(cat, o, depth + 1)),
            _ => None,
        };
        let Some(b) = bbox else { continue };
        let n = |k: &str| b.child_text(k).and_then(|t| t.parse::<f64>().ok());
        let (Some(a), Some(bb), Some(cc), Some(d)) = (n("minx"), n("maxx"), n("miny"), n("maxy"))
        else {
            continue;
        };
        acc = Some(match acc {
            None => [a, bb, cc, d],
            Some(p) => [p[0].min(a), p[1].max(bb), p[2].min(cc), p[3].max(d)],
        });
    }
    let [minx, maxx, miny, maxy] = acc?;
    Some(
        Element::new("bounds")
            .child(Element::with_text("minx", format!("{minx:?}")))
            .child(Element::with_text("maxx", format!("{maxx:?}")))
            .child(Element::with_text("miny", format!("{miny:?}")))
            .child(Element::with_text("maxy", format!("{maxy:?}")))
            .child(Element::with_text("crs", "EPSG:4326")),
    )
}

fn find_group(c: &Ctx, req: &Req, ws: Option<&Object>, name: &str) -> RestResult<Arc<Object>> {
    // A group the caller may not read does not exist for them.
    let access = crate::ctx::readers_access(c.st, req);
    c.cat
        .find(Kind::LayerGroup, ws.map(|w| w.id()), name)
        .filter(|g| {
            access
                .as_ref()
                .is_none_or(|a| crate::ctx::may_read(a, &c.cat, g))
        })
        .cloned()
        .ok_or_else(|| not_found(req, format!("No such layer group {name}")))
}

/// `/layergroups/{g}` and `/workspaces/{ws}/layergroups/{g}`.
pub fn item(c: &Ctx, req: &Req, ws_name: Option<&str>, name: &str) -> RestResult<Resp> {
    let ws = match ws_name {
        Some(w) => Some(c.workspace(req, w)?),
        None => None,
    };
    let group = find_group(c, req, ws.as_deref(), name)?;
    match req.method.as_str() {
        "GET" => Ok(render(req, &encode(&c.cat, &group, req), &[])),
        "PUT" => {
            let mut body = req.body_as("layerGroup")?;
            strip_links(&mut body);
            if body.child_text("name").is_some_and(|n| n != group.name()) {
                return Err(RestError::Forbidden(
                    "Can't change name of a layer group".into(),
                ));
            }
            if let Some(named) = body_workspace(&body) {
                if Some(named) != ws.as_ref().map(|w| w.name()) {
                    return Err(RestError::Forbidden(
                        "Can't change the workspace of a layer group".into(),
                    ));
                }
            }
            for f in ["id", "workspace"] {
                body.remove(f);
            }
            let r = Resolver {
                cat: &c.cat,
                ws: ws.as_ref().map(|w| w.id()),
            };
            r.resolve_group(&mut body)?;
            let mut updated = (*group).clone();
            updated.edit_xml(|x| x.merge_from(&body));
            let members = updated.group_members().len();
            updated.edit_xml(|x| {
                if let Some(styles) = x.get_mut("styles") {
                    while styles.children.len() < members {
                        styles.children.push(Element::new("style"));
                    }
                    styles.children.truncate(members);
                }
            });
            c.apply(vec![Change::Modify { object: updated }])?;
            Ok(Resp::ok())
        }
        "DELETE" => {
            c.apply(cascade_remove(&c.cat, Kind::LayerGroup, group.id()))?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}
