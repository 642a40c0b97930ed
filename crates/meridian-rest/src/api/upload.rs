//! Data uploads: `PUT /workspaces/{ws}/datastores/{ds}/{file|url|external}.{shp|gpkg}`.
//!
//! Files go to `data/<ws>/<ds>/` (with a filesystem sandbox, `<sandbox>/<ws>/<ds>/`); the store
//! is created when missing and, with `configure=first` (the default) or `all`, the uploaded
//! types are published.
//!
//! An upload is unpacked into a hidden folder beside its target, entry by entry through a
//! fixed buffer, within a total size and a compression-ratio cap ([`UploadLimits`]). Only data
//! that reads is moved into place and configured. A failure at any step leaves nothing
//! behind: no file, no folder, no store, no layer, and files it replaced are put back.

use crate::api::resources::{publish_element, store_params};
use crate::api::stores::{check_store_files, new_store};
use crate::ctx::{method_not_allowed, Ctx};
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::req::{render, Req, Resp};
use meridian_catalog::{cascade_remove, Change, Kind, Object};
use meridian_features::{describe, list_types, FeatureError};
use meridian_sources::SourceError;
use meridian_xml::Element;
use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

/// Limits on what one upload may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Largest total size of the files of one upload, unpacked.
    pub max_unpacked: u64,
    /// Largest ratio of a zip entry's unpacked size to its compressed size (entries that
    /// unpack to no more than [`RATIO_FLOOR`] are not held to it).
    pub max_ratio: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_unpacked: 2 * 1024 * 1024 * 1024,
            max_ratio: 100,
        }
    }
}

/// Entries up to this size may compress as well as they do (a blank DBF column, say).
pub const RATIO_FLOOR: u64 = 16 * 1024 * 1024;

/// The folder uploads of workspace `ws` go to: inside the sandbox when one is set.
pub(super) fn upload_root(c: &Ctx, ws: &str) -> PathBuf {
    match meridian_sources::sandbox::sandbox() {
        Some(s) => s.join(ws),
        None => c.st.data_dir.join("data").join(ws),
    }
}

