//! Test support shared by the workspace's tests, never part of a shipped binary:
//!
//! * GeoServer's release data directory ([`fixture_datadir`]) and copies of it;
//! * [`node`]: real `meridian` processes ([`Node`], built with [`NodeBuilder`]) and an HTTP
//!   client for them;
//! * [`cluster`]: the settings of a test cluster and its members ([`Cluster`], [`Member`]);
//! * [`broker`]: external brokers run by `scripts/brokers/*.sh` ([`Broker`]);
//! * [`mqtt`]: publishing and listening on a cluster's topic as an outsider would;
//! * [`netns`]: small networks of network namespaces on a bridge, for multi-host tests, and
//!   [`dns`]: a DNS server of the test's own for them;
//! * free ports, temporary data directories, waiting, and comparing nodes' digests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod broker;
pub mod cluster;
pub mod dns;
pub mod images;
pub mod mqtt;
pub mod netns;
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

/// The lowest port the kernel hands out for binds to port 0.
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

/// A free TCP port on loopback, for a process the test starts later (a broker, an embedded
/// broker's listen address). It comes from below the kernel's ephemeral range: a port taken
/// from that range (bind to port 0, then release) could be handed again to any node binding
/// its HTTP listener to port 0 before the broker binds it, and the broker would then fail to
/// listen. Each port is handed out once per process; processes start at different offsets.
pub fn free_port() -> u16 {
    try_free_port().unwrap_or_else(|e| panic!("{e}"))
}

/// [`free_port`], as an error when none is free (for programs, such as the benchmarks).
pub fn try_free_port() -> std::io::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 10_000;
    let high = u32::from(ephemeral_low()).max(LOW + 2_000);
    let span = high - LOW;
    let start = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = LOW + (start + n) % span;
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        format!("no free port on loopback between {LOW} and {high}"),
    ))
}

/// A temporary folder and the data directory inside it.
pub fn tmpdir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    (t, d)
}
