//! A clustered node at run time: publishing local batches, applying remote ones in order and
//! exactly once, catching up over HTTP on gaps, bootstrapping from a snapshot, heartbeats.

use crate::broker::{parse_broker_spec, start_embedded, BrokerSpec};
use crate::config::ClusterConfig;
use crate::digest::DigestCache;
use crate::envelope::{decode, encode, Message, Roles, WireError};
use crate::keys::{ClusterKeys, TokenError, BROKER_USER};
use crate::seal::Sealer;
use meridian_catalog::sync::lock;
use meridian_catalog::{Catalog, CatalogService, Object, Source};
use meridian_store::conflict::Stamps;
use meridian_store::files::{read_json, write_json};
use meridian_store::{Record, Store};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Largest message sent through the broker; larger batches go by reference.
const MAX_INLINE: usize = 256 * 1024;

/// Counters reported in the status.
#[derive(Debug, Default)]
pub struct Counters {
    /// Batches published.
    pub published: AtomicU64,
    /// Batches applied from other nodes.
    pub applied: AtomicU64,
    /// Deliveries skipped as already applied.
    pub duplicates: AtomicU64,
    /// Batches that could not apply yet (retried through catch-up).
    pub deferred: AtomicU64,
    /// Messages rejected (malformed, unauthenticated, foreign group); by reason in
    /// [`Cluster::rejections`].
    pub rejected: AtomicU64,
    /// Changes received that this node does not apply: its own, or any while it is no
    /// replica (it then subscribes to none, so this stays 0 unless the broker sent them).
    pub ignored: AtomicU64,
    /// Catch-ups run.
    pub catchups: AtomicU64,
    /// Snapshots taken over.
    pub snapshots: AtomicU64,
}

/// What a node knows about a peer from its heartbeats.
#[derive(Debug, Clone, Serialize)]
pub struct Peer {
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
    #[serde(skip)]
    pub seen: Option<Instant>,
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

/// One clustered node.
pub struct Cluster {
    /// Configuration (editable through REST).
    pub config: RwLock<ClusterConfig>,
    /// Instance name.
    pub me: String,
    /// Group.
    pub group: String,
    /// The catalog.
    pub service: Arc<CatalogService>,
    /// The node's durable state: journal, clock, stamps, files progress.
    pub store: Store,
    /// Advertised HTTP base (`http://host:port/geoserver`).
    pub url: String,
    /// Counters.
    pub counters: Counters,
    /// Peers seen.
    pub peers: Mutex<BTreeMap<String, Peer>>,
    /// Connected to the broker.
    pub connected: AtomicBool,
    /// Whether the current (or last) broker connection has a persistent session (`durable`).
    pub durable_session: AtomicBool,
    /// The broker address in use.
    pub broker: Mutex<String>,
    /// Drift detected and not yet repaired.
    pub drift: Mutex<Option<String>>,
    /// Woken whenever the positions the served catalog reflects move (`/rest/cluster/wait`).
    pub positions_moved: Arc<tokio::sync::Notify>,
    failures: Mutex<BTreeMap<(String, u64), u32>>,
    outbox: mpsc::UnboundedSender<Message>,
    outbox_rx: Mutex<Option<mpsc::UnboundedReceiver<Message>>>,
    /// Changes received and not applied yet (the applier's group and queue): a heartbeat
    /// showing a head no further ahead than this needs no catch-up.
    queued_changes: AtomicUsize,
    /// The broker client while connected (set once the node starts).
    client: std::sync::OnceLock<tokio::sync::watch::Receiver<Option<AsyncClient>>>,
    http: reqwest::Client,
    /// The keys derived from the secret the node started with.
    keys: ClusterKeys,
    /// What was refused from peers and the broker, by reason, and when each reason was last
    /// logged.
    rejections: Mutex<BTreeMap<&'static str, (u64, Option<Instant>)>>,
    digest_cache: Mutex<(Option<Arc<Catalog>>, String, DigestCache)>,
}

impl Cluster {
    /// Set up the node over its recovered store ([`Store::recover`]): close local writes on
    /// replicas, and publish every local batch after commit.
    pub fn new(
        config: ClusterConfig,
        service: Arc<CatalogService>,
        store: Store,
        url: String,
    ) -> Result<Arc<Cluster>, String> {
        let keys = ClusterKeys::new(config.secret()).map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::unbounded_channel();
        let me = config.instance().to_string();
        let group = config.group().to_string();
        let c = Arc::new(Cluster {
            config: RwLock::new(config),
            me,
            group,
            service,
            store,
            url,
            counters: Counters::default(),
            peers: Mutex::new(BTreeMap::new()),
            connected: AtomicBool::new(false),
            durable_session: AtomicBool::new(true),
            broker: Mutex::new(String::new()),
            drift: Mutex::new(None),
            positions_moved: Arc::new(tokio::sync::Notify::new()),
            failures: Mutex::new(BTreeMap::new()),
            outbox: tx,
            outbox_rx: Mutex::new(Some(rx)),
            client: std::sync::OnceLock::new(),
            queued_changes: AtomicUsize::new(0),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| e.to_string())?,
            digest_cache: Mutex::new((None, String::new(), DigestCache::default())),
            keys,
            rejections: Mutex::new(BTreeMap::new()),
        });
        c.update_gate();
        let moved = c.positions_moved.clone();
        c.service
            .on_positions(Box::new(move || moved.notify_waiters()));
        let weak = Arc::downgrade(&c);
        c.service.subscribe(Box::new(move |applied| {
            let Some(c) = weak.upgrade() else { return };
            if applied.source != Source::Local {
                return;
            }
            if !c.roles().primary {
                return;
            }
            if let Some(p) = &applied.provenance {
                let record = Record {
                    provenance: p.clone(),
                    changes: applied.changes.clone(),
                };
                c.publish_record(record);
            }
        }));
        Ok(c)
    }

