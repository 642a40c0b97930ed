//! The peers a node knows (from heartbeats, and from the file kept for the next start), and
//! the authenticated HTTP requests it sends them.

use super::discovery::Found;
use super::replication::Received;
use super::{now_ms, Cluster};
use crate::envelope::{encode, Message, Roles};
use crate::error::{ClusterError, PeerError};
use crate::keys::ClusterKeys;
use crate::status::ClusterStatus;
use meridian_catalog::sync::lock;
use meridian_store::files::{read_json, write_json};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The peers' URLs by name, next to the applied marker, for the next start.
const PEERS_FILE: &str = "peers.json";

/// How long a peer may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a status request may take in all (a page of records or a snapshot may take longer).
pub(super) const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a page of records may take in all.
pub(super) const PAGE_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a snapshot may take in all.
pub(super) const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// When its last heartbeat came.
    #[serde(skip)]
    pub seen: Option<Instant>,
    /// How it was first found.
    pub found: Found,
    /// When its process started, as its heartbeats say (0: unknown).
    #[serde(skip)]
    pub started: u64,
}

/// The peers known, and the HTTP client that asks them.
pub(super) struct Peers {
    known: Mutex<BTreeMap<String, Peer>>,
    /// How peers at these URLs were found, before they were heard.
    found: Mutex<BTreeMap<String, Found>>,
    http: reqwest::Client,
}

impl Peers {
    pub(super) fn new() -> Result<Self, ClusterError> {
        Ok(Peers {
            known: Mutex::new(BTreeMap::new()),
            found: Mutex::new(BTreeMap::new()),
            http: peer_client()?,
        })
    }

    /// Every peer known, as last heard.
    pub(super) fn list(&self) -> Vec<Peer> {
        lock(&self.known).values().cloned().collect()
    }

    /// The writable primaries, as `name (url)`.
    pub(super) fn primaries(&self) -> Vec<String> {
        lock(&self.known)
            .values()
            .filter(|p| p.roles.primary && !p.roles.read_only)
            .map(|p| format!("{} ({})", p.name, p.url))
            .collect()
    }

    /// Where the peer `name` said it serves.
    pub(super) fn url_of(&self, name: &str) -> Option<String> {
        lock(&self.known).get(name).map(|p| p.url.clone())
    }

    /// Whether the peer `name` is a primary.
    pub(super) fn is_primary(&self, name: &str) -> bool {
        lock(&self.known).get(name).is_some_and(|p| p.roles.primary)
    }

    /// Every peer's URL.
    pub(super) fn urls(&self) -> Vec<String> {
        lock(&self.known).values().map(|p| p.url.clone()).collect()
    }

    /// Peers at `url` were found by `how` (kept if found otherwise first).
    pub(super) fn found_at(&self, url: &str, how: Found) {
        lock(&self.found)
            .entry(url.trim_end_matches('/').to_string())
            .or_insert(how);
    }

    /// Whether the peer at `url` was heard within `recent`.
    pub(super) fn heard_lately(&self, url: &str, recent: Duration) -> bool {
        let url = url.trim_end_matches('/');
        lock(&self.known).values().any(|p| {
            p.url.trim_end_matches('/') == url && p.seen.is_some_and(|t| t.elapsed() < recent)
        })
    }

    /// Record a peer's heartbeat. Returns whether its roles or URL changed (or it is new), the
    /// heads of its previous heartbeat if that came within `recent`, and whether it (re)started
    /// since its last heartbeat (a new process, as far as its heartbeats tell).
    pub(super) fn heard(
        &self,
        peer: Peer,
        recent: Duration,
    ) -> (bool, Option<BTreeMap<String, u64>>, bool) {
        let mut peer = peer;
        let mut known = lock(&self.known);
        let previous = known.get(&peer.name);
        peer.found = match previous {
            Some(p) => p.found,
            None => lock(&self.found)
                .get(peer.url.trim_end_matches('/'))
                .copied()
                .unwrap_or_default(),
        };
        let before = previous.map(|p| (p.roles, p.url.clone()));
        let earlier = previous
            .filter(|p| p.seen.is_some_and(|t| t.elapsed() < recent))
            .map(|p| p.heads.clone());
        let changed = before != Some((peer.roles, peer.url.clone()));
        let restarted = peer.started != 0 && previous.is_none_or(|p| p.started != peer.started);
        if peer.started == 0 {
            // A heartbeat made up from a status poll: the start time stays the one heard.
            peer.started = previous.map_or(0, |p| p.started);
        }
        known.insert(peer.name.clone(), peer);
        (changed, earlier, restarted)
    }

    /// Forget a peer that left.
    pub(super) fn forget(&self, name: &str) {
        lock(&self.known).remove(name);
    }

