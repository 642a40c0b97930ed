//! The MQTT transport: which broker (embedded or named, with failover and TLS), the
//! connection and its subscriptions for the node's roles, and publishing.

use super::replication::{is_presence, Delivery, Inbox};
use super::Cluster;
use crate::broker::{parse_broker_spec, start_embedded, BrokerError, BrokerSpec};
use crate::config::ClusterConfig;
use crate::envelope::{encode, Message};
use crate::error::ClusterError;
use crate::keys::{ClusterKeys, BROKER_USER};
use meridian_catalog::sync::{lock, read};
use meridian_store::Record;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Largest message sent through the broker; larger batches go by reference.
const MAX_INLINE: usize = 256 * 1024;

/// Publishes a node may have sent and not had acknowledged (see [`mqtt_options`]).
const MAX_UNACKED_PUBLISHES: u16 = 10_000;

/// The broker connection's state.
pub(super) struct Transport {
    /// Connected to the broker.
    connected: AtomicBool,
    /// Whether the current (or last) broker connection has a persistent session (`durable`).
    durable_session: AtomicBool,
    /// The broker address in use.
    broker: Mutex<String>,
    /// The broker client while connected (set once the node starts).
    client: OnceLock<watch::Receiver<Option<AsyncClient>>>,
    /// Messages for the publisher task (while no client takes them directly).
    outbox: mpsc::UnboundedSender<Message>,
    /// Cuts a reconnection back-off short (a peer reached the broker).
    retry_now: tokio::sync::Notify,
    /// Where peers reach this node's own embedded broker, when every node runs its own
    /// (discovery on): it publishes there, and subscribes to each peer's.
    mesh: OnceLock<String>,
    /// Where received messages go (set at start; peer links deliver there too).
    inbox: OnceLock<Inbox>,
    /// The receive-only links to peers' brokers, by peer name.
    links: Mutex<BTreeMap<String, Link>>,
    outbox_rx: Mutex<Option<mpsc::UnboundedReceiver<Message>>>,
}

impl Transport {
    pub(super) fn new() -> Self {
        let (outbox, rx) = mpsc::unbounded_channel();
        Transport {
            connected: AtomicBool::new(false),
            durable_session: AtomicBool::new(true),
            broker: Mutex::new(String::new()),
            client: OnceLock::new(),
            outbox,
            retry_now: tokio::sync::Notify::new(),
            mesh: OnceLock::new(),
            inbox: OnceLock::new(),
            links: Mutex::new(BTreeMap::new()),
            outbox_rx: Mutex::new(Some(rx)),
        }
    }

    /// Whether the node is connected to its broker.
    pub(super) fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Whether the broker keeps this node's session while it is away.
    pub(super) fn durable_session(&self) -> bool {
        self.durable_session.load(Ordering::Relaxed)
    }

    /// The broker in use, as `tcp://host:port` or `ssl://host:port`.
    pub(super) fn broker_url(&self) -> String {
        lock(&self.broker).clone()
    }
}

/// A link to a peer's broker.
struct Link {
    /// `host:port`.
    addr: String,
    /// Its connection task.
    task: tokio::task::JoinHandle<()>,
    /// Ends the link's reconnection back-off early (the peer answered over HTTP).
    retry: Arc<tokio::sync::Notify>,
    /// Whether it is connected now.
    connected: Arc<AtomicBool>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A topic level: MQTT wildcards, and the dots NATS uses as its own separator, become `_`.
fn topic_level(s: &str) -> String {
    s.replace(['#', '+', '.', '/'], "_")
}

/// The topics of a group live under `<topicName>/<group>`.
pub(super) fn topic_base(cfg: &ClusterConfig, group: &str) -> String {
    format!(
        "{}/{}",
        topic_level(cfg.get("topicName")),
        topic_level(group)
    )
}

impl Cluster {
    fn topic_base(&self) -> String {
        topic_base(&read(&self.config), &self.group)
    }

    /// Publish a local batch (called under the writer lock, so batches leave in sequence
    /// order): handed straight to the broker client's queue while connected, else to the
    /// publisher task.
    pub(super) fn publish_record(&self, record: Record) {
        let msg = Message::Changes {
            group: self.group.clone(),
            record,
        };
        let current = self
            .transport
            .client
            .get()
            .and_then(|rx| rx.borrow().clone());
        let sent = match current {
            Some(cl) => {
                let topic = format!("{}/changes", self.topic_base());
                cl.try_publish(topic, QoS::AtLeastOnce, false, self.encode_outgoing(&msg))
                    .is_ok()
            }
            None => false,
        };
        if sent || self.transport.outbox.send(msg).is_ok() {
            self.counters.published.inc();
        }
    }

