//! Writing applied changes to the data directory, one object file at a time.

use crate::atomic::{remove_file, sync_dir, sync_filesystem, write_replacing, write_with_mode};
use crate::layout::{resource_file_name, store_file_name, style_file_name};
use crate::locations::Locations;
use meridian_catalog::{Catalog, Effect, Kind, Object, PersistError};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A data directory as the persister of a catalog. It remembers where each object's file is,
/// because directory names are not identities (a store may live in a folder of another name).
#[derive(Clone)]
pub struct DataDir {
    root: PathBuf,
    locations: Locations,
    /// fsync each file as it is written (a stand-alone data directory); false when a journal
    /// holds the changes and the owner calls [`DataDir::sync`] at checkpoints.
    durable_each: bool,
    /// Deferred mode: global.xml as last written, and a newer state that differs from it only
    /// by `updateSequence` (written at the next [`DataDir::sync`] instead of on every batch).
    global_written: Option<Arc<Object>>,
    global_pending: Option<Arc<Object>>,
}

/// Whether two global settings objects differ only by their update sequence.
fn same_but_sequence(a: &Object, b: &Object) -> bool {
    a.same_but_update_sequence(b)
}

impl DataDir {
    /// A persister over `root` with the locations found when loading it.
    pub fn new(root: PathBuf, locations: Locations) -> Self {
        DataDir {
            root,
            locations,
            durable_each: true,
            global_written: None,
            global_pending: None,
        }
    }

    /// Leave fsyncs to [`DataDir::sync`]: files are still replaced atomically (a killed
    /// process never leaves a half-written file), but only a checkpoint makes them durable
    /// against power loss. For persisters that journal every change first.
    pub fn defer_sync(mut self) -> Self {
        self.durable_each = false;
        self
    }

