//! Readiness: whether a node may take traffic (`/geoserver/health/ready`). It is ready once it
//! serves what its cluster holds: no peer's snapshot is being taken over, it holds every change
//! its peers announced in their last heartbeats, and a restarted node has heard from the peers
//! it knew before (or waited `ready.wait` for them) and reached its broker.

use super::Cluster;
use meridian_catalog::sync::{lock, read};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What readiness keeps.
pub(super) struct Readiness {
    /// When the node started.
    started: Instant,
    /// Names of the peers known before this start that have not been heard from yet.
    awaited: Mutex<BTreeSet<String>>,
    /// Whether the node has been connected to its broker since it started.
    was_connected: AtomicBool,
    /// Peer snapshots being taken over now.
    snapshots: AtomicUsize,
}

/// Why a node is not ready, as `/geoserver/health/ready` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotReady {
    /// Each reason, in words.
    pub reasons: Vec<String>,
}

impl Readiness {
    pub(super) fn new() -> Self {
        Readiness {
            started: Instant::now(),
            awaited: Mutex::new(BTreeSet::new()),
            was_connected: AtomicBool::new(false),
            snapshots: AtomicUsize::new(0),
        }
    }

    /// Wait for these peers (known before this start) before counting as ready.
    pub(super) fn await_peers(&self, names: impl IntoIterator<Item = String>) {
        lock(&self.awaited).extend(names);
    }

    /// The peer `name` was heard from (heartbeat or status).
    pub(super) fn heard(&self, name: &str) {
        lock(&self.awaited).remove(name);
    }

    /// The node reached its broker.
    pub(super) fn connected(&self) {
        self.was_connected.store(true, Ordering::Relaxed);
    }

    /// A snapshot is taken over until the guard is dropped.
    pub(super) fn snapshot(&self) -> SnapshotGuard<'_> {
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        SnapshotGuard(self)
    }
}

/// Counts a snapshot being taken over while it lives.
pub(super) struct SnapshotGuard<'a>(&'a Readiness);

impl Drop for SnapshotGuard<'_> {
    fn drop(&mut self) {
        self.0.snapshots.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Cluster {
    /// Whether the node is ready to take traffic, and if not, why.
    pub fn readiness(&self) -> Result<(), NotReady> {
        let r = &self.readiness;
        let mut reasons = Vec::new();
        if r.snapshots.load(Ordering::Relaxed) > 0 {
            reasons.push("taking over a peer's snapshot".to_string());
        }
        let (wait_ms, enabled) = {
            let cfg = read(&self.config);
            (cfg.ready_wait_ms(), cfg.connection_enabled())
        };
        if r.started.elapsed().as_millis() < u128::from(wait_ms) {
            for name in lock(&r.awaited).iter() {
                reasons.push(format!("not heard yet from the peer {name}"));
            }
            if enabled && !r.was_connected.load(Ordering::Relaxed) {
                reasons.push("not connected to the broker yet".to_string());
            }
        }
        let mine = self.store.heads();
        for p in self.peers.list() {
            for (origin, seq) in &p.heads {
                let have = mine.get(origin).copied().unwrap_or(0);
                if origin != &self.me && have < *seq {
                    reasons.push(format!(
                        "behind {}: changes of {origin} applied up to {have} of {seq}",
                        p.name
                    ));
                }
            }
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(NotReady { reasons })
        }
    }
}
