//! What a node counts: the status shows the values, the metrics expose the same counters.

use prometheus_client::metrics::counter::Counter;

/// Counters reported in the status and the metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Batches published.
    pub published: Counter,
    /// Batches applied from other nodes.
    pub applied: Counter,
    /// Deliveries skipped as already applied.
    pub duplicates: Counter,
    /// Batches that could not apply yet (retried through catch-up).
    pub deferred: Counter,
    /// Messages rejected (malformed, unauthenticated, foreign group); by reason in
    /// [`super::Cluster::rejections`].
    pub rejected: Counter,
    /// Changes received that this node does not apply: its own, or any while it is no
    /// replica (it then subscribes to none, so this stays 0 unless the broker sent them).
    pub ignored: Counter,
    /// Catch-ups run.
    pub catchups: Counter,
    /// Snapshots taken over.
    pub snapshots: Counter,
}

impl super::Cluster {
    /// The node's counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}
