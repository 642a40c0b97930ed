//! Catch-up and bootstrap: a replica that missed many changes, and a new node joining a
//! cluster with a big catalog, measured from the process spawn to converged.

use crate::cluster::{status, BrokerKind, Cluster};
use crate::generate::ensure;
use crate::writes::create_workspaces;
use crate::BenchError;
use std::path::Path;
use std::time::{Duration, Instant};

/// How a node converged.
#[derive(Debug, Clone)]
pub struct Report {
    /// Changes missed (catch-up) or layers in the catalog (bootstrap).
    pub size: usize,
    /// Spawn of the node to converged (same head and digest as the primary).
    pub converged_in: Duration,
    /// Journal catch-ups and snapshots the node took, from its counters.
    pub catchups: u64,
    /// Snapshots installed.
    pub snapshots: u64,
    /// Writing the missed changes took this long (catch-up only).
    pub written_in: Duration,
}

/// A replica is stopped, the primary takes `changes` workspace creations, the replica is started
/// again on its directory. `retention` sets the journal retention (None: the default 10 000, so
/// a replica that missed more gets a snapshot).
pub fn catch_up(
    binary: &Path,
    changes: usize,
    clients: usize,
    retention: Option<usize>,
) -> Result<Report, BenchError> {
    let tmp = crate::node::work_dir()?;
    let extra = retention
        .map(|r| vec![("MERIDIAN_CLUSTER_JOURNAL_RETENTION", r.to_string())])
        .unwrap_or_default();
    let mut cluster = Cluster::start(binary, tmp.path(), BrokerKind::Embedded, 1, None, extra)?;
    // One change both have, so the replica is not a new node when it comes back (a new node
    // takes a snapshot whatever the retention).
    create_workspaces(&cluster.nodes[0].base, "before", 1, 1)?;
    cluster.wait_converged(Duration::from_secs(60))?;
    cluster.kill(1);
    let written_in = create_workspaces(&cluster.nodes[0].base, "cu", changes, clients)?;
    let dir = tmp.path().join("replica0");
    let t0 = Instant::now();
    let i = cluster.add("replica0", &dir, false)?;
    cluster.wait_converged(Duration::from_secs(600))?;
    let converged_in = t0.elapsed();
    let s = status(&cluster.nodes[i])?;
    Ok(Report {
        size: changes,
        converged_in,
        catchups: s["counters"]["catchups"].as_u64().unwrap_or(0),
        snapshots: s["counters"]["snapshots"].as_u64().unwrap_or(0),
        written_in,
    })
}

/// A primary serves a generated catalog of `layers` layers (in `data_dir` if given, generated
/// once); a node with an empty data directory joins.
pub fn bootstrap(
    binary: &Path,
    layers: usize,
    data_dir: Option<&Path>,
) -> Result<Report, BenchError> {
    let tmp = crate::node::work_dir()?;
    let root = ensure(data_dir, tmp.path(), layers)?;
    let mut cluster = Cluster::start(
        binary,
        tmp.path(),
        BrokerKind::Embedded,
        0,
        Some(&root),
        Vec::new(),
    )?;
    let t0 = Instant::now();
    let i = cluster.add("joiner", &tmp.path().join("joiner"), false)?;
    cluster.wait_converged(Duration::from_secs(600))?;
    let converged_in = t0.elapsed();
    let s = status(&cluster.nodes[i])?;
    Ok(Report {
        size: layers,
        converged_in,
        catchups: s["counters"]["catchups"].as_u64().unwrap_or(0),
        snapshots: s["counters"]["snapshots"].as_u64().unwrap_or(0),
        written_in: Duration::ZERO,
    })
}
