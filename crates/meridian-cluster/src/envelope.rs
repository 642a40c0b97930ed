//! The wire format: `MERIDIAN/1 <mac>\n<json body>`. The body is a documented JSON document
//! (never native object serialization); the MAC is HMAC-SHA256 over the body bytes with the
//! message key derived from the cluster's shared secret ([`ClusterKeys`]), hex. Every message
//! carries one: there is no unauthenticated form. Connection secrets inside a batch travel
//! sealed ([`crate::seal`]).

use crate::keys::ClusterKeys;
use crate::seal::Sealer;
use meridian_store::Record;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

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

impl Roles {
    /// The roles held, by name: `primary`, `replica`, `read-only`.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.primary, "primary"),
            (self.replica, "replica"),
            (self.read_only, "read-only"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
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
    /// Data were edited (WFS-T on a store every node reads): the tiles of `layer` within
    /// `bbox` (WGS84 west, south, east, north) are stale. Data never travel; only this.
    Invalidate {
        /// Cluster group.
        group: String,
        /// The node where the edit was made.
        origin: String,
        /// The edited layer's id.
        layer: String,
        /// The edited box, in WGS84.
        bbox: [f64; 4],
        /// The one node it is meant for: an edit sent again to a node that came back (it
        /// may have been away when it was made); none: every node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
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
        /// Where peers reach its embedded broker (`host:port`), when every node runs its own
        /// (discovery on): peers subscribe there for its messages.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        broker: Option<String>,
        /// When the sender's process started (ms since the epoch): a new value is a restart,
        /// after which peers send it the recent data edits again. 0: unknown.
        #[serde(default)]
        started: u64,
    },
}

impl Message {
    /// The group the message claims.
    pub fn group(&self) -> &str {
        match self {
            Message::Changes { group, .. }
            | Message::ChangesRef { group, .. }
            | Message::Leave { group, .. }
            | Message::Invalidate { group, .. }
            | Message::Heartbeat { group, .. } => group,
        }
    }

    /// The sending node.
    pub fn origin(&self) -> &str {
        match self {
            Message::Changes { record, .. } => &record.provenance.origin,
            Message::ChangesRef { origin, .. }
            | Message::Leave { origin, .. }
            | Message::Invalidate { origin, .. }
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
    /// A sealed secret does not open.
    #[error("{0}")]
    Sealed(String),
}

/// Encode a message for the wire: connection secrets in a batch are sealed ([`Sealer`]).
pub fn encode(msg: &Message, keys: &ClusterKeys) -> Vec<u8> {
    let body = match msg {
        Message::Changes { group, record } => {
            match Sealer::new(keys).seal_changes(&record.changes) {
                Cow::Borrowed(_) => serde_json::to_vec(msg),
                Cow::Owned(changes) => serde_json::to_vec(&Message::Changes {
                    group: group.clone(),
                    record: Record {
                        provenance: record.provenance.clone(),
                        changes,
                    },
                }),
            }
        }
        _ => serde_json::to_vec(msg),
    }
    .unwrap_or_default();
    let mac = keys.message_mac(&body);
    let mut out = format!("{MAGIC} {mac}\n").into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Decode and authenticate a message: only messages carrying the right MAC are read at all.
/// Sealed secrets of a batch are opened.
pub fn decode(payload: &[u8], keys: &ClusterKeys) -> Result<Message, WireError> {
    let mut msg = decode_sealed(payload, keys)?;
    if let Message::Changes { record, .. } = &mut msg {
        Sealer::new(keys)
            .open_changes(&mut record.changes)
            .map_err(|e| WireError::Sealed(e.to_string()))?;
    }
    Ok(msg)
}

/// [`decode`] without opening sealed secrets.
fn decode_sealed(payload: &[u8], keys: &ClusterKeys) -> Result<Message, WireError> {
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
    if !keys.message_mac_ok(body, mac) {
        return Err(WireError::Unauthenticated);
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

    fn keys(secret: &str) -> ClusterKeys {
        ClusterKeys::new(secret).unwrap()
    }

    /// A message framed as sent, with `mac` in place of the MAC.
    fn framed(mac: &str, body: &[u8]) -> Vec<u8> {
        let mut v = format!("MERIDIAN/1 {mac}\n").into_bytes();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn round_trip_and_authentication() {
        let m = msg();
        let k = keys("s3cret");
        let signed = encode(&m, &k);
        assert_eq!(decode(&signed, &k).unwrap(), m);
        assert_eq!(
            decode(&signed, &keys("other")),
            Err(WireError::Unauthenticated)
        );
        // The unsigned form of earlier versions (`-`) is refused.
        let body = &signed[signed.iter().position(|b| *b == b'\n').unwrap() + 1..];
        assert_eq!(
            decode(&framed("-", body), &k),
            Err(WireError::Unauthenticated)
        );
        let mut forged = signed.clone();
        let n = forged.len();
        forged[n - 2] = b'7';
        assert!(decode(&forged, &k).is_err());
        assert_eq!(decode(b"garbage", &k), Err(WireError::Framing));
        let nope = br#"{"type":"nope"}"#;
        assert!(matches!(
            decode(&framed(&k.message_mac(nope), nope), &k),
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
        let k = keys("k");
        let wire = encode(&m, &k);
        assert_eq!(decode(&wire, &k).unwrap(), m);
        // The body as the tagged enum reads it (the slow path) is the same message.
        let body = &wire[wire.iter().position(|b| *b == b'\n').unwrap() + 1..];
        assert_eq!(serde_json::from_slice::<Message>(body).unwrap(), m);
        // Fields in another order, and unknown ones, are read the same.
        let reordered = br#"{"changes":[{"id":"w1","op":"set_default_workspace","extra":1}],"seq":5,"hlc":1,"origin":"a","group":"g","type":"changes","more":true}"#;
        match decode(&framed(&k.message_mac(reordered), reordered), &k).unwrap() {
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
        let broken = br#"{"type":"changes","group":"g","origin":"a","seq":1,"hlc":1,"changes":[{"op":"add"}]}"#;
        assert!(matches!(
            decode(&framed(&k.message_mac(broken), broken), &k),
            Err(WireError::Malformed(_))
        ));
        // Other messages still go through the tagged enum.
        let leave = Message::Leave {
            group: "g".into(),
            origin: "b".into(),
        };
        assert_eq!(decode(&encode(&leave, &k), &k).unwrap(), leave);
        let invalidate = Message::Invalidate {
            group: "g".into(),
            origin: "b".into(),
            layer: "LayerInfoImpl-1".into(),
            bbox: [-104.0, 44.0, -103.0, 45.0],
            to: None,
        };
        assert_eq!(decode(&encode(&invalidate, &k), &k).unwrap(), invalidate);
        // Unauthenticated, it is refused like any message.
        let body = serde_json::to_vec(&invalidate).unwrap();
        assert!(matches!(
            decode(&framed("00", &body), &k),
            Err(WireError::Unauthenticated)
        ));
    }
}