    /// Time between heartbeats, from the configuration.
    fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.config.read().map(|g| g.heartbeat_ms()).unwrap_or(2000))
    }

    /// Current roles from the configuration.
    pub fn roles(&self) -> Roles {
        let cfg = meridian_catalog::sync::read(&self.config);
        Roles {
            primary: cfg.is_primary(),
            replica: cfg.is_replica(),
            read_only: cfg.read_only(),
        }
    }

    /// The keys derived from the cluster's secret.
    pub fn keys(&self) -> &ClusterKeys {
        &self.keys
    }

    /// Count something refused from a peer or the broker under `reason`, and say why in the
    /// log (once per reason every 10 s, with the count, so a flood does not flood the log).
    pub fn reject(&self, reason: &'static str, detail: &str) {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        let count = {
            let mut r = lock(&self.rejections);
            let e = r.entry(reason).or_insert((0, None));
            e.0 += 1;
            if e.1.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
                return;
            }
            e.1 = Some(Instant::now());
            e.0
        };
        let hint = match reason {
            "unauthenticated" | "peer_token_mismatch" | "answer_unsigned" => {
                "; a peer holds another secret: put the same `secret` in cluster.properties on every node (`meridian cluster secret --data-dir DIR` prints this node's)"
            }
            "peer_token_expired" => {
                "; the nodes' clocks differ by more than peer.token.validity, or a captured request was replayed"
            }
            _ => "",
        };
        tracing::warn!(reason, count, "refused from the cluster: {detail}{hint}");
    }

    /// What was refused, by reason (the status shows it).
    pub fn rejections(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.rejections)
            .iter()
            .map(|(k, (n, _))| (*k, *n))
            .collect()
    }

    fn topic_base(&self) -> String {
        let cfg = meridian_catalog::sync::read(&self.config);
        format!(
            "{}/{}",
            topic_level(cfg.get("topicName")),
            topic_level(&self.group)
        )
    }

    /// Close or open local writes according to the roles; the message names the primaries.
    pub fn update_gate(&self) {
        let r = self.roles();
        let reason = if !r.primary || r.read_only {
            let primaries: Vec<String> = lock(&self.peers)
                .values()
                .filter(|p| p.roles.primary && !p.roles.read_only)
                .map(|p| format!("{} ({})", p.name, p.url))
                .collect();
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

    /// Publish a local batch (called under the writer lock, so batches leave in sequence
    /// order): handed straight to the broker client's queue while connected, else to the
    /// publisher task.
    fn publish_record(&self, record: Record) {
        let msg = Message::Changes {
            group: self.group.clone(),
            record,
        };
        let current = self.client.get().and_then(|rx| rx.borrow().clone());
        let sent = match current {
            Some(cl) => {
                let topic = format!("{}/changes", self.topic_base());
                cl.try_publish(topic, QoS::AtLeastOnce, false, self.encode_outgoing(&msg))
                    .is_ok()
            }
            None => false,
        };
        if sent || self.outbox.send(msg).is_ok() {
            self.counters.published.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The wire form of an outgoing message: a batch larger than [`MAX_INLINE`] travels as a
    /// reference that replicas fetch from this node over HTTP.
    fn encode_outgoing(&self, msg: &Message) -> Vec<u8> {
        let payload = encode(msg, &self.keys);
        match msg {
            Message::Changes { group, record } if payload.len() > MAX_INLINE => encode(
                &Message::ChangesRef {
                    group: group.clone(),
                    origin: record.provenance.origin.clone(),
                    seq: record.provenance.seq,
                    url: self.url.clone(),
                },
                &self.keys,
            ),
            _ => payload,
        }
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
        let mut cache = lock(&self.digest_cache);
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

    /// A snapshot of this node.
    /// The snapshot as JSON ([`Snapshot`]'s shape), serialized straight from the shared
    /// catalog state without copying the objects.
    pub fn snapshot_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        /// [`Snapshot`] borrowing the catalog's objects.
        #[derive(Serialize)]
        struct SnapshotRef<'a> {
            heads: BTreeMap<String, u64>,
            default_workspace: Option<String>,
            objects: Vec<Cow<'a, Object>>,
            stamps: Stamps,
        }
        // The heads are exactly those the catalog reflects.
        let (cat, heads) = self.service.snapshot_with_positions();
        let stamps = lock(self.store.stamps()).clone();
        serde_json::to_vec(&SnapshotRef {
            heads,
            default_workspace: cat.default_workspace().map(|w| w.id().to_string()),
            // Connection secrets leave the node sealed.
            objects: Sealer::new(&self.keys).seal_objects(cat.objects().map(|o| &**o)),
            stamps,
        })
    }

    /// Start the broker connection, heartbeats and the applier. Returns at once; the node
    /// serves its own configuration whether or not the broker is reachable.
    pub fn start(self: &Arc<Self>) -> Result<(), String> {
        let (embedded, listen, url, enabled) = {
            let cfg = meridian_catalog::sync::read(&self.config);
            (
                cfg.embedded_broker() && cfg.get("brokerURL").trim().is_empty(),
                cfg.get("embeddedBroker.listen").to_string(),
                cfg.get("brokerURL").to_string(),
                cfg.connection_enabled(),
            )
        };
        let max_wait = self
            .config
            .read()
            .map(|g| g.retry_wait_ms())
            .unwrap_or(10_000);
        let mut spec = if embedded {
            let addr: std::net::SocketAddr = listen
                .parse()
                .map_err(|e| format!("embeddedBroker.listen '{listen}': {e}"))?;
            let weak = Arc::downgrade(self);
            let refused = move |client_id: String| {
                if let Some(c) = weak.upgrade() {
                    c.reject(
                        "broker_login",
                        &format!("embedded broker: login of client '{client_id}' refused"),
                    );
                }
            };
            let addr = match start_embedded(addr, &self.keys, refused) {
                Ok(a) => a,
                Err(e) => {
                    // Keep serving; whatever broker holds the address may still be joined.
                    tracing::error!("{e}");
                    addr
                }
            };
            BrokerSpec {
                addrs: vec![(addr.ip().to_string(), addr.port())],
                randomize: false,
                initial_delay_ms: 250,
                max_delay_ms: max_wait,
                tls: false,
            }
        } else {
            parse_broker_spec(&url, max_wait)?
        };
        if spec.randomize && spec.addrs.len() > 1 {
            let shift = rand::random::<u64>() as usize % spec.addrs.len();
            spec.addrs.rotate_left(shift);
        }
        let (in_tx, in_rx) = mpsc::unbounded_channel::<Received>();
        let (presence_tx, presence_rx) = mpsc::unbounded_channel::<Received>();
        let outbox = lock(&self.outbox_rx)
            .take()
            .ok_or("cluster already started")?;
        let (client_tx, client_rx) = tokio::sync::watch::channel::<Option<AsyncClient>>(None);
        let _ = self.client.set(client_rx.clone());
        if !enabled {
            tracing::warn!("cluster connection disabled (connection=disabled): not joining the broker until enabled");
        }
        let inbox = Inbox {
            changes: in_tx,
            presence: presence_tx,
        };
        tokio::spawn(mqtt_loop(self.clone(), spec, inbox.clone(), client_tx));
        tokio::spawn(publisher(self.clone(), outbox, client_rx.clone()));
        tokio::spawn(heartbeat(self.clone(), inbox.presence));
        tokio::spawn(applier(self.clone(), in_rx, presence_rx, client_rx));
        tokio::spawn(checkpointer(self.clone()));
        Ok(())
    }

    /// Whether a peer's request token is valid for this request now; a refusal is counted
    /// by reason.
    pub fn token_ok(&self, method: &str, path_and_query: &str, token: &str) -> bool {
        let validity = self
            .config
            .read()
            .map(|g| g.peer_token_validity_ms())
            .unwrap_or(60_000);
        match self
            .keys
            .check_peer_token(method, path_and_query, token, now_ms(), validity)
        {
            Ok(()) => true,
            Err(e) => {
                let reason = match e {
                    TokenError::Malformed => "peer_token_malformed",
                    TokenError::Expired => "peer_token_expired",
                    TokenError::Mismatch => "peer_token_mismatch",
                };
                self.reject(reason, &format!("HTTP {method} {path_and_query}: {e}"));
                false
            }
        }
    }

    /// GET `pq` from the peer at `base` with a fresh token, and read its answer as JSON once
    /// its signature shows it comes from a holder of the secret. `None` when the peer no
    /// longer holds what was asked (410).
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        base: &str,
        pq: &str,
    ) -> Result<Option<T>, String> {
        let url = reqwest::Url::parse(&format!("{}{pq}", base.trim_end_matches("/geoserver")))
            .map_err(|e| format!("{base}{pq}: {e}"))?;
        // The token covers the path and query as they go on the wire (percent-encoded).
        let sent_pq = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let token = self.keys.peer_token("GET", &sent_pq, now_ms());
        let r = self
            .http
            .get(url.clone())
            .header("X-Meridian-Token", &token)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if r.status().as_u16() == 410 {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(format!("{url}: HTTP {}", r.status()));
        }
        let signature = r
            .headers()
            .get(meridian_rest::PEER_SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = r.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        if !signature.is_some_and(|s| self.keys.answer_signature_ok(&token, &body, &s)) {
            self.reject(
                "answer_unsigned",
                &format!("{url}: the answer is not signed with this cluster's secret"),
            );
            return Err(format!(
                "{url}: answer not signed with the cluster's secret"
            ));
        }
        serde_json::from_slice::<T>(&body)
            .map(Some)
            .map_err(|e| format!("{url}: {e}"))
    }

    /// Apply records of `origin` from a peer until this node has everything the peer has.
    async fn catch_up(self: &Arc<Self>, origin: &str, peer_url: &str) -> Result<(), String> {
        self.counters.catchups.fetch_add(1, Ordering::Relaxed);
        loop {
            let after = self.store.head(origin);
            let pq = format!(
                "/geoserver/rest/cluster/events.json?origin={origin}&after={after}&limit=500"
            );
            let Some(mut records) = self.get_json::<Vec<Record>>(peer_url, &pq).await? else {
                tracing::info!(%origin, peer = %peer_url, "peer no longer holds the records needed; taking a snapshot");
                return self.take_snapshot(peer_url).await;
            };
            let sealer = Sealer::new(&self.keys);
            for r in records.iter_mut() {
                if let Err(e) = sealer.open_changes(&mut r.changes) {
                    self.reject("sealed", &format!("records of {peer_url}: {e}"));
                    return Err(format!("records of {peer_url} refused: {e}"));
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
                        let mut f = lock(&self.failures);
                        let e = f.entry((origin.to_string(), after + 1)).or_insert(0);
                        *e += 1;
                        *e
                    };
                    if n >= 3 && self.peer_has_all_mine(peer_url) {
                        tracing::warn!(%origin, peer = %peer_url, "a batch keeps failing; repairing from the peer's snapshot");
                        lock(&self.failures).clear();
                        return PageOutcome::Snapshot;
                    }
                    return PageOutcome::Done;
                }
            }
        }
        PageOutcome::Continue
    }

    /// Apply one record if it is the next of its origin.
    async fn apply_record(self: &Arc<Self>, r: Record) -> Outcome {
        let head = self.store.head(&r.provenance.origin);
        if r.provenance.seq <= head {
            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
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
                self.counters.applied.fetch_add(1, Ordering::Relaxed);
                Outcome::Applied
            }
            Err(e) => {
                self.counters.deferred.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(origin = %r.provenance.origin, seq = r.provenance.seq, error = %e, "replicated batch deferred");
                Outcome::Failed
            }
        }
    }

    /// Replace the catalog with a peer's snapshot.
    async fn take_snapshot(self: &Arc<Self>, peer_url: &str) -> Result<(), String> {
        let started = Instant::now();
        let snap: Snapshot = self
            .get_json(peer_url, "/geoserver/rest/cluster/snapshot.json")
            .await?
            .ok_or("peer has no snapshot")?;
        let fetched = started.elapsed();
        let mut objects = snap.objects;
        if let Err(e) = Sealer::new(&self.keys).open_objects(&mut objects) {
            self.reject("sealed", &format!("snapshot of {peer_url}: {e}"));
            return Err(format!("snapshot of {peer_url} refused: {e}"));
        }
        let cat = checked_snapshot(objects, snap.default_workspace)
            .map_err(|e| format!("snapshot of {peer_url} refused: {e}"))?;
        {
            let mut st = lock(self.store.stamps());
            st.removed.extend(snap.stamps.removed);
            for (k, v) in snap.stamps.last {
                let newer = st.last.get(&k).is_none_or(|s| *s < v);
                if newer {
                    st.last.insert(k, v);
                }
            }
        }
        let svc = self.service.clone();
        let heads = snap.heads;
        tokio::task::spawn_blocking(move || svc.apply_snapshot(cat, heads))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.counters.snapshots.fetch_add(1, Ordering::Relaxed);
        *lock(&self.drift) = None;
        tracing::info!(
            peer = %peer_url,
            fetched_ms = fetched.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "catalog taken over from a peer snapshot"
        );
        Ok(())
    }

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
                self.counters.ignored.fetch_add(1, Ordering::Relaxed);
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
                let known = lock(&self.peers).get(&origin).map(|p| p.url.clone());
                match known {
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
                ..
            } => {
                if let Err(e) = check_peer_url(&url) {
                    self.reject("bad_url", &format!("heartbeat of {origin}: {e}"));
                    return;
                }
                let interval = self.heartbeat_interval();
                let (primaries_changed, earlier) = {
                    let mut peers = lock(&self.peers);
                    let previous = peers.get(&origin);
                    let before = previous.map(|p| (p.roles, p.url.clone()));
                    // The heads of the peer's previous heartbeat, if it came lately: changes
                    // it had then have had a heartbeat's time to arrive.
                    let earlier = previous
                        .filter(|p| p.seen.is_some_and(|t| t.elapsed() < interval * 3))
                        .map(|p| p.heads.clone());
                    peers.insert(
                        origin.clone(),
                        Peer {
                            name: origin.clone(),
                            url: url.clone(),
                            roles,
                            digest: digest.clone(),
                            heads: heads.clone(),
                            seen: Some(Instant::now()),
                        },
                    );
                    (before != Some((roles, url.clone())), earlier)
                };
                if primaries_changed {
                    self.update_gate();
                    self.save_peers();
                }
                if replica {
                    self.after_heartbeat(&origin, &url, &heads, earlier.as_ref(), &digest)
                        .await;
                }
            }
            Message::Leave { origin, .. } => {
                tracing::info!(peer = %origin, "peer left the cluster");
                lock(&self.peers).remove(&origin);
                self.update_gate();
                self.save_peers();
            }
        }
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
        let peer_primary = lock(&self.peers)
            .get(peer)
            .map(|p| p.roles.primary)
            .unwrap_or(false);
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
        let queued = self.queued_changes.load(Ordering::Relaxed) as u64;
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
            tracing::warn!("{msg}");
            *lock(&self.drift) = Some(msg);
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

    /// Whether the peer at `url` has applied every batch of this node (a snapshot from it then
    /// loses nothing of ours).
    fn peer_has_all_mine(&self, url: &str) -> bool {
        let mine = self.store.head(&self.me);
        mine == 0
            || lock(&self.peers)
                .values()
                .any(|p| p.url == url && p.heads.get(&self.me).copied().unwrap_or(0) >= mine)
    }

    async fn catch_up_from_any(self: &Arc<Self>, origin: &str) {
        let candidates: Vec<String> = {
            let peers = lock(&self.peers);
            let mine = self.store.head(origin);
            let mut v: Vec<&Peer> = peers
                .values()
                .filter(|p| p.heads.get(origin).copied().unwrap_or(0) > mine)
                .collect();
            // The origin itself first, then the others.
            v.sort_by_key(|p| p.name != origin);
            v.into_iter().map(|p| p.url.clone()).collect()
        };
        for url in candidates {
            if self.catch_up(origin, &url).await.is_ok() {
                return;
            }
        }
    }
}