/// The `file:` URL a store uses for `path` (relative to the data directory when inside it).
pub(super) fn file_url(c: &Ctx, path: &Path) -> String {
    match path.strip_prefix(&c.st.data_dir) {
        Ok(rel) => format!("file:{}", rel.to_string_lossy()),
        Err(_) => format!("file:{}", path.display()),
    }
}

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
    let shp = match format.as_str() {
        "shp" => true,
        "gpkg" | "geopkg" => false,
        _ => {
            return Err(RestError::BadRequest(format!(
                "uploading '{format}' data is not supported; use shp or gpkg"
            )))
        }
    };
    meridian_catalog::check_name(store_name).map_err(|e| RestError::BadRequest(e.to_string()))?;
    let ws = c.workspace(req, ws_name)?;
    // Files of a `file.*` upload, staged until the store reads them.
    let mut staged: Option<Staging> = None;
    let location: String = match method {
        "file" => {
            if req.body.is_empty() {
                return Err(RestError::BadRequest("the upload is empty".into()));
            }
            let root = upload_root(c, ws.name());
            let mut s = Staging::new(&root, root.join(store_name))
                .map_err(|e| RestError::io("preparing the upload folder", &e))?;
            if req.body.starts_with(b"PK") {
                unzip(&req.body, &s.dir, c.st.upload_limits)?;
            } else if shp {
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
                if req.body.len() as u64 > c.st.upload_limits.max_unpacked {
                    return Err(RestError::UnpacksTooLarge(format!(
                        "the upload is larger than {} bytes",
                        c.st.upload_limits.max_unpacked
                    )));
                }
                std::fs::write(s.dir.join(&fname), &req.body)
                    .map_err(|e| RestError::io("writing the upload", &e))?;
            }
            let ext = if shp { "shp" } else { "gpkg" };
            let Some(main) = find_ext(&s.dir, ext) else {
                return Err(RestError::BadRequest(format!(
                    "the upload holds no .{ext} file"
                )));
            };
            s.place()
                .map_err(|e| RestError::io("moving the upload into place", &e))?;
            let location = if shp {
                file_url(c, &s.target)
            } else {
                file_url(c, &s.target.join(main))
            };
            staged = Some(s);
            location
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
    let existing = c
        .cat
        .find(Kind::DataStore, Some(ws.id()), store_name)
        .cloned();
    let store_change = store_change(c, &ws, store_name, existing.as_deref(), shp, &location)?;
    let candidate = match &store_change {
        Change::Add { object } | Change::Modify { object } => object.clone(),
        _ => return Err(RestError::Internal("unexpected store change".into())),
    };
    // The data must read before anything is configured. The message is the same whatever
    // the reason, so that it tells nothing of files elsewhere on the server.
    let unreadable = |e: FeatureError| {
        tracing::info!(store = store_name, error = %e, "uploaded data does not read");
        match e {
            FeatureError::Source(SourceError::OutsideSandbox(_)) => {
                RestError::BadRequest(e.to_string())
            }
            _ => RestError::BadRequest(format!(
                "'{location}' does not read as {}",
                if shp { "a shapefile" } else { "a GeoPackage" }
            )),
        }
    };
    let params = store_params(c, &candidate);
    let types = list_types(&params).map_err(unreadable)?;
    let configure = req.q("configure").unwrap_or("first").to_ascii_lowercase();
    let configured = if configure == "all" { usize::MAX } else { 1 };
    for t in types.iter().take(configured) {
        describe(&params, t).map_err(unreadable)?;
    }
    let before: BTreeSet<String> = existing
        .as_ref()
        .map(|s| {
            c.cat
                .resources_of(s.id())
                .iter()
                .map(|r| r.id().to_string())
                .collect()
        })
        .unwrap_or_default();
    c.apply(vec![store_change])?;
    let result = publish(c, req, &ws, store_name, &types, &configure);
    match result {
        Ok(resp) => {
            if let Some(s) = staged {
                s.commit();
            }
            Ok(resp)
        }
        Err(e) => {
            undo_configuration(c, &ws, store_name, existing.as_deref(), &before);
            Err(e)
        }
    }
}

/// The change that creates the store, or points an existing one at the uploaded data.
fn store_change(
    c: &Ctx,
    ws: &Object,
    store_name: &str,
    existing: Option<&Object>,
    shp: bool,
    location: &str,
) -> RestResult<Change> {
    let mut params = Element::new("connectionParameters");
    if shp {
        params
            .children
            .push(Element::with_text("entry", location).attr("key", "url"));
    } else {
        params
            .children
            .push(Element::with_text("entry", "geopkg").attr("key", "dbtype"));
        params
            .children
            .push(Element::with_text("entry", location).attr("key", "database"));
    }
    Ok(match existing {
        Some(s) => {
            let mut s = s.clone();
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
            // A new store is checked by `new_store`; a changed one here.
            check_store_files(c, &s)?;
            Change::Modify { object: s }
        }
        None => {
            let body = Element::new("dataStore")
                .child(Element::with_text("name", store_name))
                .child(params);
            Change::Add {
                object: new_store(c, ws, Kind::DataStore, body)?,
            }
        }
    })
}

/// Publish the uploaded types as `configure` (`first`, `all` or `none`) asks, and answer the
/// store.
fn publish(
    c: &Ctx,
    req: &Req,
    ws: &Object,
    store_name: &str,
    types: &[String],
    configure: &str,
) -> RestResult<Resp> {
    let fresh = || c.refreshed();
    let c2 = fresh();
    let store = c2
        .cat
        .find(Kind::DataStore, Some(ws.id()), store_name)
        .cloned()
        .ok_or_else(|| RestError::Internal("the store vanished".into()))?;
    if configure != "none" {
        let ns = c2.namespace_of(ws)?;
        for t in types {
            let now = c.refreshed();
            if now.cat.find(Kind::FeatureType, Some(ns.id()), t).is_some() {
                continue;
            }
            let body = Element::new("featureType").child(Element::with_text("name", t.clone()));
            publish_element(&now, req, ws, &store, Kind::FeatureType, body)?;
            if configure != "all" {
                break;
            }
        }
    }
    let c3 = fresh();
    let store = c3.cat.get(store.id()).cloned().unwrap_or(store);
    let mut resp = render(req, &encode(&c3.cat, &store, req), &[]);
    resp.status = 201;
    Ok(resp)
}

/// Take back what a failed upload configured: the store it created (with what was published
/// in it), or the types it published in an existing store and the store's earlier state.
fn undo_configuration(
    c: &Ctx,
    ws: &Object,
    store_name: &str,
    existing: Option<&Object>,
    before: &BTreeSet<String>,
) {
    let cat = c.st.catalog.snapshot();
    let Some(store) = cat
        .find(Kind::DataStore, Some(ws.id()), store_name)
        .cloned()
    else {
        return;
    };
    let changes = match existing {
        None => cascade_remove(&cat, Kind::DataStore, store.id()),
        Some(old) => {
            // What the upload published is new, so nothing else (a layer group) uses it.
            let mut v = Vec::new();
            for r in cat.resources_of(store.id()) {
                if !before.contains(r.id()) {
                    v.extend(cascade_remove(&cat, r.kind, r.id()));
                }
            }
            v.push(Change::Modify {
                object: old.clone(),
            });
            v
        }
    };
    if let Err(e) = c.apply(changes) {
        tracing::error!(store = store_name, error = %e, "taking back a failed upload's configuration failed");
    }
}

pub(super) fn safe_file_name(name: &str) -> RestResult<String> {
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

/// The first (by name) regular file of `dir` with extension `ext`.
pub(super) fn find_ext(dir: &Path, ext: &str) -> Option<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.to_ascii_lowercase().ends_with(&format!(".{ext}")))
        .collect();
    v.sort();
    v.into_iter().next()
}

