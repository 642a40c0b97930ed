//! `/rest/settings`, `/rest/settings/contact`, `/rest/workspaces/{ws}/settings` and
//! `/rest/services/{svc}/settings` (global and per workspace).

use crate::ctx::{method_not_allowed, not_found, Ctx};
use crate::decode::strip_links;
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::req::{render, Req, Resp};
use meridian_catalog::{new_id, reference, Change, Kind, Object};
use meridian_xml::Element;

fn strip_ids(e: &mut Element) {
    e.remove("id");
    for c in e.children.iter_mut() {
        if c.name != "workspace" {
            strip_ids(c);
        }
    }
}

fn global(c: &Ctx) -> RestResult<Object> {
    c.cat
        .global()
        .map(|g| (**g).clone())
        .ok_or_else(|| RestError::Internal("global settings are missing".into()))
}

/// `/settings`
pub fn global_settings(c: &Ctx, req: &Req) -> RestResult<Resp> {
    match req.method.as_str() {
        "GET" => {
            let mut e = global(c)?.element();
            strip_ids(&mut e);
            Ok(render(req, &e, &[]))
        }
        "PUT" => {
            let mut body = req.body_as("global")?;
            strip_links(&mut body);
            strip_ids(&mut body);
            body.remove("updateSequence");
            let mut g = global(c)?;
            g.edit_xml(|x| x.merge_deep(&body));
            c.apply(vec![Change::Modify { object: g }])?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `/settings/contact`
pub fn contact(c: &Ctx, req: &Req) -> RestResult<Resp> {
    match req.method.as_str() {
        "GET" => {
            let g = global(c)?;
            let mut e = g
                .xml()
                .path(&["settings", "contact"])
                .map(|n| n.to_element())
                .unwrap_or_else(|| Element::new("contact"));
            strip_ids(&mut e);
            Ok(render(req, &e, &[]))
        }
        "PUT" => {
            let mut body = req.body_as("contact")?;
            strip_ids(&mut body);
            let mut g = global(c)?;
            let upd = Element::new("global").child(Element::new("settings").child(body));
            g.edit_xml(|x| x.merge_deep(&upd));
            c.apply(vec![Change::Modify { object: g }])?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `/workspaces/{ws}/settings`
pub fn workspace_settings(c: &Ctx, req: &Req, ws_name: &str) -> RestResult<Resp> {
    let ws = c.workspace(req, ws_name)?;
    let existing = c.cat.find(Kind::Settings, Some(ws.id()), "").cloned();
    match req.method.as_str() {
        "GET" => {
            let s = existing.ok_or_else(|| {
                not_found(req, format!("No settings for workspace '{}'", ws.name()))
            })?;
            let mut e = encode(&c.cat, &s, req);
            strip_ids(&mut e);
            Ok(render(req, &e, &[]))
        }
        "PUT" | "POST" => {
            let mut body = req.body_as("settings")?;
            strip_links(&mut body);
            strip_ids(&mut body);
            body.remove("workspace");
            let (change, status) = match existing {
                Some(s) => {
                    let mut s = (*s).clone();
                    s.edit_xml(|x| x.merge_deep(&body));
                    (Change::Modify { object: s }, 200)
                }
                None => {
                    let mut x = Element::new("settings")
                        .child(Element::with_text("id", new_id(Kind::Settings)))
                        .child(reference("workspace", ws.id()));
                    x.children.extend(body.children);
                    (
                        Change::Add {
                            object: Object::new(Kind::Settings, x),
                        },
                        201,
                    )
                }
            };
            c.apply(vec![change])?;
            Ok(if status == 201 {
                Resp::created("", None)
            } else {
                Resp::ok()
            })
        }
        "DELETE" => {
            let s = existing.ok_or_else(|| {
                not_found(req, format!("No settings for workspace '{}'", ws.name()))
            })?;
            c.apply(vec![Change::Remove {
                kind: Kind::Settings,
                id: s.id().to_string(),
            }])?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `/services/{svc}/settings` and `/services/{svc}/workspaces/{ws}/settings`.
pub fn service(c: &Ctx, req: &Req, svc: &str, ws_name: Option<&str>) -> RestResult<Resp> {
    if !meridian_catalog::SERVICE_ROOTS.contains(&svc) {
        return Err(RestError::NotFound(format!("No such service: {svc}")));
    }
    let ws = match ws_name {
        Some(w) => Some(c.workspace(req, w)?),
        None => None,
    };
    let existing = c.cat.service(svc, ws.as_ref().map(|w| w.id())).cloned();
    match req.method.as_str() {
        "GET" => {
            let s = existing.ok_or_else(|| not_found(req, format!("No {svc} settings found")))?;
            let mut e = encode(&c.cat, &s, req);
            strip_ids(&mut e);
            Ok(render(req, &e, &[]))
        }
        "PUT" => {
            let mut body = req.body_as(svc)?;
            strip_links(&mut body);
            strip_ids(&mut body);
            body.remove("workspace");
            let change = match existing {
                Some(s) => {
                    let mut s = (*s).clone();
                    s.edit_xml(|x| x.merge_deep(&body));
                    Change::Modify { object: s }
                }
                None => {
                    let id = match &ws {
                        Some(_) => {
                            new_id(Kind::Service).replacen("Service", &svc.to_uppercase(), 1)
                        }
                        None => svc.to_string(),
                    };
                    let mut x = Element::new(svc).child(Element::with_text("id", id));
                    if let Some(w) = &ws {
                        x.children.push(reference("workspace", w.id()));
                    }
                    x.children.extend(body.children);
                    Change::Add {
                        object: Object::new(Kind::Service, x),
                    }
                }
            };
            c.apply(vec![change])?;
            Ok(Resp::ok())
        }
        "DELETE" if ws.is_some() => {
            let s = existing.ok_or_else(|| not_found(req, format!("No {svc} settings found")))?;
            c.apply(vec![Change::Remove {
                kind: Kind::Service,
                id: s.id().to_string(),
            }])?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `/logging`
pub fn logging(c: &Ctx, req: &Req) -> RestResult<Resp> {
    let current = c
        .cat
        .get_kind(Kind::Logging, "logging")
        .map(|l| (**l).clone())
        .unwrap_or_else(|| Object::new(Kind::Logging, Element::new("logging")));
    match req.method.as_str() {
        "GET" => Ok(render(req, &current.element(), &[])),
        "PUT" => {
            let body = req.body_as("logging")?;
            let exists = c.cat.get_kind(Kind::Logging, "logging").is_some();
            let mut l = current;
            l.edit_xml(|x| x.merge_deep(&body));
            let change = if exists {
                Change::Modify { object: l }
            } else {
                Change::Add { object: l }
            };
            c.apply(vec![change])?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}
