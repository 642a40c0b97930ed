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
    /// Cluster: changes (journal records) per second until every replica converged (serves
    /// and has journaled every change).
    pub converged_changes_per_s: f64,
    /// Cluster: changes per second until every node had also written their files.
    pub files_changes_per_s: f64,
    /// Changes the writes produced on the primary (journal records: one per REST write).
    pub changes: u64,
    /// Catalog changes in those records (a workspace creation adds a workspace and its
    /// namespace: two, as GeoServer's clustering would send two events); `None` when the
    /// primary's journal no longer holds them all.
    pub object_changes: Option<u64>,
    /// First write to the last replica converged.
    pub converged_in: Duration,
    /// First write to the last node's files written.
    pub files_in: Duration,
    /// Catch-ups over HTTP the replicas made (summed): a batch that did not follow its
    /// predecessor on the broker.
    pub replica_catchups: u64,
    /// Batches the replicas received again (summed).
    pub replica_duplicates: u64,
    /// CPU time per write of the single node, in µs (see [`Node::cpu_time`]).
    pub single_cpu_us: Option<f64>,
    /// CPU time per change of the primary (its embedded broker included) from the first
    /// write until every node's files were written, in µs.
    pub primary_cpu_us: Option<f64>,
    /// The same for the replicas, the mean of them.
    pub replica_cpu_us: Option<f64>,
}

/// CPU time used between two readings, per `n` items, in µs.
fn per_item_us(before: Option<Duration>, after: Option<Duration>, n: u64) -> Option<f64> {
    let used = after?.checked_sub(before?)?;
    (n > 0).then(|| used.as_secs_f64() * 1e6 / n as f64)
}

/// Measure `writes` workspace creations from `clients` threads, on one node and then on a
/// primary with `replicas` replicas (through the brokers `kind` says).
pub fn run(
    binary: &Path,
    kind: BrokerKind,
    replicas: usize,
    writes: usize,
    clients: usize,
) -> Result<Report, BenchError> {
    let tmp = crate::node::work_dir()?;

    let (single, single_cpu_us) = {
        let log = tmp.path().join("single.log");
        let mut node = Node::start(binary, &tmp.path().join("single"), &[], &log)?;
        node.wait_ready(Duration::from_secs(60))?;
        let cpu = node.cpu_time();
        let took = create_workspaces(&node.base, "single", writes, clients)?;
        (took, per_item_us(cpu, node.cpu_time(), writes as u64))
    };

    let cluster = Cluster::start(
        binary,
        &tmp.path().join("cluster"),
        kind,
        replicas,
        None,
        Vec::new(),
    )?;
    let before = cluster.applied(0)?;
    let cpu: Vec<Option<Duration>> = cluster.nodes.iter().map(Node::cpu_time).collect();
    let t0 = Instant::now();
    let accepted = create_workspaces(&cluster.nodes[0].base, "tp", writes, clients)?;
    cluster.wait_converged(Duration::from_secs(600))?;
    let converged_in = t0.elapsed();
    cluster.wait_files_written(Duration::from_secs(600))?;
    let files_in = t0.elapsed();
    let changes = cluster.applied(0)? - before;
    let cpu_us: Vec<Option<f64>> = cluster
        .nodes
        .iter()
        .zip(&cpu)
        .map(|(n, b)| per_item_us(*b, n.cpu_time(), changes))
        .collect();
    let replica_cpu_us = cpu_us[1..]
        .iter()
        .copied()
        .collect::<Option<Vec<f64>>>()
        .filter(|v| !v.is_empty())
        .map(|v| v.iter().sum::<f64>() / v.len() as f64);
    let object_changes = cluster.object_changes(before)?;
    let (mut replica_catchups, mut replica_duplicates) = (0, 0);
    for n in &cluster.nodes[1..] {
        let s = crate::cluster::status(n)?;
        replica_catchups += s["counters"]["catchups"].as_u64().unwrap_or(0);
        replica_duplicates += s["counters"]["duplicates"].as_u64().unwrap_or(0);
    }
    Ok(Report {
        writes,
        clients,
        single_per_s: writes as f64 / single.as_secs_f64(),
        primary_per_s: writes as f64 / accepted.as_secs_f64(),
        converged_changes_per_s: changes as f64 / converged_in.as_secs_f64(),
        files_changes_per_s: changes as f64 / files_in.as_secs_f64(),
        changes,
        object_changes,
        converged_in,
        files_in,
        replica_catchups,
        replica_duplicates,
        single_cpu_us,
        primary_cpu_us: cpu_us.first().copied().flatten(),
        replica_cpu_us,
    })
}
