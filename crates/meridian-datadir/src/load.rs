//! Reading a data directory into a catalog, as GeoServer's `DataDirectoryWalker` does.

use crate::layout::{RESOURCE_FILES, STORE_FILES};
use crate::DataDirError;
use crate::{Locations, RelPath};
use meridian_catalog::{Catalog, Id, Kind, Object, SERVICE_ROOTS};
use meridian_xml::Packed;
use rayon::prelude::*;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A file that could not be loaded; the rest of the directory still loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// The file or directory, relative to the data directory.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// The result of loading: the catalog, where each object's file is, and what was skipped.
#[derive(Debug)]
pub struct Loaded {
    /// The catalog.
    pub catalog: Catalog,
    /// Object id → its file, relative to the data directory.
    pub locations: Locations,
    /// Files that were skipped, and dangling references.
    pub problems: Vec<LoadProblem>,
    /// Files that loaded, but not as written: a copy of another object's file (the same id)
    /// loaded under a fresh id, with its own contents pointing at it. Nothing is written
    /// back until the object is saved.
    pub notices: Vec<LoadProblem>,
}

/// An object found on disk; whether it is loaded is decided once the whole directory is read.
struct Entry {
    object: Object,
    path: RelPath,
    /// The entry this one loads only with (its workspace, store or resource), as GeoServer
    /// skips what is inside an object it could not load.
    requires: Option<usize>,
}

/// What [`Walker::resolve`] decides: the objects, their files, what was skipped and what
/// loaded as a copy.
type Resolved = (
    Vec<Object>,
    HashMap<Id, RelPath>,
    Vec<LoadProblem>,
    Vec<LoadProblem>,
);

/// The id a copy of an object loads with: the kind's GeoServer prefix and a hash of the old id
/// and the copy's path, so that every start (and every node reading the same directory)
/// gives the copy the same id.
fn copy_id(kind: Kind, old: &str, path: &Path) -> String {
    let h = fnv(&[old.as_bytes(), path.as_os_str().as_encoded_bytes()]);
    format!("{}-copy-{h:016x}", kind.id_prefix())
}

/// Every `<id>` within `e` (a child of an object's root: a reference) that names an object
/// with a copy in `map` names the copy.
fn point_ids_at_copies(e: &mut meridian_xml::Element, map: &HashMap<String, Id>) {
    if e.name.as_str() == "id" {
        if let Some(new) = e.text_trim().and_then(|t| map.get(t)) {
            e.text = Some((&**new).into());
        }
        return;
    }
    for c in e.children.iter_mut() {
        point_ids_at_copies(c, map);
    }
}

/// FNV-1a of some byte strings (each followed by a zero): stable across builds and platforms,
/// as std's hasher is not.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.iter().chain([0u8].iter())) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A hash of the name an object claims in its scope (as the catalog's name index keys it),
/// for the kinds a copy may clash on; layers follow their resources.
fn claimed_name(o: &Object) -> Option<u64> {
    let scope = match o.kind {
        Kind::Workspace | Kind::Namespace => "",
        k if k.is_resource() => o.ref_id("namespace").unwrap_or(""),
        Kind::Layer | Kind::Settings | Kind::Service | Kind::Global | Kind::Logging => return None,
        _ => o.workspace().unwrap_or(""),
    };
    Some(fnv(&[
        o.kind.name_scope().as_bytes(),
        scope.as_bytes(),
        o.name().as_bytes(),
    ]))
}

struct Walker<'a> {
    root: &'a Path,
    entries: Vec<Entry>,
    problems: Vec<LoadProblem>,
}

/// Load a data directory. Only a missing or unreadable root is an error; each file that fails
/// to parse is reported in [`Loaded::problems`] with its path and reason and skipped.
/// Files are read on a pool of 8 threads per core (`MERIDIAN_LOAD_THREADS` sets the number);
/// the result does not depend on it.
pub fn load(root: &Path) -> Result<Loaded, DataDirError> {
    // Reading is mostly waiting for the disk when the files are not cached: more readers
    // than cores keep more requests in flight.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let readers = std::env::var("MERIDIAN_LOAD_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cores * READERS_PER_CORE);
    load_with_readers(root, readers)
}