    /// Try the broker again now, if the node is waiting out a reconnection back-off.
    pub(super) fn retry_broker_now(&self) {
        self.transport.retry_now.notify_waiters();
    }

    /// Hand a message to the publisher task.
    pub(super) fn send(&self, msg: Message) {
        let _ = self.transport.outbox.send(msg);
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

    /// The brokers to connect to: the embedded one (started here) unless `brokerURL` names
    /// others.
    /// With `discovery` on and the embedded broker, every node runs its own: no single one
    /// carries the cluster.
    pub(super) fn broker_spec(
        self: &Arc<Self>,
        discovery: bool,
    ) -> Result<BrokerSpec, ClusterError> {
        let (embedded, listen, url, max_wait, advertise) = {
            let cfg = read(&self.config);
            (
                cfg.embedded_broker() && cfg.get("brokerURL").trim().is_empty(),
                cfg.get("embeddedBroker.listen").to_string(),
                cfg.get("brokerURL").to_string(),
                cfg.retry_wait_ms(),
                cfg.get("embeddedBroker.advertise").trim().to_string(),
            )
        };
        let mesh = embedded && discovery;
        let mut spec = if embedded {
            let addr: std::net::SocketAddr = listen
                .parse()
                .map_err(|_| BrokerError::ListenAddress(listen.clone()))?;
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
            if mesh {
                let advertised = self.mesh_address_for(addr, &advertise);
                tracing::info!(listen = %addr, advertised = %advertised, "every node runs its own broker: peers subscribe here, this node subscribes to theirs");
                let _ = self.transport.mesh.set(advertised);
            }
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
        Ok(spec)
    }

    /// Start the connection and the publisher; returns where the current client is found.
    pub(super) fn start_transport(
        self: &Arc<Self>,
        spec: BrokerSpec,
        inbox: Inbox,
    ) -> Result<(), ClusterError> {
        let outbox = lock(&self.transport.outbox_rx)
            .take()
            .ok_or(ClusterError::AlreadyStarted)?;
        let _ = self.transport.inbox.set(inbox.clone());
        let (client_tx, client_rx) = watch::channel::<Option<AsyncClient>>(None);
        let _ = self.transport.client.set(client_rx.clone());
        if !read(&self.config).connection_enabled() {
            tracing::warn!("cluster connection disabled (connection=disabled): not joining the broker until enabled");
        }
        tokio::spawn(mqtt_loop(self.clone(), spec, inbox, client_tx));
        tokio::spawn(publisher(self.clone(), outbox, client_rx));
        Ok(())
    }

    /// Where peers reach this node's broker: `embeddedBroker.advertise`, else the host of
    /// `node.url` with the port the broker listens on.
    fn mesh_address_for(&self, listen: std::net::SocketAddr, advertise: &str) -> String {
        if !advertise.is_empty() {
            return advertise.to_string();
        }
        let host = reqwest::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| listen.ip().to_string());
        format!("{host}:{}", listen.port())
    }

    /// Where peers reach this node's own broker, when every node runs its own.
    pub fn mesh_address(&self) -> Option<String> {
        self.transport.mesh.get().cloned()
    }

    /// Subscribe to the broker of peer `name` at `addr` (when every node runs its own), or
    /// move the link there; nothing when it is already there.
    pub(super) fn link_peer(self: &Arc<Self>, name: &str, addr: &str) {
        if self.transport.mesh.get().is_none() || name == self.me {
            return;
        }
        let Some(inbox) = self.transport.inbox.get().cloned() else {
            return;
        };
        let mut links = lock(&self.transport.links);
        if links.get(name).is_some_and(|l| l.addr == addr) {
            return;
        }
        let Some((host, port)) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?)))
        else {
            self.reject(
                "bad_broker",
                &format!("peer {name} announces broker '{addr}'"),
            );
            return;
        };
        tracing::info!(peer = %name, broker = %addr, "subscribing to the peer's broker");
        let retry = Arc::new(tokio::sync::Notify::new());
        let connected = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(peer_link(
            self.clone(),
            name.to_string(),
            (host, port),
            inbox,
            (retry.clone(), connected.clone()),
        ));
        links.insert(
            name.to_string(),
            Link {
                addr: addr.to_string(),
                task,
                retry,
                connected,
            },
        );
    }

    /// The peer `name` answered over HTTP: if its link waits out a back-off, try now (a healed
    /// partition costs no back-off).
    pub(super) fn nudge_link(&self, name: &str) {
        if let Some(l) = lock(&self.transport.links).get(name) {
            l.retry.notify_waiters();
        }
    }

    /// Drop the link to a peer's broker (it left, or was forgotten).
    pub(super) fn unlink_peer(&self, name: &str) {
        lock(&self.transport.links).remove(name);
    }

    /// The links to peers' brokers, by peer name.
    pub fn peer_links(&self) -> BTreeMap<String, crate::status::LinkStatus> {
        lock(&self.transport.links)
            .iter()
            .map(|(k, l)| {
                (
                    k.clone(),
                    crate::status::LinkStatus {
                        broker: l.addr.clone(),
                        connected: l.connected.load(Ordering::Relaxed),
                    },
                )
            })
            .collect()
    }
}

