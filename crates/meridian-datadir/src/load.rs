//! Reading a data directory into a catalog, as GeoServer's `DataDirectoryWalker` does.

use crate::layout::{RESOURCE_FILES, STORE_FILES};
use crate::DataDirError;
use meridian_catalog::{Catalog, Kind, Object, SERVICE_ROOTS};
use meridian_xml::Element;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

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
    pub locations: HashMap<String, PathBuf>,
    /// Files that were skipped, and dangling references.
    pub problems: Vec<LoadProblem>,
}

struct Walker<'a> {
    root: &'a Path,
    objects: Vec<Object>,
    locations: HashMap<String, PathBuf>,
    problems: Vec<LoadProblem>,
}

/// Load a data directory. Only a missing or unreadable root is an error; each file that fails
/// to parse is reported in [`Loaded::problems`] with its path and reason and skipped.
pub fn load(root: &Path) -> Result<Loaded, DataDirError> {
    if !root.is_dir() {
        return Err(DataDirError::NotADirectory(root.display().to_string()));
    }
    let mut w = Walker {
        root,
        objects: Vec::new(),
        locations: HashMap::new(),
        problems: Vec::new(),
    };
    w.load_root_files();
    w.load_styles(&root.join("styles"), None);
    w.load_groups(&root.join("layergroups"));
    let default_ws = w.load_workspaces();
    let mut catalog = Catalog::from_loaded(w.objects, default_ws);
    catalog.default_to_first_workspace();
    for (from, to) in catalog.dangling_references() {
        let path = w.locations.get(&from).cloned().unwrap_or_default();
        w.problems.push(LoadProblem {
            path,
            reason: format!("reference to missing object {to}"),
        });
    }
    Ok(Loaded {
        catalog,
        locations: w.locations,
        problems: w.problems,
    })
}