/// Unpack a zip into `dir`, flattening folders, refusing entries that escape it, and
/// streaming each entry through a fixed buffer within `limits`.
pub(super) fn unzip(bytes: &[u8], dir: &Path, limits: UploadLimits) -> RestResult<()> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| RestError::BadRequest(format!("not a valid zip: {e}")))?;
    let mut total = 0u64;
    let mut files = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
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
        let entry_cap = f
            .compressed_size()
            .saturating_mul(limits.max_ratio)
            .max(RATIO_FLOOR);
        let mut out = std::fs::File::create(dir.join(&name))
            .map_err(|e| RestError::io("writing the upload", &e))?;
        let mut written = 0u64;
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| RestError::BadRequest(format!("bad zip entry {name}: {e}")))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            total += n as u64;
            if total > limits.max_unpacked {
                return Err(RestError::UnpacksTooLarge(format!(
                    "the upload unpacks to more than {} bytes",
                    limits.max_unpacked
                )));
            }
            if written > entry_cap {
                return Err(RestError::UnpacksTooLarge(format!(
                    "zip entry '{name}' unpacks to more than {} times its compressed size",
                    limits.max_ratio
                )));
            }
            out.write_all(&buf[..n])
                .map_err(|e| RestError::io("writing the upload", &e))?;
        }
        files += 1;
    }
    if files == 0 {
        return Err(RestError::BadRequest("the zip is empty".into()));
    }
    Ok(())
}

/// An upload's files: unpacked into a hidden folder beside the target, then moved into it.
/// Dropped before [`Staging::commit`], it takes everything back: files moved in are removed
/// and those they replaced restored, the hidden folder is removed, and so is every folder
/// the upload created.
pub(super) struct Staging {
    /// The hidden folder the upload is unpacked into.
    pub(super) dir: PathBuf,
    /// The store's data folder.
    pub(super) target: PathBuf,
    /// Folders this upload created, outermost first.
    created: Vec<PathBuf>,
    /// Files moved into the target, with where the file each replaced was kept.
    placed: Vec<(PathBuf, Option<PathBuf>)>,
    done: bool,
}

/// Create `path` and its missing parents, noting each folder created (outermost first).
fn create_dirs(path: &Path, created: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut p = Some(path);
    while let Some(d) = p {
        if d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        p = d.parent();
    }
    for d in missing.into_iter().rev() {
        match std::fs::create_dir(&d) {
            Ok(()) => created.push(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Staging {
    pub(super) fn new(root: &Path, target: PathBuf) -> std::io::Result<Staging> {
        let mut s = Staging {
            dir: root.join(format!(".upload-{:016x}", rand::random::<u64>())),
            target,
            created: Vec::new(),
            placed: Vec::new(),
            done: false,
        };
        create_dirs(root, &mut s.created)?;
        std::fs::create_dir(&s.dir)?;
        Ok(s)
    }

    /// Move the unpacked files into the target, keeping the files they replace.
    pub(super) fn place(&mut self) -> std::io::Result<()> {
        create_dirs(&self.target, &mut self.created)?;
        let kept = self.dir.join(".replaced");
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        names.sort();
        for name in names {
            let to = self.target.join(&name);
            let backup = if to.exists() {
                std::fs::create_dir_all(&kept)?;
                let b = kept.join(&name);
                std::fs::rename(&to, &b)?;
                Some(b)
            } else {
                None
            };
            self.placed.push((to.clone(), backup));
            std::fs::rename(self.dir.join(&name), &to)?;
        }
        Ok(())
    }

    /// The upload is configured: keep its files, drop the replaced ones.
    pub(super) fn commit(mut self) {
        self.done = true;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for (file, backup) in self.placed.iter().rev() {
            let _ = std::fs::remove_file(file);
            if let Some(b) = backup {
                let _ = std::fs::rename(b, file);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        for d in self.created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}
