//! Meridian's benchmarks: a data-directory generator and programs that measure a running node.
//! Figures and commands are recorded in BENCHMARKS.md; nothing here is a timed test.

pub mod catchup;
pub mod cluster;
pub mod generate;
pub mod idle;
pub mod load;
pub mod machine;
pub mod maps;
pub mod mapserver;
pub mod memory;
pub mod node;
pub mod propagation;
pub mod rawget;
pub mod rawpost;
pub mod reads;
pub mod sealing;
pub mod startup;
pub mod throughput;
pub mod tiles;
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

/// p50, p99 and max of a series, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
    /// Samples.
    pub n: usize,
}

impl Summary {
    /// Summarise milliseconds.
    pub fn of(mut ms: Vec<f64>) -> Summary {
        ms.sort_by(f64::total_cmp);
        Summary {
            p50: percentile(&ms, 50.0),
            p99: percentile(&ms, 99.0),
            max: ms.last().copied().unwrap_or(f64::NAN),
            n: ms.len(),
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
            self.p50, self.p99, self.max, self.n
        )
    }
}
