//! Heartbeats: what a node announces every interval (roles, URL, positions, digest), and what
//! it does with its peers' announcements: learn them, bootstrap, catch up, repair drift.

use super::peers::{check_peer_url, Peer};
use super::replication::Received;
use super::Cluster;
use crate::envelope::{Message, Roles};
use meridian_catalog::sync::read;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

impl Cluster {
    /// Time between heartbeats, from the configuration.
    pub(super) fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(read(&self.config).heartbeat_ms())
    }

    /// A peer's heartbeat: remember it, and as a replica act on it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn on_heartbeat(
        self: &Arc<Self>,
        origin: String,
        url: String,
        roles: Roles,
        heads: BTreeMap<String, u64>,
        digest: String,
        broker: Option<String>,
        started: u64,
        replica: bool,
    ) {
        if let Err(e) = check_peer_url(&url) {
            self.reject("bad_url", &format!("heartbeat of {origin}: {e}"));
            return;
        }
        // Every node running its own broker: receive this peer's messages from its broker.
        if let Some(addr) = &broker {
            self.link_peer(&origin, addr);
        }
        // The heads of the peer's previous heartbeat, if it came lately: changes it had then
        // have had a heartbeat's time to arrive.
        let (primaries_changed, earlier, restarted) = self.peers.heard(
            Peer {
                name: origin.clone(),
                url: url.clone(),
                roles,
                digest: digest.clone(),
                heads: heads.clone(),
                seen: Some(Instant::now()),
                found: Default::default(),
                started,
            },
            self.heartbeat_interval() * 3,
        );
        // A peer that (re)started may have been away while data were edited: it is sent the
        // recent edits again, once it has had time to hear this node's messages.
        if restarted && origin != self.me {
            self.replay_invalidations_to(&origin);
        }
        // After its heads are known: readiness then compares this node's with them.
        self.readiness.heard(&origin);
        if primaries_changed {
            self.update_gate();
            self.save_peers();
        }
        if replica {
            self.after_heartbeat(&origin, &url, &heads, earlier.as_ref(), &digest)
                .await;
        }
    }

    /// A peer left the cluster for good.
    pub(super) fn on_leave(&self, origin: &str) {
        tracing::info!(peer = %origin, "peer left the cluster");
        self.peers.forget(origin);
        self.unlink_peer(origin);
        self.update_gate();
        self.save_peers();
    }

    /// What a replica does with a peer's heartbeat: bootstrap from it, catch up from it, or
    /// repair drift. `earlier` holds the heads of the peer's previous heartbeat when that came
    /// within the last few intervals.
    async fn after_heartbeat(
        self: &Arc<Self>,
        peer: &str,
        url: &str,
        heads: &BTreeMap<String, u64>,
        earlier: Option<&BTreeMap<String, u64>>,
        digest: &str,
    ) {
        let (mine, new_node) = self.store.heads_and_new();
        let me_primary = self.roles().primary;
        let peer_primary = self.peers.is_primary(peer);
        // A new node takes the cluster's catalog: from any peer that has journaled changes, or,
        // for a pure replica, from a primary whose catalog differs (a catalog loaded from its
        // data directory has no journal yet).
        let differs = digest != self.digest();
        if new_node && (heads.values().any(|s| *s > 0) || (!me_primary && peer_primary && differs))
        {
            if let Err(e) = self.take_snapshot(url).await {
                tracing::warn!(peer = %url, error = %e, "bootstrap snapshot failed");
            }
            return;
        }
        // Changes already received and queued here are not fetched again: a peer's head that
        // far ahead is only the queue (a node coming back to a kept session is further).
        // Nor are changes still on their way: under load the broker holds those beyond the
        // unacknowledged window, so what counts is the head of the peer's previous heartbeat,
        // one interval old (a lost last change is fetched one heartbeat later; a lost change
        // before others shows as a gap at once). Without a recent previous heartbeat (just
        // started, or back after a break) the current heads count.
        let queued = self.replication.queued();
        for origin in origins_behind(&self.me, &mine, earlier.unwrap_or(heads), queued) {
            if let Err(e) = self.catch_up(&origin, url).await {
                tracing::warn!(%origin, peer = %url, error = %e, "catch-up failed");
            }
        }
        // Same positions, different content: drift. One of the two repairs itself from the
        // other's snapshot, so both end the same.
        let (mine_now, my_digest) = self.heads_and_digest();
        if &mine_now == heads && digest != my_digest {
            let msg = format!("digest differs from {peer} at the same positions");
            if new_node {
                // A node that has journaled nothing yet differs from its cluster by nature
                // until its first snapshot: no drift to warn about.
                tracing::debug!("{msg}");
            } else {
                self.drifted(msg);
            }
            // A replica repairs from a primary, never a primary from a replica; between two
            // nodes of the same role, the one whose name sorts higher.
            let repair = match (me_primary, peer_primary) {
                (false, true) => true,
                (true, false) => false,
                _ => self.me.as_str() > peer,
            };
            if repair && self.peer_has_all_mine(url) {
                if let Err(e) = self.take_snapshot(url).await {
                    tracing::warn!(error = %e, "drift repair failed");
                }
            }
        }
    }
}

