//! Discovery: how a node finds the peers of its group beyond those its broker brings it.
//! `static:<url,url,...>` names the peers' `node.url`s; `dns:<name>[:port]` every address the
//! name resolves to (re-resolved every few heartbeats), as `http://<address>:<port>/geoserver`
//! (port 8080 unless given): a Kubernetes headless service. The node asks each peer it has not
//! heard from lately for its (signed) status, which counts as that peer's heartbeat, so
//! catch-up, drift repair and the links to peers' brokers follow. `multicast` (the default):
//! the URLs that signed announcements on the LAN carry ([`super::multicast`]). `none`: only the
//! broker.

use super::multicast::{self, Announcement, Spec};
use super::replication::Received;
use super::Cluster;
use crate::config::ClusterConfig;
use crate::error::ClusterError;
use crate::node::peers::check_peer_url;
use meridian_catalog::sync::{lock, read};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How a peer was first found (the status shows it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Found {
    /// Its heartbeat came through the broker.
    #[default]
    Heartbeat,
    /// It is named in `discovery=static:...`.
    Static,
    /// Its address is one of `discovery=dns:...`'s name.
    Dns,
    /// It announced itself on the multicast group.
    Multicast,
    /// It was a peer before this node restarted (`cluster/peers.json`).
    Known,
}

/// A discovery mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mode {
    /// The broker only.
    None,
    /// These peers' URLs.
    Static(Vec<String>),
    /// Every address of this name, on this HTTP port.
    Dns(String, u16),
    /// Signed announcements on a multicast group.
    Multicast(Spec),
}

/// `multicast.*` as set, or a one-line error naming the key.
fn multicast_spec(cfg: &ClusterConfig) -> Result<Spec, ClusterError> {
    let bad = |key: &str, why: &str| {
        ClusterError::Discovery(format!("{key}='{}': {why}", cfg.get(key).trim()))
    };
    let group: Ipv4Addr = cfg
        .get("multicast.group")
        .trim()
        .parse()
        .map_err(|_| bad("multicast.group", "not an IPv4 address"))?;
    if !group.is_multicast() {
        return Err(bad(
            "multicast.group",
            "not a multicast address (224.0.0.0/4)",
        ));
    }
    let port: u16 = cfg
        .get("multicast.port")
        .trim()
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad("multicast.port", "not a port (1-65535)"))?;
    let interface = match cfg.get("multicast.interface").trim() {
        "" => Ipv4Addr::UNSPECIFIED,
        i => i
            .parse()
            .map_err(|_| bad("multicast.interface", "not an IPv4 address"))?,
    };
    let ttl: u32 = cfg
        .get("multicast.ttl")
        .trim()
        .parse()
        .ok()
        .filter(|t| (1..=255).contains(t))
        .ok_or_else(|| bad("multicast.ttl", "not a hop count (1-255)"))?;
    Ok(Spec {
        group,
        port,
        interface,
        ttl,
    })
}

impl Mode {
    /// The mode `discovery` names (with `multicast.*` for multicast); a wrong value is an
    /// error at start.
    pub(super) fn from_config(cfg: &ClusterConfig) -> Result<Mode, ClusterError> {
        Mode::parse(cfg.discovery(), || multicast_spec(cfg))
    }

    /// Whether `cfg`'s `discovery` and `multicast.*` (used or not) are values a node can
    /// start with.
    pub(super) fn check(cfg: &ClusterConfig) -> Result<(), ClusterError> {
        multicast_spec(cfg)?;
        Mode::from_config(cfg).map(|_| ())
    }

    /// The mode `value` names; `multicast` gives the multicast settings.
    fn parse(
        value: &str,
        multicast: impl FnOnce() -> Result<Spec, ClusterError>,
    ) -> Result<Mode, ClusterError> {
        let v = value.trim();
        if !crate::config::discovery_named(v) {
            return Ok(Mode::None);
        }
        if v.eq_ignore_ascii_case("multicast") {
            return Ok(Mode::Multicast(multicast()?));
        }
        if let Some(list) = v.strip_prefix("static:") {
            let mut urls = Vec::new();
            for u in list.split(',').map(str::trim).filter(|u| !u.is_empty()) {
                check_peer_url(u).map_err(|e| ClusterError::Discovery(e.to_string()))?;
                urls.push(u.trim_end_matches('/').to_string());
            }
            if urls.is_empty() {
                return Err(ClusterError::Discovery(
                    "discovery=static: names no URL (static:http://host:8080/geoserver,...)".into(),
                ));
            }
            return Ok(Mode::Static(urls));
        }
        if let Some(target) = v.strip_prefix("dns:") {
            let (name, port) = match target.rsplit_once(':') {
                Some((n, p)) => (
                    n,
                    p.parse::<u16>().map_err(|_| {
                        ClusterError::Discovery(format!("discovery=dns: bad port '{p}'"))
                    })?,
                ),
                None => (target, 8080),
            };
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !valid {
                return Err(ClusterError::Discovery(format!(
                    "discovery=dns: '{name}' is not a host name"
                )));
            }
            return Ok(Mode::Dns(name.to_string(), port));
        }
        Err(ClusterError::Discovery(format!(
            "discovery '{v}' is not multicast, none, static:<url,...> or dns:<name>[:port]"
        )))
    }
}

