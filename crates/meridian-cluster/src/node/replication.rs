//! Replication: what arrives from the broker (or, as heartbeats, from peers over HTTP) is
//! handled in arrival order, presence first; remote batches apply in order and exactly once,
//! a group of them under one journal sync, acknowledged to the broker only after it.

use super::Cluster;
use crate::envelope::{decode, Message, WireError};
use meridian_catalog::sync::lock;
use meridian_catalog::Source;
use meridian_store::Record;
use rumqttc::{AsyncClient, Publish, QoS};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// At most this many received messages share one journal sync.
const GROUP_MAX: usize = 256;

/// A message as received: its payload, and the broker packet to acknowledge with the client
/// that delivered it (none for what a node learnt over HTTP).
pub(super) type Received = (Vec<u8>, Option<Delivery>);

/// A broker delivery to acknowledge once handled: through the connection that brought it.
pub(super) struct Delivery {
    /// The packet.
    pub(super) publish: Publish,
    /// The client of the connection it came on.
    pub(super) client: AsyncClient,
}

/// Where received messages wait for the applier: changes (and whatever is acknowledged), and
/// presence (heartbeats sent at most once), which the applier takes first.
#[derive(Clone)]
pub(super) struct Inbox {
    pub(super) changes: mpsc::UnboundedSender<Received>,
    pub(super) presence: mpsc::UnboundedSender<Received>,
}

/// The applier's ends of the [`Inbox`].
pub(super) struct Queues {
    changes: mpsc::UnboundedReceiver<Received>,
    presence: mpsc::UnboundedReceiver<Received>,
}

/// A new inbox and the applier's ends of it.
pub(super) fn inbox() -> (Inbox, Queues) {
    let (changes, changes_rx) = mpsc::unbounded_channel();
    let (presence, presence_rx) = mpsc::unbounded_channel();
    (
        Inbox { changes, presence },
        Queues {
            changes: changes_rx,
            presence: presence_rx,
        },
    )
}

/// The applier's state others read.
#[derive(Debug, Default)]
pub(super) struct Replication {
    /// Changes received and not applied yet (the applier's group and queue): a heartbeat
    /// showing a head no further ahead than this needs no catch-up.
    queued_changes: AtomicUsize,
    /// Woken whenever the positions the served catalog reflects move (`/rest/cluster/wait`).
    positions_moved: Arc<Notify>,
}

impl Replication {
    /// The changes received and not applied yet.
    pub(super) fn queued(&self) -> u64 {
        self.queued_changes.load(Ordering::Relaxed) as u64
    }

    /// Woken whenever the served positions move.
    pub(super) fn positions_moved(&self) -> Arc<Notify> {
        self.positions_moved.clone()
    }
}

/// What became of a replicated batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Applied now.
    Applied,
    /// Applied before; skipped.
    Duplicate,
    /// Earlier batches of its origin are missing.
    Gap,
    /// It does not apply to this node's catalog.
    Failed,
}

/// Whether a received message goes ahead of queued changes: a heartbeat sent at most once
/// (what is to be acknowledged keeps its order: brokers want acknowledgements in order).
pub(super) fn is_presence(p: &Publish) -> bool {
    p.qos == QoS::AtMostOnce && p.topic.ends_with("/heartbeat")
}

/// The next message for the applier: presence first, then changes in arrival order; `None`
/// once both queues are closed.
async fn next_received(
    presence: &mut mpsc::UnboundedReceiver<Received>,
    changes: &mut mpsc::UnboundedReceiver<Received>,
) -> Option<Received> {
    tokio::select! {
        biased;
        Some(m) = presence.recv() => Some(m),
        Some(m) = changes.recv() => Some(m),
        else => None,
    }
}

impl Cluster {
    /// Woken whenever the positions the served catalog reflects move.
    pub fn positions_moved(&self) -> Arc<Notify> {
        self.replication.positions_moved()
    }