    /// Forget peers not heard for `expiry`; returns their names.
    pub(super) fn expire(&self, expiry: Duration) -> Vec<String> {
        let mut gone = Vec::new();
        lock(&self.known).retain(|name, p| {
            let keep = p.seen.is_none_or(|t| t.elapsed() < expiry);
            if !keep {
                gone.push(name.clone());
            }
            keep
        });
        gone
    }

    /// The URLs of the peers holding changes of `origin` beyond `mine`, best first: those
    /// heard within `recent` before any that went quiet (a silent host is asked last), the
    /// origin itself first among them, then the most recently heard.
    pub(super) fn holding(&self, origin: &str, mine: u64, recent: Duration) -> Vec<String> {
        let known = lock(&self.known);
        let mut v: Vec<&Peer> = known
            .values()
            .filter(|p| p.heads.get(origin).copied().unwrap_or(0) > mine)
            .collect();
        let age = |p: &Peer| p.seen.map_or(Duration::MAX, |t| t.elapsed());
        v.sort_by_key(|p| (age(p) >= recent, p.name != origin, age(p)));
        v.into_iter().map(|p| p.url.clone()).collect()
    }

    /// Whether the peer at `url` has applied `origin`'s changes up to `seq`.
    pub(super) fn has(&self, url: &str, origin: &str, seq: u64) -> bool {
        lock(&self.known)
            .values()
            .any(|p| p.url == url && p.heads.get(origin).copied().unwrap_or(0) >= seq)
    }

    /// The peers' URLs by name.
    fn urls_by_name(&self) -> BTreeMap<String, String> {
        lock(&self.known)
            .values()
            .map(|p| (p.name.clone(), p.url.clone()))
            .collect()
    }
}

/// Check a peer's advertised URL before it is ever asked: `http(s)://host[:port]/path`, with
/// no credentials, query or fragment.
pub fn check_peer_url(url: &str) -> Result<(), PeerError> {
    let bad = |reason: &str| PeerError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let u = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("not http or https"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("carries credentials"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(bad("has a query or fragment"));
    }
    Ok(())
}

/// The HTTP client for peers: a silent host (its packets dropped, nothing refused) costs at
/// most the connect timeout; each request also bounds its whole time.
pub(super) fn peer_client() -> Result<reqwest::Client, ClusterError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(ClusterError::Http)
}

