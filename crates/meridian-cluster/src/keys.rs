//! The keys a cluster derives from its shared `secret`: one per use, so that a value computed
//! for one purpose (a broker password, an HTTP token) never authenticates another.
//!
//! Each key is HMAC-SHA256(secret, "meridian/1 " + purpose). Nodes holding the same secret
//! derive the same keys; nothing else can.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Bytes of randomness in a generated secret (written as hex).
const SECRET_BYTES: usize = 32;

/// A new random secret, as 64 hex digits.
pub fn generate_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    hex(&bytes)
}

/// Why a peer's HTTP token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not `<milliseconds>.<hex>`.
    #[error("malformed peer token")]
    Malformed,
    /// Issued too long ago (or too far ahead: clocks differ by more than the validity).
    #[error("peer token expired (or the nodes' clocks differ by more than its validity)")]
    Expired,
    /// The MAC does not match: the peer holds another secret.
    #[error("peer token does not match this cluster's secret")]
    Mismatch,
}

/// Why keys could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The secret is empty.
    #[error("the cluster secret is empty")]
    EmptySecret,
}

/// The keys of one cluster.
#[derive(Clone)]
pub struct ClusterKeys {
    message: [u8; 32],
    http: [u8; 32],
    broker: [u8; 32],
    seal: [u8; 32],
    announce: [u8; 32],
    web: [u8; 32],
}

impl std::fmt::Debug for ClusterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKeys(..)")
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Compare two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ClusterKeys {
    /// Derive the keys of `secret`.
    pub fn new(secret: &str) -> Result<Self, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::EmptySecret);
        }
        let derive = |purpose: &str| mac(secret.as_bytes(), &[b"meridian/1 ", purpose.as_bytes()]);
        Ok(ClusterKeys {
            message: derive("message"),
            http: derive("http"),
            broker: derive("broker"),
            seal: derive("seal"),
            announce: derive("announce"),
            web: derive("web"),
        })
    }

    /// The MAC of a broker message body (hex).
    pub fn message_mac(&self, body: &[u8]) -> String {
        hex(&mac(&self.message, &[body]))
    }

    /// Whether `mac_hex` is the MAC of `body`.
    pub fn message_mac_ok(&self, body: &[u8], mac_hex: &str) -> bool {
        constant_time_eq(self.message_mac(body).as_bytes(), mac_hex.as_bytes())
    }

    /// A token for an HTTP request to a peer, issued at `now_ms`: `<now_ms>.<hex MAC of the
    /// method, path and query, and time>`. It is valid for that request only, and only for a
    /// while (see [`ClusterKeys::check_peer_token`]).
    pub fn peer_token(&self, method: &str, path_and_query: &str, now_ms: u64) -> String {
        let t = now_ms.to_string();
        let m = mac(
            &self.http,
            &[
                method.as_bytes(),
                b" ",
                path_and_query.as_bytes(),
                b" ",
                t.as_bytes(),
            ],
        );
        format!("{t}.{}", hex(&m))
    }

    /// Check a peer's token for `method` and `path_and_query` at `now_ms`: it must have been
    /// issued less than `validity_ms` ago (or ahead, for clocks that differ).
    pub fn check_peer_token(
        &self,
        method: &str,
        path_and_query: &str,
        token: &str,
        now_ms: u64,
        validity_ms: u64,
    ) -> Result<(), TokenError> {
        let (t, _) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let issued: u64 = t.parse().map_err(|_| TokenError::Malformed)?;
        let want = self.peer_token(method, path_and_query, issued);
        if !constant_time_eq(want.as_bytes(), token.as_bytes()) {
            return Err(TokenError::Mismatch);
        }
        if now_ms.abs_diff(issued) > validity_ms {
            return Err(TokenError::Expired);
        }
        Ok(())
    }

    /// The signature of a peer's answer to the request that carried `token` (hex): the asker
    /// checks it, so an answer from anything without the secret, or an answer to another
    /// request, is refused.
    pub fn answer_signature(&self, token: &str, body: &[u8]) -> String {
        hex(&mac(
            &self.http,
            &[b"answer ", token.as_bytes(), b" ", body],
        ))
    }

    /// [`ClusterKeys::answer_signature`] of a body that comes in chunks (the same value as for
    /// the chunks joined).
    pub fn answer_signature_of(
        &self,
        token: &str,
        chunks: &mut dyn Iterator<Item = Vec<u8>>,
    ) -> String {
        let mut m = match HmacSha256::new_from_slice(&self.http) {
            Ok(m) => m,
            Err(_) => return hex(&[0; 32]),
        };
        m.update(b"answer ");
        m.update(token.as_bytes());
        m.update(b" ");
        for c in chunks {
            m.update(&c);
        }
        let out: [u8; 32] = m.finalize().into_bytes().into();
        hex(&out)
    }

    /// Whether `signature` signs `body` as the answer to the request that carried `token`.
    pub fn answer_signature_ok(&self, token: &str, body: &[u8], signature: &str) -> bool {
        constant_time_eq(
            self.answer_signature(token, body).as_bytes(),
            signature.as_bytes(),
        )
    }

    /// The password of MQTT client `client_id` on the embedded broker (hex): bound to the
    /// client id, so a connection can only take the id its password was made for.
    pub fn broker_password(&self, client_id: &str) -> String {
        hex(&mac(&self.broker, &[client_id.as_bytes()]))
    }

    /// The MAC of a discovery announcement (hex): only holders of the secret can announce a
    /// node others will ask.
    pub fn announce_mac(&self, body: &[u8]) -> String {
        hex(&mac(&self.announce, &[body]))
    }

    /// Whether `mac_hex` is the MAC of announcement `body`.
    pub fn announce_mac_ok(&self, body: &[u8], mac_hex: &[u8]) -> bool {
        constant_time_eq(self.announce_mac(body).as_bytes(), mac_hex)
    }

    /// The key that signs the web interface's sessions and form tokens: the same on every
    /// node of the cluster, so a session holds whichever node a request lands on.
    pub fn web_key(&self) -> &[u8; 32] {
        &self.web
    }

    /// The key that encrypts connection secrets (passwords of stores) on the wire, in peer
    /// answers and in the journal.
    pub fn seal_key(&self) -> &[u8; 32] {
        &self.seal
    }
}

