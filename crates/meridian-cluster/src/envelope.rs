//! The wire format: `MERIDIAN/1 <mac>\n<json body>`. The body is a documented JSON document
//! (never native object serialization); the MAC is HMAC-SHA256 over the body bytes with the
//! cluster's shared secret, hex, or `-` when no secret is configured.

use crate::journal::Record;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

const MAGIC: &str = "MERIDIAN/1";

/// A node's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Roles {
    /// Publishes local changes.
    pub primary: bool,
    /// Applies remote changes.
    pub replica: bool,
    /// Refuses local writes.
    pub read_only: bool,
}

/// What travels on the topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// A committed batch of an origin.
    Changes {
        /// Cluster group.
        group: String,
        /// The batch.
        #[serde(flatten)]
        record: Record,
    },
    /// A batch too large for the broker: fetch it from `url`.
    ChangesRef {
        /// Cluster group.
        group: String,
        /// Origin.
        origin: String,
        /// Its sequence.
        seq: u64,
        /// The origin's HTTP URL.
        url: String,
    },
    /// A node leaves the cluster for good: forget it.
    Leave {
        /// Cluster group.
        group: String,
        /// The node leaving.
        origin: String,
    },
    /// Periodic presence: where a node is, what it has applied, and its digest.
    Heartbeat {
        /// Cluster group.
        group: String,
        /// Sender.
        origin: String,
        /// Its advertised HTTP base URL (`http://host:port/geoserver`).
        url: String,
        /// Its roles.
        roles: Roles,
        /// Last applied sequence per origin.
        heads: BTreeMap<String, u64>,
        /// Digest of its replicated catalog.
        digest: String,
    },
}

impl Message {
    /// The group the message claims.
    pub fn group(&self) -> &str {
        match self {
            Message::Changes { group, .. }
            | Message::ChangesRef { group, .. }
            | Message::Leave { group, .. }
            | Message::Heartbeat { group, .. } => group,
        }
    }

    /// The sending node.
    pub fn origin(&self) -> &str {
        match self {
            Message::Changes { record, .. } => &record.provenance.origin,
            Message::ChangesRef { origin, .. }
            | Message::Leave { origin, .. }
            | Message::Heartbeat { origin, .. } => origin,
        }
    }
}

/// Why a message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not in the `MERIDIAN/1` framing.
    #[error("not a Meridian message")]
    Framing,
    /// MAC missing or wrong.
    #[error("message authentication failed")]
    Unauthenticated,
    /// The body does not parse.
    #[error("malformed body: {0}")]
    Malformed(String),
}

