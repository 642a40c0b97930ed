//! `/rest/workspaces/{ws}/datastores` and `/coveragestores` (and their items).

use crate::ctx::{created, list_objects, method_not_allowed, not_found, Ctx};
use crate::decode::{check_body_workspace, strip_links};
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::links::{seg, store_collection};
use crate::req::{render, Req, Resp};
use meridian_catalog::{
    cascade_remove, connection_parameters, new_id, reference, Change, Kind, Object,
};
use meridian_xml::Element;
use std::sync::Arc;

/// The kind of store a collection segment names.
pub fn store_kind(collection: &str) -> Option<Kind> {
    match collection {
        "datastores" => Some(Kind::DataStore),
        "coveragestores" => Some(Kind::CoverageStore),
        "wmsstores" => Some(Kind::WmsStore),
        "wmtsstores" => Some(Kind::WmtsStore),
        _ => None,
    }
}

/// A store by workspace and name, 404 when missing.
pub fn find_store(
    c: &Ctx,
    req: &Req,
    ws: &Object,
    kind: Kind,
    name: &str,
) -> RestResult<Arc<Object>> {
    c.cat
        .find(kind, Some(ws.id()), name)
        .filter(|s| s.kind == kind)
        .cloned()
        .ok_or_else(|| {
            not_found(
                req,
                format!(
                    "No such {} in workspace '{}': '{name}'",
                    kind.label(),
                    ws.name()
                ),
            )
        })
}