/// A receive-only link to one peer's broker: subscribed for this node's roles, on a session
/// the broker keeps (as the home connection's), reconnecting with a back-off; what arrives
/// is queued for the applier and acknowledged through this link.
async fn peer_link(
    c: Arc<Cluster>,
    peer: String,
    (host, port): (String, u16),
    inbox: Inbox,
    (retry, connected): (Arc<tokio::sync::Notify>, Arc<AtomicBool>),
) {
    let base = c.topic_base();
    let mut attempt: u32 = 0;
    loop {
        let replica = c.roles().replica;
        let durable = replica && read(&c.config).durable();
        let mut opts = mqtt_options(&c.group, &c.me, &host, port, durable);
        let (user, password) =
            broker_credentials(&read(&c.config), &c.keys, &client_id(&c.group, &c.me));
        opts.set_credentials(user, password);
        let (client, mut events) = AsyncClient::new(opts, 1000);
        let mut net = rumqttc::NetworkOptions::new();
        net.set_tcp_nodelay(true);
        net.set_connection_timeout(2);
        events.set_network_options(net);
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    attempt = 0;
                    connected.store(true, Ordering::Relaxed);
                    tracing::info!(%peer, broker = %format!("{host}:{port}"), "connected to the peer's broker");
                    if let Err(e) = client
                        .subscribe(subscription(&base, replica), QoS::AtLeastOnce)
                        .await
                    {
                        tracing::warn!(%peer, error = %e, "subscribe failed");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let queue = if is_presence(&p) {
                        &inbox.presence
                    } else {
                        &inbox.changes
                    };
                    let _ = queue.send((
                        p.payload.to_vec(),
                        Some(Delivery {
                            publish: p,
                            client: client.clone(),
                        }),
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    connected.store(false, Ordering::Relaxed);
                    attempt = attempt.saturating_add(1);
                    let wait = 250u64
                        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
                        .min(read(&c.config).retry_wait_ms());
                    tracing::debug!(%peer, error = %e, "the peer's broker is unreachable; retrying in {wait} ms");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                        _ = retry.notified() => {}
                    }
                    break;
                }
            }
        }
    }
}