/// Announce this node every interval, forget peers not heard for `peer.expiry`, and, off the
/// broker, ask the peers over HTTP instead.
///
/// `known`: the URLs of the peers known before this start, asked at once over HTTP: a node
/// that comes back to a broker holding a long backlog of its messages learns how far behind
/// it is now (and catches up in pages or takes a snapshot) instead of after the backlog.
pub(super) async fn heartbeat(
    c: Arc<Cluster>,
    inbox: mpsc::UnboundedSender<Received>,
    known: Vec<String>,
) {
    for u in &known {
        c.peers.found_at(u, super::discovery::Found::Known);
    }
    if !known.is_empty() {
        // On its own task: a peer that no longer answers must not hold heartbeats back.
        let (c, inbox) = (c.clone(), inbox.clone());
        tokio::spawn(async move { c.poll_urls(known, &inbox).await });
    }
    let polling = Arc::new(AtomicBool::new(false));
    loop {
        let interval = c.heartbeat_interval();
        let (heads, digest) = c.heads_and_digest();
        c.send(Message::Heartbeat {
            group: c.group.clone(),
            origin: c.me.clone(),
            url: c.url.clone(),
            roles: c.roles(),
            heads,
            digest,
            broker: c.mesh_address(),
            started: c.started,
        });
        let expiry = read(&c.config).peer_expiry_ms();
        for gone in c.peers.expire(Duration::from_millis(expiry)) {
            c.unlink_peer(&gone);
        }
        if !c.transport.connected() && !polling.swap(true, Ordering::AcqRel) {
            // Off the broker: ask the peers we know over HTTP, so catch-up goes on. On a task
            // of its own: a silent peer never holds this node's heartbeats back.
            let (c, inbox, polling) = (c.clone(), inbox.clone(), polling.clone());
            tokio::spawn(async move {
                c.poll_peers(&inbox).await;
                polling.store(false, Ordering::Release);
            });
        }
        tokio::time::sleep(interval).await;
    }
}

/// The origins (other than `me`) of which `theirs` holds changes beyond this node's heads and
/// the `queued` changes received but not applied yet.
fn origins_behind(
    me: &str,
    mine: &BTreeMap<String, u64>,
    theirs: &BTreeMap<String, u64>,
    queued: u64,
) -> Vec<String> {
    theirs
        .iter()
        .filter(|(origin, seq)| {
            origin.as_str() != me && **seq > mine.get(*origin).copied().unwrap_or(0) + queued
        })
        .map(|(origin, _)| origin.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_beyond_those_received_count_as_missed() {
        let heads = |a: u64, b: u64| -> BTreeMap<String, u64> {
            [("a".to_string(), a), ("me".to_string(), b)].into()
        };
        let mine = heads(100, 50);
        // Changes queued here, or of this node itself, are not missed.
        assert!(origins_behind("me", &mine, &heads(100, 90), 0).is_empty());
        assert!(origins_behind("me", &mine, &heads(110, 50), 10).is_empty());
        // Beyond what arrived and what is queued: fetched.
        assert_eq!(origins_behind("me", &mine, &heads(111, 50), 10), ["a"]);
        assert_eq!(
            origins_behind("me", &BTreeMap::new(), &heads(1, 0), 0),
            ["a"]
        );
    }
}
