//! Data uploads: `PUT /workspaces/{ws}/datastores/{ds}/{file|url|external}.{shp|gpkg}`.
//! Files go to `data/<ws>/<ds>/`; the store is created when missing and, with
//! `configure=first` (the default) or `all`, the uploaded types are published.

use crate::api::resources::publish_element;
use crate::api::stores::new_store;
use crate::ctx::{method_not_allowed, Ctx};
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::req::{render, Req, Resp};
use meridian_catalog::{Change, Kind, Object};
use meridian_sources::list_types;
use meridian_xml::Element;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

const MAX_UNZIPPED: u64 = 2 * 1024 * 1024 * 1024;

/// Handle an upload to a data store.
pub fn upload(
    c: &Ctx,
    req: &Req,
    ws_name: &str,
    store_name: &str,
    method: &str,
    format: &str,
) -> RestResult<Resp> {
    if req.method != "PUT" {
        return Err(method_not_allowed(req));
    }
    let format = format.to_ascii_lowercase();
    if !matches!(format.as_str(), "shp" | "gpkg" | "geopkg") {
        return Err(RestError::BadRequest(format!(
            "uploading '{format}' data is not supported; use shp or gpkg"
        )));
    }
    meridian_catalog::check_name(store_name).map_err(|e| RestError::BadRequest(e.to_string()))?;
    let ws = c.workspace(req, ws_name)?;
    let rel_dir = Path::new("data").join(ws.name()).join(store_name);
    let dir = c.st.data_dir.join(&rel_dir);
    let location: String = match method {
        "file" => {
            if req.body.is_empty() {
                return Err(RestError::BadRequest("the upload is empty".into()));
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| RestError::Internal(format!("{}: {e}", dir.display())))?;
            if req.body.starts_with(b"PK") {
                unzip(&req.body, &dir)?;
            } else if format == "shp" {
                return Err(RestError::BadRequest(
                    "a shapefile upload must be a zip of .shp, .shx, .dbf (and .prj)".into(),
                ));
            } else {
                let fname = req
                    .q("filename")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{store_name}.gpkg"));
                let fname = safe_file_name(&fname)?;
                let fname = if fname.ends_with(".gpkg") {
                    fname
                } else {
                    format!("{fname}.gpkg")
                };
                meridian_datadir::write_atomic(&dir.join(&fname), &req.body)
                    .map_err(|e| RestError::Internal(e.to_string()))?;
            }
            let rel = rel_dir.to_string_lossy().replace('\\', "/");
            if format == "shp" {
                format!("file:{rel}")
            } else {
                let gpkg = find_ext(&dir, "gpkg").ok_or_else(|| {
                    RestError::BadRequest("the upload holds no .gpkg file".into())
                })?;
                format!("file:{rel}/{gpkg}")
            }
        }
        "url" | "external" => {
            let text = String::from_utf8(req.body.clone()).map_err(|_| {
                RestError::BadRequest("the body must be a path or file: URL".into())
            })?;
            let t = text.trim();
            if t.is_empty() {
                return Err(RestError::BadRequest(
                    "the body must be a path or file: URL".into(),
                ));
            }
            if t.starts_with("file:") {
                t.to_string()
            } else {
                format!("file:{t}")
            }
        }
        other => {
            return Err(RestError::BadRequest(format!(
                "unknown upload method '{other}'"
            )))
        }
    };
    // Create or update the store.
    let mut params = Element::new("connectionParameters");
    if format == "shp" {
        params
            .children
            .push(Element::with_text("entry", location.clone()).attr("key", "url"));
    } else {
        params
            .children
            .push(Element::with_text("entry", "geopkg").attr("key", "dbtype"));
        params
            .children
            .push(Element::with_text("entry", location.clone()).attr("key", "database"));
    }
    let existing = c
        .cat
        .find(Kind::DataStore, Some(ws.id()), store_name)
        .cloned();
    let store_change = match &existing {
        Some(s) => {
            let mut s = (**s).clone();
            let mut upd = Element::new("dataStore");
            let mut cp = s
                .xml()
                .get("connectionParameters")
                .map(|n| n.to_element())
                .unwrap_or_else(|| Element::new("connectionParameters"));
            for e in params.children {
                let key = e.attr_value("key").unwrap_or("").to_string();
                cp.children
                    .retain(|x| x.attr_value("key") != Some(key.as_str()));
                cp.children.push(e);
            }
            upd.children.push(cp);
            s.edit_xml(|x| x.merge_from(&upd));
            Change::Modify { object: s }
        }
        None => {
            let body = Element::new("dataStore")
                .child(Element::with_text("name", store_name))
                .child(params);
            Change::Add {
                object: new_store(c, &ws, Kind::DataStore, body)?,
            }
        }
    };
    c.apply(vec![store_change])?;
    let c2 = Ctx {
        st: c.st,
        cat: c.st.catalog.snapshot(),
    };
    let store = c2
        .cat
        .find(Kind::DataStore, Some(ws.id()), store_name)
        .cloned()
        .ok_or_else(|| RestError::Internal("the store vanished".into()))?;
    let configure = req.q("configure").unwrap_or("first").to_ascii_lowercase();
    if configure != "none" {
        publish_new_types(&c2, req, &ws, &store, configure == "all")?;
    }
    let c3 = Ctx {
        st: c.st,
        cat: c.st.catalog.snapshot(),
    };
    let store = c3.cat.get(store.id()).cloned().unwrap_or(store);
    let mut resp = render(req, &encode(&c3.cat, &store, req), &[]);
    resp.status = 201;
    Ok(resp)
}