    /// Apply one record if it is the next of its origin.
    pub(super) async fn apply_record(self: &Arc<Self>, r: Record) -> Outcome {
        let head = self.store.head(&r.provenance.origin);
        if r.provenance.seq <= head {
            self.counters.duplicates.inc();
            return Outcome::Duplicate;
        }
        if r.provenance.seq != head + 1 {
            return Outcome::Gap;
        }
        let svc = self.service.clone();
        let prov = r.provenance.clone();
        let stamp = (prov.hlc, prov.origin.clone());
        let stamps = self.store.stamps().clone();
        // Applied on this task (a replicated batch's files are written behind, so this is
        // short): handing it to a blocking thread and back cost more than the apply itself.
        let res = tokio::task::block_in_place(move || {
            // Reconciled under the writer lock: no local write slips in between.
            svc.apply_with(r.changes, Source::Remote(prov), |cat, changes| {
                lock(&stamps).reconcile(cat, changes, &stamp)
            })
        });
        match res {
            Ok(_) => {
                tracing::debug!(origin = %r.provenance.origin, seq = r.provenance.seq, "replicated batch applied");
                self.counters.applied.inc();
                Outcome::Applied
            }
            Err(e) => {
                self.counters.deferred.inc();
                tracing::warn!(origin = %r.provenance.origin, seq = r.provenance.seq, error = %e, "replicated batch deferred");
                Outcome::Failed
            }
        }
    }

    /// Handle one message from the broker (or a peer's status read as its heartbeat).
    async fn on_message(self: &Arc<Self>, payload: &[u8]) {
        let msg = match decode(payload, &self.keys) {
            Ok(m) => m,
            Err(e) => {
                let reason = match e {
                    WireError::Framing => "framing",
                    WireError::Unauthenticated => "unauthenticated",
                    WireError::Malformed(_) => "malformed",
                    WireError::Sealed(_) => "sealed",
                };
                self.reject(reason, &format!("broker message: {e}"));
                return;
            }
        };
        if msg.group() != self.group {
            self.reject(
                "foreign_group",
                &format!("a message of group '{}'", msg.group()),
            );
            return;
        }
        let changes = matches!(msg, Message::Changes { .. } | Message::ChangesRef { .. });
        let replica = self.roles().replica;
        // A node's own messages, and changes reaching a node that is no replica, are dropped.
        if msg.origin() == self.me || (changes && !replica) {
            if changes {
                self.counters.ignored.inc();
            }
            return;
        }
        match msg {
            Message::Changes { record, .. } => {
                tracing::debug!(origin = %record.provenance.origin, seq = record.provenance.seq, "change received");
                self.store.hlc().observe(record.provenance.hlc);
                let origin = record.provenance.origin.clone();
                if matches!(
                    self.apply_record(record).await,
                    Outcome::Gap | Outcome::Failed
                ) {
                    // A gap or a deferred batch: fetch what is missing from whoever has it.
                    self.catch_up_from_any(&origin).await;
                }
            }
            Message::ChangesRef { origin, .. } => {
                // The batch is fetched from where the origin said it is in its authenticated
                // heartbeats, never from the URL the message names.
                match self.peers.url_of(&origin) {
                    Some(url) => {
                        if let Err(e) = self.catch_up(&origin, &url).await {
                            tracing::warn!(%origin, error = %e, "catch-up failed");
                            self.catch_up_from_any(&origin).await;
                        }
                    }
                    None => self.catch_up_from_any(&origin).await,
                }
            }
            Message::Heartbeat {
                origin,
                url,
                roles,
                heads,
                digest,
                broker,
                started,
                ..
            } => {
                self.on_heartbeat(origin, url, roles, heads, digest, broker, started, replica)
                    .await
            }
            Message::Leave { origin, .. } => self.on_leave(&origin),
            Message::Invalidate {
                layer, bbox, to, ..
            } => self.on_invalidate(&layer, bbox, to.as_deref()),
        }
    }
}

