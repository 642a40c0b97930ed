//! REST reads under load: requests per second and latency for GETs of single layers and of
//! listings, at several numbers of concurrent clients, against one node on a generated catalog.

use crate::generate::{ensure, Shape};
use crate::load::get_loop;
use crate::node::{meridian_binary, Node};
use crate::{BenchError, Summary};
use std::path::PathBuf;
use std::time::Duration;

/// Options of the reads benchmark.
#[derive(Debug, Clone)]
pub struct Options {
    /// Layers of the generated catalog.
    pub layers: usize,
    /// Reuse (or generate once into) this data directory.
    pub data_dir: Option<PathBuf>,
    /// Concurrency levels.
    pub clients: Vec<usize>,
    /// How long each row runs.
    pub duration: Duration,
    /// The `meridian` binary.
    pub meridian: Option<PathBuf>,
}

/// One row: a request kind at a concurrency.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was requested.
    pub what: &'static str,
    /// Concurrent clients.
    pub clients: usize,
    /// Requests per second over the row.
    pub per_s: f64,
    /// Latencies.
    pub latency: Summary,
}

/// The request kinds: a name and the path of the `i`-th request.
type PathFn = dyn Fn(usize) -> String + Sync;

/// Generate (once) and start a node, then run every request kind at every concurrency.
pub fn run(opts: &Options) -> Result<Vec<Row>, BenchError> {
    let tmp = crate::node::work_dir()?;
    let root = ensure(opts.data_dir.as_deref(), tmp.path(), opts.layers)?;
    let binary = meridian_binary(opts.meridian.as_deref())?;
    let mut node = Node::start(&binary, &root, &[], &tmp.path().join("node.log"))?;
    node.wait_ready(Duration::from_secs(600))?;
    let shape = Shape::new(opts.layers);
    let layers = opts.layers.max(1);
    // Spread requests over the catalog with a fixed stride (no cache can hold one hot object).
    let single = move |i: usize| {
        let l = (i.wrapping_mul(7919)) % layers;
        format!(
            "/rest/workspaces/ws{:04}/layers/layer{l:07}.json",
            shape.workspace_of(l)
        )
    };
    let wss = shape.workspaces();
    let listing = move |i: usize| format!("/rest/workspaces/ws{:04}/layers.json", i % wss);
    let kinds: [(&'static str, &PathFn); 2] = [
        ("GET one layer (JSON)", &single),
        ("GET a workspace's layer list (JSON)", &listing),
    ];
    let mut rows = Vec::new();
    for (what, path) in kinds {
        for &c in &opts.clients {
            rows.push(row(&node.base, what, path, c, opts.duration)?);
        }
    }
    Ok(rows)
}

fn row(
    base: &str,
    what: &'static str,
    path: &PathFn,
    clients: usize,
    duration: Duration,
) -> Result<Row, BenchError> {
    let (per_s, latency) = get_loop(clients, duration, &|i| format!("{base}{}", path(i)), true)?;
    Ok(Row {
        what,
        clients,
        per_s,
        latency,
    })
}
