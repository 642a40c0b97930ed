//! What a node refuses from peers and the broker: counted by reason, logged with a hint, and
//! peers' request tokens checked.

use super::{now_ms, Cluster};
use crate::keys::TokenError;
use meridian_catalog::sync::{lock, read};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refusals by reason, and when each reason was last logged.
#[derive(Debug, Default)]
pub(super) struct Refusals {
    by_reason: Mutex<BTreeMap<&'static str, (u64, Option<Instant>)>>,
}

/// What to tell the operator about a refusal.
fn hint(reason: &str) -> &'static str {
    match reason {
        "unauthenticated" | "peer_token_mismatch" | "answer_unsigned" => {
            "; a peer holds another secret: put the same `secret` in cluster.properties on every node (`meridian cluster secret --data-dir DIR` prints this node's)"
        }
        "peer_token_expired" => {
            "; the nodes' clocks differ by more than peer.token.validity, or a captured request was replayed"
        }
        _ => "",
    }
}

impl Cluster {
    /// Count something refused from a peer or the broker under `reason`, and say why in the
    /// log (once per reason every 10 s, with the count, so a flood does not flood the log).
    pub fn reject(&self, reason: &'static str, detail: &str) {
        self.counters.rejected.inc();
        let count = {
            let mut r = lock(&self.refusals.by_reason);
            let e = r.entry(reason).or_insert((0, None));
            e.0 += 1;
            if e.1.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
                return;
            }
            e.1 = Some(Instant::now());
            e.0
        };
        let hint = hint(reason);
        tracing::warn!(reason, count, "refused from the cluster: {detail}{hint}");
    }

    /// What was refused, by reason (the status shows it).
    pub fn rejections(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.refusals.by_reason)
            .iter()
            .map(|(k, (n, _))| (*k, *n))
            .collect()
    }

    /// Whether a peer's request token is valid for this request now; a refusal is counted
    /// by reason.
    pub fn token_ok(&self, method: &str, path_and_query: &str, token: &str) -> bool {
        let validity = read(&self.config).peer_token_validity_ms();
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
}