fn publish_new_types(c: &Ctx, req: &Req, ws: &Object, store: &Object, all: bool) -> RestResult<()> {
    let params = super::resources::store_params(c, store);
    let types = list_types(&params)
        .map_err(|e| RestError::BadRequest(format!("cannot read the uploaded data: {e}")))?;
    let ns = c.namespace_of(ws)?;
    for t in types {
        let cat = c.st.catalog.snapshot();
        if cat.find(Kind::FeatureType, Some(ns.id()), &t).is_some() {
            continue;
        }
        let fresh = Ctx { st: c.st, cat };
        let body = Element::new("featureType").child(Element::with_text("name", t.clone()));
        publish_element(&fresh, req, ws, store, Kind::FeatureType, body)?;
        if !all {
            break;
        }
    }
    Ok(())
}

fn safe_file_name(name: &str) -> RestResult<String> {
    let n = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    if n.is_empty() || n.starts_with('.') || n != name {
        return Err(RestError::BadRequest(format!(
            "'{name}' is not a plain file name"
        )));
    }
    Ok(n.to_string())
}

fn find_ext(dir: &Path, ext: &str) -> Option<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.to_ascii_lowercase().ends_with(&format!(".{ext}")))
        .collect();
    v.sort();
    v.into_iter().next()
}

/// Extract a zip into `dir`, flattening folders and refusing entries that escape it.
fn unzip(bytes: &[u8], dir: &Path) -> RestResult<Vec<PathBuf>> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| RestError::BadRequest(format!("not a valid zip: {e}")))?;
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..z.len() {
        let mut f = z
            .by_index(i)
            .map_err(|e| RestError::BadRequest(format!("bad zip entry: {e}")))?;
        if f.is_dir() {
            continue;
        }
        let Some(path) = f.enclosed_name() else {
            return Err(RestError::BadRequest(format!(
                "zip entry '{}' escapes the upload folder",
                f.name()
            )));
        };
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if name.starts_with('.') || path.components().any(|c| c.as_os_str() == "__MACOSX") {
            continue;
        }
        let mut buf = Vec::new();
        let limit = MAX_UNZIPPED.saturating_sub(total) + 1;
        (&mut f)
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| RestError::BadRequest(format!("bad zip entry {name}: {e}")))?;
        total += buf.len() as u64;
        if total > MAX_UNZIPPED {
            return Err(RestError::TooLarge(MAX_UNZIPPED as usize));
        }
        let target = dir.join(&name);
        meridian_datadir::write_atomic(&target, &buf)
            .map_err(|e| RestError::Internal(format!("{}: {e}", target.display())))?;
        out.push(target);
    }
    if out.is_empty() {
        return Err(RestError::BadRequest("the zip is empty".into()));
    }
    Ok(out)
}