/// GET `pq` from the peer at `base` with a fresh token made with `keys`, within `timeout`,
/// and read its answer as JSON once its signature shows it comes from a holder of the secret.
pub(super) async fn signed_get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    keys: &ClusterKeys,
    base: &str,
    pq: &str,
    timeout: Duration,
) -> Result<T, PeerError> {
    let full = format!("{}{pq}", base.trim_end_matches("/geoserver"));
    let url = reqwest::Url::parse(&full).map_err(|e| PeerError::BadUrl {
        url: full.clone(),
        reason: e.to_string(),
    })?;
    let at = || url.to_string();
    // The token covers the path and query as they go on the wire (percent-encoded).
    let sent_pq = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let token = keys.peer_token("GET", &sent_pq, now_ms());
    let r = http
        .get(url.clone())
        .timeout(timeout)
        .header("X-Meridian-Token", &token)
        .send()
        .await
        .map_err(|source| PeerError::Unreachable { url: at(), source })?;
    match r.status().as_u16() {
        410 => return Err(PeerError::Gone { url: at() }),
        s if !(200..300).contains(&s) => {
            return Err(PeerError::Status {
                url: at(),
                status: s,
            })
        }
        _ => {}
    }
    let signature = r
        .headers()
        .get(meridian_rest::PEER_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r
        .bytes()
        .await
        .map_err(|source| PeerError::Unreachable { url: at(), source })?;
    if !signature.is_some_and(|s| keys.answer_signature_ok(&token, &body, &s)) {
        return Err(PeerError::Unsigned { url: at() });
    }
    serde_json::from_slice::<T>(&body).map_err(|source| PeerError::Json { url: at(), source })
}

/// The peers' URLs by name as a node in `data_dir` last knew them (`cluster/peers.json`).
pub(super) fn peers_known_in(data_dir: &std::path::Path) -> BTreeMap<String, String> {
    read_json::<BTreeMap<String, String>>(&data_dir.join("cluster").join(PEERS_FILE))
}

impl Cluster {
    /// Where the peers' URLs are kept between starts.
    fn peers_file(&self) -> PathBuf {
        self.store.files().marker().with_file_name(PEERS_FILE)
    }

    /// Remember the peers' URLs for the next start (written when a peer appears, moves or
    /// leaves; a failure only costs that start's early poll).
    pub(super) fn save_peers(&self) {
        let path = self.peers_file();
        if let Err(e) = write_json(&path, &self.peers.urls_by_name()) {
            tracing::debug!(path = %path.display(), error = %e, "could not save the peers");
        }
    }

    /// The peers known before this start (name to URL), but this node itself.
    pub(super) fn peers_known_before(&self) -> BTreeMap<String, String> {
        read_json::<BTreeMap<String, String>>(&self.peers_file())
            .into_iter()
            .filter(|(name, url)| name != &self.me && url != &self.url)
            .collect()
    }

    /// GET `pq` from the peer at `base` with a fresh token, and read its answer as JSON once
    /// its signature shows it comes from a holder of the secret (an unsigned answer is
    /// counted as a refusal).
    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        base: &str,
        pq: &str,
        timeout: Duration,
    ) -> Result<T, PeerError> {
        let r = signed_get_json(&self.peers.http, &self.keys, base, pq, timeout).await;
        if let Err(PeerError::Unsigned { url }) = &r {
            self.reject(
                "answer_unsigned",
                &format!("{url}: the answer is not signed with this cluster's secret"),
            );
        }
        r
    }

    /// Ask the peers known over HTTP for their status, as their heartbeats.
    pub(super) async fn poll_peers(self: &Arc<Self>, inbox: &mpsc::UnboundedSender<Received>) {
        self.poll_urls(self.peers.urls(), inbox).await;
    }

    /// Ask nodes over HTTP for their status, all at once (a silent one delays none of the
    /// others), and hand each answer to the applier as that node's heartbeat. A peer that is
    /// connected to the broker while this node is not cuts this node's reconnection back-off
    /// short.
    pub(super) async fn poll_urls(
        self: &Arc<Self>,
        urls: Vec<String>,
        inbox: &mpsc::UnboundedSender<Received>,
    ) {
        let mut asking = tokio::task::JoinSet::new();
        for url in urls {
            let (c, inbox) = (self.clone(), inbox.clone());
            asking.spawn(async move { c.poll_one(url, &inbox).await });
        }
        while asking.join_next().await.is_some() {}
    }

    /// Ask one node for its status, as its heartbeat.
    async fn poll_one(&self, url: String, inbox: &mpsc::UnboundedSender<Received>) {
        let pq = "/geoserver/rest/cluster/status.json";
        let Ok(st) = self
            .get_json::<ClusterStatus>(&url, pq, STATUS_TIMEOUT)
            .await
        else {
            return;
        };
        if st.broker.connected && !self.transport.connected() {
            self.retry_broker_now();
        }
        self.nudge_link(&st.instance_name);
        let msg = Message::Heartbeat {
            group: st.group,
            origin: st.instance_name,
            url,
            roles: st.roles,
            heads: st
                .origins
                .into_iter()
                .map(|(o, s)| (o, s.applied))
                .collect(),
            digest: st.digest,
            broker: st.broker.advertised,
            started: 0,
        };
        let _ = inbox.send((encode(&msg, &self.keys), None));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_peer_with_a_new_start_time_has_restarted() {
        let peers = Peers::new().unwrap();
        let peer = |started: u64| Peer {
            name: "b".into(),
            url: "http://b/geoserver".into(),
            roles: Roles::default(),
            digest: String::new(),
            heads: BTreeMap::new(),
            seen: Some(Instant::now()),
            found: Found::Heartbeat,
            started,
        };
        let recent = Duration::from_secs(6);
        assert!(peers.heard(peer(100), recent).2, "new");
        assert!(!peers.heard(peer(100), recent).2, "the same process");
        assert!(peers.heard(peer(200), recent).2, "restarted");
        // A heartbeat made up from a status poll does not know: not a restart, and the start
        // time heard stays.
        assert!(!peers.heard(peer(0), recent).2);
        assert!(!peers.heard(peer(200), recent).2);
    }

    #[test]
    fn catch_up_asks_peers_heard_lately_first_and_a_silent_one_last() {
        let peers = Peers::new().unwrap();
        let peer = |name: &str, head: u64, ago: Duration| Peer {
            name: name.into(),
            url: format!("http://{name}/geoserver"),
            roles: Roles::default(),
            digest: String::new(),
            heads: [("origin".to_string(), head)].into(),
            seen: Instant::now().checked_sub(ago),
            found: Found::Heartbeat,
            started: 0,
        };
        let recent = Duration::from_secs(6);
        // The origin itself went silent a minute ago; two others heard lately.
        for p in [
            peer("origin", 10, Duration::from_secs(60)),
            peer("b", 10, Duration::from_secs(3)),
            peer("c", 10, Duration::from_secs(1)),
            peer("d", 4, Duration::from_secs(1)),
        ] {
            peers.heard(p, recent);
        }
        assert_eq!(
            peers.holding("origin", 5, recent),
            [
                "http://c/geoserver",
                "http://b/geoserver",
                "http://origin/geoserver"
            ]
        );
        // Heard lately, the origin goes first.
        peers.heard(peer("origin", 10, Duration::ZERO), recent);
        assert_eq!(
            peers.holding("origin", 5, recent)[0],
            "http://origin/geoserver"
        );
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
}
