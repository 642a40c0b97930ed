//! Repair: catching up over HTTP on what the broker did not bring, taking a peer's snapshot
//! (bootstrap, records no longer held, a batch that keeps failing), and drift.

use super::peers::{PAGE_TIMEOUT, SNAPSHOT_TIMEOUT};
use super::replication::Outcome;
use super::Cluster;
use crate::error::{ClusterError, PeerError, SnapshotError};
use meridian_catalog::sync::lock;
use meridian_catalog::{Catalog, Object};
use meridian_store::conflict::Stamps;
use meridian_store::Record;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// About how many bytes each chunk of a snapshot answer holds.
const SNAPSHOT_CHUNK: usize = 64 * 1024;

/// Compact JSON of a value that always serializes (maps of strings and numbers).
fn json(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// A snapshot of a node's catalog with the positions it reflects.
#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    /// Positions per origin.
    pub heads: BTreeMap<String, u64>,
    /// The default workspace id.
    pub default_workspace: Option<String>,
    /// Every object.
    pub objects: Vec<Object>,
    /// Write stamps and tombstones.
    #[serde(default)]
    pub stamps: Stamps,
}

/// What repair keeps between attempts.
#[derive(Debug, Default)]
pub(super) struct Repair {
    /// How often the batch after each (origin, position) failed.
    failures: Mutex<BTreeMap<(String, u64), u32>>,
    /// Drift detected and not yet repaired.
    drift: Mutex<Option<String>>,
}

/// What to do after a page of catch-up records.
enum PageOutcome {
    /// Fetch the next page.
    Continue,
    /// Stop: caught up as far as possible for now.
    Done,
    /// A batch keeps failing: repair from the peer's snapshot.
    Snapshot,
}

/// The catalog of a peer's snapshot, once it passes the rules a REST write passes: every
/// object valid, each id once, the default workspace one of its workspaces.
pub fn checked_snapshot(
    objects: Vec<Object>,
    default_workspace: Option<String>,
) -> Result<Catalog, SnapshotError> {
    let n = objects.len();
    let cat = Catalog::from_loaded(objects, default_workspace.clone());
    if cat.objects().count() != n {
        return Err(SnapshotError::DuplicateId);
    }
    if default_workspace.is_some() && cat.default_workspace().is_none() {
        return Err(SnapshotError::DefaultWorkspace);
    }
    meridian_catalog::check_catalog(&cat).map_err(|e| SnapshotError::Invalid(e.to_string()))?;
    Ok(cat)
}

impl Cluster {
    /// Drift detected and not yet repaired.
    pub fn drift(&self) -> Option<String> {
        lock(&self.repair.drift).clone()
    }

    /// Note drift found with a peer.
    pub(super) fn drifted(&self, msg: String) {
        tracing::warn!("{msg}");
        *lock(&self.repair.drift) = Some(msg);
    }

    /// The snapshot as JSON ([`Snapshot`]'s shape), whole (see [`Cluster::snapshot_chunks`]).
    pub fn snapshot_json(&self) -> Vec<u8> {
        self.snapshot_chunks()().flatten().collect()
    }

    /// The snapshot as JSON ([`Snapshot`]'s shape), written a few objects at a time from the
    /// catalog as of this call: each call of the returned function produces the same bytes
    /// (objects holding secrets are sealed once, here), so the answer can be signed, then
    /// sent, without ever being held whole.
    pub fn snapshot_chunks(&self) -> Arc<dyn Fn() -> meridian_rest::Chunks + Send + Sync> {
        // The heads are exactly those the catalog reflects.
        let (cat, heads) = self.service.snapshot_with_positions();
        let stamps = lock(self.store.stamps()).clone();
        // Connection secrets leave the node sealed.
        let sealed: BTreeMap<String, Object> = cat
            .objects()
            .filter_map(|o| Some((o.id().to_string(), self.sealer.seal_object(o)?)))
            .collect();
        let head = format!(
            "{{\"heads\":{},\"default_workspace\":{},\"objects\":[",
            json(&heads),
            json(&cat.default_workspace().map(|w| w.id().to_string()))
        );
        let tail = format!("],\"stamps\":{}}}", json(&stamps));
        let parts = Arc::new((cat, sealed, head, tail));
        Arc::new(move || {
            let parts = parts.clone();
            // Where the answer is: the last object's id written (nothing else is held).
            let mut last: Option<String> = None;
            let (mut started, mut done) = (false, false);
            Box::new(std::iter::from_fn(move || {
                if done {
                    return None;
                }
                let (cat, sealed, head, tail) = &*parts;
                let mut out = Vec::with_capacity(SNAPSHOT_CHUNK + 4096);
                if !started {
                    out.extend_from_slice(head.as_bytes());
                    started = true;
                }
                let mut objects = cat.objects_after(last.as_deref());
                while out.len() < SNAPSHOT_CHUNK {
                    let Some(o) = objects.next() else {
                        out.extend_from_slice(tail.as_bytes());
                        done = true;
                        break;
                    };
                    if last.is_some() {
                        out.push(b',');
                    }
                    last = Some(o.id().to_string());
                    let o = sealed.get(o.id()).unwrap_or(o);
                    if serde_json::to_writer(&mut out, o).is_err() {
                        // An object that does not serialize ends the answer short: the
                        // peer's parse (and signature check) refuses it.
                        done = true;
                        break;
                    }
                }
                Some(out)
            }))
        })
    }

