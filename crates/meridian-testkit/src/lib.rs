//! Test support shared by the workspace's tests: where GeoServer's release data directory is,
//! and copying it before a test writes to it. Not part of any shipped binary.

use std::path::{Path, PathBuf};

/// GeoServer's release data directory: `MERIDIAN_FIXTURE_DATADIR`, else the repository's own
/// copy in `tests/fixtures/geoserver-release`. Panics with a clear message when it is missing,
/// so a test fails instead of silently skipping.
pub fn fixture_datadir() -> PathBuf {
    let p = match std::env::var("MERIDIAN_FIXTURE_DATADIR") {
        Ok(p) => PathBuf::from(p),
        Err(_) => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/geoserver-release")
        }
    };
    assert!(
        p.join("global.xml").is_file(),
        "GeoServer's release data directory is missing at {} (the repository's \
         tests/fixtures/geoserver-release, or MERIDIAN_FIXTURE_DATADIR)",
        p.display()
    );
    p
}

/// Copy a directory tree (the fixture is read-only; tests write to copies).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let t = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &t)?;
        } else {
            std::fs::copy(e.path(), t)?;
        }
    }
    Ok(())
}
