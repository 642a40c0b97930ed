//! GeoPackage connections kept open between requests, per file, with what was read of the
//! file's tables. Opening a GeoPackage reads its schema; doing that for every request bound
//! the GeoPackage rows of the MapServer benchmark (about ten times slower than shapefiles).
//!
//! A file is known by its path, size, modification time and inode: a file replaced or
//! rewritten (a new upload) is another file, and its old connections and facts are dropped.

use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// Idle connections kept per file.
const IDLE_PER_FILE: usize = 4;
/// Files kept open at most (the least recently opened one goes first).
const FILES: usize = 64;

/// A file as it is now.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FileKey {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl FileKey {
    fn of(p: &Path) -> std::io::Result<FileKey> {
        let m = std::fs::metadata(p)?;
        Ok(FileKey {
            path: p.to_path_buf(),
            len: m.len(),
            modified: m.modified().ok(),
            inode: m.ino(),
        })
    }
}

/// What is kept for one file.
#[derive(Default)]
struct File {
    idle: Vec<Connection>,
    /// Facts read from the file, by name (a table's key columns, its schema), as the
    /// callers put them.
    facts: HashMap<String, Fact>,
    /// When the file was last opened through the pool, for eviction.
    used: u64,
}

/// A fact about a file's table, kept while the file is unchanged.
#[derive(Clone, Debug)]
pub(crate) enum Fact {
    /// The geometry column, the primary key and whether the R-tree exists.
    Table(String, Option<String>, bool),
    /// The table's schema.
    Schema(Box<meridian_sources::Schema>),
}

#[derive(Default)]
struct Pool {
    files: HashMap<FileKey, File>,
    clock: u64,
}

fn pool() -> &'static Mutex<Pool> {
    static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
    POOL.get_or_init(Mutex::default)
}

fn locked() -> std::sync::MutexGuard<'static, Pool> {
    match pool().lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Pool {
    /// The entry of `key`, made when new: entries of the same path with another state go,
    /// and the least recently used one when too many files are kept.
    fn file(&mut self, key: &FileKey) -> &mut File {
        self.clock += 1;
        if !self.files.contains_key(key) {
            self.files.retain(|k, _| k.path != key.path);
            if self.files.len() >= FILES {
                if let Some(oldest) = self
                    .files
                    .iter()
                    .min_by_key(|(_, f)| f.used)
                    .map(|(k, _)| k.clone())
                {
                    self.files.remove(&oldest);
                }
            }
        }
        let clock = self.clock;
        let f = self.files.entry(key.clone()).or_default();
        f.used = clock;
        f
    }
}

/// What is known about one state of a file: read with [`Facts::recall`], added with
/// [`Facts::remember`] (kept while the file is unchanged).
pub(crate) struct Facts {
    key: FileKey,
}

impl Facts {
    /// What is known about the file at `p` as it is now.
    pub(crate) fn of(p: &Path) -> std::io::Result<Facts> {
        Ok(Facts {
            key: FileKey::of(p)?,
        })
    }

    /// A fact recorded by [`Facts::remember`] for this state of the file.
    pub(crate) fn recall(&self, name: &str) -> Option<Fact> {
        locked().files.get(&self.key)?.facts.get(name).cloned()
    }

    /// Record a fact about this state of the file.
    pub(crate) fn remember(&self, name: &str, fact: Fact) {
        locked()
            .file(&self.key)
            .facts
            .insert(name.to_string(), fact);
    }
}

/// Run `f` on a read-only connection to the GeoPackage at `p` (an idle one when there is
/// one; it goes back afterwards), with what is known about the file as it is now. The error
/// is the reason the file cannot be opened.
pub(crate) fn with_connection<R>(
    p: &Path,
    f: impl FnOnce(&Connection, &Facts) -> R,
) -> Result<R, String> {
    let facts = Facts {
        key: FileKey::of(p).map_err(|e| e.to_string())?,
    };
    let idle = locked().file(&facts.key).idle.pop();
    let c = match idle {
        Some(c) => c,
        None => Connection::open_with_flags(
            p,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| e.to_string())?,
    };
    let r = f(&c, &facts);
    let mut pool = locked();
    // Back only while the file is unchanged and kept.
    if let Some(file) = pool.files.get_mut(&facts.key) {
        if file.idle.len() < IDLE_PER_FILE {
            file.idle.push(c);
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_rewritten_file_is_opened_again_and_its_facts_are_forgotten() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.gpkg");
        let make = |v: i64| {
            let _ = std::fs::remove_file(&p);
            let c = Connection::open(&p).unwrap();
            c.execute_batch(&format!("CREATE TABLE t(v); INSERT INTO t VALUES ({v});"))
                .unwrap();
        };
        make(1);
        let read = || {
            with_connection(&p, |c, _| {
                c.query_row("SELECT v FROM t", [], |r| r.get::<_, i64>(0))
            })
            .unwrap()
            .unwrap()
        };
        let recall = || with_connection(&p, |_, facts| facts.recall("t")).unwrap();
        assert_eq!(read(), 1);
        assert_eq!(read(), 1, "from the idle connection");
        with_connection(&p, |_, facts| {
            facts.remember("t", Fact::Table("g".into(), None, false))
        })
        .unwrap();
        assert!(recall().is_some());
        make(2);
        assert!(recall().is_none(), "a new file has no facts");
        assert_eq!(read(), 2);
        assert!(with_connection(&d.path().join("missing.gpkg"), |_, _| ()).is_err());
    }
}