impl Walker<'_> {
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
    fn read(&mut self, p: &Path) -> Option<Element> {
        let bytes = match fs::read(p) {
            Ok(b) => b,
            Err(e) => {
                self.problem(p, format!("cannot read: {e}"));
                return None;
            }
        };
        match meridian_xml::parse_bytes(&bytes) {
            Ok(e) => Some(e),
            Err(e) => {
                self.problem(p, e.to_string());
                None
            }
        }
    }

    fn add(&mut self, kind: Kind, xml: Element, path: &Path) -> bool {
        self.add_object(Object::new(kind, xml), path)
    }

    fn add_object(&mut self, o: Object, path: &Path) -> bool {
        let id = o.id().to_string();
        if id.is_empty() {
            self.problem(path, format!("{} has no <id>", o.kind.label()));
            return false;
        }
        if self.locations.contains_key(&id) {
            self.problem(path, format!("duplicate id {id}; skipped"));
            return false;
        }
        self.locations.insert(id, self.rel(path));
        self.objects.push(o);
        true
    }

    fn load_root_files(&mut self) {
        for (file, kind) in [("global.xml", Kind::Global), ("logging.xml", Kind::Logging)] {
            let p = self.root.join(file);
            if p.is_file() {
                if let Some(x) = self.read(&p) {
                    self.add(kind, x, &p);
                }
            }
        }
        for svc in SERVICE_ROOTS {
            let p = self.root.join(format!("{svc}.xml"));
            if p.is_file() {
                if let Some(x) = self.read(&p) {
                    if x.name == *svc {
                        self.add(Kind::Service, x, &p);
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

    fn load_styles(&mut self, dir: &Path, ws: Option<&str>) {
        for p in self.xml_files(dir) {
            let Some(x) = self.read(&p) else { continue };
            if x.name != "style" {
                // A style body that happens to end in .xml.
                continue;
            }
            let mut o = Object::new(Kind::Style, x);
            if o.workspace() != ws {
                self.problem(&p, "style's workspace does not match its folder; ignored");
                continue;
            }
            if let Some(f) = o.style_filename() {
                let body = dir.join(f);
                if let Ok(bytes) = fs::read(&body) {
                    o.body = Some(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            self.add_object(o, &p);
        }
    }

    fn load_groups(&mut self, dir: &Path) {
        for p in self.xml_files(dir) {
            let Some(x) = self.read(&p) else { continue };
            if x.name == "layerGroup" {
                self.add(Kind::LayerGroup, x, &p);
            } else {
                self.problem(&p, format!("expected <layerGroup>, found <{}>", x.name));
            }
        }
    }

    /// Load every workspace; returns the default workspace id from `workspaces/default.xml`.
    fn load_workspaces(&mut self) -> Option<String> {
        let base = self.root.join("workspaces");
        for wdir in Self::subdirs(&base) {
            let wfile = wdir.join("workspace.xml");
            if !wfile.is_file() {
                continue;
            }
            let nfile = wdir.join("namespace.xml");
            let ws = self.read(&wfile);
            let ns = if nfile.is_file() {
                self.read(&nfile)
            } else {
                self.problem(&wdir, "workspace has no namespace.xml; skipped");
                None
            };
            let (Some(ws), Some(ns)) = (ws, ns) else {
                continue;
            };
            let ws_obj = Object::new(Kind::Workspace, ws);
            let ws_id = ws_obj.id().to_string();
            if !self.add_object(ws_obj, &wfile) {
                continue;
            }
            self.add(Kind::Namespace, ns, &nfile);
            self.load_workspace_content(&wdir, &ws_id);
        }
        let dfile = base.join("default.xml");
        if dfile.is_file() {
            let d = self.read(&dfile)?;
            return d.child_text("id").map(str::to_string);
        }
        None
    }

    fn load_workspace_content(&mut self, wdir: &Path, ws_id: &str) {
        let settings = wdir.join("settings.xml");
        if settings.is_file() {
            if let Some(x) = self.read(&settings) {
                self.add(Kind::Settings, x, &settings);
            }
        }
        for svc in SERVICE_ROOTS {
            let p = wdir.join(format!("{svc}.xml"));
            if p.is_file() {
                if let Some(x) = self.read(&p) {
                    if x.name == *svc {
                        self.add(Kind::Service, x, &p);
                    }
                }
            }
        }
        self.load_styles(&wdir.join("styles"), Some(ws_id));
        self.load_groups(&wdir.join("layergroups"));
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
            if !self.add(kind, x, &file) {
                continue;
            }
            // Resources are most of a big catalog: read and parse them on all cores, then add
            // them in directory order so loading stays deterministic.
            for read in read_resources(&Self::subdirs(&sdir)) {
                match read {
                    ResourceRead::Absent => {}
                    ResourceRead::Broken(path, reason) => self.problem(&path, reason),
                    ResourceRead::Ok(r) => {
                        if self.add(r.kind, r.resource, &r.file) {
                            self.add(Kind::Layer, r.layer, &r.layer_file);
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
    resource: Element,
    layer_file: PathBuf,
    layer: Element,
}

enum ResourceRead {
    /// Not a resource directory, or a resource without its layer (GeoServer skips those too).
    Absent,
    /// A file that cannot be read or parsed, with the reason.
    Broken(PathBuf, String),
    Ok(Box<Resource>),
}

/// Read a file that may be missing: `Ok(None)` when it does not exist (no separate stat, as
/// big catalogs have hundreds of thousands of these files).
fn read_optional(p: &Path) -> Result<Option<Vec<u8>>, ResourceRead> {
    match fs::read(p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // A directory of that name is not a resource file either.
        Err(_) if p.is_dir() => Ok(None),
        Err(e) => Err(ResourceRead::Broken(p.into(), format!("cannot read: {e}"))),
    }
}

fn parse_file(p: &Path, bytes: &[u8]) -> Result<Element, ResourceRead> {
    meridian_xml::parse_bytes(bytes).map_err(|e| ResourceRead::Broken(p.into(), e.to_string()))
}

fn read_resource(rdir: &Path) -> ResourceRead {
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

/// Read resource directories on all available cores; results come back in input order.
fn read_resources(dirs: &[PathBuf]) -> Vec<ResourceRead> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(dirs.len().div_ceil(8))
        .max(1);
    if threads == 1 {
        return dirs.iter().map(|d| read_resource(d)).collect();
    }
    let chunk = dirs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|d| read_resource(d)).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(dirs.len());
        for (h, part) in handles.into_iter().zip(dirs.chunks(chunk)) {
            match h.join() {
                Ok(v) => out.extend(v),
                // A reader thread cannot panic on input (errors are values); if it did, the
                // directories are read again here rather than lost.
                Err(_) => out.extend(part.iter().map(|d| read_resource(d))),
            }
        }
        out
    })
}
