//! Coverage uploads: `PUT /workspaces/{ws}/coveragestores/{cs}/{file|url|external}.{geotiff|
//! worldimage|arcgrid}`, as GeoServer takes them: the file (or a zip of it with its world file
//! and `.prj`) goes to `data/<ws>/<cs>/`, or the body names a file already on the server; the
//! store, its coverage (named after the store) and its layer are created, with the grid's CRS
//! and bounds read from the file. Only a file that reads is kept and configured.

use super::upload::{file_url, find_ext, safe_file_name, unzip, upload_root, Staging};
use crate::api::resources::publish_element;
use crate::api::stores::new_store;
use crate::ctx::{method_not_allowed, Ctx};
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::req::{render, Req, Resp};
use meridian_catalog::{cascade_remove, Change, Kind};
use meridian_xml::Element;

/// The store type and file extensions of an upload format.
fn format_of(format: &str) -> Option<(&'static str, &'static [&'static str])> {
    match format {
        "geotiff" | "tiff" | "tif" => Some(("GeoTIFF", &["tif", "tiff"])),
        "worldimage" => Some(("WorldImage", &["tif", "tiff", "png", "jpg", "jpeg"])),
        "arcgrid" => Some(("ArcGrid", &["asc"])),
        _ => None,
    }
}

/// Handle an upload to a coverage store.
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
    let (store_type, exts) = format_of(&format).ok_or_else(|| {
        RestError::BadRequest(format!(
            "uploading '{format}' coverages is not supported; use geotiff, worldimage or arcgrid"
        ))
    })?;
    meridian_catalog::check_name(store_name).map_err(|e| RestError::BadRequest(e.to_string()))?;
    let ws = c.workspace(req, ws_name)?;
    if c.cat
        .find(Kind::CoverageStore, Some(ws.id()), store_name)
        .is_some()
    {
        return Err(RestError::Conflict(format!(
            "a coverage store named '{store_name}' already exists in workspace '{}'",
            ws.name()
        )));
    }
    // The coverage is named `coverageName`, else after the store.
    let coverage_name = req
        .q("coverageName")
        .filter(|n| !n.is_empty())
        .unwrap_or(store_name)
        .to_string();
    meridian_catalog::check_name(&coverage_name)
        .map_err(|e| RestError::BadRequest(e.to_string()))?;
    let mut staged: Option<Staging> = None;
    let (location, path) = match method {
        "file" => {
            if req.body.is_empty() {
                return Err(RestError::BadRequest("the upload is empty".into()));
            }
            let root = upload_root(c, ws.name());
            let mut s = Staging::new(&root, root.join(store_name))
                .map_err(|e| RestError::io("preparing the upload folder", &e))?;
            if req.body.starts_with(b"PK") {
                unzip(&req.body, &s.dir, c.st.upload_limits)?;
            } else {
                if req.body.len() as u64 > c.st.upload_limits.max_unpacked {
                    return Err(RestError::UnpacksTooLarge(format!(
                        "the upload is larger than {} bytes",
                        c.st.upload_limits.max_unpacked
                    )));
                }
                let fname = req
                    .q("filename")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{store_name}.{}", exts[0]));
                let fname = safe_file_name(&fname)?;
                std::fs::write(s.dir.join(&fname), &req.body)
                    .map_err(|e| RestError::io("writing the upload", &e))?;
            }
            let main = exts
                .iter()
                .find_map(|e| find_ext(&s.dir, e))
                .ok_or_else(|| {
                    RestError::BadRequest(format!(
                        "the upload holds no {} file",
                        exts.iter()
                            .map(|e| format!(".{e}"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ))
                })?;
            // Read before it is placed: what does not read is not kept.
            let grid = meridian_coverages::open_coverage(store_type, &s.dir.join(&main));
            if let Err(e) = grid {
                tracing::info!(store = store_name, error = %e, "uploaded coverage does not read");
                return Err(RestError::BadRequest(format!(
                    "the upload does not read as {store_type}: {e}"
                )));
            }
            s.place()
                .map_err(|e| RestError::io("moving the upload into place", &e))?;
            let path = s.target.join(&main);
            let location = file_url(c, &path);
            staged = Some(s);
            (location, path)
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
            let location = if t.starts_with("file:") {
                t.to_string()
            } else {
                format!("file:{t}")
            };
            let params = meridian_sources::StoreParams {
                params: vec![("url".into(), location.clone())],
                store_type: Some(store_type.into()),
                data_dir: c.st.data_dir.clone(),
                view: None,
            };
            let path = params.resolve_path(&location);
            (location, path)
        }
        other => {
            return Err(RestError::BadRequest(format!(
                "unknown upload method '{other}'"
            )))
        }
    };
    // The same message whatever the reason, so that it tells nothing of files elsewhere.
    let grid = meridian_coverages::open_coverage(store_type, &path).map_err(|e| {
        tracing::info!(store = store_name, error = %e, "coverage does not read");
        match e {
            meridian_coverages::CoverageError::Source(s) => RestError::BadRequest(s.to_string()),
            _ => RestError::BadRequest(format!("'{location}' does not read as {store_type}")),
        }
    })?;
    let epsg = grid.epsg().unwrap_or(4326);
    let b = grid.bounds().unwrap_or([-180.0, -90.0, 180.0, 90.0]);
    let store_body = Element::new("coverageStore")
        .child(Element::with_text("name", store_name))
        .child(Element::with_text("type", store_type))
        .child(Element::with_text("enabled", "true"))
        .child(Element::with_text("url", location.clone()));
    let store = new_store(c, &ws, Kind::CoverageStore, store_body)?;
    c.apply(vec![Change::Add {
        object: store.clone(),
    }])?;
    let bbox = |root: &str| {
        Element::new(root)
            .child(Element::with_text("minx", b[0].to_string()))
            .child(Element::with_text("maxx", b[2].to_string()))
            .child(Element::with_text("miny", b[1].to_string()))
            .child(Element::with_text("maxy", b[3].to_string()))
            .child(Element::with_text("crs", format!("EPSG:{epsg}")))
    };
    let coverage = Element::new("coverage")
        .child(Element::with_text("name", coverage_name.clone()))
        .child(Element::with_text("nativeName", coverage_name))
        .child(Element::with_text("srs", format!("EPSG:{epsg}")))
        .child(bbox("nativeBoundingBox"));
    let fresh = c.refreshed();
    let result = publish_element(&fresh, req, &ws, &store, Kind::Coverage, coverage);
    match result {
        Ok(_) => {
            if let Some(s) = staged {
                s.commit();
            }
            // Answered with the store, as GeoServer answers an upload.
            let now = c.refreshed();
            let store = now
                .cat
                .get(store.id())
                .cloned()
                .unwrap_or_else(|| std::sync::Arc::new(store));
            let mut resp = render(req, &encode(&now.cat, &store, req), &[]);
            resp.status = 201;
            Ok(resp)
        }
        Err(e) => {
            let cat = c.st.catalog.snapshot();
            if let Err(u) = c.apply(cascade_remove(&cat, Kind::CoverageStore, store.id())) {
                tracing::error!(store = store_name, error = %u, "taking back a failed coverage upload failed");
            }
            Err(e)
        }
    }
}