/// The TLS transport from `broker.tls.ca` (PEM, required), and `broker.tls.cert` plus
/// `broker.tls.key` (PEM, optional client certificate).
fn tls_transport(cfg: &ClusterConfig) -> Result<rumqttc::Transport, BrokerError> {
    // One process-wide crypto provider; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let read = |key: &str| -> Result<Vec<u8>, BrokerError> {
        let path = cfg.get(key);
        std::fs::read(path).map_err(|e| BrokerError::Tls(format!("{key} '{path}': {e}")))
    };
    if cfg.get("broker.tls.ca").is_empty() {
        return Err(BrokerError::Tls(
            "an ssl:// or mqtts:// brokerURL needs broker.tls.ca (the CA certificate, PEM)".into(),
        ));
    }
    let ca = read("broker.tls.ca")?;
    let client_auth = match (
        cfg.get("broker.tls.cert").is_empty(),
        cfg.get("broker.tls.key").is_empty(),
    ) {
        (true, true) => None,
        (false, false) => Some((read("broker.tls.cert")?, read("broker.tls.key")?)),
        _ => {
            return Err(BrokerError::Tls(
                "broker.tls.cert and broker.tls.key go together".into(),
            ))
        }
    };
    Ok(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth,
        },
    ))
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
pub(super) fn broker_credentials(
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

/// Stay connected to a broker (failing over between several), subscribed for the node's
/// roles, and queue what arrives for the applier.
async fn mqtt_loop(
    c: Arc<Cluster>,
    spec: BrokerSpec,
    inbox: Inbox,
    client_tx: watch::Sender<Option<AsyncClient>>,
) {
    let base = c.topic_base();
    let mesh = c.transport.mesh.get().is_some();
    let addrs = spec.addrs;
    let mut attempt: u32 = 0;
    let mut idx = 0usize;
    let enabled = |c: &Cluster| read(&c.config).connection_enabled();
    let credentials =
        |c: &Cluster| broker_credentials(&read(&c.config), &c.keys, &client_id(&c.group, &c.me));
    let state = &c.transport;
    loop {
        // `connection=disabled` (from the file or through REST) keeps the node off the broker.
        while !enabled(&c) {
            state.connected.store(false, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (host, port) = addrs[idx % addrs.len()].clone();
        // A node that applies no remote changes needs only presence: it subscribes to no
        // changes, and on a clean session (the broker forgets any it held for it).
        let replica = c.roles().replica;
        let durable = replica && read(&c.config).durable();
        state.durable_session.store(durable, Ordering::Relaxed);
        let subscription = subscription(&base, replica);
        let mut opts = mqtt_options(&c.group, &c.me, &host, port, durable);
        let (user, password) = credentials(&c);
        opts.set_credentials(user, password);
        if spec.tls {
            let transport = tls_transport(&read(&c.config));
            match transport {
                Ok(t) => {
                    opts.set_transport(t);
                }
                Err(e) => {
                    tracing::error!("{e}");
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
        *lock(&state.broker) = format!("{}://{host}:{port}", if spec.tls { "ssl" } else { "tcp" });
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
                state.connected.store(false, Ordering::Relaxed);
                break;
            }
            match polled {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    attempt = 0;
                    state.connected.store(true, Ordering::Relaxed);
                    c.readiness.connected();
                    tracing::info!(broker = %format!("{host}:{port}"), "connected to the broker");
                    // Always subscribe again: some brokers do not report kept sessions. With a
                    // broker on every node, this one carries only this node's own messages:
                    // what it receives comes through its links to the peers' brokers.
                    if !mesh {
                        if let Err(e) = client
                            .subscribe(subscription.clone(), QoS::AtLeastOnce)
                            .await
                        {
                            tracing::warn!(error = %e, "subscribe failed");
                        }
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
                    let _ = queue.send((
                        payload,
                        Some(Delivery {
                            publish: p,
                            client: client.clone(),
                        }),
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    state.connected.store(false, Ordering::Relaxed);
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
                    // A peer seen connected to the broker (over HTTP) ends the wait at once: a
                    // healed partition costs no back-off; a broker that is down is still
                    // asked at most once per such sign, and once per back-off otherwise.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                        _ = state.retry_now.notified() => {
                            tracing::info!("a peer reaches the broker: connecting again now");
                        }
                    }
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

/// Send what the outbox holds (heartbeats, and batches published while no client was there).
async fn publisher(
    c: Arc<Cluster>,
    mut outbox: mpsc::UnboundedReceiver<Message>,
    client: watch::Receiver<Option<AsyncClient>>,
) {
    let base = c.topic_base();
    while let Some(msg) = outbox.recv().await {
        // Heartbeats are sent at most once: the next one follows in a few seconds, and
        // receivers handle them ahead of queued changes, which needs no acknowledgement.
        let (topic, qos) = match &msg {
            Message::Heartbeat { .. } => (format!("{base}/heartbeat"), QoS::AtMostOnce),
            // Every node hears presence, replica or not: an invalidation goes there, at least
            // once, in order with what else arrives.
            Message::Invalidate { .. } => (format!("{base}/heartbeat"), QoS::AtLeastOnce),
            _ => (format!("{base}/changes"), QoS::AtLeastOnce),
        };
        let payload = c.encode_outgoing(&msg);
        let current = client.borrow().clone();
        // Not connected: peers catch up from the journal when they see our heads.
        if let Some(cl) = current {
            if let Err(e) = cl.publish(topic, qos, false, payload).await {
                tracing::debug!(error = %e, "publish failed; peers will catch up from the journal");
            }
        }
    }
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
}
