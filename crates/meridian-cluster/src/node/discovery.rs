//! Discovery: how a node finds the peers of its group beyond those its broker brings it.
//! `static:<url,url,...>` names the peers' `node.url`s; `dns:<name>[:port]` every address the
//! name resolves to (re-resolved every few heartbeats), as `http://<address>:<port>/geoserver`
//! (port 8080 unless given): a Kubernetes headless service. The node asks each peer it has not
//! heard from lately for its (signed) status, which counts as that peer's heartbeat, so
//! catch-up, drift repair and the links to peers' brokers follow. `none` (the default): only
//! the broker.

use super::replication::Received;
use super::Cluster;
use crate::error::ClusterError;
use crate::node::peers::check_peer_url;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
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
}

impl Mode {
    /// The mode `discovery` names; a wrong value is an error at start.
    pub(super) fn parse(value: &str) -> Result<Mode, ClusterError> {
        let v = value.trim();
        if !crate::config::discovery_named(v) {
            return Ok(Mode::None);
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
            "discovery '{v}' is not none, static:<url,...> or dns:<name>[:port]"
        )))
    }
}

/// Find peers as `mode` says, every heartbeat interval, for as long as the node runs.
pub(super) async fn discover(c: Arc<Cluster>, mode: Mode, inbox: mpsc::UnboundedSender<Received>) {
    let mut urls: Vec<String> = Vec::new();
    let mut round: u64 = 0;
    loop {
        let interval = c.heartbeat_interval();
        match &mode {
            Mode::None => return,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_modes_parse_and_wrong_ones_are_refused() {
        assert_eq!(Mode::parse("none").ok(), Some(Mode::None));
        assert_eq!(Mode::parse("").ok(), Some(Mode::None));
        assert_eq!(
            Mode::parse("static:http://a:8080/geoserver/, http://b:8080/geoserver").ok(),
            Some(Mode::Static(vec![
                "http://a:8080/geoserver".into(),
                "http://b:8080/geoserver".into()
            ]))
        );
        assert!(Mode::parse("static:").is_err());
        assert!(Mode::parse("static:ftp://a/x").is_err());
        assert!(Mode::parse("static:http://user:pw@a/geoserver").is_err());
        assert!(Mode::parse("carrier-pigeon").is_err());
        assert_eq!(
            Mode::parse("dns:meridian-headless.geo.svc").ok(),
            Some(Mode::Dns("meridian-headless.geo.svc".into(), 8080))
        );
        assert_eq!(
            Mode::parse("dns:peers.test:9090").ok(),
            Some(Mode::Dns("peers.test".into(), 9090))
        );
        assert!(Mode::parse("dns:").is_err());
        assert!(Mode::parse("dns:a b").is_err());
        assert!(Mode::parse("dns:x:notaport").is_err());
    }
}
