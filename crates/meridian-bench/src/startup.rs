//! Startup benchmark: time from process start to serving REST, and resident memory.

use crate::generate::{ensure, Shape};
use crate::node::{client, get_status, meridian_binary, Node};
use crate::BenchError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of the startup benchmark.
#[derive(Debug, Clone)]
pub struct Options {
    /// Layers of the generated catalog.
    pub layers: usize,
    /// Reuse (or keep) the data directory here instead of a temporary one.
    pub data_dir: Option<PathBuf>,
    /// Starts to measure; the median is reported.
    pub runs: usize,
    /// The `meridian` binary.
    pub meridian: Option<PathBuf>,
}

/// One start.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Spawn to first successful REST answer.
    pub ready: Duration,
    /// Resident memory once serving, MB.
    pub rss_mb: f64,
    /// Peak resident memory up to then, MB.
    pub peak_mb: f64,
}

/// Generate (unless the directory already holds a catalog), then start the node `runs` times.
pub fn run(opts: &Options) -> Result<Vec<Run>, BenchError> {
    let tmp = crate::node::work_dir()?;
    let root = ensure(opts.data_dir.as_deref(), tmp.path(), opts.layers)?;
    let binary = meridian_binary(opts.meridian.as_deref())?;
    let mut runs = Vec::new();
    for i in 0..opts.runs.max(1) {
        runs.push(start_once(&binary, &root, tmp.path(), i, opts.layers)?);
    }
    Ok(runs)
}

fn start_once(
    binary: &Path,
    root: &Path,
    scratch: &Path,
    i: usize,
    layers: usize,
) -> Result<Run, BenchError> {
    let log = scratch.join(format!("node-{i}.log"));
    let mut node = Node::start(binary, root, &[], &log)?;
    let ready = node.wait_ready(Duration::from_secs(600)).map_err(|e| {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        BenchError::Node(format!("{e}; log: {}", tail.trim()))
    })?;
    let (rss_mb, peak_mb) = node.memory_mb();
    // The catalog really is there: the first and the last generated layer answer.
    let c = client()?;
    if layers > 0 {
        let shape = Shape::new(layers);
        let last_ws = shape.workspaces() - 1;
        for (ws, l) in [(0, 0), (last_ws, layers - 1)] {
            let path = format!("/rest/workspaces/ws{ws:04}/layers/layer{l:07}.json");
            let status = get_status(&c, &node.base, &path)?;
            if status != 200 {
                return Err(BenchError::Node(format!("GET {path} answered {status}")));
            }
        }
    }
    Ok(Run {
        ready,
        rss_mb,
        peak_mb,
    })
}