    /// Apply records of `origin` from a peer until this node has everything the peer has.
    pub(super) async fn catch_up(
        self: &Arc<Self>,
        origin: &str,
        peer_url: &str,
    ) -> Result<(), ClusterError> {
        self.counters.catchups.inc();
        loop {
            let after = self.store.head(origin);
            let pq = format!(
                "/geoserver/rest/cluster/events.json?origin={origin}&after={after}&limit=500"
            );
            let mut records = match self
                .get_json::<Vec<Record>>(peer_url, &pq, PAGE_TIMEOUT)
                .await
            {
                Ok(r) => r,
                Err(PeerError::Gone { .. }) => {
                    tracing::info!(%origin, peer = %peer_url, "peer no longer holds the records needed; taking a snapshot");
                    return self.take_snapshot(peer_url).await;
                }
                Err(e) => return Err(e.into()),
            };
            for r in records.iter_mut() {
                if let Err(source) = self.sealer.open_changes(&mut r.changes) {
                    self.reject("sealed", &format!("records of {peer_url}: {source}"));
                    return Err(ClusterError::Records {
                        peer: peer_url.to_string(),
                        source,
                    });
                }
            }
            if records.is_empty() {
                return Ok(());
            }
            // One fdatasync for the page instead of one per record.
            self.store.defer_sync();
            let outcome = self.apply_page(origin, peer_url, after, records).await;
            if let Err(e) = tokio::task::block_in_place(|| self.store.end_deferred()) {
                tracing::warn!(error = %e, "journal sync after a catch-up page failed");
            }
            match outcome {
                PageOutcome::Continue => {}
                PageOutcome::Done => return Ok(()),
                PageOutcome::Snapshot => return self.take_snapshot(peer_url).await,
            }
        }
    }

    /// Apply one page of records fetched from a peer.
    async fn apply_page(
        self: &Arc<Self>,
        origin: &str,
        peer_url: &str,
        after: u64,
        records: Vec<Record>,
    ) -> PageOutcome {
        for r in records {
            match self.apply_record(r).await {
                Outcome::Applied | Outcome::Duplicate => {}
                Outcome::Gap => return PageOutcome::Done,
                Outcome::Failed => {
                    // It may wait for a batch of another origin. When it keeps failing,
                    // this node has diverged: repair from the peer, if that loses nothing
                    // of this node's own.
                    let n = {
                        let mut f = lock(&self.repair.failures);
                        let e = f.entry((origin.to_string(), after + 1)).or_insert(0);
                        *e += 1;
                        *e
                    };
                    if n >= 3 && self.peer_has_all_mine(peer_url) {
                        tracing::warn!(%origin, peer = %peer_url, "a batch keeps failing; repairing from the peer's snapshot");
                        lock(&self.repair.failures).clear();
                        return PageOutcome::Snapshot;
                    }
                    return PageOutcome::Done;
                }
            }
        }
        PageOutcome::Continue
    }

    /// Replace the catalog with a peer's snapshot.
    pub(super) async fn take_snapshot(
        self: &Arc<Self>,
        peer_url: &str,
    ) -> Result<(), ClusterError> {
        let started = Instant::now();
        let _taking = self.readiness.snapshot();
        let snap: Snapshot = self
            .get_json(
                peer_url,
                "/geoserver/rest/cluster/snapshot.json",
                SNAPSHOT_TIMEOUT,
            )
            .await?;
        let fetched = started.elapsed();
        let refused = |reason: SnapshotError| ClusterError::Snapshot {
            peer: peer_url.to_string(),
            reason,
        };
        let mut objects = snap.objects;
        if let Err(e) = self.sealer.open_objects(&mut objects) {
            self.reject("sealed", &format!("snapshot of {peer_url}: {e}"));
            return Err(refused(e.into()));
        }
        let cat = checked_snapshot(objects, snap.default_workspace).map_err(refused)?;
        lock(self.store.stamps()).merge(snap.stamps);
        let svc = self.service.clone();
        let heads = snap.heads;
        tokio::task::spawn_blocking(move || svc.apply_snapshot(cat, heads))
            .await
            .map_err(|e| ClusterError::Apply(e.to_string()))?
            .map_err(|e| ClusterError::Apply(e.to_string()))?;
        self.counters.snapshots.inc();
        *lock(&self.repair.drift) = None;
        tracing::info!(
            peer = %peer_url,
            fetched_ms = fetched.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "catalog taken over from a peer snapshot"
        );
        Ok(())
    }

    /// Whether the peer at `url` has applied every batch of this node (a snapshot from it then
    /// loses nothing of ours).
    pub(super) fn peer_has_all_mine(&self, url: &str) -> bool {
        let mine = self.store.head(&self.me);
        mine == 0 || self.peers.has(url, &self.me, mine)
    }

    /// Catch up on `origin` from whichever peer holds more of it: the origin first.
    pub(super) async fn catch_up_from_any(self: &Arc<Self>, origin: &str) {
        let recent = self.heartbeat_interval() * 3;
        for url in self.peers.holding(origin, self.store.head(origin), recent) {
            if self.catch_up(origin, &url).await.is_ok() {
                return;
            }
        }
    }
}
