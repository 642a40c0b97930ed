//! Confidentiality of connection secrets (store passwords, API keys) outside the data
//! directory: on the wire, in peer answers and in the journal they travel sealed.
//!
//! A sealed value is `sealed1:` + base64(nonce ‖ ciphertext), XChaCha20-Poly1305 with the
//! seal key derived from the cluster secret ([`ClusterKeys`]), a random 24-byte nonce, and the
//! object id and parameter key as associated data (a sealed value cannot be moved to another
//! store or parameter). Which values are secrets is [`meridian_catalog::secrets`]'s decision.
//!
//! Opening is lenient about values that are not sealed (a journal written by an earlier
//! version): the message or answer around them is authenticated, so they are no forgery.

use crate::keys::ClusterKeys;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use meridian_catalog::{secrets, Change, Object};
use meridian_store::{Record, RecordSealer};
use std::borrow::Cow;

/// The prefix of a sealed value.
const PREFIX: &str = "sealed1:";
/// Nonce bytes of XChaCha20-Poly1305.
const NONCE: usize = 24;

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not base64, or too short to hold a nonce and a tag.
    #[error("a sealed value of {0} is malformed")]
    Malformed(String),
    /// The tag does not verify: another secret sealed it, or it was altered or moved.
    #[error("a sealed value of {0} does not open with this cluster's secret")]
    Mismatch(String),
}

/// Seals and opens connection secrets with the cluster's seal key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

fn aad(id: &str, key: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(id.len() + key.len() + 1);
    v.extend_from_slice(id.as_bytes());
    v.push(0);
    v.extend_from_slice(key.as_bytes());
    v
}

impl Sealer {
    /// The sealer of a cluster.
    pub fn new(keys: &ClusterKeys) -> Self {
        Sealer {
            cipher: XChaCha20Poly1305::new(&(*keys.seal_key()).into()),
        }
    }

    /// Seal `plain` for parameter `key` of object `id`.
    pub fn seal(&self, id: &str, key: &str, plain: &str) -> String {
        let nonce: [u8; NONCE] = rand::random();
        let aad = aad(id, key);
        // Encryption fails only for inputs beyond 256 GiB.
        let ct = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut raw = Vec::with_capacity(NONCE + ct.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ct);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// Open a value sealed for parameter `key` of object `id`; a value that is not sealed is
    /// returned as it is.
    pub fn open(&self, id: &str, key: &str, value: &str) -> Result<String, SealError> {
        let Some(b64) = value.strip_prefix(PREFIX) else {
            return Ok(value.to_string());
        };
        let what = || format!("'{key}' of {id}");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| SealError::Malformed(what()))?;
        if raw.len() < NONCE + 16 {
            return Err(SealError::Malformed(what()));
        }
        let (nonce, ct) = raw.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| SealError::Malformed(what()))?;
        let plain = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: &aad(id, key),
                },
            )
            .map_err(|_| SealError::Mismatch(what()))?;
        String::from_utf8(plain).map_err(|_| SealError::Malformed(what()))
    }

    /// The object with its secrets sealed; `None` when it holds none.
    pub fn seal_object(&self, o: &Object) -> Option<Object> {
        let id = o.id().to_string();
        secrets::map_secrets::<std::convert::Infallible>(o, |k, v| Ok(self.seal(&id, k, v)))
            .unwrap_or(None)
    }

    /// The object with its secrets opened; `None` when it holds none.
    pub fn open_object(&self, o: &Object) -> Result<Option<Object>, SealError> {
        let id = o.id().to_string();
        secrets::map_secrets(o, |k, v| self.open(&id, k, v))
    }

    /// Changes with their secrets sealed, copied only when one holds a secret.
    pub fn seal_changes<'a>(&self, changes: &'a [Change]) -> Cow<'a, [Change]> {
        let holds = |c: &Change| match c {
            Change::Add { object } | Change::Modify { object } => secrets::has_secrets(object),
            _ => false,
        };
        if !changes.iter().any(holds) {
            return Cow::Borrowed(changes);
        }
        Cow::Owned(
            changes
                .iter()
                .map(|c| match c {
                    Change::Add { object } => Change::Add {
                        object: self.seal_object(object).unwrap_or_else(|| object.clone()),
                    },
                    Change::Modify { object } => Change::Modify {
                        object: self.seal_object(object).unwrap_or_else(|| object.clone()),
                    },
                    other => other.clone(),
                })
                .collect(),
        )
    }

    /// Changes with their secrets opened, in place.
    pub fn open_changes(&self, changes: &mut [Change]) -> Result<(), SealError> {
        for c in changes.iter_mut() {
            if let Change::Add { object } | Change::Modify { object } = c {
                if let Some(o) = self.open_object(object)? {
                    *object = o;
                }
            }
        }
        Ok(())
    }

    /// A record with its secrets sealed (the same record when it holds none).
    pub fn seal_record(&self, r: Record) -> Record {
        match self.seal_changes(&r.changes) {
            Cow::Borrowed(_) => r,
            Cow::Owned(changes) => Record {
                provenance: r.provenance,
                changes,
            },
        }
    }

    /// Objects with their secrets opened, in place.
    pub fn open_objects(&self, objects: &mut [Object]) -> Result<(), SealError> {
        for o in objects.iter_mut() {
            if let Some(x) = self.open_object(o)? {
                *o = x;
            }
        }
        Ok(())
    }
}

