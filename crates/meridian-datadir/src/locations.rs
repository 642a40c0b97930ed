//! Where each object's file is, by id.

use meridian_catalog::Id;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// A file path relative to the data directory.
pub type RelPath = Arc<Path>;

/// Object id → file path (relative to the data directory). One ordered map: built from the
/// loaded objects at once its nodes are full (about 34 bytes an object besides the path,
/// where a hash map sized for a million objects doubles to the next power of two). Moving
/// or removing a directory (renaming or deleting a workspace or store) looks through every
/// entry, a few milliseconds per hundred thousand objects.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    by_id: BTreeMap<Id, RelPath>,
}

impl Locations {
    /// Index the locations found when loading a data directory.
    pub fn new(by_id: HashMap<Id, RelPath>) -> Self {
        Locations {
            by_id: by_id.into_iter().collect(),
        }
    }

    /// The file of an object.
    pub fn get(&self, id: &str) -> Option<&Path> {
        self.by_id.get(id).map(|p| &**p)
    }

    /// Record (or move) an object's file.
    pub fn insert(&mut self, id: Id, path: impl Into<RelPath>) {
        self.by_id.insert(id, path.into());
    }

    /// Forget an object; returns where its file was.
    pub fn remove(&mut self, id: &str) -> Option<RelPath> {
        self.by_id.remove(id)
    }

    /// Objects whose files are under `dir`.
    fn under(&self, dir: &Path) -> Vec<(RelPath, Id)> {
        self.by_id
            .iter()
            .filter(|(_, p)| p.starts_with(dir) && ***p != *dir)
            .map(|(i, p)| (p.clone(), i.clone()))
            .collect()
    }

    /// Forget every object under `dir`.
    pub fn remove_under(&mut self, dir: &Path) {
        for (_, id) in self.under(dir) {
            self.remove(&id);
        }
    }

    /// Every object under `from` now lives at the same place under `to`.
    pub fn move_dir(&mut self, from: &Path, to: &Path) {
        for (path, id) in self.under(from) {
            if let Ok(rest) = path.strip_prefix(from) {
                self.insert(id, to.join(rest));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn directories_move_and_vanish_with_only_their_own_objects() {
        let mut l = Locations::new(
            [
                ("ws", "workspaces/a/workspace.xml"),
                ("st", "workspaces/a/s/datastore.xml"),
                ("ft", "workspaces/a/s/t/featuretype.xml"),
                ("other", "workspaces/ab/workspace.xml"),
                ("deeper", "workspaces/a-b/s/datastore.xml"),
            ]
            .into_iter()
            .map(|(i, p)| (Id::from(i), RelPath::from(Path::new(p))))
            .collect(),
        );
        l.move_dir(Path::new("workspaces/a"), Path::new("workspaces/z"));
        assert_eq!(
            l.get("ft").unwrap(),
            Path::new("workspaces/z/s/t/featuretype.xml")
        );
        assert_eq!(
            l.get("other").unwrap(),
            Path::new("workspaces/ab/workspace.xml")
        );
        l.remove_under(Path::new("workspaces/z/s"));
        assert!(l.get("st").is_none() && l.get("ft").is_none());
        assert!(l.get("ws").is_some() && l.get("other").is_some() && l.get("deeper").is_some());
        assert_eq!(l.under(Path::new("workspaces")).len(), 3);
    }
}
