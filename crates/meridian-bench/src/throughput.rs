//! Write throughput: REST writes on a single node, and sustained changes per second with
//! replicas converged.

use crate::cluster::{BrokerKind, Cluster};
use crate::node::Node;
use crate::writes::create_workspaces;
use crate::BenchError;
use std::path::Path;
use std::time::{Duration, Instant};

/// Figures of one throughput run.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// Writes sent.
    pub writes: usize,
    /// Concurrent REST clients.
    pub clients: usize,
    /// Single node (no replicas): writes per second.
    pub single_per_s: f64,
    /// Cluster: writes per second accepted by the primary.
    pub primary_per_s: f64,
    /// Cluster: changes (journal records) per second until every replica converged.
    pub converged_changes_per_s: f64,
    /// Changes the writes produced on the primary.
    pub changes: u64,
    /// First write to the last replica converged.
    pub converged_in: Duration,
}

/// Measure `writes` workspace creations from `clients` threads, on one node and then on a
/// primary with `replicas` replicas (embedded broker).
pub fn run(
    binary: &Path,
    replicas: usize,
    writes: usize,
    clients: usize,
) -> Result<Report, BenchError> {
    let tmp = crate::node::work_dir()?;

    let single = {
        let log = tmp.path().join("single.log");
        let mut node = Node::start(binary, &tmp.path().join("single"), &[], &log)?;
        node.wait_ready(Duration::from_secs(60))?;
        create_workspaces(&node.base, "single", writes, clients)?
    };

    let cluster = Cluster::start(
        binary,
        &tmp.path().join("cluster"),
        BrokerKind::Embedded,
        replicas,
        None,
        Vec::new(),
    )?;
    let before = cluster.applied(0)?;
    let t0 = Instant::now();
    let accepted = create_workspaces(&cluster.nodes[0].base, "tp", writes, clients)?;
    cluster.wait_converged(Duration::from_secs(600))?;
    let converged_in = t0.elapsed();
    let changes = cluster.applied(0)? - before;
    Ok(Report {
        writes,
        clients,
        single_per_s: writes as f64 / single.as_secs_f64(),
        primary_per_s: writes as f64 / accepted.as_secs_f64(),
        converged_changes_per_s: changes as f64 / converged_in.as_secs_f64(),
        changes,
        converged_in,
    })
}