/// The catalog of a peer's snapshot, once it passes the rules a REST write passes: every
/// object valid, each id once, the default workspace one of its workspaces.
pub fn checked_snapshot(
    objects: Vec<Object>,
    default_workspace: Option<String>,
) -> Result<Catalog, String> {
    let n = objects.len();
    let cat = Catalog::from_loaded(objects, default_workspace.clone());
    if cat.objects().count() != n {
        return Err("an object id appears more than once".into());
    }
    if default_workspace.is_some() && cat.default_workspace().is_none() {
        return Err("its default workspace is not one of its workspaces".into());
    }
    meridian_catalog::check_catalog(&cat).map_err(|e| e.to_string())?;
    Ok(cat)
}

/// The TLS transport from `broker.tls.ca` (PEM, required), and `broker.tls.cert` plus
/// `broker.tls.key` (PEM, optional client certificate).
fn tls_transport(cfg: &ClusterConfig) -> Result<rumqttc::Transport, String> {
    // One process-wide crypto provider; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let read = |key: &str| -> Result<Vec<u8>, String> {
        let path = cfg.get(key);
        std::fs::read(path).map_err(|e| format!("{key} '{path}': {e}"))
    };
    if cfg.get("broker.tls.ca").is_empty() {
        return Err(
            "an ssl:// or mqtts:// brokerURL needs broker.tls.ca (the CA certificate, PEM)".into(),
        );
    }
    let ca = read("broker.tls.ca")?;
    let client_auth = match (
        cfg.get("broker.tls.cert").is_empty(),
        cfg.get("broker.tls.key").is_empty(),
    ) {
        (true, true) => None,
        (false, false) => Some((read("broker.tls.cert")?, read("broker.tls.key")?)),
        _ => return Err("broker.tls.cert and broker.tls.key go together".into()),
    };
    Ok(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth,
        },
    ))
}

