//! The cluster page's live status, as tables: the node and its broker, the peers (roles, how
//! each was found, last heard, whether its digest agrees), the position and lag per origin,
//! the counters, what was refused and the files still pending. Rendered from the typed JSON of
//! `GET /rest/cluster/status`; the page refreshes this section on its own (`cluster.js`).

use crate::{html, require, WebState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};
use meridian_cluster::envelope::Roles;
use meridian_cluster::status::PeerStatus;
use meridian_cluster::ClusterStatus;
use meridian_rest::execute_as;
use std::sync::Arc;

/// The node's status through the REST endpoint, as the signed-in user.
pub async fn fetch(st: &WebState, user: &str) -> Option<ClusterStatus> {
    let r = execute_as(
        &st.rest,
        user,
        "GET",
        "/cluster/status.json",
        "",
        Vec::new(),
    )
    .await
    .ok()?;
    if !(200..300).contains(&r.status) {
        return None;
    }
    serde_json::from_slice(&r.body).ok()
}

fn roles(r: &Roles) -> String {
    let names = r.names();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// "0.8 s ago", "3 min ago", or "not yet".
pub fn heard(ms: Option<u64>) -> String {
    match ms {
        None => "not yet".to_string(),
        Some(ms) if ms < 60_000 => format!("{:.1} s ago", ms as f64 / 1000.0),
        Some(ms) if ms < 3_600_000 => format!("{} min ago", ms / 60_000),
        Some(ms) => format!("{} h ago", ms / 3_600_000),
    }
}

/// Whether a peer's digest agrees with this node's: the same digest agrees; a different digest
/// at the same positions is drift; at other positions the two cannot be compared yet.
pub fn agreement(me: &ClusterStatus, peer: &PeerStatus) -> (&'static str, &'static str) {
    if peer.digest.is_empty() {
        return ("unknown", "hint");
    }
    if peer.digest == me.digest {
        return ("agrees", "ok");
    }
    let same_positions = me
        .origins
        .iter()
        .all(|(o, s)| peer.heads.get(o).copied().unwrap_or(0) == s.applied)
        && peer.heads.keys().all(|o| me.origins.contains_key(o));
    if same_positions {
        ("differs at the same positions (drift)", "error")
    } else {
        ("other positions (catching up)", "warn")
    }
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The live status section.
pub fn section(s: Option<&ClusterStatus>) -> Markup {
    let Some(s) = s else {
        return html! {
            section id="live-status" aria-labelledby="live-h" {
                h2 id="live-h" { "Live status" }
                p class="error" { "The node's cluster status could not be read." }
            }
        };
    };
    let agreeing = s.peers.iter().filter(|p| p.digest == s.digest).count();
    html! {
        section id="live-status" aria-labelledby="live-h" aria-live="polite" {
            h2 id="live-h" { "Live status" }
            @if let Some(d) = &s.drift {
                p class="error" role="alert" { "Drift detected: " (d) }
            }
            @if s.files_failed {
                p class="error" role="alert" { "Writing files behind the journal failed; see the log." }
            }
            table id="status-node" {
                caption { "This node" }
                tbody {
                    tr { th scope="row" { "Instance" } td { (s.instance_name) } }
                    tr { th scope="row" { "Group" } td { (s.group) } }
                    tr { th scope="row" { "Address" } td { (s.url) } }
                    tr { th scope="row" { "Roles" } td { (roles(&s.roles)) } }
                    tr { th scope="row" { "Broker" } td {
                        (s.broker.url) " — "
                        @if s.broker.connected { span class="ok" { "connected" } } @else { span class="error" { "not connected" } }
                        @if s.broker.embedded { " (embedded" @if let Some(l) = &s.broker.listen { ", listening on " (l) } ")" }
                    } }
                    @if !s.broker.links.is_empty() {
                        tr { th scope="row" { "Links to peers' brokers" } td {
                            ul class="plain" {
                                @for (peer, l) in &s.broker.links {
                                    li { (peer) " (" (l.broker) "): " @if l.connected { span class="ok" { "connected" } } @else { span class="error" { "not connected" } } }
                                }
                            }
                        } }
                    }
                    tr { th scope="row" { "Messages authenticated" } td { (yes(s.authenticated)) } }
                    tr { th scope="row" { "Catalog digest" } td { code { (short(&s.digest)) } } }
                    tr { th scope="row" { "Digests" } td id="digests" {
                        @if s.peers.is_empty() { "no peer to compare with" }
                        @else if agreeing == s.peers.len() { span class="ok" { "all " (s.peers.len()) " peers agree" } }
                        @else { span class="warn" { (agreeing) " of " (s.peers.len()) " peers agree" } }
                    } }
                    tr { th scope="row" { "Files pending" } td id="files-pending" { (s.files_pending) } }
                }
            }
            table id="status-peers" {
                caption { "Peers" }
                thead { tr { th { "Peer" } th { "Roles" } th { "Found by" } th { "Last heard" } th { "Digest" } } }
                tbody {
                    @if s.peers.is_empty() { tr { td colspan="5" { "No peer heard yet." } } }
                    @for p in &s.peers {
                        @let (agree, class) = agreement(s, p);
                        tr {
                            td { (p.name) br; span class="hint" { (p.url) } }
                            td { (roles(&p.roles)) }
                            td { (format!("{:?}", p.found).to_lowercase()) }
                            td { (heard(p.last_seen_ms)) }
                            td { code { (short(&p.digest)) } " " span class=(class) { (agree) } }
                        }
                    }
                }
            }
            table id="status-origins" {
                caption { "Changes by origin" }
                thead { tr { th { "Origin" } th { "Last applied" } th { "Lag (batches)" } } }
                tbody {
                    @if s.origins.is_empty() { tr { td colspan="3" { "No change made yet." } } }
                    @for (origin, o) in &s.origins {
                        tr {
                            td { (origin) }
                            td { (o.applied) }
                            td { @if o.lag == 0 { "0" } @else { span class="warn" { (o.lag) } } }
                        }
                    }
                }
            }
            @let c = &s.counters;
            table id="status-counters" {
                caption { "Counters" }
                thead { tr { th { "Published" } th { "Applied" } th { "Duplicates" } th { "Deferred" } th { "Rejected" } th { "Ignored" } th { "Catch-ups" } th { "Snapshots" } } }
                tbody { tr {
                    td { (c.published) } td { (c.applied) } td { (c.duplicates) } td { (c.deferred) }
                    td { (c.rejected) } td { (c.ignored) } td { (c.catchups) } td { (c.snapshots) }
                } }
            }
            @if !s.rejected.is_empty() {
                table id="status-rejected" {
                    caption { "Refused, by reason" }
                    tbody {
                        @for (why, n) in &s.rejected { tr { th scope="row" { (why) } td { (n) } } }
                    }
                }
            }
        }
    }
}

/// `GET /web/cluster/status`: the live status section alone, for the page's refresh.
pub async fn fragment(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let who = match require(&st, &headers, "/geoserver/web/cluster") {
        Ok(w) => w,
        Err(r) => return *r,
    };
    html(section(fetch(&st, &who.user).await.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_cluster::status::OriginStatus;

    fn me() -> ClusterStatus {
        let mut s = ClusterStatus {
            digest: "abc".into(),
            ..Default::default()
        };
        s.origins
            .insert("a".into(), OriginStatus { applied: 5, lag: 0 });
        s
    }

    #[test]
    fn a_digest_is_compared_only_at_the_same_positions() {
        let peer = |digest: &str, head: u64| PeerStatus {
            digest: digest.into(),
            heads: [("a".to_string(), head)].into_iter().collect(),
            ..Default::default()
        };
        assert_eq!(agreement(&me(), &peer("abc", 5)).0, "agrees");
        assert!(agreement(&me(), &peer("xyz", 5)).0.contains("drift"));
        assert!(agreement(&me(), &peer("xyz", 7)).0.contains("catching up"));
        assert_eq!(agreement(&me(), &peer("", 5)).0, "unknown");
    }

    #[test]
    fn last_heard_reads_as_a_person_would_say_it() {
        assert_eq!(heard(None), "not yet");
        assert_eq!(heard(Some(800)), "0.8 s ago");
        assert_eq!(heard(Some(180_000)), "3 min ago");
    }

    #[test]
    fn the_section_escapes_what_peers_report() {
        let mut s = me();
        s.peers.push(PeerStatus {
            name: "<script>x</script>".into(),
            ..Default::default()
        });
        let out = section(Some(&s)).into_string();
        assert!(!out.contains("<script>x"));
        assert!(out.contains("&lt;script&gt;"));
    }
}
