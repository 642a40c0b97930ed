//! A clustered node at run time, one module per concern:
//!
//! * [`transport`]: the MQTT connection (failover, TLS, roles' subscriptions) and publishing.
//! * [`replication`]: remote batches applied in order and exactly once, in journal groups.
//! * [`repair`]: catch-up over HTTP, snapshots, drift.
//! * [`discovery`]: finding peers beyond the broker (`multicast`, `static:`, `dns:`), with
//!   [`multicast`]: the signed announcements and their socket.
//! * [`leave`]: `meridian cluster leave`, with one broker or a broker on every node.
//! * [`heartbeats`]: what a node announces, and what it does with its peers' announcements.
//! * [`peers`]: the peers known, and the authenticated HTTP requests to them.
//! * [`readiness`]: whether the node may take traffic.
//! * [`refusals`]: what was refused from the cluster, by reason.
//! * [`counters`]: what the node counts for its status and metrics.
//!
//! [`Cluster`] holds one part per concern; each module owns its part's fields.

mod counters;
mod discovery;
mod heartbeats;
mod leave;
mod multicast;
mod peers;
mod readiness;
mod refusals;
mod repair;
mod replication;
mod transport;

pub use counters::Counters;
pub use discovery::Found;

/// Whether `cfg`'s `discovery` and `multicast.*` are values a node can start with.
pub fn check_discovery(cfg: &ClusterConfig) -> Result<(), ClusterError> {
    discovery::Mode::check(cfg)
}
pub use leave::{leave, Left};
pub use peers::{check_peer_url, Peer};
pub use readiness::NotReady;
pub use repair::{checked_snapshot, Snapshot};
pub use transport::client_id;

