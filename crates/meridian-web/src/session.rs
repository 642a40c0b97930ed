//! Stateless sessions: after a login the browser holds `user.expiry.mac`, a MAC under a key
//! every node of the cluster derives from the cluster secret, so any node accepts it and no
//! node keeps session state (a round-robin balancer needs no stickiness). Forms carry a token
//! bound to the session (`csrf`), checked on every POST.

use base64::Engine;
use hmac::{KeyInit, Mac};
use std::time::{SystemTime, UNIX_EPOCH};

/// The session cookie's name.
pub const COOKIE: &str = "meridian_session";

/// How long a session lasts.
pub const LIFETIME_SECS: u64 = 8 * 3600;

fn mac(key: &[u8; 32], parts: &[&[u8]]) -> String {
    let Ok(mut m) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new();
    };
    for p in parts {
        m.update(&(p.len() as u64).to_be_bytes());
        m.update(p);
    }
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// A new session value for `user`.
pub fn issue(key: &[u8; 32], user: &str) -> String {
    issue_at(key, user, now() + LIFETIME_SECS)
}

fn issue_at(key: &[u8; 32], user: &str, expiry: u64) -> String {
    let (u, e) = (b64(user), expiry.to_string());
    let m = mac(key, &[b"session", u.as_bytes(), e.as_bytes()]);
    format!("{u}.{e}.{m}")
}

/// The user of a session value, when its MAC holds and it has not expired.
pub fn verify(key: &[u8; 32], value: &str) -> Option<String> {
    let mut parts = value.split('.');
    let (u, e, m) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let want = mac(key, &[b"session", u.as_bytes(), e.as_bytes()]);
    if !constant_eq(want.as_bytes(), m.as_bytes()) {
        return None;
    }
    let expiry: u64 = e.parse().ok()?;
    if expiry < now() {
        return None;
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(u)
        .ok()?;
    String::from_utf8(raw).ok().filter(|s| !s.is_empty())
}

/// The form token of a session value.
pub fn csrf(key: &[u8; 32], session: &str) -> String {
    mac(key, &[b"csrf", session.as_bytes()])
}

/// Whether `token` is the form token of `session`.
pub fn csrf_ok(key: &[u8; 32], session: &str, token: &str) -> bool {
    constant_eq(csrf(key, session).as_bytes(), token.as_bytes())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session value in a request's `Cookie` header.
pub fn from_cookies(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sessions_hold_under_their_key_only_and_expire() {
        let (k, other) = ([7u8; 32], [8u8; 32]);
        let s = issue(&k, "admin");
        assert_eq!(verify(&k, &s).as_deref(), Some("admin"));
        assert_eq!(verify(&other, &s), None);
        // Another user's name under the same MAC, a later expiry: refused.
        let parts: Vec<&str> = s.split('.').collect();
        let forged = format!("{}.{}.{}", b64("root"), parts[1], parts[2]);
        assert_eq!(verify(&k, &forged), None);
        let later = format!("{}.{}.{}", parts[0], now() + 999_999, parts[2]);
        assert_eq!(verify(&k, &later), None);
        assert_eq!(verify(&k, &issue_at(&k, "admin", now() - 1)), None);
        assert_eq!(verify(&k, "garbage"), None);
        assert_eq!(verify(&k, "a.b.c.d"), None);
        let t = csrf(&k, &s);
        assert!(csrf_ok(&k, &s, &t));
        assert!(!csrf_ok(&k, &issue(&k, "admin2"), &t));
        assert!(!csrf_ok(&k, &s, ""));
        assert_eq!(from_cookies("a=1; meridian_session=xyz; b=2"), Some("xyz"));
    }
}