/// [`load`] with a given number of reader threads.
pub fn load_with_readers(root: &Path, readers: usize) -> Result<Loaded, DataDirError> {
    if !root.is_dir() {
        return Err(DataDirError::NotADirectory(root.display().to_string()));
    }
    match rayon::ThreadPoolBuilder::new()
        .num_threads(readers.max(1))
        .build()
    {
        Ok(pool) => pool.install(|| load_with(root)),
        // No threads to be had: read on the global pool.
        Err(_) => load_with(root),
    }
}

/// Reader threads per core.
const READERS_PER_CORE: usize = 8;

fn load_with(root: &Path) -> Result<Loaded, DataDirError> {
    let started = Instant::now();
    let mut w = Walker::new(root);
    w.load_root_files();
    w.load_styles(&root.join("styles"), None, None);
    w.load_groups(&root.join("layergroups"), None);
    let default_ws = w.load_workspaces();
    let walked = started.elapsed();
    let (objects, locations, mut problems, notices) = w.resolve();
    let resolved = started.elapsed();
    // Two independent indexes over the same objects: build them side by side.
    let (mut catalog, locations) = rayon::join(
        || Catalog::from_loaded(objects, default_ws),
        || Locations::new(locations),
    );
    catalog.default_to_first_workspace();
    let indexed = started.elapsed();
    for (from, to) in catalog.dangling_references() {
        let path = locations
            .get(from.as_str())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        problems.push(LoadProblem {
            path,
            reason: format!("reference to missing object {to}"),
        });
    }
    tracing::debug!(
        walk_ms = walked.as_millis(),
        resolve_ms = (resolved - walked).as_millis(),
        index_ms = (indexed - resolved).as_millis(),
        check_ms = (started.elapsed() - indexed).as_millis(),
        "data directory load phases"
    );
    Ok(Loaded {
        catalog,
        locations,
        problems,
        notices,
    })
}