/// A topic level: MQTT wildcards, and the dots NATS uses as its own separator, become `_`.
fn topic_level(s: &str) -> String {
    s.replace(['#', '+', '.', '/'], "_")
}

/// What became of a replicated batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Applied now.
    Applied,
    /// Applied before; skipped.
    Duplicate,
    /// Earlier batches of its origin are missing.
    Gap,
    /// It does not apply to this node's catalog.
    Failed,
}

/// The MQTT options of a node's connection: its client id, and a persistent session unless
/// the configuration says `durable=false` (acknowledgements are sent once changes are
/// journaled).
fn mqtt_options(group: &str, me: &str, host: &str, port: u16, durable: bool) -> MqttOptions {
    let mut opts = MqttOptions::new(client_id(group, me), host, port);
    opts.set_keep_alive(Duration::from_secs(5));
    opts.set_clean_session(!durable);
    opts.set_manual_acks(true);
    // rumqttc stops sending anything, acknowledgements included, while this many of its
    // publishes are unacknowledged; rumqttd stops acknowledging a client's publishes (and its
    // pings) while that many of its deliveries to it are unacknowledged. With rumqttc's
    // default of 100, a primary under load (its own changes come back to it) deadlocked both
    // ways until the keep-alive dropped the connection, again and again.
    opts.set_inflight(MAX_UNACKED_PUBLISHES);
    opts.set_max_packet_size(8 * 1024 * 1024, 8 * 1024 * 1024);
    opts
}

