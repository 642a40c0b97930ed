//! Where each object's file is, by id and by path, so that moving or removing a directory
//! touches only the objects inside it.

use meridian_catalog::Id;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

/// A file path relative to the data directory, shared by both indexes.
pub type RelPath = Arc<Path>;

/// A path ordered by its bytes, so that everything under `dir/` is one contiguous range
/// (comparing component by component gives the same ranges but costs several times more).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ByBytes(RelPath);

impl ByBytes {
    fn bytes(&self) -> &[u8] {
        self.0.as_os_str().as_encoded_bytes()
    }
}

impl Ord for ByBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes().cmp(other.bytes())
    }
}

impl PartialOrd for ByBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Object id ↔ file path (relative to the data directory). Two ordered maps sharing each
/// path's allocation; built from the loaded objects at once, their nodes are full (about 34
/// bytes an entry each, where a hash map sized for a million objects doubles to the next
/// power of two).
#[derive(Debug, Clone, Default)]
pub struct Locations {
    by_id: BTreeMap<Id, RelPath>,
    by_path: BTreeMap<ByBytes, Id>,
}

impl Locations {
    /// Index the locations found when loading a data directory.
    pub fn new(found: HashMap<Id, RelPath>) -> Self {
        let by_path = found
            .iter()
            .map(|(i, p)| (ByBytes(p.clone()), i.clone()))
            .collect();
        Locations {
            by_id: found.into_iter().collect(),
            by_path,
        }
    }

    /// The file of an object.
    pub fn get(&self, id: &str) -> Option<&Path> {
        self.by_id.get(id).map(|p| &**p)
    }

    /// Record (or move) an object's file.
    pub fn insert(&mut self, id: Id, path: impl Into<RelPath>) {
        let path = path.into();
        if let Some(old) = self.by_id.insert(id.clone(), path.clone()) {
            let old = ByBytes(old);
            if self.by_path.get(&old) == Some(&id) {
                self.by_path.remove(&old);
            }
        }
        self.by_path.insert(ByBytes(path), id);
    }

    /// Forget an object; returns where its file was.
    pub fn remove(&mut self, id: &str) -> Option<RelPath> {
        let old = ByBytes(self.by_id.remove(id)?);
        if self.by_path.get(&old).map(|i| &**i) == Some(id) {
            self.by_path.remove(&old);
        }
        Some(old.0)
    }

    /// Objects whose files are under `dir`.
    fn under(&self, dir: &Path) -> Vec<(RelPath, Id)> {
        // `dir/`: the trailing separator keeps `a-b/` and `ab/` out of the range of `a/`.
        let prefix = ByBytes(dir.join("").into());
        self.by_path
            .range((Bound::Included(&prefix), Bound::Unbounded))
            .take_while(|(p, _)| p.bytes().starts_with(prefix.bytes()))
            .map(|(p, i)| (p.0.clone(), i.clone()))
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
