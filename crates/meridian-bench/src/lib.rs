//! Meridian's benchmarks: a data-directory generator and programs that measure a running node.
//! Figures and commands are recorded in BENCHMARKS.md; nothing here is a timed test.

pub mod catchup;
pub mod cluster;
pub mod generate;
pub mod machine;
pub mod node;
pub mod propagation;
pub mod reads;
pub mod startup;
pub mod throughput;
pub mod writes;

/// What can stop a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or directory could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The generator only writes into an empty directory.
    #[error("{0} is not empty; the generator writes only into an empty or missing directory")]
    NotEmpty(String),
    /// The data-directory defaults could not be written.
    #[error("data directory: {0}")]
    DataDir(String),
    /// The node under test failed to start or answer.
    #[error("node: {0}")]
    Node(String),
    /// A request to the node failed.
    #[error("http: {0}")]
    Http(String),
}

/// Percentile (0–100) of a sorted slice of milliseconds.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
