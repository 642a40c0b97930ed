//! The embedded MQTT broker (rumqttd) that lets a small cluster run with nothing else installed.
//! It is only a fan-out accelerator: reliability comes from the journals and catch-up.

use crate::keys::{constant_time_eq, ClusterKeys, BROKER_USER};
use rustix::process::{PidfdFlags, PidfdGetfdFlags};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// Why the broker settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The embedded broker cannot bind its address.
    #[error("embedded broker cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The broker's thread could not start.
    #[error("embedded broker: {0}")]
    Thread(std::io::Error),
    /// `embeddedBroker.listen` is no socket address.
    #[error("embeddedBroker.listen '{0}' is not host:port")]
    ListenAddress(String),
    /// `brokerURL` does not parse.
    #[error("brokerURL{0}")]
    Url(String),
    /// TLS to the broker is asked for without what it needs.
    #[error("broker TLS: {0}")]
    Tls(String),
}

/// Start the broker on `listen` in its own threads and return the address it listens on
/// (port 0 picks a free port). Fails when the address cannot be bound.
///
/// Only cluster members connect: a client logs in as [`BROKER_USER`] with the password
/// [`ClusterKeys::broker_password`] derives for its client id, so without the secret nothing
/// can publish, subscribe, or take a node's client id.
/// `refused` is told the client id of each login refused.
pub fn start_embedded(
    listen: SocketAddr,
    keys: &ClusterKeys,
    refused: impl Fn(String) + Send + Sync + 'static,
) -> Result<SocketAddr, BrokerError> {
    // rumqttd reports bind errors only in its own threads; check the address first.
    let bind_error = |source| BrokerError::Listen {
        addr: listen,
        source,
    };
    let probe = std::net::TcpListener::bind(listen).map_err(bind_error)?;
    let listen = probe.local_addr().map_err(bind_error)?;
    drop(probe);
    let mut connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 4 * 1024 * 1024,
        // Despite its name: how many packets a connection reads from its socket at a time.
        // (Deliveries awaiting a client's acknowledgement are capped at 100 in rumqttd's
        // router, a constant.)
        max_inflight_count: 500,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let keys = keys.clone();
    connections.set_auth_handler(move |client_id: String, user: String, password: String| {
        let ok = user == BROKER_USER
            && constant_time_eq(
                keys.broker_password(&client_id).as_bytes(),
                password.as_bytes(),
            );
        if !ok {
            refused(client_id);
        }
        async move { ok }
    });
    let server = rumqttd::ServerSettings {
        name: "v4-1".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let router = rumqttd::RouterConfig {
        max_connections: 10_010,
        max_outgoing_packet_count: 1000,
        max_segment_size: 64 * 1024 * 1024,
        max_segment_count: 4,
        ..Default::default()
    };
    let config = rumqttd::Config {
        id: 0,
        router,
        v4: Some(HashMap::from([("1".to_string(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .map_err(BrokerError::Thread)?;
    match no_delay_on_listener(listen, Duration::from_secs(2)) {
        Ok(()) => {}
        Err(e) => {
            tracing::warn!(%listen, error = %e, "embedded broker: could not turn off Nagle's algorithm; deliveries after a ping may wait for a delayed ACK (up to 40 ms)")
        }
    }
    tracing::info!(%listen, "embedded MQTT broker started");
    Ok(listen)
}

/// Set `TCP_NODELAY` on this process's socket listening on `listen`, once the broker's thread
/// has bound it (waiting at most `limit`); the connections it accepts inherit the option.
///
/// rumqttd writes each packet as it comes and never sets the option itself, so a PUBLISH
/// that follows a small packet not yet acknowledged (a PINGRESP: the client has nothing to
/// send back and delays its ACK) waits for that ACK, up to 40 ms on Linux; under load, a
/// PUBLISH waits for the subscriber's PUBACK of the one before. The socket is reached
/// through a duplicate of its descriptor (`pidfd_getfd` on this process), which shares the
/// option with the broker's own.
fn no_delay_on_listener(listen: SocketAddr, limit: Duration) -> std::io::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let found = own_socket(|fd| {
            let bound = rustix::net::getsockname(fd)
                .ok()
                .and_then(|a| SocketAddr::try_from(a).ok());
            bound == Some(listen) && rustix::net::sockopt::socket_acceptconn(fd).unwrap_or(false)
        })?;
        if let Some(fd) = found {
            return Ok(rustix::net::sockopt::set_tcp_nodelay(&fd, true)?);
        }
        if Instant::now() >= deadline {
            return Err(std::io::Error::other(format!(
                "no socket listening on {listen} after {} ms",
                limit.as_millis()
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A duplicate of the first socket descriptor of this process for which `pick` holds.
fn own_socket(pick: impl Fn(&OwnedFd) -> bool) -> std::io::Result<Option<OwnedFd>> {
    let me = rustix::process::pidfd_open(rustix::process::getpid(), PidfdFlags::empty())?;
    for entry in std::fs::read_dir("/proc/self/fd")?.flatten() {
        let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // A descriptor closed meanwhile fails to be duplicated, and is skipped.
        let Ok(fd) = rustix::process::pidfd_getfd(&me, n, PidfdGetfdFlags::empty()) else {
            continue;
        };
        if pick(&fd) {
            return Ok(Some(fd));
        }
    }
    Ok(None)
}

/// Where and how to reach the broker(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSpec {
    /// Broker addresses, tried in order (round robin on failure).
    pub addrs: Vec<(String, u16)>,
    /// Shuffle the list once at start (`randomize`, ActiveMQ's default is true).
    pub randomize: bool,
    /// First reconnection delay in milliseconds (`initialReconnectDelay`).
    pub initial_delay_ms: u64,
    /// Largest reconnection delay in milliseconds (`maxReconnectDelay`).
    pub max_delay_ms: u64,
    /// Connect with TLS (`ssl://`, `mqtts://`).
    pub tls: bool,
}

/// Parse a `brokerURL`: `tcp://h:p`, `mqtt://h:p`, `h:p`, a comma-separated list of those, or
/// ActiveMQ's `failover:(tcp://a:1,tcp://b:2)?randomize=false&initialReconnectDelay=100&maxReconnectDelay=5000`
/// (also `failover://(...)`); `ssl://` and `mqtts://` connect with TLS.
pub fn parse_broker_spec(url: &str, default_max_delay_ms: u64) -> Result<BrokerSpec, BrokerError> {
    let u = url.trim();
    let (list, options, failover) = match u.strip_prefix("failover:") {
        Some(r) => {
            let r = r.trim_start_matches('/');
            let (inner, rest) = match r.strip_prefix('(') {
                Some(x) => x.split_once(')').unwrap_or((x, "")),
                None => r.split_once('?').unwrap_or((r, "")),
            };
            (
                inner.to_string(),
                rest.trim_start_matches('?').to_string(),
                true,
            )
        }
        None => (u.to_string(), String::new(), false),
    };
    let mut spec = BrokerSpec {
        addrs: Vec::new(),
        randomize: failover,
        initial_delay_ms: 250,
        max_delay_ms: default_max_delay_ms,
        tls: false,
    };
    let mut plain = false;
    for opt in options.split('&').filter(|o| !o.is_empty()) {
        let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
        match k {
            "randomize" => spec.randomize = v.eq_ignore_ascii_case("true"),
            "initialReconnectDelay" => {
                spec.initial_delay_ms = v
                    .parse()
                    .map_err(|_| BrokerError::Url(format!(": bad initialReconnectDelay '{v}'")))?
            }
            "maxReconnectDelay" => {
                spec.max_delay_ms = v
                    .parse()
                    .map_err(|_| BrokerError::Url(format!(": bad maxReconnectDelay '{v}'")))?
            }
            _ => {} // ActiveMQ client options without meaning for MQTT (jms.useAsyncSend, ...)
        }
    }
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let p = part.split('?').next().unwrap_or(part);
        let (scheme, rest) = p.split_once("://").unwrap_or(("tcp", p));
        match scheme {
            "tcp" | "mqtt" | "nio" => plain = true,
            "ssl" | "mqtts" | "tls" => spec.tls = true,
            other => {
                return Err(BrokerError::Url(format!(
                    " '{part}': unknown scheme '{other}' (use tcp:// or mqtt://)"
                )))
            }
        }
        let (h, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| BrokerError::Url(format!(" '{part}': expected host:port")))?;
        let port = port
            .parse::<u16>()
            .map_err(|_| BrokerError::Url(format!(" '{part}': bad port '{port}'")))?;
        let host = h.trim_matches(['[', ']']);
        let bracketed = h.starts_with('[') == h.ends_with(']');
        if host.is_empty() || !bracketed || host.contains(char::is_whitespace) {
            return Err(BrokerError::Url(format!(" '{part}': bad host '{h}'")));
        }
        spec.addrs.push((host.to_string(), port));
    }
    if plain && spec.tls {
        return Err(BrokerError::Url(format!(
            " '{url}' mixes TLS and plain brokers"
        )));
    }
    if spec.addrs.is_empty() {
        return Err(BrokerError::Url(format!(
            " '{url}' names no broker (expected tcp://host:port)"
        )));
    }
    spec.max_delay_ms = spec.max_delay_ms.max(spec.initial_delay_ms);
    Ok(spec)
}

/// Broker addresses of a `brokerURL` (empty when it does not parse).
pub fn parse_broker_url(url: &str) -> Vec<(String, u16)> {
    parse_broker_spec(url, 10_000)
        .map(|s| s.addrs)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_broker_sends_without_waiting_for_acks_of_small_packets() {
        let keys = ClusterKeys::new("s").unwrap();
        let listen = start_embedded("127.0.0.1:0".parse().unwrap(), &keys, |_| {}).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let client = loop {
            match std::net::TcpStream::connect(listen) {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("the broker does not listen: {e}"),
            }
        };
        let me = client.local_addr().unwrap();
        // The broker's side of this connection: in this process, peer = the client's address.
        let accepted = loop {
            let found = own_socket(|fd| {
                rustix::net::getpeername(fd)
                    .ok()
                    .flatten()
                    .and_then(|a| SocketAddr::try_from(a).ok())
                    == Some(me)
            })
            .unwrap();
            match found {
                Some(fd) => break fd,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                None => panic!("the broker did not accept the connection"),
            }
        };
        assert!(
            rustix::net::sockopt::tcp_nodelay(&accepted).unwrap(),
            "Nagle's algorithm is on for the broker's connections"
        );
    }

    /// Whether a client logging in with `login` is let in.
    async fn connects(listen: SocketAddr, id: &str, login: Option<(&str, String)>) -> bool {
        let mut opts = rumqttc::MqttOptions::new(id, listen.ip().to_string(), listen.port());
        if let Some((u, p)) = login {
            opts.set_credentials(u, p);
        }
        let (_client, mut events) = rumqttc::AsyncClient::new(opts, 10);
        let outcome = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match events.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(a))) => {
                        return a.code == rumqttc::ConnectReturnCode::Success
                    }
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
        })
        .await;
        outcome.unwrap_or(false)
    }

    #[tokio::test]
    async fn only_holders_of_the_secret_log_in_to_the_embedded_broker_each_with_its_own_id() {
        let keys = ClusterKeys::new("the cluster's secret").unwrap();
        let refusals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let r2 = refusals.clone();
        let listen = start_embedded("127.0.0.1:0".parse().unwrap(), &keys, move |id| {
            r2.lock().unwrap().push(id)
        })
        .unwrap();
        let id = "meridian-g-a";
        assert!(connects(listen, id, Some((BROKER_USER, keys.broker_password(id)))).await);
        // No login, a guess, another secret, or node a's password for another client id.
        let other = ClusterKeys::new("another secret").unwrap();
        assert!(!connects(listen, "outsider", None).await);
        assert!(!connects(listen, id, Some((BROKER_USER, "meridian".into()))).await);
        assert!(!connects(listen, id, Some((BROKER_USER, other.broker_password(id)))).await);
        assert!(
            !connects(
                listen,
                "meridian-g-b",
                Some((BROKER_USER, keys.broker_password(id)))
            )
            .await
        );
        assert!(!connects(listen, id, Some(("admin", keys.broker_password(id)))).await);
        assert_eq!(
            refusals.lock().unwrap().len(),
            4,
            "{:?}",
            refusals.lock().unwrap()
        );
    }

    #[test]
    fn broker_urls() {
        assert_eq!(
            parse_broker_url("tcp://127.0.0.1:1883"),
            vec![("127.0.0.1".to_string(), 1883)]
        );
        assert_eq!(
            parse_broker_url("failover:(tcp://a:1,tcp://b:2)?randomize=false"),
            vec![("a".to_string(), 1), ("b".to_string(), 2)]
        );
        assert!(parse_broker_url("nonsense").is_empty());
        let s = parse_broker_spec(
            "failover:(tcp://a:1,mqtt://b:2)?randomize=false&initialReconnectDelay=100&maxReconnectDelay=2000",
            10_000,
        )
        .unwrap();
        assert_eq!(s.addrs, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
        assert!(!s.randomize);
        assert_eq!((s.initial_delay_ms, s.max_delay_ms), (100, 2000));
        let s = parse_broker_spec("tcp://a:1, tcp://b:2", 10_000).unwrap();
        assert_eq!(s.addrs.len(), 2);
        assert!(!s.randomize);
        assert!(parse_broker_spec("ssl://a:8883", 1).unwrap().tls);
        assert!(parse_broker_spec("mqtts://a:8883,tcp://b:1883", 1)
            .unwrap_err()
            .to_string()
            .contains("mixes"));
        assert!(parse_broker_spec("amqp://a:1", 1)
            .unwrap_err()
            .to_string()
            .contains("scheme"));
        assert!(parse_broker_spec("tcp://a:notaport", 1).is_err());
        assert!(parse_broker_spec("tcp://[::1", 1).is_err());
        assert!(parse_broker_spec("tcp://:1883", 1).is_err());
        assert_eq!(
            parse_broker_spec("tcp://[::1]:1883", 1).unwrap().addrs[0].0,
            "::1"
        );
        // GeoServer's own spelling, as kartoza's images write it.
        assert_eq!(
            parse_broker_url("failover://(tcp://broker:61616)?jms.useAsyncSend=true"),
            vec![("broker".to_string(), 61616)]
        );
    }
}