use crate::config::ClusterConfig;
use crate::digest::DigestCache;
use crate::envelope::Roles;
use crate::error::ClusterError;
use crate::keys::ClusterKeys;
use crate::seal::Sealer;
use meridian_catalog::sync::{lock, read};
use meridian_catalog::{Catalog, CatalogService, Source};
use meridian_store::{Record, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// One clustered node.
pub struct Cluster {
    /// Configuration (editable through REST).
    config: RwLock<ClusterConfig>,
    /// Instance name.
    me: String,
    /// Group.
    group: String,
    /// Advertised HTTP base (`http://host:port/geoserver`).
    url: String,
    /// The catalog.
    service: Arc<CatalogService>,
    /// The node's durable state: journal, clock, stamps, files progress.
    store: Store,
    /// The keys derived from the secret the node started with.
    keys: ClusterKeys,
    /// Seals and opens connection secrets with those keys.
    sealer: Sealer,
    counters: Counters,
    refusals: refusals::Refusals,
    transport: transport::Transport,
    peers: peers::Peers,
    replication: replication::Replication,
    repair: repair::Repair,
    readiness: readiness::Readiness,
    /// The digest of the last catalog digested.
    digests: Mutex<(Option<Arc<Catalog>>, String, DigestCache)>,
    /// What to do when a peer says data were edited (the node truncates its tiles).
    invalidated: RwLock<Option<Invalidated>>,
    /// When this process started (ms since the epoch), told in heartbeats.
    started: u64,
    /// The data edits made or heard lately (layer id, WGS84 box), sent again to a peer that
    /// comes back: at most [`RECENT_EDITS`], none older than [`RECENT_EDITS_AGE`].
    recent_edits: Mutex<std::collections::VecDeque<(std::time::Instant, String, [f64; 4])>>,
}

/// Data edits kept to be sent again to a node that comes back.
const RECENT_EDITS: usize = 1000;

/// How long a data edit is kept to be sent again.
const RECENT_EDITS_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Told a layer's id and the WGS84 box whose data changed.
pub type Invalidated = Arc<dyn Fn(&str, [f64; 4]) + Send + Sync>;

impl Cluster {
    /// Set up the node over its recovered store ([`Store::recover`]): close local writes on
    /// replicas, and publish every local batch after commit.
    pub fn new(
        config: ClusterConfig,
        service: Arc<CatalogService>,
        store: Store,
        url: String,
    ) -> Result<Arc<Cluster>, ClusterError> {
        let keys = ClusterKeys::new(config.secret())?;
        let me = config.instance().to_string();
        let group = config.group().to_string();
        let c = Arc::new(Cluster {
            config: RwLock::new(config),
            me,
            group,
            url,
            service,
            store,
            sealer: Sealer::new(&keys),
            keys,
            counters: Counters::default(),
            refusals: refusals::Refusals::default(),
            transport: transport::Transport::new(),
            peers: peers::Peers::new()?,
            replication: replication::Replication::default(),
            repair: repair::Repair::default(),
            readiness: readiness::Readiness::new(),
            digests: Mutex::new((None, String::new(), DigestCache::default())),
            invalidated: RwLock::new(None),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_millis().max(1) as u64),
            recent_edits: Mutex::default(),
        });
        c.update_gate();
        let moved = c.replication.positions_moved();
        c.service
            .on_positions(Box::new(move || moved.notify_waiters()));
        let weak = Arc::downgrade(&c);
        c.service.subscribe(Box::new(move |applied| {
            let Some(c) = weak.upgrade() else { return };
            if applied.source != Source::Local || !c.roles().primary {
                return;
            }
            if let Some(p) = &applied.provenance {
                c.publish_record(Record {
                    provenance: p.clone(),
                    changes: applied.changes.clone(),
                });
            }
        }));
        Ok(c)
    }

    /// Call `f` when a peer says a layer's data were edited in a box.
    pub fn on_invalidation(&self, f: Invalidated) {
        match self.invalidated.write() {
            Ok(mut g) => *g = Some(f),
            Err(p) => *p.into_inner() = Some(f),
        }
    }

    /// Tell every node that the data of layer `layer` changed within `bbox` (WGS84): they
    /// truncate the tiles there. Data never travel.
    pub fn publish_invalidation(&self, layer: &str, bbox: [f64; 4]) {
        self.remember_edit(layer, bbox);
        self.send(crate::envelope::Message::Invalidate {
            group: self.group.clone(),
            origin: self.me.clone(),
            layer: layer.to_string(),
            bbox,
            to: None,
        });
    }

    /// Keep a data edit to send again to a peer that comes back.
    fn remember_edit(&self, layer: &str, bbox: [f64; 4]) {
        let mut recent = lock(&self.recent_edits);
        while recent.len() >= RECENT_EDITS
            || recent
                .front()
                .is_some_and(|(at, _, _)| at.elapsed() > RECENT_EDITS_AGE)
        {
            recent.pop_front();
        }
        recent.push_back((std::time::Instant::now(), layer.to_string(), bbox));
    }

    /// Send `peer` the recent data edits again, after two heartbeats (time for it to hear
    /// this node's messages): it may have been away when they were made. Truncating tiles
    /// twice is harmless; missing an edit would leave stale tiles.
    fn replay_invalidations_to(self: &Arc<Self>, peer: &str) {
        let edits: Vec<(String, [f64; 4])> = lock(&self.recent_edits)
            .iter()
            .filter(|(at, _, _)| at.elapsed() <= RECENT_EDITS_AGE)
            .map(|(_, l, b)| (l.clone(), *b))
            .collect();
        if edits.is_empty() {
            return;
        }
        let (c, peer) = (self.clone(), peer.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(c.heartbeat_interval() * 2).await;
            tracing::info!(%peer, edits = edits.len(), "a peer came back: recent data edits sent again");
            for (layer, bbox) in edits {
                c.send(crate::envelope::Message::Invalidate {
                    group: c.group.clone(),
                    origin: c.me.clone(),
                    layer,
                    bbox,
                    to: Some(peer.clone()),
                });
            }
        });
    }

    /// A peer's invalidation, checked as any input: a bounded layer id and a box of numbers
    /// within the world.
    fn on_invalidate(&self, layer: &str, bbox: [f64; 4], to: Option<&str>) {
        // Sent again to another node that came back.
        if to.is_some_and(|t| t != self.me) {
            return;
        }
        let sane_id =
            !layer.is_empty() && layer.len() <= 512 && !layer.chars().any(char::is_control);
        let [w, s, e, n] = bbox;
        let sane_box = bbox.iter().all(|v| v.is_finite()) && w <= e && s <= n;
        if !(sane_id && sane_box) {
            self.reject("malformed", "an invalidation with a bad layer id or box");
            return;
        }
        let clamp = [w.max(-180.0), s.max(-90.0), e.min(180.0), n.min(90.0)];
        let f = match self.invalidated.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        // A live edit is kept to send again to a peer that comes back (not one sent again).
        if to.is_none() {
            self.remember_edit(layer, clamp);
        }
        if let Some(f) = f {
            tracing::debug!(layer, ?clamp, "a peer's data edit invalidates tiles");
            f(layer, clamp);
        }
    }

    /// Start the broker connection, heartbeats and the applier. Returns at once; the node
    /// serves its own configuration whether or not the broker is reachable.
    pub fn start(self: &Arc<Self>) -> Result<(), ClusterError> {
        let mode = discovery::Mode::from_config(&read(&self.config))?;
        let spec = self.broker_spec(mode != discovery::Mode::None)?;
        // A restarted node is not ready before it has heard from the peers it knew; it asks
        // them at once (heartbeats).
        let known = self.peers_known_before();
        self.readiness.await_peers(known.keys().cloned());
        let (inbox, queues) = replication::inbox();
        self.start_transport(spec, inbox.clone())?;
        tokio::spawn(discovery::discover(
            self.clone(),
            mode,
            inbox.presence.clone(),
        ));
        tokio::spawn(heartbeats::heartbeat(
            self.clone(),
            inbox.presence,
            known.into_values().collect(),
        ));
        tokio::spawn(replication::applier(self.clone(), queues));
        tokio::spawn(replication::checkpointer(self.clone()));
        Ok(())
    }

    /// Instance name.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// Group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Advertised HTTP base.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The configuration (REST reads and edits it).
    pub fn config(&self) -> &RwLock<ClusterConfig> {
        &self.config
    }

    /// The catalog.
    pub fn service(&self) -> &Arc<CatalogService> {
        &self.service
    }

    /// The node's durable state.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The keys derived from the cluster's secret.
    pub fn keys(&self) -> &ClusterKeys {
        &self.keys
    }

    /// Current roles from the configuration.
    pub fn roles(&self) -> Roles {
        let cfg = read(&self.config);
        Roles {
            primary: cfg.is_primary(),
            replica: cfg.is_replica(),
            read_only: cfg.read_only(),
        }
    }

    /// Close or open local writes according to the roles; the message names the primaries.
    pub fn update_gate(&self) {
        let r = self.roles();
        let reason = if !r.primary || r.read_only {
            let primaries = self.peers.primaries();
            let what = if r.read_only {
                "read-only"
            } else {
                "a replica (toggleMaster=false)"
            };
            Some(format!(
                "this node ({}) is {what} and refuses configuration changes; send them to a primary: {}",
                self.me,
                if primaries.is_empty() { "none known yet".to_string() } else { primaries.join(", ") }
            ))
        } else {
            None
        };
        self.service.set_write_gate(reason);
    }

    /// The digest of the current catalog.
    pub fn digest(&self) -> String {
        self.digest_of(&self.service.snapshot())
    }

    /// This node's positions and the digest of the catalog that reflects exactly them: what
    /// heartbeats and the status announce, and what drift is judged on (positions read apart
    /// from the catalog could belong to an older or newer one during writes).
    pub fn heads_and_digest(&self) -> (BTreeMap<String, u64>, String) {
        let (cat, heads) = self.service.snapshot_with_positions();
        (heads, self.digest_of(&cat))
    }

    /// The digest of `cat`, cached for the last catalog digested.
    fn digest_of(&self, cat: &Arc<Catalog>) -> String {
        let mut cache = lock(&self.digests);
        if !cache.0.as_ref().is_some_and(|c| Arc::ptr_eq(c, cat)) {
            let d = cache.2.digest(cat);
            cache.0 = Some(cat.clone());
            cache.1 = d;
        }
        cache.1.clone()
    }

    /// Heads of the journal.
    pub fn heads(&self) -> BTreeMap<String, u64> {
        self.store.heads()
    }
}

/// Milliseconds since the epoch (tokens, status).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Cluster {
    /// The peers known, as last heard.
    pub fn peer_list(&self) -> Vec<Peer> {
        self.peers.list()
    }

    /// Whether the node is connected to its broker.
    pub fn connected(&self) -> bool {
        self.transport.connected()
    }

    /// Whether the broker keeps this node's session while it is away.
    pub fn durable_session(&self) -> bool {
        self.transport.durable_session()
    }

    /// The broker in use.
    pub fn broker_url(&self) -> String {
        self.transport.broker_url()
    }
}
