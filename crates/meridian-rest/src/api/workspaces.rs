//! `/rest/workspaces` and `/rest/namespaces`.

use crate::ctx::{created, list_objects, method_not_allowed, not_found, Ctx};
use crate::decode::strip_links;
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::links::seg;
use crate::req::{render, Req, Resp};
use meridian_catalog::{cascade_remove, new_id, Change, Kind, Object};
use meridian_xml::Element;

/// `/workspaces`
pub fn collection(c: &Ctx, req: &Req) -> RestResult<Resp> {
    match req.method.as_str() {
        "GET" => Ok(list_objects(
            c,
            req,
            "workspaces",
            "workspace",
            c.cat.list(Kind::Workspace),
        )),
        "POST" => {
            let mut body = req.body_as("workspace")?;
            strip_links(&mut body);
            let name = body
                .child_text("name")
                .ok_or_else(|| RestError::BadRequest("workspace has no <name>".into()))?
                .to_string();
            if c.cat.find(Kind::Workspace, None, &name).is_some() {
                return Err(RestError::Conflict(format!(
                    "Workspace '{name}' already exists"
                )));
            }
            let mut changes = new_workspace(c, body, None)?;
            if req.flag("default") {
                if let Some(Change::Add { object }) = changes.first() {
                    changes.push(Change::SetDefaultWorkspace {
                        id: object.id().to_string(),
                    });
                }
            }
            c.apply(changes)?;
            Ok(created(
                &name,
                format!("{}/workspaces/{}", req.rest(), seg(&name)),
            ))
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// The changes creating a workspace from a REST body, with its namespace (`http://<name>` unless
/// `uri` is given).
pub fn new_workspace(c: &Ctx, mut body: Element, uri: Option<String>) -> RestResult<Vec<Change>> {
    let name = body.child_text("name").unwrap_or("").to_string();
    body.remove("id");
    body.children
        .insert(0, Element::with_text("id", new_id(Kind::Workspace)));
    if body.get("isolated").is_none() {
        body.set_child_text("isolated", "false");
    }
    let ws = Object::new(Kind::Workspace, body);
    let mut changes = vec![Change::Add { object: ws }];
    if c.cat.find(Kind::Namespace, None, &name).is_none() {
        let ns = Element::new("namespace")
            .child(Element::with_text("id", new_id(Kind::Namespace)))
            .child(Element::with_text("prefix", name.clone()))
            .child(Element::with_text(
                "uri",
                uri.unwrap_or_else(|| format!("http://{name}")),
            ))
            .child(Element::with_text("isolated", "false"));
        changes.push(Change::Add {
            object: Object::new(Kind::Namespace, ns),
        });
    }
    Ok(changes)
}

/// `/workspaces/{ws}`
pub fn item(c: &Ctx, req: &Req, name: &str) -> RestResult<Resp> {
    match req.method.as_str() {
        "GET" => {
            let ws = c.workspace(req, name)?;
            Ok(render(req, &encode(&c.cat, &ws, req), &[]))
        }
        "PUT" => {
            let mut body = req.body_as("workspace")?;
            strip_links(&mut body);
            if name == "default" {
                let target = body
                    .child_text("name")
                    .ok_or_else(|| RestError::BadRequest("expected <workspace><name>".into()))?;
                let ws = c.workspace(req, target)?;
                c.apply(vec![Change::SetDefaultWorkspace {
                    id: ws.id().to_string(),
                }])?;
                return Ok(Resp::ok());
            }
            let ws = c.workspace(req, name)?;
            body.remove("id");
            let mut updated = (*ws).clone();
            updated.edit_xml(|x| x.merge_from(&body));
            let mut changes = Vec::new();
            if updated.name() != ws.name() {
                if let Some(ns) = c.cat.namespace_of(&ws) {
                    let mut ns2 = (**ns).clone();
                    ns2.edit_xml(|x| x.set_child_text("prefix", updated.name()));
                    changes.push(Change::Modify { object: ns2 });
                }
            }
            changes.insert(0, Change::Modify { object: updated });
            c.apply(changes)?;
            Ok(Resp::ok())
        }
        "DELETE" => {
            let ws = c.workspace(req, name)?;
            delete_workspace(c, req, &ws)
        }
        _ => Err(method_not_allowed(req)),
    }
}

fn delete_workspace(c: &Ctx, req: &Req, ws: &Object) -> RestResult<Resp> {
    let changes = if req.flag("recurse") {
        cascade_remove(&c.cat, Kind::Workspace, ws.id())
    } else {
        let has_content = c.cat.objects().any(|o| {
            (o.kind.is_store() || o.kind == Kind::Style || o.kind == Kind::LayerGroup)
                && o.workspace() == Some(ws.id())
        });
        if has_content {
            return Err(RestError::Forbidden("Workspace not empty".into()));
        }
        cascade_remove(&c.cat, Kind::Workspace, ws.id())
    };
    c.apply(changes)?;
    Ok(Resp::ok())
}

/// `/namespaces`
pub fn namespaces(c: &Ctx, req: &Req) -> RestResult<Resp> {
    match req.method.as_str() {
        "GET" => Ok(list_objects(
            c,
            req,
            "namespaces",
            "namespace",
            c.cat.list(Kind::Namespace),
        )),
        "POST" => {
            let mut body = req.body_as("namespace")?;
            strip_links(&mut body);
            let prefix = body
                .child_text("prefix")
                .ok_or_else(|| RestError::BadRequest("namespace has no <prefix>".into()))?
                .to_string();
            let uri = body
                .child_text("uri")
                .ok_or_else(|| RestError::BadRequest("namespace has no <uri>".into()))?
                .to_string();
            if c.cat.find(Kind::Namespace, None, &prefix).is_some() {
                return Err(RestError::Conflict(format!(
                    "Namespace '{prefix}' already exists"
                )));
            }
            let changes = if c.cat.find(Kind::Workspace, None, &prefix).is_none() {
                new_workspace(
                    c,
                    Element::new("workspace").child(Element::with_text("name", prefix.clone())),
                    Some(uri),
                )?
            } else {
                body.remove("id");
                body.children
                    .insert(0, Element::with_text("id", new_id(Kind::Namespace)));
                vec![Change::Add {
                    object: Object::new(Kind::Namespace, body),
                }]
            };
            c.apply(changes)?;
            Ok(created(
                &prefix,
                format!("{}/namespaces/{}", req.rest(), seg(&prefix)),
            ))
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `/namespaces/{prefix}`
pub fn namespace(c: &Ctx, req: &Req, prefix: &str) -> RestResult<Resp> {
    let ns = if prefix == "default" {
        c.cat
            .default_workspace()
            .and_then(|w| c.cat.namespace_of(w))
            .cloned()
    } else {
        c.cat.find(Kind::Namespace, None, prefix).cloned()
    };
    let ns = ns.ok_or_else(|| not_found(req, format!("No such namespace: '{prefix}' found")))?;
    match req.method.as_str() {
        "GET" => Ok(render(req, &encode(&c.cat, &ns, req), &[])),
        "PUT" => {
            let mut body = req.body_as("namespace")?;
            strip_links(&mut body);
            body.remove("id");
            if prefix == "default" {
                let ws = c.workspace(req, body.child_text("prefix").unwrap_or(""))?;
                c.apply(vec![Change::SetDefaultWorkspace {
                    id: ws.id().to_string(),
                }])?;
                return Ok(Resp::ok());
            }
            let mut updated = (*ns).clone();
            updated.edit_xml(|x| x.merge_from(&body));
            let mut changes = vec![Change::Modify {
                object: updated.clone(),
            }];
            if updated.name() != ns.name() {
                if let Some(ws) = c.cat.workspace_of_namespace(&ns) {
                    let mut w = (**ws).clone();
                    w.edit_xml(|x| x.set_child_text("name", updated.name()));
                    changes.insert(0, Change::Modify { object: w });
                }
            }
            // The workspace's data stores name the namespace's URI in their parameters: they
            // follow it, as GeoServer keeps them consistent.
            let (old_uri, new_uri) = (
                ns.xml().child_text("uri").unwrap_or("").to_string(),
                updated.xml().child_text("uri").unwrap_or("").to_string(),
            );
            if old_uri != new_uri {
                if let Some(ws) = c.cat.workspace_of_namespace(&ns) {
                    for store in c.cat.stores_in(ws.id(), Kind::DataStore) {
                        let names_old = store.xml().get("connectionParameters").is_some_and(|p| {
                            p.all("entry").any(|e| {
                                e.attr_value("key") == Some("namespace")
                                    && e.text_trim() == Some(old_uri.as_str())
                            })
                        });
                        if !names_old {
                            continue;
                        }
                        let mut s2 = (**store).clone();
                        s2.edit_xml(|x| {
                            if let Some(p) = x.get_mut("connectionParameters") {
                                for e in p.children.iter_mut() {
                                    if e.attr_value("key") == Some("namespace") {
                                        e.text = Some(new_uri.as_str().into());
                                    }
                                }
                            }
                        });
                        changes.push(Change::Modify { object: s2 });
                    }
                }
            }
            c.apply(changes)?;
            Ok(Resp::ok())
        }
        "DELETE" => match c.cat.workspace_of_namespace(&ns).cloned() {
            Some(ws) => delete_workspace(c, req, &ws),
            None => {
                c.apply(vec![Change::Remove {
                    kind: Kind::Namespace,
                    id: ns.id().to_string(),
                }])?;
                Ok(Resp::ok())
            }
        },
        _ => Err(method_not_allowed(req)),
    }
}