/// A node's MQTT client id.
pub fn client_id(group: &str, me: &str) -> String {
    format!("meridian-{group}-{me}")
}

/// The credentials a node logs in to its broker with: `broker.username` and
/// `broker.password` when set (an external broker's own users), else the ones the embedded
/// broker requires, derived from the secret and bound to the client id.
fn broker_credentials(
    cfg: &ClusterConfig,
    keys: &ClusterKeys,
    client_id: &str,
) -> (String, String) {
    let user = cfg.get("broker.username");
    if user.is_empty() {
        (BROKER_USER.to_string(), keys.broker_password(client_id))
    } else {
        (user.to_string(), cfg.get("broker.password").to_string())
    }
}

/// Check a peer's advertised URL before it is ever asked: `http(s)://host[:port]/path`, with
/// no credentials, query or fragment.
pub fn check_peer_url(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("URL '{url}': {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("URL '{url}' is not http or https"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("URL '{url}' has no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!("URL '{url}' carries credentials"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!("URL '{url}' has a query or fragment"));
    }
    Ok(())
}

/// Publishes a node may have sent and not had acknowledged (see [`mqtt_options`]).
const MAX_UNACKED_PUBLISHES: u16 = 10_000;

/// What a node subscribes to under `base`: everything when it applies remote changes, else
/// only presence (heartbeats, and leaves, which `meridian cluster leave` sends there).
/// GeoServer's replica switch left the consumer on the topic, receiving every change only to
/// drop it; on a primary that also meant its own changes coming back to it.
fn subscription(base: &str, replica: bool) -> String {
    if replica {
        format!("{base}/#")
    } else {
        format!("{base}/heartbeat")
    }
}

