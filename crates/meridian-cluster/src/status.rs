//! A node's cluster status, computed once ([`Cluster::status`]): `/rest/cluster/status`
//! answers it, peers read it as a heartbeat over HTTP, `meridian cluster status` prints it,
//! and the metrics expose it.

use crate::envelope::Roles;
use crate::node::Cluster;
use meridian_catalog::sync::read;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A node's cluster status (the JSON of `/rest/cluster/status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterStatus {
    /// Instance name.
    pub instance_name: String,
    /// Group.
    pub group: String,
    /// Advertised HTTP base.
    pub url: String,
    /// Roles.
    pub roles: Roles,
    /// Whether it refuses local writes.
    pub read_only: bool,
    /// Its broker connection.
    pub broker: BrokerStatus,
    /// Whether the cluster's messages and peer requests are authenticated.
    pub authenticated: bool,
    /// What was refused, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Digest of the catalog at the positions in `origins`.
    pub digest: String,
    /// Position and lag per origin.
    pub origins: BTreeMap<String, OriginStatus>,
    /// The peers known.
    pub peers: Vec<PeerStatus>,
    /// Drift detected and not yet repaired.
    pub drift: Option<String>,
    /// Applied batches whose files are still written behind the journal.
    pub files_pending: usize,
    /// Whether writing files behind the journal failed.
    pub files_failed: bool,
    /// Counters.
    pub counters: CounterValues,
}

/// A node's broker connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatus {
    /// The broker in use.
    pub url: String,
    /// Whether connected now.
    pub connected: bool,
    /// Whether the broker keeps the node's session while it is away.
    pub durable_session: bool,
    /// Whether it is the node's embedded broker.
    pub embedded: bool,
    /// Where the node's embedded broker listens, when it runs one.
    pub listen: Option<String>,
    /// Where peers reach this node's own broker, when every node runs its own.
    pub advertised: Option<String>,
    /// The links to peers' brokers, by peer name, when every node runs its own.
    pub links: BTreeMap<String, LinkStatus>,
}

/// A link to a peer's broker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkStatus {
    /// The peer's broker, `host:port`.
    pub broker: String,
    /// Whether the link is connected now.
    pub connected: bool,
}

/// How far a node is with one origin's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OriginStatus {
    /// Last sequence applied.
    pub applied: u64,
    /// Batches behind the highest head any peer reports.
    pub lag: u64,
}

/// A peer as a node last heard it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PeerStatus {
    /// Instance name.
    pub name: String,
    /// Advertised URL.
    pub url: String,
    /// Roles.
    pub roles: Roles,
    /// Its digest.
    pub digest: String,
    /// Its heads.
    pub heads: BTreeMap<String, u64>,
    /// Milliseconds since its last heartbeat.
    pub last_seen_ms: Option<u64>,
    /// How it was first found: `heartbeat` (through the broker), `static`, `known` (a peer
    /// before this node restarted).
    pub found: crate::node::Found,
}

/// The counters' values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CounterValues {
    /// Batches published.
    pub published: u64,
    /// Batches applied from other nodes.
    pub applied: u64,
    /// Deliveries skipped as already applied.
    pub duplicates: u64,
    /// Batches that could not apply yet.
    pub deferred: u64,
    /// Messages rejected.
    pub rejected: u64,
    /// Changes received and not applied by design (own, or not a replica).
    pub ignored: u64,
    /// Catch-ups run.
    pub catchups: u64,
    /// Snapshots taken over.
    pub snapshots: u64,
}

/// Position and lag per origin: every origin this node or a peer has, lag against the highest
/// head any peer reports.
pub fn origins(
    mine: &BTreeMap<String, u64>,
    peers: &[PeerStatus],
) -> BTreeMap<String, OriginStatus> {
    let mut best: BTreeMap<&str, u64> = BTreeMap::new();
    for p in peers {
        for (o, s) in &p.heads {
            let e = best.entry(o).or_insert(0);
            *e = (*e).max(*s);
        }
    }
    mine.keys()
        .map(String::as_str)
        .chain(best.keys().copied())
        .map(|o| {
            let applied = mine.get(o).copied().unwrap_or(0);
            let top = best.get(o).copied().unwrap_or(0).max(applied);
            (
                o.to_string(),
                OriginStatus {
                    applied,
                    lag: top - applied,
                },
            )
        })
        .collect()
}

impl Cluster {
    /// The node's cluster status now.
    pub fn status(&self) -> ClusterStatus {
        let (heads, digest) = self.heads_and_digest();
        let peers: Vec<PeerStatus> = self
            .peer_list()
            .into_iter()
            .map(|p| PeerStatus {
                last_seen_ms: p.seen.map(|s| s.elapsed().as_millis() as u64),
                found: p.found,
                name: p.name,
                url: p.url,
                roles: p.roles,
                digest: p.digest,
                heads: p.heads,
            })
            .collect();
        let (embedded, authenticated, listen) = {
            let cfg = read(self.config());
            let embedded = cfg.embedded_broker() && cfg.get("brokerURL").is_empty();
            (
                embedded,
                !cfg.secret().is_empty(),
                embedded.then(|| cfg.get("embeddedBroker.listen").to_string()),
            )
        };
        let c = self.counters();
        let roles = self.roles();
        ClusterStatus {
            instance_name: self.me().to_string(),
            group: self.group().to_string(),
            url: self.url().to_string(),
            roles,
            read_only: roles.read_only,
            broker: BrokerStatus {
                url: self.broker_url(),
                connected: self.connected(),
                durable_session: self.durable_session(),
                embedded,
                listen,
                advertised: self.mesh_address(),
                links: self.peer_links(),
            },
            authenticated,
            rejected: self
                .rejections()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            digest,
            origins: origins(&heads, &peers),
            peers,
            drift: self.drift(),
            files_pending: self.store().files().pending(),
            files_failed: self.store().files().failed(),
            counters: CounterValues {
                published: c.published.get(),
                applied: c.applied.get(),
                duplicates: c.duplicates.get(),
                deferred: c.deferred.get(),
                rejected: c.rejected.get(),
                ignored: c.ignored.get(),
                catchups: c.catchups.get(),
                snapshots: c.snapshots.get(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_against_the_highest_head_of_any_peer_for_every_origin() {
        let heads = |v: &[(&str, u64)]| -> BTreeMap<String, u64> {
            v.iter().map(|(k, s)| (k.to_string(), *s)).collect()
        };
        let peer = |h: BTreeMap<String, u64>| PeerStatus {
            heads: h,
            ..Default::default()
        };
        let o = origins(
            &heads(&[("a", 5), ("b", 9)]),
            &[peer(heads(&[("a", 7)])), peer(heads(&[("a", 6), ("c", 2)]))],
        );
        assert_eq!(o["a"], OriginStatus { applied: 5, lag: 2 });
        // Ahead of every peer: no lag.
        assert_eq!(o["b"], OriginStatus { applied: 9, lag: 0 });
        // Only a peer has it.
        assert_eq!(o["c"], OriginStatus { applied: 0, lag: 2 });
    }

    #[test]
    fn a_status_reads_back_as_written_and_tolerates_missing_fields() {
        let s = ClusterStatus {
            instance_name: "n".into(),
            roles: Roles {
                primary: true,
                replica: false,
                read_only: false,
            },
            ..Default::default()
        };
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["instanceName"], "n");
        assert_eq!(json["roles"]["primary"], true);
        assert_eq!(serde_json::from_value::<ClusterStatus>(json).ok(), Some(s));
        assert!(serde_json::from_str::<ClusterStatus>("{}").is_ok());
    }
}