fn mac_hex(secret: &str, body: &[u8]) -> String {
    let mut m = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    m.update(body);
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Encode a message for the wire.
pub fn encode(msg: &Message, secret: &str) -> Vec<u8> {
    let body = serde_json::to_vec(msg).unwrap_or_default();
    let mac = if secret.is_empty() {
        "-".to_string()
    } else {
        mac_hex(secret, &body)
    };
    let mut out = format!("{MAGIC} {mac}\n").into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Decode and authenticate a message. With a secret configured, only messages carrying the
/// right MAC are accepted.
pub fn decode(payload: &[u8], secret: &str) -> Result<Message, WireError> {
    let nl = payload
        .iter()
        .position(|b| *b == b'\n')
        .ok_or(WireError::Framing)?;
    let head = std::str::from_utf8(&payload[..nl]).map_err(|_| WireError::Framing)?;
    let (magic, mac) = head.split_once(' ').ok_or(WireError::Framing)?;
    if magic != MAGIC {
        return Err(WireError::Framing);
    }
    let body = &payload[nl + 1..];
    if !secret.is_empty() {
        let expected = mac_hex(secret, body);
        let ok = expected.len() == mac.len()
            && expected
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0;
        if !ok {
            return Err(WireError::Unauthenticated);
        }
    }
    // Most messages are batches: read those straight into their fields; anything else (or a
    // batch the fast form does not take) goes through the tagged enum.
    if let Ok(c) = serde_json::from_slice::<ChangesWire>(body) {
        return Ok(Message::Changes {
            group: c.group,
            record: Record::from_fields(c.origin, c.seq, c.hlc, c.changes),
        });
    }
    serde_json::from_slice(body).map_err(|e| WireError::Malformed(e.to_string()))
}

/// A `changes` message read without the buffering serde does for an internally tagged enum
/// with a flattened record.
#[derive(Deserialize)]
struct ChangesWire {
    #[serde(rename = "type")]
    _type: ChangesTag,
    group: String,
    origin: String,
    seq: u64,
    hlc: u64,
    changes: Vec<meridian_catalog::Change>,
}

#[derive(Deserialize)]
enum ChangesTag {
    #[serde(rename = "changes")]
    Changes,
}

/// An HTTP token for peer requests: HMAC of the path with the secret.
pub fn http_token(secret: &str, path_and_query: &str) -> String {
    mac_hex(
        if secret.is_empty() {
            "meridian"
        } else {
            secret
        },
        path_and_query.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_catalog::Provenance;

    fn msg() -> Message {
        Message::Changes {
            group: "g".into(),
            record: Record {
                provenance: Provenance {
                    origin: "a".into(),
                    seq: 3,
                    hlc: 9,
                },
                changes: vec![],
            },
        }
    }

    #[test]
    fn round_trip_and_authentication() {
        let m = msg();
        assert_eq!(decode(&encode(&m, ""), "").unwrap(), m);
        let signed = encode(&m, "s3cret");
        assert_eq!(decode(&signed, "s3cret").unwrap(), m);
        assert_eq!(decode(&signed, "other"), Err(WireError::Unauthenticated));
        assert_eq!(
            decode(&encode(&m, ""), "s3cret"),
            Err(WireError::Unauthenticated)
        );
        let mut forged = signed.clone();
        let n = forged.len();
        forged[n - 2] = b'7';
        assert!(decode(&forged, "s3cret").is_err());
        assert_eq!(decode(b"garbage", ""), Err(WireError::Framing));
        assert!(matches!(
            decode(b"MERIDIAN/1 -\n{\"type\":\"nope\"}", ""),
            Err(WireError::Malformed(_))
        ));
    }

    fn object(kind: meridian_catalog::Kind, xml: &str) -> meridian_catalog::Object {
        meridian_catalog::Object::new(kind, meridian_xml::parse(xml).unwrap())
    }

    #[test]
    fn batches_read_by_the_fast_form_are_what_the_tagged_enum_reads() {
        use meridian_catalog::{Change, Kind};
        let changes = vec![
            Change::Add {
                object: object(
                    Kind::Workspace,
                    "<workspace><id>w1</id><name>a &amp; b</name></workspace>",
                ),
            },
            Change::Modify {
                object: object(Kind::Style, "<style><id>s1</id><name>line</name></style>"),
            },
            Change::Remove {
                kind: Kind::Layer,
                id: "l1".into(),
            },
            Change::SetDefaultWorkspace { id: "w1".into() },
        ];
        let m = Message::Changes {
            group: "g".into(),
            record: Record {
                provenance: Provenance {
                    origin: "a".into(),
                    seq: 4,
                    hlc: 11,
                },
                changes,
            },
        };
        let wire = encode(&m, "k");
        assert_eq!(decode(&wire, "k").unwrap(), m);
        // The body as the tagged enum reads it (the slow path) is the same message.
        let body = &wire[wire.iter().position(|b| *b == b'\n').unwrap() + 1..];
        assert_eq!(serde_json::from_slice::<Message>(body).unwrap(), m);
        // Fields in another order, and unknown ones, are read the same.
        let reordered = br#"MERIDIAN/1 -
{"changes":[{"id":"w1","op":"set_default_workspace","extra":1}],"seq":5,"hlc":1,"origin":"a","group":"g","type":"changes","more":true}"#;
        match decode(reordered, "").unwrap() {
            Message::Changes { record, group } => {
                assert_eq!((group.as_str(), record.provenance.seq), ("g", 5));
                assert_eq!(
                    record.changes,
                    vec![Change::SetDefaultWorkspace { id: "w1".into() }]
                );
            }
            other => panic!("{other:?}"),
        }
        // A change missing what its operation needs is refused, whichever path reads it.
        let broken = br#"MERIDIAN/1 -
{"type":"changes","group":"g","origin":"a","seq":1,"hlc":1,"changes":[{"op":"add"}]}"#;
        assert!(matches!(decode(broken, ""), Err(WireError::Malformed(_))));
        // Other messages still go through the tagged enum.
        let leave = Message::Leave {
            group: "g".into(),
            origin: "b".into(),
        };
        assert_eq!(decode(&encode(&leave, ""), "").unwrap(), leave);
    }
}