impl RecordSealer for Sealer {
    fn seal(&self, r: Record) -> Record {
        self.seal_record(r)
    }

    fn open(&self, changes: &mut [Change]) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.open_changes(changes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_catalog::Kind;

    fn sealer(secret: &str) -> Sealer {
        Sealer::new(&ClusterKeys::new(secret).unwrap())
    }

    fn store() -> Object {
        Object::new(
            Kind::DataStore,
            meridian_xml::parse(
                r#"<dataStore><id>ds1</id><name>pg</name><connectionParameters><entry key="user">u</entry><entry key="passwd">hunter2</entry></connectionParameters></dataStore>"#,
            )
            .unwrap(),
        )
    }

    #[test]
    fn a_sealed_store_shows_no_password_and_opens_back() {
        let s = sealer("k");
        let o = store();
        let sealed = s.seal_object(&o).unwrap();
        let xml = sealed.xml().to_xml();
        assert!(!xml.contains("hunter2") && xml.contains(PREFIX), "{xml}");
        assert!(xml.contains(">u<"), "other parameters stay readable");
        assert_eq!(s.open_object(&sealed).unwrap().unwrap(), o);
        // Two seals of one value differ (random nonces).
        assert_ne!(s.seal_object(&o).unwrap(), sealed);
    }

    #[test]
    fn another_secret_or_another_place_does_not_open_it() {
        let s = sealer("k");
        let v = s.seal("ds1", "passwd", "hunter2");
        assert!(matches!(
            sealer("other").open("ds1", "passwd", &v),
            Err(SealError::Mismatch(_))
        ));
        assert!(matches!(
            s.open("ds2", "passwd", &v),
            Err(SealError::Mismatch(_))
        ));
        assert!(matches!(
            s.open("ds1", "user", &v),
            Err(SealError::Mismatch(_))
        ));
        assert!(matches!(
            s.open("ds1", "passwd", "sealed1:AAAA"),
            Err(SealError::Malformed(_))
        ));
        assert_eq!(s.open("ds1", "passwd", "plain").unwrap(), "plain");
    }

    #[test]
    fn changes_without_secrets_are_not_copied() {
        let s = sealer("k");
        let ws = Object::new(
            Kind::Workspace,
            meridian_xml::parse("<workspace><id>w</id><name>w</name></workspace>").unwrap(),
        );
        let changes = vec![Change::Add { object: ws }];
        assert!(matches!(s.seal_changes(&changes), Cow::Borrowed(_)));
        let mut with = vec![Change::Modify { object: store() }];
        let sealed = s.seal_changes(&with).into_owned();
        assert_ne!(sealed, with);
        let mut back = sealed;
        s.open_changes(&mut back).unwrap();
        s.open_changes(&mut with).unwrap();
        assert_eq!(back, with);
    }
}
