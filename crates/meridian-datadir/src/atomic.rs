//! Crash-safe file writes: temporary file, fsync, rename, fsync of the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static SEQ: AtomicU64 = AtomicU64::new(0);

/// This process's id, for temporary file names (asked of the kernel once).
static PID: OnceLock<u32> = OnceLock::new();

/// Write `bytes` to `path` so that a crash leaves either the old or the new content, never a
/// truncated file. Parent directories are created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_replacing(path, bytes, true)
}

/// Write `bytes` to `path` through a temporary file and a rename, so readers and a killed
/// process never see a half-written file. With `durable`, the file and its directory are
/// fsynced too; without, durability is left to a later [`sync_filesystem`] (the journal of a
/// clustered node holds the change until then).
pub fn write_replacing(path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
    write_with_mode(path, bytes, durable, 0o666)
}

/// [`write_atomic`] for a file that holds secrets: created readable and writable by the
/// node's user only (mode 0600), whatever the umask.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with_mode(path, bytes, true, 0o600)
}

/// [`write_replacing`] creating the file with `mode` (before the umask).
pub fn write_with_mode(path: &Path, bytes: &[u8], durable: bool, mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let pid = *PID.get_or_init(std::process::id);
    let tmp = dir.join(format!(
        ".{name}.{pid}.{}.tmp",
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let create = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
    };
    // The directory usually exists (an edit, the second file of a new directory): it is
    // created only when the file cannot be, which saves a mkdir and a stat per file.
    let mut f = match create() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir)?;
            create()?
        }
        opened => opened?,
    };
    let result = (|| {
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, path)?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Remove a file (missing is fine) and make the removal durable.
pub fn remove_file_durable(path: &Path) -> io::Result<()> {
    remove_file(path, true)
}

/// Remove a file (missing is fine); with `durable`, fsync its directory.
pub fn remove_file(path: &Path, durable: bool) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    match path.parent() {
        Some(d) if durable => sync_dir(d),
        _ => Ok(()),
    }
}

/// Flush everything written to the filesystem holding `path` (syncfs): one call instead of an
/// fsync per file when many files were written without one.
pub fn sync_filesystem(path: &Path) -> io::Result<()> {
    let dir = File::open(path)?;
    rustix::fs::syncfs(&dir).map_err(io::Error::from)
}

/// fsync a directory so renames and removals in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b/c.xml");
        write_atomic(&p, b"<one/>").unwrap();
        write_atomic(&p, b"<two/>").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "<two/>");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
        remove_file_durable(&p).unwrap();
        remove_file_durable(&p).unwrap();
        assert!(!p.exists());
    }
}
