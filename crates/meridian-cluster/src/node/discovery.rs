//! Discovery: how a node finds the peers of its group beyond those its broker brings it.
//! `static:<url,url,...>` names the peers' `node.url`s: the node asks each one it has not
//! heard from lately for its (signed) status, which counts as that peer's heartbeat, so
//! catch-up and drift repair run with it over HTTP. `none` (the default): only the broker.

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
}

impl Mode {
    /// The mode `discovery` names; a wrong value is an error at start.
    pub(super) fn parse(value: &str) -> Result<Mode, ClusterError> {
        let v = value.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("none") {
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
        Err(ClusterError::Discovery(format!(
            "discovery '{v}' is not none or static:<url,...>"
        )))
    }
}

/// Find peers as `mode` says, every heartbeat interval, for as long as the node runs.
pub(super) async fn discover(c: Arc<Cluster>, mode: Mode, inbox: mpsc::UnboundedSender<Received>) {
    let Mode::Static(urls) = mode else { return };
    for u in &urls {
        c.peers.found_at(u, Found::Static);
    }
    loop {
        let interval = c.heartbeat_interval();
        // Those not heard from lately (a peer heard through the broker needs no asking).
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
    }
}