/// Find peers as `mode` says, every heartbeat interval, for as long as the node runs.
pub(super) async fn discover(c: Arc<Cluster>, mode: Mode, inbox: mpsc::UnboundedSender<Received>) {
    let mut urls: Vec<String> = Vec::new();
    let mut round: u64 = 0;
    let announcer = match &mode {
        Mode::Multicast(spec) => match Announcer::start(&c, spec) {
            Some(a) => Some(a),
            None => return,
        },
        _ => None,
    };
    loop {
        let interval = c.heartbeat_interval();
        match &mode {
            Mode::None => return,
            Mode::Multicast(_) => {
                if let Some(a) = &announcer {
                    a.announce(&c).await;
                    // Those that announced lately; one that stopped is forgotten as its
                    // heartbeats stop (peer.expiry).
                    urls = a.heard_within(interval * 3);
                }
            }
            Mode::Static(list) => {
                if round == 0 {
                    urls = list.clone();
                    for u in &urls {
                        c.peers.found_at(u, Found::Static);
                    }
                }
            }
            // Re-resolved every 5 heartbeats (a pod that comes or goes moves the name).
            Mode::Dns(name, port) if round % 5 == 0 => {
                match tokio::net::lookup_host((name.as_str(), *port)).await {
                    Ok(addrs) => {
                        urls = addrs
                            .map(|a| format!("http://{a}/geoserver"))
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        for u in &urls {
                            c.peers.found_at(u, Found::Dns);
                        }
                    }
                    Err(e) => {
                        tracing::debug!(%name, error = %e, "discovery: the name does not resolve")
                    }
                }
            }
            Mode::Dns(..) => {}
        }
        round += 1;
        // Those not heard from lately (a peer heard through a broker needs no asking).
        let quiet: Vec<String> = urls
            .iter()
            .filter(|u| **u != c.url && !c.peers.heard_lately(u, interval * 3))
            .cloned()
            .collect();
        if !quiet.is_empty() {
            c.poll_urls(quiet, &inbox).await;
        }
        tokio::time::sleep(interval).await;
    }
}

/// Announces this node on the multicast group and keeps the URLs others announce.
struct Announcer {
    socket: Arc<tokio::net::UdpSocket>,
    to: std::net::SocketAddrV4,
    heard: Arc<Mutex<BTreeMap<String, Instant>>>,
}

impl Announcer {
    /// Join the group and start listening; `None` (logged) when this node cannot announce:
    /// its URL is on loopback and no interface is set, or the socket cannot be made.
    fn start(c: &Arc<Cluster>, spec: &Spec) -> Option<Announcer> {
        let mut spec = spec.clone();
        if spec.interface.is_unspecified() {
            // By default, the interface of the address in node.url (where HTTP binds).
            let host = reqwest::Url::parse(&c.url)
                .ok()
                .and_then(|u| u.host_str().and_then(|h| h.parse::<Ipv4Addr>().ok()));
            match host {
                Some(ip) if ip.is_loopback() => {
                    tracing::info!(url = %c.url, "multicast discovery: this node serves on loopback, where no peer can reach it; not announcing (bind a LAN address, or set multicast.interface)");
                    return None;
                }
                Some(ip) => spec.interface = ip,
                None => {}
            }
        }
        let socket = match multicast::socket(&spec) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                tracing::warn!(group = %spec.group, port = spec.port, interface = %spec.interface, error = %e, "multicast discovery: cannot join the group; peers are found only through the broker");
                return None;
            }
        };
        tracing::info!(group = %spec.group, port = spec.port, interface = %spec.interface, ttl = spec.ttl, "multicast discovery: announcing this node and listening for peers");
        let heard = Arc::new(Mutex::new(BTreeMap::new()));
        tokio::spawn(listen(c.clone(), socket.clone(), heard.clone()));
        Some(Announcer {
            socket,
            to: std::net::SocketAddrV4::new(spec.group, spec.port),
            heard,
        })
    }

    /// Send this node's announcement (a lost one is made up for at the next interval).
    async fn announce(&self, c: &Cluster) {
        let a = Announcement {
            instance: c.me.clone(),
            group: c.group.clone(),
            url: c.url.clone(),
            broker: c.mesh_address(),
            at: super::now_ms(),
        };
        if let Err(e) = self.socket.send_to(&a.encode(&c.keys), self.to).await {
            tracing::debug!(error = %e, "multicast discovery: announcement not sent");
        }
    }

    /// The URLs announced within `recent` (older ones are dropped).
    fn heard_within(&self, recent: Duration) -> Vec<String> {
        let mut heard = lock(&self.heard);
        heard.retain(|_, t| t.elapsed() < recent);
        heard.keys().cloned().collect()
    }
}

