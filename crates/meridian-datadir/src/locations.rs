//! Where each object's file is, by id and by path, so that moving or removing a directory
//! touches only the objects inside it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Object id ↔ file path (relative to the data directory).
#[derive(Debug, Clone, Default)]
pub struct Locations {
    by_id: HashMap<String, PathBuf>,
    by_path: BTreeMap<PathBuf, String>,
}

impl Locations {
    /// Index the locations found when loading a data directory.
    pub fn new(by_id: HashMap<String, PathBuf>) -> Self {
        let by_path = by_id.iter().map(|(i, p)| (p.clone(), i.clone())).collect();
        Locations { by_id, by_path }
    }

    /// The file of an object.
    pub fn get(&self, id: &str) -> Option<&PathBuf> {
        self.by_id.get(id)
    }

    /// Record (or move) an object's file.
    pub fn insert(&mut self, id: String, path: PathBuf) {
        if let Some(old) = self.by_id.insert(id.clone(), path.clone()) {
            if self.by_path.get(&old) == Some(&id) {
                self.by_path.remove(&old);
            }
        }
        self.by_path.insert(path, id);
    }

    /// Forget an object; returns where its file was.
    pub fn remove(&mut self, id: &str) -> Option<PathBuf> {
        let old = self.by_id.remove(id)?;
        if self.by_path.get(&old).map(String::as_str) == Some(id) {
            self.by_path.remove(&old);
        }
        Some(old)
    }

    /// Objects whose files are under `dir` (paths order by component, so they are adjacent).
    fn under(&self, dir: &Path) -> Vec<(PathBuf, String)> {
        self.by_path
            .range(dir.to_path_buf()..)
            .take_while(|(p, _)| p.starts_with(dir))
            .map(|(p, i)| (p.clone(), i.clone()))
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
            .map(|(i, p)| (i.to_string(), PathBuf::from(p)))
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
