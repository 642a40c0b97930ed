//! The tile cache on disk: one file a tile under
//! `<root>/<layer id>/<gridset>/<style>/<format>/<z>/<x>/<y>.<ext>`, written beside and
//! renamed into place after its bytes are on disk (a crash never leaves a torn tile where a
//! reader finds it), read back whole. Truncating a layer moves its folder aside at once and
//! deletes it in the background. A disk quota evicts the tiles least recently used (a hit
//! refreshes a tile's time at most once a minute).

use crate::CacheError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Where a tile sits in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// The published layer's (or group's) id: stable across renames.
    pub layer: String,
    /// The gridset's name.
    pub gridset: String,
    /// The style (`""`: the layer's default).
    pub style: String,
    /// The file extension of the format (`png`, `jpeg`, `png8`, `pbf`).
    pub ext: &'static str,
    /// Zoom level.
    pub z: u32,
    /// Column, from the gridset's left.
    pub x: u64,
    /// Row, from the gridset's bottom (GeoWebCache's internal order).
    pub y: u64,
}

/// A folder name for any text: letters, digits, `_`, `-` and `.` kept, anything else as
/// `_xx` (its bytes in hex), never `.`/`..`.
fn folder(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

/// The disk cache of one node (or one shared by several).
#[derive(Debug)]
pub struct DiskCache {
    root: PathBuf,
    /// Most bytes the tiles may take (0: no limit).
    quota: AtomicU64,
    /// Bytes written since the last count (an estimate between evictions).
    used: AtomicU64,
    /// Whether an eviction pass is running.
    evicting: std::sync::atomic::AtomicBool,
}

/// How often a hit refreshes a tile's time (its place in the least-recently-used order).
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl DiskCache {
    /// A cache under `root` (made when missing), with an optional quota in bytes.
    pub fn open(root: &Path, quota: Option<u64>) -> Result<DiskCache, CacheError> {
        std::fs::create_dir_all(root).map_err(|e| CacheError::io(root, e))?;
        let cache = DiskCache {
            root: root.to_path_buf(),
            quota: AtomicU64::new(0),
            used: AtomicU64::new(0),
            evicting: Default::default(),
        };
        cache.set_quota(quota);
        Ok(cache)
    }

    /// Change the quota (`None`: no limit); a smaller one evicts at once.
    pub fn set_quota(&self, quota: Option<u64>) {
        let q = quota.unwrap_or(0);
        if self.quota.swap(q, Ordering::Relaxed) == q {
            return;
        }
        if q > 0 {
            self.used.store(self.usage(), Ordering::Relaxed);
            if self.used.load(Ordering::Relaxed) > q {
                self.evict();
            }
        }
    }

    fn quota(&self) -> Option<u64> {
        Some(self.quota.load(Ordering::Relaxed)).filter(|q| *q > 0)
    }

    /// The cache's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn layer_dir(&self, layer: &str) -> PathBuf {
        self.root.join(folder(layer))
    }

    /// The file of a tile.
    pub fn path(&self, k: &TileKey) -> PathBuf {
        let style = if k.style.is_empty() {
            "_default".to_string()
        } else {
            folder(&k.style)
        };
        self.layer_dir(&k.layer)
            .join(folder(&k.gridset))
            .join(style)
            .join(k.ext)
            .join(k.z.to_string())
            .join(k.x.to_string())
            .join(format!("{}.{}", k.y, k.ext))
    }

    /// The tile's bytes and when they were written, if cached.
    pub fn get(&self, k: &TileKey) -> Option<(Vec<u8>, SystemTime)> {
        self.get_at(&self.path(k))
    }

    /// The bytes of the tile whose file is `p` ([`DiskCache::path`]) and when they were
    /// written, if cached.
    pub fn get_at(&self, p: &Path) -> Option<(Vec<u8>, SystemTime)> {
        let f = std::fs::File::open(p).ok()?;
        let meta = f.metadata().ok()?;
        let modified = meta.modified().ok()?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut &f, &mut bytes).ok()?;
        if self.quota().is_some()
            && SystemTime::now()
                .duration_since(modified)
                .is_ok_and(|age| age > TOUCH_EVERY)
        {
            // A hit keeps the tile from eviction (the file's time is its last use).
            let _ = f.set_modified(SystemTime::now());
        }
        Some((bytes, modified))
    }

    /// Store a tile: written beside, synced, then renamed into place.
    pub fn put(&self, k: &TileKey, bytes: &[u8]) -> Result<(), CacheError> {
        let p = self.path(k);
        let dir = p.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| CacheError::io(dir, e))?;
        let tmp = dir.join(format!(
            ".{}.{}.{}.tmp",
            k.y,
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_data()?;
            std::fs::rename(&tmp, &p)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(CacheError::io(&p, e));
        }
        let used = self.used.fetch_add(bytes.len() as u64, Ordering::Relaxed) + bytes.len() as u64;
        if self.quota().is_some_and(|q| used > q) {
            self.evict();
        }
        Ok(())
    }

    /// Remove every cached tile of a layer: its folder is moved aside at once (no tile of it
    /// is found from then on) and deleted in the background.
    pub fn truncate_layer(&self, layer: &str) -> Result<(), CacheError> {
        self.discard(&self.layer_dir(layer))
    }

    /// Remove every tile of every layer (each layer's folder moved aside, then deleted).
    pub fn truncate_all(&self) -> Result<(), CacheError> {
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return Ok(());
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if name.to_str().is_some_and(|n| n.starts_with('.')) {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                self.discard(&e.path())?;
            }
        }
        Ok(())
    }

    /// Remove the tiles of a layer at zoom `z` in the column range `xs` and row range `ys`
    /// (inclusive), of every gridset named `gridset`, style and format.
    pub fn truncate_range(
        &self,
        layer: &str,
        gridset: &str,
        z: u32,
        xs: (u64, u64),
        ys: (u64, u64),
    ) -> Result<u64, CacheError> {
        let base = self.layer_dir(layer).join(folder(gridset));
        let mut removed = 0;
        for style in read_dirs(&base) {
            for format in read_dirs(&style) {
                let zoom = format.join(z.to_string());
                for col in read_dirs(&zoom) {
                    let Some(x) = col
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.parse::<u64>().ok())
                    else {
                        continue;
                    };
                    if x < xs.0 || x > xs.1 {
                        continue;
                    }
                    let Ok(files) = std::fs::read_dir(&col) else {
                        continue;
                    };
                    for f in files.flatten() {
                        let name = f.file_name();
                        let y = name
                            .to_str()
                            .and_then(|n| n.split('.').next())
                            .and_then(|n| n.parse::<u64>().ok());
                        if y.is_some_and(|y| y >= ys.0 && y <= ys.1)
                            && std::fs::remove_file(f.path()).is_ok()
                        {
                            removed += 1;
                        }
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Remove the tiles of a layer in one gridset (every style and format).
    pub fn truncate_gridset(&self, layer: &str, gridset: &str) -> Result<(), CacheError> {
        self.discard(&self.layer_dir(layer).join(folder(gridset)))
    }

    /// Move `dir` aside and delete it in the background.
    fn discard(&self, dir: &Path) -> Result<(), CacheError> {
        let trash = self.root.join(".trash");
        std::fs::create_dir_all(&trash).map_err(|e| CacheError::io(&trash, e))?;
        let aside = trash.join(format!(
            "{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::rename(dir, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CacheError::io(dir, e)),
        }
        std::thread::spawn(move || {
            if let Err(e) = std::fs::remove_dir_all(&aside) {
                tracing::warn!(dir = %aside.display(), error = %e, "truncated tiles could not be deleted");
            }
        });
        Ok(())
    }

    /// The bytes the cached tiles take, counted on disk.
    pub fn usage(&self) -> u64 {
        let mut total = 0;
        walk(&self.root, &mut |_, meta| total += meta.len());
        total
    }

    /// Bring the cache under 90 % of its quota, least recently used tiles first (one pass at
    /// a time: a writer that finds one running goes on).
    fn evict(&self) {
        let Some(quota) = self.quota() else {
            return;
        };
        if self.evicting.swap(true, Ordering::AcqRel) {
            return;
        }
        let root = self.root.clone();
        let mut tiles = Vec::new();
        walk(&root, &mut |p, meta| {
            tiles.push((
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
                p.to_path_buf(),
            ))
        });
        let mut total: u64 = tiles.iter().map(|t| t.1).sum();
        tiles.sort();
        let target = quota / 10 * 9;
        for (_, len, p) in tiles {
            if total <= target {
                break;
            }
            if std::fs::remove_file(&p).is_ok() {
                total = total.saturating_sub(len);
            }
        }
        self.used.store(total, Ordering::Relaxed);
        self.evicting.store(false, Ordering::Release);
    }
}

/// Distinguishes the temporary names of one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Every tile file under `dir` (not the trash, not files being written).
fn walk(dir: &Path, f: &mut dyn FnMut(&Path, &std::fs::Metadata)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        if name.to_str().is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(&e.path(), f);
        } else if let Ok(meta) = e.metadata() {
            f(&e.path(), &meta);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(layer: &str, z: u32, x: u64, y: u64) -> TileKey {
        TileKey {
            layer: layer.into(),
            gridset: "EPSG:4326".into(),
            style: String::new(),
            ext: "png",
            z,
            x,
            y,
        }
    }

    #[test]
    fn tiles_are_stored_read_and_truncated_by_layer_and_range() {
        let d = tempfile::tempdir().unwrap();
        let c = DiskCache::open(d.path(), None).unwrap();
        assert!(c.get(&key("L1", 3, 1, 2)).is_none());
        c.put(&key("L1", 3, 1, 2), b"one").unwrap();
        c.put(&key("L1", 3, 5, 2), b"two").unwrap();
        c.put(&key("L2", 3, 1, 2), b"other").unwrap();
        assert_eq!(c.get(&key("L1", 3, 1, 2)).unwrap().0, b"one");
        // No temporary file is left beside the tiles.
        let dir = c.path(&key("L1", 3, 1, 2));
        let names: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A range: only the tiles in it.
        assert_eq!(
            c.truncate_range("L1", "EPSG:4326", 3, (0, 2), (0, 9))
                .unwrap(),
            1
        );
        assert!(c.get(&key("L1", 3, 1, 2)).is_none());
        assert!(c.get(&key("L1", 3, 5, 2)).is_some());
        // A layer: all of it, and no other layer's.
        c.truncate_layer("L1").unwrap();
        assert!(c.get(&key("L1", 3, 5, 2)).is_none());
        assert!(c.get(&key("L2", 3, 1, 2)).is_some());
        // Names never leave the cache's folder.
        let evil = TileKey {
            layer: "../../etc".into(),
            ..key("x", 0, 0, 0)
        };
        assert!(c.path(&evil).starts_with(d.path()));
        assert!(c
            .path(&evil)
            .components()
            .all(|c| c != std::path::Component::ParentDir));
    }

    #[test]
    fn the_quota_evicts_the_least_recently_used_tiles() {
        let d = tempfile::tempdir().unwrap();
        let c = DiskCache::open(d.path(), Some(10_000)).unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        for i in 0..8 {
            c.put(&key("L", 1, i, 0), &[0u8; 1000]).unwrap();
            // Older tiles first.
            let f = std::fs::File::options()
                .write(true)
                .open(c.path(&key("L", 1, i, 0)))
                .unwrap();
            f.set_modified(old + Duration::from_secs(i)).unwrap();
        }
        for i in 8..12 {
            c.put(&key("L", 1, i, 0), &[0u8; 1000]).unwrap();
        }
        assert!(c.usage() <= 10_000, "{}", c.usage());
        assert!(c.get(&key("L", 1, 0, 0)).is_none(), "the oldest went first");
        assert!(c.get(&key("L", 1, 11, 0)).is_some(), "the newest stays");
    }
}