    /// Make everything written so far durable (one syncfs of the data directory's filesystem),
    /// writing a deferred update sequence first.
    pub fn sync(&mut self) -> Result<(), PersistError> {
        if let Some(g) = self.global_pending.take() {
            self.write_global(&g)?;
        }
        sync_filesystem(&self.root).map_err(|e| PersistError::io(&self.root, e))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.durable_each {
            sync_dir(dir)
        } else {
            Ok(())
        }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of an object, relative to the root, if known.
    pub fn location(&self, id: &str) -> Option<&Path> {
        self.locations.get(id)
    }

    /// The absolute path of `rel`, refused unless it is made of plain names only (no root,
    /// no `..`, no `.`): whatever asked for it, nothing is written or removed outside the data
    /// directory.
    fn inside(&self, rel: &Path) -> Result<PathBuf, PersistError> {
        let plain = rel.components().next().is_some()
            && rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if plain {
            Ok(self.root.join(rel))
        } else {
            Err(PersistError::Refused(format!(
                "'{}' is not a path inside the data directory",
                rel.display()
            )))
        }
    }

    /// The path of a style's body file `file` next to its configuration file `cfg_rel`:
    /// `file` must be a plain file name.
    fn style_body_path(&self, cfg_rel: &Path, file: &str) -> Result<PathBuf, PersistError> {
        let name = Path::new(file);
        if name.components().count() != 1 || file.contains(['/', '\\']) {
            return Err(PersistError::Refused(format!(
                "style file name '{file}' is not a plain file name"
            )));
        }
        self.inside(&cfg_rel.with_file_name(name))
    }

    fn dir_of(&self, id: &str) -> Option<PathBuf> {
        self.locations.get(id)?.parent().map(Path::to_path_buf)
    }

    /// Where a new object goes, following GeoServer's layout (the catalog is read only to
    /// find a namespace's workspace, and a workspace that has no location yet).
    fn new_location(&self, cat: &Catalog, o: &Object) -> Result<PathBuf, PersistError> {
        let refused = |m: String| PersistError::Refused(m);
        let ws_dir = |id: Option<&str>| -> Result<PathBuf, PersistError> {
            let id = id.ok_or_else(|| refused("object has no workspace".into()))?;
            if let Some(d) = self.dir_of(id) {
                return Ok(d);
            }
            let ws = cat
                .get(id)
                .ok_or_else(|| refused("workspace not found".into()))?;
            Ok(Path::new("workspaces").join(ws.name()))
        };
        let parent_dir = |id: Option<&str>, what: &str| -> Result<PathBuf, PersistError> {
            let id = id.ok_or_else(|| refused(format!("object has no {what}")))?;
            self.dir_of(id)
                .ok_or_else(|| refused(format!("the {what} {id} has no location on disk")))
        };
        Ok(match o.kind {
            Kind::Global => PathBuf::from("global.xml"),
            Kind::Logging => PathBuf::from("logging.xml"),
            Kind::Security => {
                // Only GeoServer's own security files (validation names them).
                if !meridian_catalog::security_files::is_file(o.name()) {
                    return Err(refused(format!("'{}' is not a security file", o.name())));
                }
                Path::new("security").join(o.name())
            }
            Kind::TileCache => {
                // Only the tile cache's own files (validation names them).
                if !meridian_catalog::gwc_files::is_file(o.name()) {
                    return Err(refused(format!("'{}' is not a tile cache file", o.name())));
                }
                PathBuf::from(o.name())
            }
            Kind::Workspace => Path::new("workspaces").join(o.name()).join("workspace.xml"),
            Kind::Namespace => {
                let dir = match cat.workspace_of_namespace(o) {
                    Some(ws) => ws_dir(Some(ws.id()))?,
                    None => Path::new("workspaces").join(o.name()),
                };
                dir.join("namespace.xml")
            }
            k if k.is_store() => ws_dir(o.workspace())?
                .join(o.name())
                .join(store_file_name(k)),
            k if k.is_resource() => parent_dir(o.ref_id("store"), "store")?
                .join(o.name())
                .join(resource_file_name(k)),
            Kind::Layer => parent_dir(o.ref_id("resource"), "resource")?.join("layer.xml"),
            Kind::Style => {
                let dir = match o.workspace() {
                    Some(w) => ws_dir(Some(w))?.join("styles"),
                    None => PathBuf::from("styles"),
                };
                dir.join(style_file_name(o.name(), o.style_filename()))
            }
            Kind::LayerGroup => {
                let dir = match o.workspace() {
                    Some(w) => ws_dir(Some(w))?.join("layergroups"),
                    None => PathBuf::from("layergroups"),
                };
                dir.join(format!("{}.xml", o.name()))
            }
            Kind::Settings => ws_dir(o.workspace())?.join("settings.xml"),
            Kind::Service => {
                let file = format!("{}.xml", o.xml().name());
                match o.workspace() {
                    Some(w) => ws_dir(Some(w))?.join(file),
                    None => PathBuf::from(file),
                }
            }
            _ => return Err(refused(format!("no layout for {}", o.kind.label()))),
        })
    }

    fn save(
        &mut self,
        cat: &Catalog,
        o: &Object,
        previous: Option<&Object>,
    ) -> Result<(), PersistError> {
        let id = o.shared_id().clone();
        let moved = moves(o, previous);
        let target = match (self.locations.get(&id).map(Path::to_path_buf), moved) {
            (Some(loc), false) => loc,
            (current, _) => {
                let new = self.new_location(cat, o)?;
                if let Some(old) = current {
                    if old != new {
                        self.relocate(o.kind, &old, &new)?;
                    }
                }
                new
            }
        };
        let abs = self.inside(&target)?;
        if o.kind == Kind::TileCache {
            // The file is the text itself.
            if let Some(p) = abs.parent() {
                fs::create_dir_all(p).map_err(|e| PersistError::io(p, e))?;
            }
            let text = o.body.as_deref().unwrap_or("");
            write_with_mode(&abs, text.as_bytes(), self.durable_each, 0o644)
                .map_err(|e| PersistError::io(&abs, e))?;
            self.locations.insert(id, target);
            return Ok(());
        }
        if o.kind == Kind::Security {
            // The file is the text itself, the node's user's only (users hold digests).
            if let Some(p) = abs.parent() {
                fs::create_dir_all(p).map_err(|e| PersistError::io(p, e))?;
            }
            let text = o.body.as_deref().unwrap_or("");
            write_with_mode(&abs, text.as_bytes(), self.durable_each, 0o600)
                .map_err(|e| PersistError::io(&abs, e))?;
            self.locations.insert(id, target);
            return Ok(());
        }
        if o.kind == Kind::Style {
            self.save_style_body(o, previous, &target)?;
        }
        // A store's file holds its connection parameters (passwords): the node's user only.
        let mode = if o.kind.is_store() { 0o600 } else { 0o666 };
        write_with_mode(&abs, o.xml().to_xml().as_bytes(), self.durable_each, mode)
            .map_err(|e| PersistError::io(&abs, e))?;
        self.locations.insert(id, target);
        Ok(())
    }

    fn save_style_body(
        &self,
        o: &Object,
        previous: Option<&Object>,
        cfg_rel: &Path,
    ) -> Result<(), PersistError> {
        let (Some(body), Some(file)) = (&o.body, o.style_filename()) else {
            return Ok(());
        };
        let unchanged = previous.is_some_and(|p| {
            p.body.as_ref() == Some(body)
                && p.style_filename() == Some(file)
                && p.workspace() == o.workspace()
        });
        let path = self.style_body_path(cfg_rel, file)?;
        if unchanged && path.exists() {
            return Ok(());
        }
        write_replacing(&path, body.as_bytes(), self.durable_each)
            .map_err(|e| PersistError::io(&path, e))?;
        if let Some(old) = previous.and_then(Object::style_filename) {
            if let Some(old_cfg) = self.locations.get(o.id()) {
                let old_path = self.style_body_path(old_cfg, old)?;
                if old_path != path {
                    remove_file(&old_path, self.durable_each)
                        .map_err(|e| PersistError::io(&old_path, e))?;
                }
            }
        }
        Ok(())
    }

    /// Move an object to its new place after a rename. Workspaces, stores and resources own a
    /// directory, which moves with everything in it; other objects are single files.
    fn relocate(&mut self, kind: Kind, old: &Path, new: &Path) -> Result<(), PersistError> {
        let owns_dir = matches!(kind, Kind::Workspace) || kind.is_store() || kind.is_resource();
        let (from, to) = if owns_dir {
            match (old.parent(), new.parent()) {
                (Some(a), Some(b)) => (a.to_path_buf(), b.to_path_buf()),
                _ => return Ok(()),
            }
        } else {
            (old.to_path_buf(), new.to_path_buf())
        };
        let (abs_from, abs_to) = (self.inside(&from)?, self.inside(&to)?);
        if abs_to.exists() && owns_dir {
            return Err(PersistError::io(
                &abs_to,
                io::Error::new(io::ErrorKind::AlreadyExists, "already exists"),
            ));
        }
        if let Some(p) = abs_to.parent() {
            fs::create_dir_all(p).map_err(|e| PersistError::io(p, e))?;
        }
        if abs_from.exists() {
            fs::rename(&abs_from, &abs_to).map_err(|e| PersistError::io(&abs_to, e))?;
            if let Some(p) = abs_from.parent() {
                self.sync_dir(p).map_err(|e| PersistError::io(p, e))?;
            }
        }
        if owns_dir {
            self.locations.move_dir(&from, &to);
        }
        Ok(())
    }

    fn remove(&mut self, o: &Object) -> Result<(), PersistError> {
        let Some(loc) = self.locations.remove(o.id()) else {
            return Ok(());
        };
        let abs = self.inside(&loc)?;
        let owns_dir = o.kind == Kind::Workspace || o.kind.is_store() || o.kind.is_resource();
        if o.kind == Kind::Style {
            // A body file that is not a plain name next to the style is never touched.
            if let Some(body) = o
                .style_filename()
                .and_then(|f| self.style_body_path(&loc, f).ok())
            {
                remove_file(&body, self.durable_each).map_err(|e| PersistError::io(&body, e))?;
            }
        }
        let result = if owns_dir {
            match abs.parent() {
                Some(dir) if dir.exists() => fs::remove_dir_all(dir)
                    .and_then(|_| dir.parent().map(|p| self.sync_dir(p)).unwrap_or(Ok(()))),
                _ => Ok(()),
            }
        } else {
            remove_file(&abs, self.durable_each)
        };
        result.map_err(|e| PersistError::io(&abs, e))?;
        if owns_dir {
            if let Some(dir) = loc.parent() {
                self.locations.remove_under(dir);
            }
        }
        Ok(())
    }

    fn write_global(&mut self, g: &Arc<Object>) -> Result<(), PersistError> {
        let rel = self
            .locations
            .get(g.id())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("global.xml"));
        let abs = self.inside(&rel)?;
        write_replacing(&abs, g.xml().to_xml().as_bytes(), self.durable_each)
            .map_err(|e| PersistError::io(&abs, e))?;
        self.locations.insert(g.shared_id().clone(), rel);
        self.global_written = Some(g.clone());
        Ok(())
    }