impl<'a> Walker<'a> {
    fn new(root: &'a Path) -> Self {
        Walker {
            root,
            entries: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Decide what loads, in walk order: an object is skipped when what it requires was,
    /// and so is an object without a usable id. An object whose id is already taken is a
    /// copy (a folder copied by hand, as into another workspace): it loads under a fresh id
    /// made from its old id and its path (the same at every start), and what its folder
    /// holds is pointed at it (see [`Walker::point_at_parent`]).
    fn resolve(self) -> Resolved {
        let mut problems = self.problems;
        let mut notices = Vec::new();
        let n = self.entries.len();
        // Where each loaded entry's object is in `objects`; `None`: not loaded.
        let mut at: Vec<Option<usize>> = vec![None; n];
        // Whether an entry was loaded under a fresh id.
        let mut copied = vec![false; n];
        // The workspace entry each entry is inside (a workspace is inside itself).
        let mut scope: Vec<Option<usize>> = vec![None; n];
        // A workspace entry → the catalog id of its namespace.
        let mut namespace_of: HashMap<usize, Id> = HashMap::new();
        // The names loaded objects claim (see `claimed_name`), gathered from the first copy
        // on: a directory without copies never needs them.
        let mut names: Option<std::collections::HashSet<u64>> = None;
        // Per workspace copied whole: old id → the id of its copy there.
        let mut copies: HashMap<usize, HashMap<String, Id>> = HashMap::new();
        let misplaced = Self::misplaced_copies(&self.entries);
        let mut objects: Vec<Object> = Vec::with_capacity(n);
        let mut locations: HashMap<Id, RelPath> = HashMap::with_capacity(n);
        for (i, e) in self.entries.into_iter().enumerate() {
            let parent = match e.requires {
                Some(r) => match at.get(r).copied().flatten() {
                    Some(p) => Some(p),
                    None => continue,
                },
                None => None,
            };
            let within = if e.object.kind == Kind::Workspace {
                Some(i)
            } else {
                e.requires.and_then(|r| scope.get(r).copied().flatten())
            };
            if let Some(s) = scope.get_mut(i) {
                *s = within;
            }
            // What stays is copied here, on one thread (see `Object::relocated`).
            let mut object = e.object.relocated();
            let mut renamed: Option<String> = None;
            let duplicate =
                locations.contains_key(object.id()) || misplaced.get(i).copied().unwrap_or(false);
            if duplicate {
                let fresh = copy_id(object.kind, object.id(), &e.path);
                if locations.contains_key(fresh.as_str()) {
                    problems.push(LoadProblem {
                        path: e.path.to_path_buf(),
                        reason: format!("duplicate id {}; skipped", object.id()),
                    });
                    continue;
                }
                notices.push(LoadProblem {
                    path: e.path.to_path_buf(),
                    reason: format!(
                        "another file has the id {}; loaded as a copy with the id {fresh} (written when saved)",
                        object.id()
                    ),
                });
                renamed = Some(object.id().to_string());
                object.edit_xml(|x| x.set_child_text("id", fresh.as_str()));
                if let Some(c) = copied.get_mut(i) {
                    *c = true;
                }
            }
            let parent_copied = e.requires.is_some_and(|r| copied.get(r) == Some(&true));
            if let (Some(parent), true) = (
                parent.and_then(|p| objects.get(p)),
                duplicate || parent_copied,
            ) {
                let namespace = match parent.kind {
                    k if k.is_store() => within.and_then(|w| namespace_of.get(&w)),
                    _ => None,
                };
                Self::point_at_parent(&mut object, parent.kind, parent.id(), namespace);
                // A layer is named as its resource.
                if object.kind == Kind::Layer && parent.kind.is_resource() {
                    let name = parent.name();
                    if object
                        .xml()
                        .child_text("name")
                        .is_some_and(|own| own != name)
                    {
                        object.edit_xml(|x| x.set_child_text("name", name));
                    }
                }
            }
            // A copy that claims a name already taken in its scope (a workspace folder copied
            // under another folder name, its name unchanged) is refused as GeoServer refuses
            // it; the original keeps the name.
            let claim = claimed_name(&object);
            if duplicate {
                let claims =
                    names.get_or_insert_with(|| objects.iter().filter_map(claimed_name).collect());
                if claim.is_some_and(|c| claims.contains(&c)) {
                    notices.pop();
                    problems.push(LoadProblem {
                        path: e.path.to_path_buf(),
                        reason: format!(
                            "duplicate id {} and the name {} is taken; skipped",
                            e.object.id(),
                            object.name()
                        ),
                    });
                    continue;
                }
            }
            if let (Some(claims), Some(c)) = (names.as_mut(), claim) {
                claims.insert(c);
            }
            if object.kind == Kind::Namespace {
                if let Some(w) = e.requires {
                    namespace_of.insert(w, object.shared_id().clone());
                }
            }
            locations.insert(object.shared_id().clone(), RelPath::from(&*e.path));
            // Only a workspace copied whole: there every reference means its own copies.
            let whole_copy = within.is_some_and(|w| copied.get(w) == Some(&true));
            if let (Some(old), Some(w), true) = (renamed, within, whole_copy) {
                copies
                    .entry(w)
                    .or_default()
                    .insert(old, object.shared_id().clone());
            }
            if let Some(slot) = at.get_mut(i) {
                *slot = Some(objects.len());
            }
            objects.push(object);
        }
        // Inside a workspace copied whole, what names an object that has a copy there names
        // the copy (a layer's style, a group's layers), whatever came first.
        if !copies.is_empty() {
            for (entry, index) in at.iter().enumerate() {
                let map = scope
                    .get(entry)
                    .copied()
                    .flatten()
                    .and_then(|w| copies.get(&w));
                let (Some(map), Some(o)) = (map, index.and_then(|x| objects.get_mut(x))) else {
                    continue;
                };
                if o.references().iter().any(|r| map.contains_key(*r)) {
                    o.edit_xml(|x| {
                        // Not the object's own id.
                        for c in x.children.iter_mut().filter(|c| c.name.as_str() != "id") {
                            point_ids_at_copies(c, map);
                        }
                    });
                }
            }
        }
        (objects, locations, problems, notices)
    }

    /// Which entries are copies though they come first: an object whose id another file
    /// also has, and which does not belong where it was found (a store or resource whose
    /// reference names another parent than the folder's, a workspace whose name is not its
    /// folder's), or is inside such a copy. The object that belongs keeps the id whatever
    /// the walk order.
    fn misplaced_copies(entries: &[Entry]) -> Vec<bool> {
        let mut misplaced = vec![false; entries.len()];
        for (i, e) in entries.iter().enumerate() {
            let o = &e.object;
            let own = match e.requires.and_then(|r| entries.get(r).map(|p| (r, p))) {
                Some((r, p)) => {
                    misplaced.get(r).copied().unwrap_or(false)
                        || match p.object.kind {
                            Kind::Workspace if o.kind != Kind::Namespace => {
                                o.workspace().is_some_and(|w| w != p.object.id())
                            }
                            k if k.is_store() => {
                                o.ref_id("store").is_some_and(|s| s != p.object.id())
                            }
                            k if k.is_resource() => {
                                o.ref_id("resource").is_some_and(|s| s != p.object.id())
                            }
                            _ => false,
                        }
                }
                None => {
                    o.kind == Kind::Workspace
                        && e.path
                            .parent()
                            .and_then(Path::file_name)
                            .is_some_and(|folder| folder.to_str() != Some(o.name()))
                }
            };
            if let Some(m) = misplaced.get_mut(i) {
                *m = own;
            }
        }
        if !misplaced.contains(&true) {
            return misplaced;
        }
        // Only those whose id is also another file's are copies.
        let suspects: std::collections::HashSet<&str> = entries
            .iter()
            .zip(&misplaced)
            .filter(|(_, m)| **m)
            .map(|(e, _)| e.object.id())
            .collect();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for e in entries.iter().filter(|e| suspects.contains(e.object.id())) {
            *seen.entry(e.object.id()).or_default() += 1;
        }
        entries
            .iter()
            .zip(misplaced)
            .map(|(e, m)| m && seen.get(e.object.id()).copied().unwrap_or(0) > 1)
            .collect()
    }

    /// Point a copy (or what a copy's folder holds) at the object whose folder holds it: its
    /// workspace, store or resource reference names the parent's catalog id, and a
    /// resource's namespace is its workspace's.
    fn point_at_parent(
        object: &mut Object,
        parent_kind: Kind,
        parent: &str,
        namespace: Option<&Id>,
    ) {
        let field = match parent_kind {
            Kind::Workspace if object.kind != Kind::Namespace => "workspace",
            k if k.is_store() => "store",
            k if k.is_resource() => "resource",
            _ => return,
        };
        object.edit_xml(|x| {
            if let Some(r) = x.get_mut(field) {
                r.set_child_text("id", parent);
            }
            if let (Some(ns), Some(r)) = (namespace, x.get_mut("namespace")) {
                r.set_child_text("id", &**ns);
            }
        });
    }

    /// Append what another walker found (its indexes shift by this walker's length).
    fn absorb(&mut self, other: Walker<'_>) {
        let base = self.entries.len();
        self.entries
            .extend(other.entries.into_iter().map(|e| Entry {
                requires: e.requires.map(|r| r + base),
                ..e
            }));
        self.problems.extend(other.problems);
    }

    fn rel(&self, p: &Path) -> PathBuf {
        p.strip_prefix(self.root).unwrap_or(p).to_path_buf()
    }

    fn problem(&mut self, p: &Path, reason: impl Into<String>) {
        let path = self.rel(p);
        self.problems.push(LoadProblem {
            path,
            reason: reason.into(),
        });
    }

    /// Read and parse one XML file; problems are recorded and `None` returned.
    fn read(&mut self, p: &Path) -> Option<Packed> {
        let bytes = match read_small(p) {
            Ok(b) => b,
            Err(e) => {
                self.problem(p, format!("cannot read: {e}"));
                return None;
            }
        };
        match meridian_xml::parse_packed(&bytes) {
            Ok(e) => Some(e),
            Err(e) => {
                self.problem(p, e.to_string());
                None
            }
        }
    }

    fn add(
        &mut self,
        kind: Kind,
        xml: Packed,
        path: &Path,
        requires: Option<usize>,
    ) -> Option<usize> {
        self.add_object(Object::from_packed(kind, xml), path, requires)
    }

    /// Record an object found at `path`; `None` when it cannot load at all (no id).
    fn add_object(&mut self, o: Object, path: &Path, requires: Option<usize>) -> Option<usize> {
        if o.id().is_empty() {
            self.problem(path, format!("{} has no <id>", o.kind.label()));
            return None;
        }
        self.entries.push(Entry {
            object: o,
            path: self.rel(path).into(),
            requires,
        });
        Some(self.entries.len() - 1)
    }

    fn load_root_files(&mut self) {
        // The security files: users, roles and access rules, as text.
        for name in security_file_names(&self.root.join("security")) {
            let name = name.as_str();
            let p = self.root.join("security").join(name);
            match fs::read(&p) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.add_object(
                        meridian_catalog::security_files::object(name, text),
                        &p,
                        None,
                    );
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => self.problem(&p, e.to_string()),
            }
        }
        // The tile cache's configuration, as text.
        for name in gwc_file_names(self.root) {
            let p = self.root.join(&name);
            match fs::read(&p) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.add_object(meridian_catalog::gwc_files::object(&name, text), &p, None);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => self.problem(&p, e.to_string()),
            }
        }
        for (file, kind) in [("global.xml", Kind::Global), ("logging.xml", Kind::Logging)] {
            let p = self.root.join(file);
            if p.is_file() {
                if let Some(x) = self.read(&p) {
                    self.add(kind, x, &p, None);
                }
            }
        }
        for svc in SERVICE_ROOTS {
            let p = self.root.join(format!("{svc}.xml"));
            if p.is_file() {
                if let Some(x) = self.read(&p) {
                    if x.root().name() == *svc {
                        self.add(Kind::Service, x, &p, None);
                    }
                }
            }
        }
    }

