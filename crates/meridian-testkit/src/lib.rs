//! Test support shared by the workspace's tests, never part of a shipped binary:
//!
//! * GeoServer's release data directory ([`fixture_datadir`]) and copies of it;
//! * [`node`]: real `meridian` processes ([`Node`], built with [`NodeBuilder`]) and an HTTP
//!   client for them;
//! * [`cluster`]: the settings of a test cluster and its members ([`Cluster`], [`Member`]);
//! * [`broker`]: external brokers run by `scripts/brokers/*.sh` ([`Broker`]);
//! * [`mqtt`]: publishing and listening on a cluster's topic as an outsider would;
//! * free ports, temporary data directories, waiting, and comparing nodes' digests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod broker;
pub mod cluster;
pub mod mqtt;
pub mod node;

pub use broker::Broker;
pub use cluster::{Cluster, Member};
pub use node::{
    connected, expect, replicate_workspace, same_digest, status, wait_connected, wait_for, Node,
    NodeBuilder,
};

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// GeoServer's release data directory: `MERIDIAN_FIXTURE_DATADIR`, else the repository's own
/// copy in `tests/fixtures/geoserver-release`. Panics with a clear message when it is missing,
/// so a test fails instead of silently skipping.
pub fn fixture_datadir() -> PathBuf {
    let p = match std::env::var("MERIDIAN_FIXTURE_DATADIR") {
        Ok(p) => PathBuf::from(p),
        Err(_) => repo_root().join("tests/fixtures/geoserver-release"),
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

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temporary folder and the data directory inside it.
pub fn tmpdir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    (t, d)
}