/// The user name nodes log in to the embedded broker with.
pub const BROKER_USER: &str = "meridian";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_secrets_differ_and_empty_secrets_are_refused() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(ClusterKeys::new("").unwrap_err(), KeyError::EmptySecret);
    }

    #[test]
    fn peer_tokens_are_bound_to_the_request_the_secret_and_the_time() {
        let k = ClusterKeys::new("s3cret").unwrap();
        let other = ClusterKeys::new("other").unwrap();
        let pq = "/geoserver/rest/cluster/snapshot.json";
        let t = k.peer_token("GET", pq, 1_000_000);
        assert_eq!(k.check_peer_token("GET", pq, &t, 1_000_500, 60_000), Ok(()));
        // Replayed later: expired.
        assert_eq!(
            k.check_peer_token("GET", pq, &t, 1_061_000, 60_000),
            Err(TokenError::Expired)
        );
        // Another path, another method, another secret, a changed time: refused.
        for (keys, method, path) in [
            (&k, "GET", "/geoserver/rest/cluster/events.json"),
            (&k, "POST", pq),
            (&other, "GET", pq),
        ] {
            assert_eq!(
                keys.check_peer_token(method, path, &t, 1_000_000, 60_000),
                Err(TokenError::Mismatch)
            );
        }
        let forged = t.replacen("1000000", "1060000", 1);
        assert_eq!(
            k.check_peer_token("GET", pq, &forged, 1_060_000, 60_000),
            Err(TokenError::Mismatch)
        );
        assert_eq!(
            k.check_peer_token("GET", pq, "nonsense", 0, 60_000),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn keys_of_different_purposes_differ() {
        let k = ClusterKeys::new("s").unwrap();
        assert_ne!(k.message_mac(b"x"), k.broker_password("x"));
        assert_ne!(k.message, k.seal);
        let sig = k.answer_signature("tok", b"body");
        // Signed in chunks, the same signature.
        assert_eq!(
            k.answer_signature_of(
                "tok",
                &mut vec![b"bo".to_vec(), Vec::new(), b"dy".to_vec()].into_iter()
            ),
            sig
        );
        assert!(k.answer_signature_ok("tok", b"body", &sig));
        assert!(!k.answer_signature_ok("tok2", b"body", &sig));
        assert!(!k.answer_signature_ok("tok", b"bodY", &sig));
        assert_eq!(format!("{k:?}"), "ClusterKeys(..)");
    }
}