async fn mqtt_loop(
    c: Arc<Cluster>,
    spec: BrokerSpec,
    inbox: Inbox,
    client_tx: tokio::sync::watch::Sender<Option<AsyncClient>>,
) {
    let base = c.topic_base();
    let addrs = spec.addrs;
    let mut attempt: u32 = 0;
    let mut idx = 0usize;
    let enabled = |c: &Cluster| {
        c.config
            .read()
            .map(|g| g.connection_enabled())
            .unwrap_or(true)
    };
    let credentials = |c: &Cluster| {
        c.config
            .read()
            .map(|g| broker_credentials(&g, &c.keys, &client_id(&c.group, &c.me)))
            .unwrap_or_default()
    };
    loop {
        // `connection=disabled` (from the file or through REST) keeps the node off the broker.
        while !enabled(&c) {
            c.connected.store(false, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (host, port) = addrs[idx % addrs.len()].clone();
        // A node that applies no remote changes needs only presence: it subscribes to no
        // changes, and on a clean session (the broker forgets any it held for it).
        let replica = c.roles().replica;
        let durable = replica && c.config.read().map(|g| g.durable()).unwrap_or(true);
        c.durable_session.store(durable, Ordering::Relaxed);
        let subscription = subscription(&base, replica);
        let mut opts = mqtt_options(&c.group, &c.me, &host, port, durable);
        let (user, password) = credentials(&c);
        opts.set_credentials(user, password);
        if spec.tls {
            match c
                .config
                .read()
                .map_err(|e| e.to_string())
                .and_then(|g| tls_transport(&g))
            {
                Ok(t) => {
                    opts.set_transport(t);
                }
                Err(e) => {
                    tracing::error!("broker TLS: {e}");
                    tokio::time::sleep(Duration::from_millis(spec.max_delay_ms)).await;
                    continue;
                }
            }
        }
        let (client, mut events) = AsyncClient::new(opts, 1000);
        // Changes and acknowledgements are small packets: without TCP_NODELAY, Nagle's
        // algorithm holds each one back until the previous is acknowledged (tens of ms).
        let mut net = rumqttc::NetworkOptions::new();
        net.set_tcp_nodelay(true);
        events.set_network_options(net);
        *lock(&c.broker) = format!("{}://{host}:{port}", if spec.tls { "ssl" } else { "tcp" });
        // Watch `connection` and the replica role: when the one is disabled or the other
        // changes, ask the event loop to disconnect (polling is never cancelled, so no packet
        // is lost half-read); a changed role connects again at once, subscribed for it.
        let role_changed = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (c, client, role_changed) = (c.clone(), client.clone(), role_changed.clone());
            tokio::spawn(async move {
                while enabled(&c) && c.roles().replica == replica {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                if enabled(&c) {
                    tracing::info!(
                        replica = !replica,
                        "connecting again to the broker for the new role"
                    );
                    role_changed.store(true, Ordering::Relaxed);
                } else {
                    tracing::info!("disconnecting from the broker (connection=disabled)");
                }
                let _ = client.disconnect().await;
            })
        };
        loop {
            let polled = events.poll().await;
            if !enabled(&c) {
                let _ = client_tx.send(None);
                c.connected.store(false, Ordering::Relaxed);
                break;
            }
            match polled {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    attempt = 0;
                    c.connected.store(true, Ordering::Relaxed);
                    tracing::info!(broker = %format!("{host}:{port}"), "connected to the broker");
                    // Always subscribe again: some brokers do not report kept sessions.
                    if let Err(e) = client
                        .subscribe(subscription.clone(), QoS::AtLeastOnce)
                        .await
                    {
                        tracing::warn!(error = %e, "subscribe failed");
                    }
                    let _ = client_tx.send(Some(client.clone()));
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let payload = p.payload.to_vec();
                    // Heartbeats sent at most once go ahead of queued changes; anything to be
                    // acknowledged keeps its order (brokers want acknowledgements in order).
                    let queue = if is_presence(&p) {
                        &inbox.presence
                    } else {
                        &inbox.changes
                    };
                    let _ = queue.send((payload, Some(p)));
                }
                Ok(_) => {}
                Err(e) => {
                    c.connected.store(false, Ordering::Relaxed);
                    let _ = client_tx.send(None);
                    if role_changed.load(Ordering::Relaxed) {
                        // Disconnected on purpose: connect again at once, for the new role.
                        break;
                    }
                    attempt = attempt.saturating_add(1);
                    let wait = spec
                        .initial_delay_ms
                        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
                        .min(spec.max_delay_ms);
                    tracing::warn!(broker = %format!("{host}:{port}"), error = %e, "broker unreachable; retrying in {wait} ms");
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    // Fail over to the next broker, if there are several; the catch-up fills
                    // what was missed.
                    idx += 1;
                    // And connect with a new client: rumqttc's own reconnection sends the
                    // unacknowledged publishes again first, and under load their packet ids
                    // collided with new ones, which stopped all publishing until a timeout of
                    // two keep-alives, twice in a row (a primary published nothing for 20 s).
                    // Peers fetch what the old client held from the journal.
                    break;
                }
            }
        }
        watcher.abort();
    }
}

async fn publisher(
    c: Arc<Cluster>,
    mut outbox: mpsc::UnboundedReceiver<Message>,
    client: tokio::sync::watch::Receiver<Option<AsyncClient>>,
) {
    let base = c.topic_base();
    while let Some(msg) = outbox.recv().await {
        // Heartbeats are sent at most once: the next one follows in a few seconds, and
        // receivers handle them ahead of queued changes, which needs no acknowledgement.
        let (topic, qos) = match &msg {
            Message::Heartbeat { .. } => (format!("{base}/heartbeat"), QoS::AtMostOnce),
            _ => (format!("{base}/changes"), QoS::AtLeastOnce),
        };
        let payload = c.encode_outgoing(&msg);
        let current = client.borrow().clone();
        match current {
            Some(cl) => {
                if let Err(e) = cl.publish(topic, qos, false, payload).await {
                    tracing::debug!(error = %e, "publish failed; peers will catch up from the journal");
                }
            }
            None => {
                // Not connected: peers catch up from the journal when they see our heads.
            }
        }
    }
}

async fn heartbeat(c: Arc<Cluster>, inbox: mpsc::UnboundedSender<Received>) {
    // The peers known before this start, asked at once over HTTP: a node that comes back to
    // a broker holding a long backlog of its messages learns how far behind it is now (and
    // catches up in pages or takes a snapshot) instead of after the backlog.
    let known: Vec<String> =
        read_json::<BTreeMap<String, String>>(&c.store.files().marker().with_file_name(PEERS_FILE))
            .into_values()
            .filter(|u| u != &c.url)
            .collect();
    if !known.is_empty() {
        // On its own task: a peer that no longer answers must not hold heartbeats back.
        let (c, inbox) = (c.clone(), inbox.clone());
        tokio::spawn(async move { c.poll_urls(known, &inbox).await });
    }
    loop {
        let interval = c.heartbeat_interval();
        let (heads, digest) = c.heads_and_digest();
        let msg = Message::Heartbeat {
            group: c.group.clone(),
            origin: c.me.clone(),
            url: c.url.clone(),
            roles: c.roles(),
            heads,
            digest,
        };
        let _ = c.outbox.send(msg);
        let expiry = {
            c.config
                .read()
                .map(|g| g.peer_expiry_ms())
                .unwrap_or(600_000)
        };
        lock(&c.peers).retain(|_, p| {
            p.seen
                .is_none_or(|t| t.elapsed() < Duration::from_millis(expiry))
        });
        if !c.connected.load(Ordering::Relaxed) {
            // Off the broker: ask the peers we know over HTTP, so catch-up goes on.
            c.poll_peers(&inbox).await;
        }
        tokio::time::sleep(interval).await;
    }
}

impl Cluster {
    async fn poll_peers(&self, inbox: &mpsc::UnboundedSender<Received>) {
        let urls: Vec<String> = lock(&self.peers).values().map(|p| p.url.clone()).collect();
        self.poll_urls(urls, inbox).await;
    }

    /// Ask nodes over HTTP for their status and hand it to the applier as their heartbeat.
    async fn poll_urls(&self, urls: Vec<String>, inbox: &mpsc::UnboundedSender<Received>) {
        for url in urls {
            let pq = "/geoserver/rest/cluster/status.json";
            let st: serde_json::Value = match self.get_json(&url, pq).await {
                Ok(Some(v)) => v,
                _ => continue,
            };
            let heads: BTreeMap<String, u64> = st["origins"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v["applied"].as_u64()?)))
                        .collect()
                })
                .unwrap_or_default();
            let roles: Roles = serde_json::from_value(st["roles"].clone()).unwrap_or_default();
            let msg = Message::Heartbeat {
                group: st["group"].as_str().unwrap_or_default().to_string(),
                origin: st["instanceName"].as_str().unwrap_or_default().to_string(),
                url,
                roles,
                heads,
                digest: st["digest"].as_str().unwrap_or_default().to_string(),
            };
            let _ = inbox.send((encode(&msg, &self.keys), None));
        }
    }
}