    fn xml_files(&mut self, dir: &Path) -> Vec<PathBuf> {
        let Ok(rd) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut v: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "xml"))
            .collect();
        v.sort();
        v
    }

    fn subdirs(dir: &Path) -> Vec<PathBuf> {
        let Ok(rd) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut v: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            // The entry's type comes with the listing; only symbolic links need a stat.
            .filter(|e| match e.file_type() {
                Ok(t) if t.is_symlink() => e.path().is_dir(),
                Ok(t) => t.is_dir(),
                Err(_) => false,
            })
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    }

    fn load_styles(&mut self, dir: &Path, ws: Option<&str>, requires: Option<usize>) {
        for p in self.xml_files(dir) {
            let Some(x) = self.read(&p) else { continue };
            if x.root().name() != "style" {
                // A style body that happens to end in .xml.
                continue;
            }
            let mut o = Object::from_packed(Kind::Style, x);
            if o.workspace() != ws {
                self.problem(&p, "style's workspace does not match its folder; ignored");
                continue;
            }
            if let Some(f) = o.style_filename() {
                // Only a plain file name next to the style is read: never a path elsewhere.
                if meridian_catalog::check_name(f).is_err() {
                    self.problem(
                        &p,
                        format!(
                            "style file name '{f}' is not a plain file name; its body is not read"
                        ),
                    );
                } else if let Ok(bytes) = fs::read(dir.join(f)) {
                    o.body = Some(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            self.add_object(o, &p, requires);
        }
    }

    fn load_groups(&mut self, dir: &Path, requires: Option<usize>) {
        for p in self.xml_files(dir) {
            let Some(x) = self.read(&p) else { continue };
            if x.root().name() == "layerGroup" {
                self.add(Kind::LayerGroup, x, &p, requires);
            } else {
                self.problem(
                    &p,
                    format!("expected <layerGroup>, found <{}>", x.root().name()),
                );
            }
        }
    }

    /// Load every workspace, each on its own walker and all of them in parallel; returns the
    /// default workspace id from `workspaces/default.xml`.
    fn load_workspaces(&mut self) -> Option<String> {
        let base = self.root.join("workspaces");
        let root = self.root;
        let parts: Vec<Walker<'_>> = Self::subdirs(&base)
            .par_iter()
            .map(|wdir| {
                let mut w = Walker::new(root);
                w.load_workspace(wdir);
                w
            })
            .collect();
        for part in parts {
            self.absorb(part);
        }
        let dfile = base.join("default.xml");
        if dfile.is_file() {
            let d = self.read(&dfile)?;
            return d.root().child_text("id").map(str::to_string);
        }
        None
    }

    fn load_workspace(&mut self, wdir: &Path) {
        let wfile = wdir.join("workspace.xml");
        if !wfile.is_file() {
            return;
        }
        let nfile = wdir.join("namespace.xml");
        let ws = self.read(&wfile);
        let ns = if nfile.is_file() {
            self.read(&nfile)
        } else {
            self.problem(wdir, "workspace has no namespace.xml; skipped");
            None
        };
        let (Some(ws), Some(ns)) = (ws, ns) else {
            return;
        };
        let ws_obj = Object::from_packed(Kind::Workspace, ws);
        let ws_id = ws_obj.id().to_string();
        let Some(ws_entry) = self.add_object(ws_obj, &wfile, None) else {
            return;
        };
        self.add(Kind::Namespace, ns, &nfile, Some(ws_entry));
        self.load_workspace_content(wdir, &ws_id, ws_entry);
    }

    fn load_workspace_content(&mut self, wdir: &Path, ws_id: &str, ws_entry: usize) {
        let within = Some(ws_entry);
        let settings = wdir.join("settings.xml");
        if settings.is_file() {
            if let Some(x) = self.read(&settings) {
                self.add(Kind::Settings, x, &settings, within);
            }
        }
        for svc in SERVICE_ROOTS {
            let p = wdir.join(format!("{svc}.xml"));
            if p.is_file() {
                if let Some(x) = self.read(&p) {
                    if x.root().name() == *svc {
                        self.add(Kind::Service, x, &p, within);
                    }
                }
            }
        }
        self.load_styles(&wdir.join("styles"), Some(ws_id), within);
        self.load_groups(&wdir.join("layergroups"), within);
        for sdir in Self::subdirs(wdir) {
            let name = sdir.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "styles" || name == "layergroups" {
                continue;
            }
            let Some((file, kind)) = STORE_FILES
                .iter()
                .map(|(f, k)| (sdir.join(f), *k))
                .find(|(f, _)| f.is_file())
            else {
                continue;
            };
            let Some(x) = self.read(&file) else { continue };
            let Some(store) = self.add(kind, x, &file, within) else {
                continue;
            };
            // Resources are most of a big catalog: read and parse them on all cores, then add
            // them in directory order so loading stays deterministic.
            let dirs = Self::subdirs(&sdir);
            let reads: Vec<ResourceRead> = dirs.par_iter().map(|d| read_resource(d)).collect();
            for read in reads {
                match read {
                    ResourceRead::Absent => {}
                    ResourceRead::Broken(path, reason) => self.problem(&path, reason),
                    ResourceRead::Ok(r) => {
                        let res = self.add(r.kind, r.resource, &r.file, Some(store));
                        if res.is_some() {
                            self.add(Kind::Layer, r.layer, &r.layer_file, res);
                        }
                    }
                }
            }
        }
    }
}

/// A resource directory read from disk: its resource and layer files, parsed.
struct Resource {
    kind: Kind,
    file: PathBuf,
    resource: Packed,
    layer_file: PathBuf,
    layer: Packed,
}

enum ResourceRead {
    /// Not a resource directory, or a resource without its layer (GeoServer skips those too).
    Absent,
    /// A file that cannot be read or parsed, with the reason.
    Broken(PathBuf, String),
    Ok(Box<Resource>),
}

/// Read a whole file with open, read and close only (`fs::read` also asks the file's size
/// first: one more system call per file, and a big catalog has hundreds of thousands).
fn read_small(p: &Path) -> io::Result<Vec<u8>> {
    read_all(fs::File::open(p)?)
}

/// Read an open file to its end.
fn read_all(mut f: fs::File) -> io::Result<Vec<u8>> {
    use std::io::Read;
    // Catalog files are small: one allocation for most. Read through `Take`, whose
    // `read_to_end` reads into the vector's spare capacity (no zeroed scratch buffer) and,
    // unlike `File`'s, asks for no size first.
    let mut buf = Vec::with_capacity(4096);
    f.by_ref().take(u64::MAX).read_to_end(&mut buf)?;
    Ok(buf)
}

fn parse_file(p: &Path, bytes: &[u8]) -> Result<Packed, ResourceRead> {
    meridian_xml::parse_packed(bytes).map_err(|e| ResourceRead::Broken(p.into(), e.to_string()))
}

fn read_resource(rdir: &Path) -> ResourceRead {
    // Files are opened relative to the directory: the kernel resolves the long path once.
    let dir = match rustix::fs::open(
        rdir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) {
        Ok(d) => d,
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => return ResourceRead::Absent,
        Err(e) => {
            return ResourceRead::Broken(
                rdir.into(),
                format!("cannot open: {}", io::Error::from(e)),
            )
        }
    };
    let read_optional = |file: &Path| -> Result<Option<Vec<u8>>, ResourceRead> {
        let name = file.file_name().unwrap_or_default();
        let opened = rustix::fs::openat(
            &dir,
            name,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        );
        let read = opened
            .map_err(io::Error::from)
            .and_then(|fd| read_all(fs::File::from(fd)));
        match read {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            // A directory of that name is not a resource file either.
            Err(_) if file.is_dir() => Ok(None),
            Err(e) => Err(ResourceRead::Broken(
                file.into(),
                format!("cannot read: {e}"),
            )),
        }
    };
    let mut found = None;
    for (f, kind) in RESOURCE_FILES {
        let file = rdir.join(f);
        match read_optional(&file) {
            Ok(Some(bytes)) => {
                found = Some((file, *kind, bytes));
                break;
            }
            Ok(None) => {}
            Err(e) => return e,
        }
    }
    let Some((file, kind, bytes)) = found else {
        return ResourceRead::Absent;
    };
    let layer_file = rdir.join("layer.xml");
    let layer_bytes = match read_optional(&layer_file) {
        Ok(Some(b)) => b,
        // GeoServer's walker does not load a resource without its layer.
        Ok(None) => return ResourceRead::Absent,
        Err(e) => return e,
    };
    let parsed = parse_file(&file, &bytes)
        .and_then(|r| parse_file(&layer_file, &layer_bytes).map(|l| (r, l)));
    match parsed {
        Ok((resource, layer)) => ResourceRead::Ok(Box::new(Resource {
            kind,
            file,
            resource,
            layer_file,
            layer,
        })),
        Err(e) => e,
    }
}

/// The security files a `security/` folder may hold: the fixed ones, and those of every
/// service and provider folder whose name can be one.
fn security_file_names(security: &Path) -> Vec<String> {
    use meridian_catalog::security_files as sf;
    let mut names: Vec<String> = sf::TOP_FILES.iter().map(|f| f.to_string()).collect();
    for (folder, files) in sf::SERVICE_FOLDERS {
        let Ok(entries) = fs::read_dir(security.join(folder)) else {
            continue;
        };
        let mut services: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| sf::is_service_name(n))
            .collect();
        services.sort();
        for s in services {
            names.extend(files.iter().map(|f| format!("{folder}/{s}/{f}")));
            // The users or roles file the service's configuration names.
            if let Some(file) =
                fs::read_to_string(security.join(folder).join(&s).join("config.xml"))
                    .ok()
                    .and_then(|t| sf::data_file_of(&t))
            {
                let name = format!("{folder}/{s}/{file}");
                if *folder != "auth" && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

/// The tile cache files a data directory may hold: the settings, GeoWebCache's
/// configuration, and every tile layer file of `gwc-layers/` whose name can be one.
fn gwc_file_names(root: &Path) -> Vec<String> {
    use meridian_catalog::gwc_files as gf;
    let mut names = vec![gf::SETTINGS.to_string(), gf::GEOWEBCACHE.to_string()];
    if let Ok(entries) = fs::read_dir(root.join(gf::LAYERS_DIR)) {
        let mut layers: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .map(|n| format!("{}/{n}", gf::LAYERS_DIR))
            })
            .filter(|n| gf::is_file(n))
            .collect();
        layers.sort();
        names.extend(layers);
    }
    names
}
