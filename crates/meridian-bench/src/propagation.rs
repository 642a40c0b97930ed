//! Propagation latency: from the 2xx of a REST write on the primary to the object being
//! visible through REST on each replica, next to the broker's raw publish-to-receive time.
//! Measured three times: by polling each replica for the object (every 0.25 ms); by asking
//! each replica, once the 2xx is in, to answer when it serves the write's position
//! (`/rest/cluster/wait`); and by asking it before the write (the next position is known), so
//! that no probe request is parsed and dispatched while the change travels. Each time the
//! object must then answer 200.

use crate::cluster::{BrokerKind, Cluster};
use crate::rawget::RawGet;
use crate::rawpost::RawPost;
use crate::writes::{client_runtime, post_workspace};
use crate::{BenchError, Summary};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Figures of one propagation run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Broker used.
    pub kind: BrokerKind,
    /// Raw QoS 1 publish-to-receive time on the same broker.
    pub raw: Summary,
    /// The same with the subscriber on a persistent session, as replicas subscribe (a broker
    /// may store a message for such a subscriber before it delivers it).
    pub raw_persistent: Summary,
    /// Write 2xx to visible, per replica, found by polling.
    pub replicas: Vec<Summary>,
    /// All replicas together, found by polling.
    pub all: Summary,
    /// Write 2xx to visible, all replicas together, found by waiting for the position.
    pub waited: Summary,
    /// The same, with the wait asked before the write (0 when the replica served it before
    /// the 2xx reached the client).
    pub parked: Summary,
}

impl Report {
    /// The target: p99 under twice the raw p99 plus 1 ms.
    pub fn target_ms(&self) -> f64 {
        2.0 * self.raw.p99 + 1.0
    }
}