/// Read announcements for as long as the node runs: a good one from another node records its
/// URL; anything else is dropped (counted at debug level, never trusted).
async fn listen(
    c: Arc<Cluster>,
    socket: Arc<tokio::net::UdpSocket>,
    heard: Arc<Mutex<BTreeMap<String, Instant>>>,
) {
    let mut buf = vec![0u8; multicast::MAX_ANNOUNCEMENT + 1];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "multicast discovery: receive failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let validity = read(&c.config).peer_token_validity_ms();
        match Announcement::decode(&buf[..n], &c.keys, &c.group, super::now_ms(), validity) {
            Ok(a) if a.instance == c.me || a.url == c.url => {}
            Ok(a) => {
                let url = a.url.trim_end_matches('/').to_string();
                c.peers.found_at(&url, Found::Multicast);
                if lock(&heard).insert(url.clone(), Instant::now()).is_none() {
                    tracing::info!(peer = %a.instance, %url, broker = ?a.broker, %from, "multicast discovery: found a peer");
                }
            }
            Err(e) => {
                tracing::debug!(%from, error = %e, "multicast discovery: announcement dropped")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Mode {
        fn parse_plain(value: &str) -> Result<Mode, ClusterError> {
            Mode::parse(value, || {
                Ok(Spec {
                    group: Ipv4Addr::new(239, 255, 60, 60),
                    port: 6060,
                    interface: Ipv4Addr::UNSPECIFIED,
                    ttl: 1,
                })
            })
        }
    }

    #[test]
    fn discovery_modes_parse_and_wrong_ones_are_refused() {
        assert_eq!(Mode::parse_plain("none").ok(), Some(Mode::None));
        assert_eq!(Mode::parse_plain("").ok(), Some(Mode::None));
        assert_eq!(
            Mode::parse_plain("static:http://a:8080/geoserver/, http://b:8080/geoserver").ok(),
            Some(Mode::Static(vec![
                "http://a:8080/geoserver".into(),
                "http://b:8080/geoserver".into()
            ]))
        );
        assert!(Mode::parse_plain("static:").is_err());
        assert!(Mode::parse_plain("static:ftp://a/x").is_err());
        assert!(Mode::parse_plain("static:http://user:pw@a/geoserver").is_err());
        assert!(Mode::parse_plain("carrier-pigeon").is_err());
        assert_eq!(
            Mode::parse_plain("dns:meridian-headless.geo.svc").ok(),
            Some(Mode::Dns("meridian-headless.geo.svc".into(), 8080))
        );
        assert_eq!(
            Mode::parse_plain("dns:peers.test:9090").ok(),
            Some(Mode::Dns("peers.test".into(), 9090))
        );
        assert!(Mode::parse_plain("dns:").is_err());
        assert!(Mode::parse_plain("dns:a b").is_err());
        assert!(Mode::parse_plain("dns:x:notaport").is_err());
        assert!(matches!(
            Mode::parse_plain("multicast"),
            Ok(Mode::Multicast(_))
        ));
    }

    #[test]
    fn multicast_is_the_default_and_its_settings_are_checked() {
        #![allow(clippy::unwrap_used)]
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = ClusterConfig::load(dir.path()).unwrap();
        match Mode::from_config(&cfg).unwrap() {
            Mode::Multicast(spec) => {
                assert!(spec.group.is_multicast());
                assert_eq!(spec.ttl, 1, "the local segment by default");
                assert!(spec.interface.is_unspecified());
            }
            other => panic!("default discovery is {other:?}"),
        }
        for (key, value, says) in [
            ("multicast.group", "10.0.0.1", "not a multicast address"),
            ("multicast.group", "x", "not an IPv4 address"),
            ("multicast.port", "0", "not a port"),
            ("multicast.ttl", "256", "not a hop count"),
            ("multicast.interface", "eth0", "not an IPv4 address"),
        ] {
            let good = cfg.get(key).to_string();
            cfg.set(key, value);
            let e = Mode::from_config(&cfg).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(says), "{key}={value}: {e}");
            cfg.set(key, &good);
        }
    }
}