    fn save_default(&self, cat: &Catalog) -> Result<(), PersistError> {
        let path = self.root.join("workspaces").join("default.xml");
        let r = match cat.default_workspace() {
            Some(ws) => write_replacing(&path, ws.xml().to_xml().as_bytes(), self.durable_each),
            None => remove_file(&path, self.durable_each),
        };
        r.map_err(|e| PersistError::io(&path, e))
    }
}

impl DataDir {
    /// Write the files an applied batch touched.
    pub fn write_effects(
        &mut self,
        after: &Catalog,
        effects: &[Effect],
    ) -> Result<(), PersistError> {
        for e in effects {
            let r = match e {
                Effect::Saved { object, .. } if object.kind == Kind::Global => {
                    // Every batch bumps the update sequence; a journaling node writes that alone
                    // at checkpoints (the journal's redo bumps it again after a crash).
                    let only_sequence = !self.durable_each
                        && self
                            .global_written
                            .as_deref()
                            .is_some_and(|w| same_but_sequence(w, object));
                    if only_sequence {
                        self.global_pending = Some(object.clone());
                        Ok(())
                    } else {
                        self.global_pending = None;
                        self.write_global(object)
                    }
                }
                Effect::Saved { object, previous } => self.save(after, object, previous.as_deref()),
                Effect::Removed { object } => self.remove(object),
                Effect::DefaultWorkspace { .. } => Ok(()),
            };
            r?;
        }
        let default_changed = effects.iter().any(|e| {
            matches!(e, Effect::DefaultWorkspace { .. })
                || matches!(e, Effect::Saved { object, .. } if object.kind == Kind::Workspace && after.default_workspace().is_some_and(|d| d.id() == object.id()))
        });
        if default_changed {
            self.save_default(after)?;
        }
        Ok(())
    }
}

/// Whether saving `o` over `previous` moves its file: a new name, workspace or store.
fn moves(o: &Object, previous: Option<&Object>) -> bool {
    previous.is_some_and(|p| {
        p.name() != o.name()
            || p.workspace() != o.workspace()
            || p.ref_id("store") != o.ref_id("store")
    })
}

/// Whether these effects neither remove nor move a file. The files of such batches land in
/// the same places when written with any later state of the catalog that also came about
/// without removals or moves, so batches written behind can share one catalog state.
pub fn moves_no_file(effects: &[Effect]) -> bool {
    effects.iter().all(|e| match e {
        Effect::Saved { object, previous } => !moves(object, previous.as_deref()),
        Effect::Removed { .. } => false,
        Effect::DefaultWorkspace { .. } => true,
    })
}