async fn applier(
    c: Arc<Cluster>,
    mut inbox: mpsc::UnboundedReceiver<Received>,
    mut presence: mpsc::UnboundedReceiver<Received>,
    client: tokio::sync::watch::Receiver<Option<AsyncClient>>,
) {
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
            c.queued_changes
                .store(group.len() - i - 1 + inbox.len(), Ordering::Relaxed);
            c.on_message(payload).await;
        }
        c.queued_changes.store(0, Ordering::Relaxed);
        // The fdatasync hands this worker's queued tasks to another thread (block_in_place):
        // run on the worker itself, it held up tasks queued there, such as answers to
        // `/rest/cluster/wait` (on a journaled ext4, waited p99 2.6 -> 1.2-1.5 ms).
        if let Err(e) = tokio::task::block_in_place(|| c.store.end_deferred()) {
            tracing::warn!(error = %e, "journal sync after a group of messages failed");
        }
        for (_, publish) in group {
            if let Some(p) = publish {
                let current = client.borrow().clone();
                if let Some(cl) = current {
                    let _ = cl.ack(&p).await;
                }
            }
        }
    }
}

/// A message as received: its payload, and the broker packet to acknowledge (none for what a
/// node learnt over HTTP).
type Received = (Vec<u8>, Option<Publish>);

/// Where received messages wait for the applier: changes (and whatever is acknowledged), and
/// presence (heartbeats sent at most once), which the applier takes first.
#[derive(Clone)]
struct Inbox {
    changes: mpsc::UnboundedSender<Received>,
    presence: mpsc::UnboundedSender<Received>,
}

/// Whether a received message goes ahead of queued changes: a heartbeat sent at most once
/// (what is to be acknowledged keeps its order: brokers want acknowledgements in order).
fn is_presence(p: &Publish) -> bool {
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

/// The peers' URLs by name, next to the applied marker, for the next start.
const PEERS_FILE: &str = "peers.json";

impl Cluster {
    /// Remember the peers' URLs for the next start (written when a peer appears, moves or
    /// leaves; a failure only costs that start's early poll).
    fn save_peers(&self) {
        let urls: BTreeMap<String, String> = lock(&self.peers)
            .values()
            .map(|p| (p.name.clone(), p.url.clone()))
            .collect();
        let path = self.store.files().marker().with_file_name(PEERS_FILE);
        if let Err(e) = write_json(&path, &urls) {
            tracing::debug!(path = %path.display(), error = %e, "could not save the peers");
        }
    }
}

/// At most this many received messages share one journal sync.
const GROUP_MAX: usize = 256;

/// Once a second, make the files of journaled batches durable and advance the applied marker,
/// so a quiet node never leaves batches to redo.
async fn checkpointer(c: Arc<Cluster>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let svc = c.service.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || svc.checkpoint()).await {
            tracing::warn!(error = %e, "checkpoint failed; the journal still holds the changes");
        }
    }
}

/// Milliseconds since the epoch (status).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Cluster {
    /// Prometheus text exposition of the node's cluster state.
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, v) in lines {
                out.push_str(&format!("{name}{labels} {v}\n"));
            }
        };
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let c = &self.counters;
        for (name, help, v) in [
            (
                "meridian_cluster_published_total",
                "Batches published",
                n(&c.published),
            ),
            (
                "meridian_cluster_applied_total",
                "Batches applied from other nodes",
                n(&c.applied),
            ),
            (
                "meridian_cluster_duplicates_total",
                "Deliveries skipped as already applied",
                n(&c.duplicates),
            ),
            (
                "meridian_cluster_deferred_total",
                "Batches that could not apply yet",
                n(&c.deferred),
            ),
            (
                "meridian_cluster_rejected_total",
                "Messages rejected",
                n(&c.rejected),
            ),
            (
                "meridian_cluster_catchups_total",
                "Catch-ups run",
                n(&c.catchups),
            ),
            (
                "meridian_cluster_snapshots_total",
                "Snapshots taken over",
                n(&c.snapshots),
            ),
        ] {
            metric(name, "counter", help, vec![(String::new(), v)]);
        }
        metric(
            "meridian_cluster_connected",
            "gauge",
            "Whether the node is connected to the broker",
            vec![(
                String::new(),
                u64::from(self.connected.load(Ordering::Relaxed)),
            )],
        );
        let heads = self.heads();
        let peers = lock(&self.peers).clone();
        let mut lag = Vec::new();
        let mut applied = Vec::new();
        for (o, mine) in &heads {
            let top = peers
                .values()
                .filter_map(|p| p.heads.get(o))
                .copied()
                .max()
                .unwrap_or(0)
                .max(*mine);
            applied.push((format!("{{origin=\"{o}\"}}"), *mine));
            lag.push((format!("{{origin=\"{o}\"}}"), top - mine));
        }
        metric(
            "meridian_cluster_applied_seq",
            "gauge",
            "Last applied sequence per origin",
            applied,
        );
        metric(
            "meridian_cluster_lag",
            "gauge",
            "Batches behind the best known head per origin",
            lag,
        );
        metric(
            "meridian_cluster_peers",
            "gauge",
            "Peers seen through heartbeats",
            vec![(String::new(), peers.len() as u64)],
        );
        metric(
            "meridian_cluster_files_pending",
            "gauge",
            "Applied batches whose data-directory files are still written behind the journal",
            vec![(String::new(), self.store.files().pending() as u64)],
        );
        metric(
            "meridian_cluster_files_failed",
            "gauge",
            "1 when a data-directory file written behind the journal failed (see the log)",
            vec![(String::new(), u64::from(self.store.files().failed()))],
        );
        let summary = self.service.snapshot().summary();
        metric(
            "meridian_catalog_objects",
            "gauge",
            "Catalog objects per kind",
            summary
                .iter()
                .map(|(k, v)| {
                    (
                        format!("{{kind=\"{}\"}}", k.label().replace(' ', "_")),
                        *v as u64,
                    )
                })
                .collect(),
        );
        out
    }
}