/// Raw round trip: `n` QoS 1 messages of about the size of a change, one at a time, from one
/// client to another through the broker on `port`; with `persistent`, the subscriber keeps
/// its session (clean session off), as replicas do. Both clients log in as cluster members of
/// `secret` would (the embedded broker admits nobody else).
pub fn raw_round_trip(
    port: u16,
    n: usize,
    persistent: bool,
    secret: &str,
) -> Result<Summary, BenchError> {
    let keys = meridian_cluster::keys::ClusterKeys::new(secret)
        .map_err(|e| BenchError::Node(e.to_string()))?;
    let login = |opts: &mut MqttOptions| {
        let password = keys.broker_password(opts.client_id().as_str());
        opts.set_credentials(meridian_cluster::keys::BROKER_USER, password);
    };
    let id = std::process::id();
    let kind = if persistent { "persistent" } else { "clean" };
    let topic = format!("meridian-bench/{id}/rtt-{kind}");
    let mqtt = |e: rumqttc::ClientError| BenchError::Node(format!("mqtt: {e}"));

    let mut so = MqttOptions::new(format!("bench-sub-{kind}-{id}"), "127.0.0.1", port);
    so.set_keep_alive(Duration::from_secs(30));
    so.set_clean_session(!persistent);
    login(&mut so);
    let (sub, mut sub_conn) = Client::new(so, 100);
    let (got_tx, got_rx) = mpsc::channel::<Option<Instant>>();
    std::thread::spawn(move || {
        for ev in sub_conn.iter() {
            match ev {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = got_tx.send(None);
                }
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    if got_tx.send(Some(Instant::now())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    sub.subscribe(&topic, QoS::AtLeastOnce).map_err(mqtt)?;
    match got_rx.recv_timeout(Duration::from_secs(30)) {
        Ok(None) => {}
        _ => {
            return Err(BenchError::Node(
                "raw round trip: no subscription acknowledgement from the broker".into(),
            ))
        }
    }

    let mut po = MqttOptions::new(format!("bench-pub-{kind}-{id}"), "127.0.0.1", port);
    po.set_keep_alive(Duration::from_secs(30));
    login(&mut po);
    let (publisher, mut pub_conn) = Client::new(po, 100);
    std::thread::spawn(move || {
        for ev in pub_conn.iter() {
            if ev.is_err() {
                return;
            }
        }
    });
    let payload = vec![b'x'; 600];
    let mut ms = Vec::with_capacity(n);
    for i in 0..n + 10 {
        let t0 = Instant::now();
        publisher
            .publish(&topic, QoS::AtLeastOnce, false, payload.clone())
            .map_err(mqtt)?;
        let t1 = loop {
            match got_rx.recv_timeout(Duration::from_secs(10)) {
                Ok(Some(t)) => break t,
                Ok(None) => continue,
                Err(_) => {
                    return Err(BenchError::Node(
                        "raw round trip: a message did not arrive within 10 s".into(),
                    ))
                }
            }
        };
        // The first messages warm up the connections.
        if i >= 10 {
            ms.push(t1.duration_since(t0).as_secs_f64() * 1000.0);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = publisher.disconnect();
    let _ = sub.disconnect();
    Ok(Summary::of(ms))
}

/// How a replica is asked whether it serves a write yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// GET the object every 0.25 ms until it answers 200.
    Poll,
    /// GET `/rest/cluster/wait` for the write's position, then the object (must be 200).
    Wait,
    /// The same, asked before the write is sent.
    Parked,
}

/// One replica's answer to a probe: when it served the write.
fn probe(
    raw: &mut RawGet,
    base: &str,
    name: &str,
    position: Option<&str>,
    how: Probe,
    t0: Instant,
) -> Result<Instant, BenchError> {
    if how != Probe::Poll {
        let position = position.ok_or_else(|| {
            BenchError::Node("the primary's answer has no X-Meridian-Position".into())
        })?;
        let mut body = Vec::new();
        raw.get(
            &format!("/rest/cluster/wait.json?position={position}&timeout=30000"),
            &mut body,
        )?;
        let served = Instant::now();
        let waited: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| BenchError::Http(e.to_string()))?;
        if waited["reached"] != true {
            return Err(BenchError::Node(format!(
                "{name} not applied on {base} after 30 s"
            )));
        }
        // The object itself is checked once every replica has answered (see `verify`).
        return Ok(served);
    }
    let path = format!("/rest/workspaces/{name}.json");
    loop {
        if raw.status(&path)? == 200 {
            return Ok(Instant::now());
        }
        // Poll gently: on a small machine a busy poller would starve the node.
        std::thread::sleep(Duration::from_micros(250));
        if t0.elapsed() > Duration::from_secs(30) {
            return Err(BenchError::Node(format!(
                "{name} not visible on {base} after 30 s"
            )));
        }
    }
}

/// That a replica which reached a write's position serves its workspace. Asked only once
/// every replica has answered its wait, so that these GETs do not compete for the cores with
/// the replicas still applying the write.
fn verify(raw: &mut RawGet, base: &str, name: &str) -> Result<Instant, BenchError> {
    let status = raw.status(&format!("/rest/workspaces/{name}.json"))?;
    if status != 200 {
        return Err(BenchError::Node(format!(
            "{base} reached the write's position but {name} answers {status}"
        )));
    }
    Ok(Instant::now())
}

/// A write to measure: the workspace's name, the write's position, how to probe, and the
/// time of the 2xx (of the probe's start, for a parked wait).
type Job = (String, Option<String>, Probe, Instant);

/// What a prober thread is asked: to probe for a write, or to check that a waited-for write
/// is served.
enum Task {
    Probe(Job),
    Verify(String),
}

/// Start a primary and `replicas` replicas on `kind`, then measure `n` writes by polling and
/// `n` by waiting; `durable` is the nodes' `durable` setting (their broker sessions).
pub fn run(
    binary: &Path,
    kind: BrokerKind,
    replicas: usize,
    n: usize,
    durable: bool,
) -> Result<Report, BenchError> {
    let tmp = crate::node::work_dir()?;
    let env = vec![("durable", durable.to_string())];
    let cluster = Cluster::start(binary, tmp.path(), kind, replicas, None, env)?;
    let raw = raw_round_trip(cluster.broker_port, n, false, &cluster.secret())?;
    let raw_persistent = raw_round_trip(cluster.broker_port, n, true, &cluster.secret())?;

    // One prober thread per replica: given a write, it reports the delay until the replica
    // serves it.
    let mut to_probers = Vec::new();
    let (done_tx, done_rx) = mpsc::channel::<(usize, Result<Instant, BenchError>)>();
    for (r, node) in cluster.nodes.iter().enumerate().skip(1) {
        let (tx, rx) = mpsc::channel::<Task>();
        to_probers.push(tx);
        let done = done_tx.clone();
        let base = node.base.clone();
        let mut raw = RawGet::new(&base)?;
        std::thread::spawn(move || {
            for task in rx {
                let res = match task {
                    Task::Probe((name, position, how, t0)) => {
                        probe(&mut raw, &base, &name, position.as_deref(), how, t0)
                    }
                    Task::Verify(name) => verify(&mut raw, &base, &name),
                };
                if done.send((r, res)).is_err() {
                    return;
                }
            }
        });
    }
    // The writer sends its POSTs itself (`rawpost`), so the 2xx is taken as it arrives.
    let rt = client_runtime()?;
    let primary = cluster.nodes[0].base.clone();
    let mut writes = RawPost::new(&primary)?;
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); replicas];
    let mut waited = Vec::new();
    let mut parked = Vec::new();
    let warmup = 10;
    // The primary's last position: a parked wait asks for the one after it.
    let mut last: Option<String> = None;
    for (phase, how) in [Probe::Poll, Probe::Wait, Probe::Parked]
        .into_iter()
        .enumerate()
    {
        for i in 0..n + warmup {
            let name = format!("prop{phase}x{i}");
            let send = |position: Option<String>, t0: Instant| {
                to_probers.iter().try_for_each(|tx| {
                    tx.send(Task::Probe((name.clone(), position.clone(), how, t0)))
                        .map_err(|_| BenchError::Node("a prober stopped".into()))
                })
            };
            if how == Probe::Parked {
                send(last.as_deref().and_then(next_position), Instant::now())?;
                // Let the waits arrive and park before the write is sent.
                std::thread::sleep(Duration::from_millis(2));
            }
            let position = rt.block_on(post_workspace(&mut writes, &name))?;
            let t0 = Instant::now();
            if how != Probe::Parked {
                send(position.clone(), t0)?;
            } else if position.as_deref() != last.as_deref().and_then(next_position).as_deref() {
                return Err(BenchError::Node(format!(
                    "the primary answered position {position:?} after {last:?}: another writer?"
                )));
            }
            last = position;
            for _ in 0..replicas {
                let (r, res) = done_rx
                    .recv()
                    .map_err(|_| BenchError::Node("a prober stopped".into()))?;
                let ms = res?.saturating_duration_since(t0).as_secs_f64() * 1000.0;
                if i >= warmup {
                    match how {
                        Probe::Poll => per[r - 1].push(ms),
                        Probe::Wait => waited.push(ms),
                        Probe::Parked => parked.push(ms),
                    }
                }
            }
            if how != Probe::Poll {
                for tx in &to_probers {
                    tx.send(Task::Verify(name.clone()))
                        .map_err(|_| BenchError::Node("a prober stopped".into()))?;
                }
                for _ in 0..replicas {
                    let (_, res) = done_rx
                        .recv()
                        .map_err(|_| BenchError::Node("a prober stopped".into()))?;
                    res?;
                }
            }
            // Writes spaced out like an administrator's, not a burst.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let all = Summary::of(per.iter().flatten().copied().collect());
    Ok(Report {
        kind,
        raw,
        raw_persistent,
        replicas: per.into_iter().map(Summary::of).collect(),
        all,
        waited: Summary::of(waited),
        parked: Summary::of(parked),
    })
}

/// The position after `origin:seq`.
fn next_position(position: &str) -> Option<String> {
    let (origin, seq) = position.rsplit_once(':')?;
    Some(format!("{origin}:{}", seq.parse::<u64>().ok()? + 1))
}
