//! GeoServer's filesystem sandbox: when `GEOSERVER_FILESYSTEM_SANDBOX` names a directory,
//! every file a store reads must lie inside it, whoever configured the store (REST, an
//! upload, replication, a data directory loaded from disk).

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable GeoServer reads.
pub const SANDBOX_VAR: &str = "GEOSERVER_FILESYSTEM_SANDBOX";

static SANDBOX: OnceLock<Option<PathBuf>> = OnceLock::new();

/// The sandbox root of this process (resolved once: symbolic links followed), if one is set.
pub fn sandbox() -> Option<&'static Path> {
    SANDBOX
        .get_or_init(|| {
            let raw = std::env::var_os(SANDBOX_VAR)?;
            if raw.is_empty() {
                return None;
            }
            Some(resolve(Path::new(&raw)))
        })
        .as_deref()
}

/// `path` with `.` and `..` taken away lexically and the longest existing ancestor resolved
/// (symbolic links followed), so that neither a `..` nor a link leads out unnoticed.
pub fn resolve(path: &Path) -> PathBuf {
    let mut clean = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other.as_os_str()),
        }
    }
    let mut existing = clean.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return clean,
        }
    }
}

/// Whether `path` lies inside `root` (both resolved as [`resolve`] does).
pub fn inside(path: &Path, root: &Path) -> bool {
    resolve(path).starts_with(resolve(root))
}

/// Refuse a path outside the sandbox, when one is set. The message names the path and the
/// rule only: nothing about whether the file exists.
pub fn check(path: &Path) -> Result<(), crate::SourceError> {
    // The root is resolved once, when first read.
    match sandbox() {
        Some(root) if !resolve(path).starts_with(root) => Err(crate::SourceError::OutsideSandbox(
            path.display().to_string(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbing_and_links_do_not_leave_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("sandbox");
        std::fs::create_dir_all(root.join("a")).unwrap();
        assert!(inside(&root.join("a/b.shp"), &root));
        assert!(inside(&root.join("new/dir/x.gpkg"), &root));
        assert!(!inside(&root.join("../outside.shp"), &root));
        assert!(!inside(&root.join("a/../../outside.shp"), &root));
        assert!(!inside(Path::new("/etc/passwd"), &root));
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        assert!(!inside(&root.join("link/passwd"), &root));
    }
}