/// Apply what arrives, in groups sharing one journal sync, and acknowledge each group after it.
pub(super) async fn applier(c: Arc<Cluster>, queues: Queues) {
    let Queues {
        changes: mut inbox,
        mut presence,
    } = queues;
    loop {
        // Heartbeats go first: behind a backlog of changes (a node coming back to a broker
        // that kept its session), they tell at once how far behind the node is, and a
        // catch-up over HTTP or a snapshot beats applying the backlog message by message.
        let Some(first) = next_received(&mut presence, &mut inbox).await else {
            break;
        };
        // Messages that arrived meanwhile are applied together under one journal fdatasync
        // (group commit), and acknowledged to the broker only after it: a crash before the
        // sync makes the broker deliver them again (or the node fetch them). A replicated
        // batch is served before that sync, since its origin holds it durably. Local writes
        // still sync before their 2xx.
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match inbox.try_recv() {
                Ok(m) => group.push(m),
                Err(_) => break,
            }
        }
        c.store.defer_sync();
        for (i, (payload, _)) in group.iter().enumerate() {
            // What is received and not handled yet, for a heartbeat among them.
            c.replication
                .queued_changes
                .store(group.len() - i - 1 + inbox.len(), Ordering::Relaxed);
            c.on_message(payload).await;
        }
        c.replication.queued_changes.store(0, Ordering::Relaxed);
        // The fdatasync hands this worker's queued tasks to another thread (block_in_place):
        // run on the worker itself, it held up tasks queued there, such as answers to
        // `/rest/cluster/wait` (on a journaled ext4, waited p99 2.6 -> 1.2-1.5 ms).
        if let Err(e) = tokio::task::block_in_place(|| c.store.end_deferred()) {
            tracing::warn!(error = %e, "journal sync after a group of messages failed");
        }
        for (_, delivery) in group {
            if let Some(d) = delivery {
                // A connection gone since: its broker delivers the message again.
                let _ = d.client.ack(&d.publish).await;
            }
        }
    }
}

/// Once a second, make the files of journaled batches durable and advance the applied marker,
/// so a quiet node never leaves batches to redo.
pub(super) async fn checkpointer(c: Arc<Cluster>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let svc = c.service.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || svc.checkpoint()).await {
            tracing::warn!(error = %e, "checkpoint failed; the journal still holds the changes");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn heartbeats_sent_at_most_once_go_ahead_of_queued_changes() {
        let hb = |qos| Publish::new("VirtualTopic_geoserver/g/heartbeat", qos, b"hb".to_vec());
        let change = Publish::new(
            "VirtualTopic_geoserver/g/changes",
            QoS::AtLeastOnce,
            b"c".to_vec(),
        );
        assert!(is_presence(&hb(QoS::AtMostOnce)));
        // Acknowledged messages keep their order, whatever their topic.
        assert!(!is_presence(&hb(QoS::AtLeastOnce)));
        assert!(!is_presence(&change));
        let (ctx, mut crx) = mpsc::unbounded_channel::<Received>();
        let (ptx, mut prx) = mpsc::unbounded_channel::<Received>();
        for i in 0..3u8 {
            ctx.send((vec![b'c', i], None)).unwrap();
        }
        ptx.send((b"hb".to_vec(), None)).unwrap();
        let order: Vec<Vec<u8>> = [
            next_received(&mut prx, &mut crx).await,
            next_received(&mut prx, &mut crx).await,
            next_received(&mut prx, &mut crx).await,
        ]
        .into_iter()
        .map(|m| m.unwrap().0)
        .collect();
        assert_eq!(order, vec![b"hb".to_vec(), vec![b'c', 0], vec![b'c', 1]]);
        drop((ctx, ptx));
        assert_eq!(
            next_received(&mut prx, &mut crx).await.unwrap().0,
            vec![b'c', 2]
        );
        assert!(next_received(&mut prx, &mut crx).await.is_none());
    }
}
