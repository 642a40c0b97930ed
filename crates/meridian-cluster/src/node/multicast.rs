//! Multicast discovery: every heartbeat interval a node sends an announcement (its instance
//! name, group, `node.url` and broker address, the time, and a MAC under a key derived from
//! the secret) to a multicast group, and listens for the others'. An announcement that does
//! not carry the MAC of this cluster's secret, names another group, is stale, too large or
//! malformed is dropped; a good one only tells this node which URL to ask for a signed status,
//! so everything the node acts on still comes from a peer that proves the secret.

use crate::keys::ClusterKeys;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The largest announcement sent or read (one datagram, no fragmentation on any LAN).
pub(super) const MAX_ANNOUNCEMENT: usize = 1200;

/// Where announcements go: group, port, interface and TTL (`multicast.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Spec {
    /// The multicast group (IPv4, 224.0.0.0/4).
    pub group: Ipv4Addr,
    /// The UDP port.
    pub port: u16,
    /// The address of the interface to announce and listen on (`0.0.0.0`: the one the route
    /// to the group takes).
    pub interface: Ipv4Addr,
    /// Hops an announcement may cross (1: the local segment).
    pub ttl: u32,
}

/// What a node announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Announcement {
    /// Its instance name.
    pub instance: String,
    /// Its group.
    pub group: String,
    /// Its `node.url`.
    pub url: String,
    /// Where its embedded broker is reachable, if it runs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
    /// When it was sent (ms since the epoch).
    pub at: u64,
}

/// Why an announcement was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum AnnounceError {
    /// Larger than [`MAX_ANNOUNCEMENT`].
    #[error("announcement too large")]
    TooLarge,
    /// Not `<json>\n<hex MAC>`, or the JSON does not read.
    #[error("malformed announcement")]
    Malformed,
    /// The MAC is not this cluster's.
    #[error("announcement not signed with this cluster's secret")]
    Mismatch,
    /// Another group's.
    #[error("announcement of another group")]
    OtherGroup,
    /// Sent longer ago (or further ahead) than the validity.
    #[error("stale announcement")]
    Stale,
    /// A field that fails the checks a heartbeat's would.
    #[error("announcement with a bad field: {0}")]
    BadField(String),
}

impl Announcement {
    /// The datagram: the JSON, a newline, and the hex MAC of the JSON.
    pub(super) fn encode(&self, keys: &ClusterKeys) -> Vec<u8> {
        let mut body = serde_json::to_vec(self).unwrap_or_default();
        let mac = keys.announce_mac(&body);
        body.push(b'\n');
        body.extend_from_slice(mac.as_bytes());
        body
    }

    /// Read a datagram: signed with `keys`, of `group`, sent within `validity_ms` of `now_ms`,
    /// its fields well formed.
    pub(super) fn decode(
        datagram: &[u8],
        keys: &ClusterKeys,
        group: &str,
        now_ms: u64,
        validity_ms: u64,
    ) -> Result<Announcement, AnnounceError> {
        if datagram.len() > MAX_ANNOUNCEMENT {
            return Err(AnnounceError::TooLarge);
        }
        let split = datagram
            .iter()
            .rposition(|b| *b == b'\n')
            .ok_or(AnnounceError::Malformed)?;
        let (body, mac) = (&datagram[..split], &datagram[split + 1..]);
        if !keys.announce_mac_ok(body, mac) {
            return Err(AnnounceError::Mismatch);
        }
        let a: Announcement = serde_json::from_slice(body).map_err(|_| AnnounceError::Malformed)?;
        if a.group != group {
            return Err(AnnounceError::OtherGroup);
        }
        if now_ms.abs_diff(a.at) > validity_ms {
            return Err(AnnounceError::Stale);
        }
        // Only ever logged: bounded, and no control characters that would forge log lines.
        let name_ok = !a.instance.is_empty()
            && a.instance.len() <= 256
            && !a.instance.chars().any(char::is_control);
        if !name_ok {
            return Err(AnnounceError::BadField("instance".into()));
        }
        super::peers::check_peer_url(&a.url).map_err(|e| AnnounceError::BadField(e.to_string()))?;
        if let Some(b) = &a.broker {
            let ok = b.len() <= 300
                && b.rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
            if !ok {
                return Err(AnnounceError::BadField("broker".into()));
            }
        }
        Ok(a)
    }
}

/// A socket joined to the group on the interface, sending with the TTL; several nodes of one
/// host share the port.
pub(super) fn socket(spec: &Spec) -> std::io::Result<tokio::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    // Bound to the group's address: only datagrams sent to the group arrive.
    s.bind(&SocketAddrV4::new(spec.group, spec.port).into())?;
    s.join_multicast_v4(&spec.group, &spec.interface)?;
    if !spec.interface.is_unspecified() {
        s.set_multicast_if_v4(&spec.interface)?;
    }
    s.set_multicast_ttl_v4(spec.ttl)?;
    s.set_multicast_loop_v4(true)?;
    s.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(s.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample(at: u64) -> Announcement {
        Announcement {
            instance: "node-1".into(),
            group: "g".into(),
            url: "http://198.18.0.2:8080/geoserver".into(),
            broker: Some("198.18.0.2:1883".into()),
            at,
        }
    }

    #[test]
    fn announcements_are_read_back_only_with_the_secret_the_group_and_in_time() {
        let k = ClusterKeys::new("s3cret").unwrap();
        let other = ClusterKeys::new("other").unwrap();
        let d = sample(1_000_000).encode(&k);
        assert_eq!(
            Announcement::decode(&d, &k, "g", 1_010_000, 60_000).unwrap(),
            sample(1_000_000)
        );
        assert_eq!(
            Announcement::decode(&d, &other, "g", 1_000_000, 60_000),
            Err(AnnounceError::Mismatch)
        );
        assert_eq!(
            Announcement::decode(&d, &k, "h", 1_000_000, 60_000),
            Err(AnnounceError::OtherGroup)
        );
        assert_eq!(
            Announcement::decode(&d, &k, "g", 1_100_000, 60_000),
            Err(AnnounceError::Stale)
        );
        // Changed in flight: the MAC no longer matches.
        let mut tampered = d.clone();
        tampered[20] ^= 1;
        assert_eq!(
            Announcement::decode(&tampered, &k, "g", 1_000_000, 60_000),
            Err(AnnounceError::Mismatch)
        );
        assert_eq!(
            Announcement::decode(b"no newline", &k, "g", 0, 60_000),
            Err(AnnounceError::Malformed)
        );
        assert_eq!(
            Announcement::decode(&vec![b'x'; MAX_ANNOUNCEMENT + 1], &k, "g", 0, 60_000),
            Err(AnnounceError::TooLarge)
        );
    }

    #[test]
    fn signed_announcements_with_bad_fields_are_dropped() {
        let k = ClusterKeys::new("s3cret").unwrap();
        let mut a = sample(5);
        a.url = "file:///etc/passwd".into();
        assert!(matches!(
            Announcement::decode(&a.encode(&k), &k, "g", 5, 60_000),
            Err(AnnounceError::BadField(_))
        ));
        let mut a = sample(5);
        a.instance = "node\n2026-12-07 ERROR forged".into();
        assert!(matches!(
            Announcement::decode(&a.encode(&k), &k, "g", 5, 60_000),
            Err(AnnounceError::BadField(_))
        ));
        let mut a = sample(5);
        a.broker = Some("no port".into());
        assert!(matches!(
            Announcement::decode(&a.encode(&k), &k, "g", 5, 60_000),
            Err(AnnounceError::BadField(_))
        ));
    }
}