/// Leave the cluster for good: drop this node's persistent session on the broker (a clean
/// session with the same client id) and tell the peers to forget it. Run with the node stopped.
pub async fn leave(config: &ClusterConfig) -> Result<(), String> {
    let url = config.get("brokerURL");
    let spec = if url.trim().is_empty() {
        let listen = config.get("embeddedBroker.listen");
        parse_broker_spec(&format!("tcp://{listen}"), 1000)?
    } else {
        parse_broker_spec(url, 1000)?
    };
    let group = config.group().to_string();
    let me = config.instance().to_string();
    let topic = format!(
        "{}/{}/heartbeat",
        topic_level(config.get("topicName")),
        topic_level(&group)
    );
    let keys = ClusterKeys::new(config.secret()).map_err(|e| e.to_string())?;
    let msg = encode(
        &Message::Leave {
            group: group.clone(),
            origin: me.clone(),
        },
        &keys,
    );
    let mut last_err = String::from("no broker answered");
    for (host, port) in spec.addrs {
        let id = client_id(&group, &me);
        let (u, p) = broker_credentials(config, &keys, &id);
        let mut opts = MqttOptions::new(id, host.clone(), port);
        opts.set_clean_session(true);
        opts.set_keep_alive(Duration::from_secs(5));
        opts.set_credentials(u, p);
        let (client, mut events) = AsyncClient::new(opts, 10);
        let outcome = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        client
                            .publish(topic.clone(), QoS::AtLeastOnce, false, msg.clone())
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        let _ = client.disconnect().await;
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        })
        .await;
        match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => last_err = format!("{host}:{port}: {e}"),
            Err(_) => last_err = format!("{host}:{port}: timed out"),
        }
    }
    Err(last_err)
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_node_keeps_its_broker_session_unless_not_durable() {
        let durable = mqtt_options("g", "a", "127.0.0.1", 1883, true);
        assert!(!durable.clean_session());
        assert_eq!(durable.client_id(), "meridian-g-a");
        assert!(mqtt_options("g", "a", "127.0.0.1", 1883, false).clean_session());
    }

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

    /// A node receives its own changes back and acknowledges them only once its applier got to
    /// them; meanwhile it goes on publishing. The broker then stops acknowledging its publishes
    /// (rumqttd: while 100 deliveries to it, its fixed limit, are unacknowledged); the client
    /// must still be able to send its acknowledgements, or both sides wait for each other for
    /// good.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_node_publishing_while_behind_on_its_own_changes_does_not_deadlock() {
        let keys = ClusterKeys::new("s").unwrap();
        let listen =
            crate::broker::start_embedded("127.0.0.1:0".parse().unwrap(), &keys, |_| {}).unwrap();
        let mut opts = mqtt_options("g", "a", "127.0.0.1", listen.port(), true);
        opts.set_credentials(BROKER_USER, keys.broker_password(&client_id("g", "a")));
        let (client, mut events) = AsyncClient::new(opts, 1000);
        let (received_tx, mut received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(ev) = events.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = ev {
                    let _ = received_tx.send(p);
                }
            }
        });
        client.subscribe("t/#", QoS::AtLeastOnce).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        const SENT: usize = 3000;
        let sending = {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..SENT {
                    client
                        .publish("t/changes", QoS::AtLeastOnce, false, i.to_string())
                        .await
                        .unwrap();
                }
            })
        };
        // The applier is behind: nothing is acknowledged until every publish was handed over.
        tokio::time::timeout(Duration::from_secs(10), sending)
            .await
            .expect("publishing stopped while the node's own changes were unacknowledged")
            .unwrap();
        let mut got = 0;
        while got < SENT {
            let p = tokio::time::timeout(Duration::from_secs(10), received.recv())
                .await
                .expect("deliveries stopped: the broker and the client wait for each other")
                .unwrap();
            client.ack(&p).await.unwrap();
            got += 1;
        }
    }

    #[test]
    fn the_peers_known_are_kept_for_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PEERS_FILE);
        let read = || read_json::<BTreeMap<String, String>>(&path);
        assert!(read().is_empty());
        let urls: BTreeMap<String, String> =
            [("node-a".to_string(), "http://a:8080/geoserver".to_string())].into();
        write_json(&path, &urls).unwrap();
        assert_eq!(read(), urls);
        // A damaged file only costs the early poll.
        std::fs::write(&path, b"{not json").unwrap();
        assert!(read().is_empty());
    }

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