/// `/workspaces/{ws}/{datastores|coveragestores}`
pub fn collection(c: &Ctx, req: &Req, ws_name: &str, kind: Kind) -> RestResult<Resp> {
    let ws = c.workspace(req, ws_name)?;
    let root = match kind {
        Kind::CoverageStore => ("coverageStores", "coverageStore"),
        Kind::WmsStore => ("wmsStores", "wmsStore"),
        Kind::WmtsStore => ("wmtsStores", "wmtsStore"),
        _ => ("dataStores", "dataStore"),
    };
    match req.method.as_str() {
        "GET" => {
            let stores = c.cat.stores_in(ws.id(), kind);
            Ok(list_objects(c, req, root.0, root.1, stores))
        }
        "POST" => {
            let body = req.body_as(kind.root())?;
            let name = body
                .child_text("name")
                .ok_or_else(|| RestError::BadRequest(format!("{} has no <name>", kind.label())))?
                .to_string();
            check_body_workspace(&body, ws.name())?;
            let object = new_store(c, &ws, kind, body)?;
            c.apply(vec![Change::Add { object }])?;
            Ok(created(
                &name,
                format!(
                    "{}/workspaces/{}/{}/{}",
                    req.rest(),
                    seg(ws.name()),
                    store_collection(kind),
                    seg(&name)
                ),
            ))
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// Put connection parameters in the `<entry key="…">` form, whatever syntax they came in.
fn normalize_params(body: &mut Element) {
    if let Some(cp) = body.get_mut("connectionParameters") {
        let pairs = connection_parameters(cp);
        cp.children = pairs
            .into_iter()
            .map(|(k, v)| Element::with_text("entry", v).attr("key", k))
            .collect();
    }
}

/// The store `<type>` GeoServer would report for these parameters.
fn derive_type(params: &[(String, String)]) -> Option<&'static str> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(x, _)| x.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.to_lowercase())
    };
    match get("dbtype").as_deref() {
        Some("postgis") => return Some("PostGIS"),
        Some("geopkg") => return Some("GeoPackage"),
        Some("h2") => return Some("H2"),
        Some(_) => return None,
        None => {}
    }
    if params
        .iter()
        .any(|(k, _)| k.contains("GET_CAPABILITIES_URL"))
    {
        return Some("Web Feature Server (NG)");
    }
    let url = get("url")?;
    if url.ends_with(".shp") {
        Some("Shapefile")
    } else if url.ends_with(".gpkg") {
        Some("GeoPackage")
    } else if url.ends_with(".properties") {
        Some("Properties")
    } else {
        Some("Directory of spatial files (shapefiles)")
    }
}

/// With a filesystem sandbox set, refuse a store whose files (`url`, `database`, any
/// `file:` parameter, a coverage store's `<url>`) lie outside it. The message names the path
/// and the rule, nothing about the file.
pub fn check_store_files(c: &Ctx, store: &Object) -> RestResult<()> {
    if meridian_sources::sandbox::sandbox().is_none() {
        return Ok(());
    }
    let sp = crate::api::resources::store_params(c, store);
    let mut paths = sp.files();
    if store.kind == Kind::CoverageStore {
        paths.extend(store.xml().child_text("url").map(|u| sp.resolve_path(u)));
    }
    for p in paths {
        meridian_sources::sandbox::check(&p).map_err(|e| RestError::BadRequest(e.to_string()))?;
    }
    Ok(())
}

/// A new store object from a REST body.
pub fn new_store(c: &Ctx, ws: &Object, kind: Kind, mut body: Element) -> RestResult<Object> {
    strip_links(&mut body);
    for f in [
        "id",
        "workspace",
        "featureTypes",
        "coverages",
        "wmsLayers",
        "wmtsLayers",
    ] {
        body.remove(f);
    }
    normalize_params(&mut body);
    meridian_catalog::secrets::unmask(&mut body, None);
    if kind == Kind::DataStore {
        let ns_uri = c
            .namespace_of(ws)?
            .xml()
            .child_text("uri")
            .unwrap_or("")
            .to_string();
        let cp = match body.get_mut("connectionParameters") {
            Some(cp) => cp,
            None => {
                body.children.push(Element::new("connectionParameters"));
                body.children
                    .last_mut()
                    .ok_or_else(|| RestError::Internal("unreachable".into()))?
            }
        };
        if !cp
            .children
            .iter()
            .any(|e| e.attr_value("key") == Some("namespace"))
        {
            cp.children
                .push(Element::with_text("entry", ns_uri).attr("key", "namespace"));
        }
    }
    let mut xml = Element::new(kind.root()).child(Element::with_text("id", new_id(kind)));
    xml.children.push(Element::with_text(
        "name",
        body.child_text("name").unwrap_or(""),
    ));
    if let Some(d) = body.get("description") {
        xml.children.push(d.clone());
    }
    let ty = body.child_text("type").map(str::to_string).or_else(|| {
        let params = body
            .get("connectionParameters")
            .map(connection_parameters)
            .unwrap_or_default();
        derive_type(&params).map(str::to_string)
    });
    if let Some(t) = ty {
        xml.children.push(Element::with_text("type", t));
    }
    xml.children.push(Element::with_text(
        "enabled",
        body.child_text("enabled").unwrap_or("true"),
    ));
    xml.children.push(reference("workspace", ws.id()));
    for f in ["name", "description", "type", "enabled"] {
        body.remove(f);
    }
    if body.get("__default").is_none() {
        body.children.push(Element::with_text("__default", "false"));
    }
    xml.children.extend(body.children);
    let store = Object::new(kind, xml);
    check_store_files(c, &store)?;
    Ok(store)
}

/// `/workspaces/{ws}/{datastores|coveragestores}/{store}`
pub fn item(c: &Ctx, req: &Req, ws_name: &str, kind: Kind, name: &str) -> RestResult<Resp> {
    let ws = c.workspace(req, ws_name)?;
    let store = find_store(c, req, &ws, kind, name)?;
    match req.method.as_str() {
        "GET" => Ok(render(req, &encode(&c.cat, &store, req), &[])),
        "PUT" => {
            let mut body = req.body_as(kind.root())?;
            strip_links(&mut body);
            check_body_workspace(&body, ws.name())?;
            for f in ["id", "workspace", "featureTypes", "coverages"] {
                body.remove(f);
            }
            normalize_params(&mut body);
            // A client that read the store and writes it back sends the masks it was shown.
            meridian_catalog::secrets::unmask(&mut body, Some(&store));
            let mut updated = (*store).clone();
            updated.edit_xml(|x| x.merge_from(&body));
            check_store_files(c, &updated)?;
            c.apply(vec![Change::Modify { object: updated }])?;
            Ok(Resp::ok())
        }
        "DELETE" => {
            let has_resources = !c.cat.resources_of(store.id()).is_empty();
            if has_resources && !req.flag("recurse") {
                return Err(RestError::Forbidden(format!(
                    "Unable to delete non-empty store '{}'; use recurse=true",
                    store.name()
                )));
            }
            let purge = req.q("purge").map(str::to_ascii_lowercase);
            c.apply(cascade_remove(&c.cat, kind, store.id()))?;
            if matches!(purge.as_deref(), Some("all")) {
                purge_uploaded(c, &ws, &store);
            }
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// Delete the files of a store that were uploaded into `data/<ws>/<store>/`.
fn purge_uploaded(c: &Ctx, ws: &Object, store: &Object) {
    let dir =
        c.st.data_dir
            .join("data")
            .join(ws.name())
            .join(store.name());
    if dir.is_dir() {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "could not purge store files");
        }
    }
}
