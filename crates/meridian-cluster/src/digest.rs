//! A digest of the replicated configuration: equal on nodes that hold the same catalog.
//!
//! Each object is hashed on its own (SHA-256 of kind, id, XML and style body; the per-node
//! update sequence of global settings left out) and the object hashes are added up, so the
//! digest does not depend on order and only objects that changed since the last digest are
//! hashed again (found by diffing the persistent catalogs, which skips what they share).

use meridian_catalog::{Catalog, Object, ObjectDiff};
use sha2::{Digest, Sha256};

/// The hash of one object (first 128 bits of its SHA-256).
fn object_hash(o: &Object) -> u128 {
    let mut h = Sha256::new();
    h.update(format!("{:?}\0{}\0", o.kind, o.id()).as_bytes());
    h.update(o.xml_without_update_sequence().as_bytes());
    h.update([0]);
    if let Some(b) = &o.body {
        h.update(b.as_bytes());
    }
    h.update([1]);
    let d = h.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&d[..16]);
    u128::from_be_bytes(first)
}

fn finish(sum: u128, default_workspace: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(sum.to_be_bytes());
    h.update([0]);
    if let Some(d) = default_workspace {
        h.update(d.as_bytes());
    }
    crate::keys::hex(&h.finalize()[..16])
}

/// What the last digest was computed from: the catalog (a persistent map: keeping it costs
/// only what later changes do not share) and its sum. The next digest walks only the objects
/// that differ from it, hashing the old state of each again to take it out of the sum (no
/// per-object hashes are kept: at a million objects they cost more than a hundred megabytes).
#[derive(Default)]
pub struct DigestCache {
    last: Option<(Catalog, u128)>,
}

impl DigestCache {
    /// The digest of `cat`, hashing only objects that differ from the last catalog digested.
    pub fn digest(&mut self, cat: &Catalog) -> String {
        let sum = match self.last.take() {
            Some((before, mut sum)) => {
                for d in cat.changed_objects(&before) {
                    match d {
                        ObjectDiff::Added(o) => sum = sum.wrapping_add(object_hash(o)),
                        ObjectDiff::Removed(o) => sum = sum.wrapping_sub(object_hash(o)),
                        ObjectDiff::Replaced { old, new } => {
                            sum = sum.wrapping_sub(object_hash(old));
                            sum = sum.wrapping_add(object_hash(new));
                        }
                    }
                }
                sum
            }
            None => cat
                .objects()
                .fold(0u128, |s, o| s.wrapping_add(object_hash(o))),
        };
        self.last = Some((cat.clone(), sum));
        finish(sum, cat.default_workspace().map(|w| w.id()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use meridian_catalog::{CatalogService, Change, Kind};

    /// The digest computed from scratch, to check the cache against.
    fn catalog_digest(cat: &Catalog) -> String {
        let sum = cat
            .objects()
            .fold(0u128, |s, o| s.wrapping_add(object_hash(o)));
        finish(sum, cat.default_workspace().map(|w| w.id()))
    }

    fn ws(id: &str, name: &str) -> Object {
        let xml = meridian_xml::parse(&format!(
            "<workspace><id>{id}</id><name>{name}</name></workspace>"
        ))
        .unwrap();
        Object::new(Kind::Workspace, xml)
    }

    #[test]
    fn the_cached_digest_follows_changes_and_ignores_order() {
        let a = Catalog::from_loaded(vec![ws("w1", "a"), ws("w2", "b")], None);
        let b = Catalog::from_loaded(vec![ws("w2", "b"), ws("w1", "a")], None);
        assert_eq!(catalog_digest(&a), catalog_digest(&b));

        let svc = CatalogService::in_memory(a);
        let mut cache = DigestCache::default();
        let before = cache.digest(&svc.snapshot());
        assert_eq!(before, catalog_digest(&svc.snapshot()));
        svc.apply(vec![Change::Modify {
            object: ws("w1", "renamed"),
        }])
        .unwrap();
        let after = cache.digest(&svc.snapshot());
        assert_ne!(after, before);
        assert_eq!(after, catalog_digest(&svc.snapshot()));
        svc.apply(vec![Change::Remove {
            id: "w2".into(),
            kind: Kind::Workspace,
        }])
        .unwrap();
        assert_eq!(
            cache.digest(&svc.snapshot()),
            catalog_digest(&svc.snapshot())
        );
        // A catalog not derived from the last one (a snapshot taken over, a reload) shares
        // nothing with it: the diff then walks both, and the digest is still right.
        let other = Catalog::from_loaded(vec![ws("w3", "c"), ws("w1", "renamed")], None);
        assert_eq!(cache.digest(&other), catalog_digest(&other));
        // Many changes between two digests, and one digest of an unchanged catalog.
        let svc = CatalogService::in_memory(other);
        for i in 0..300 {
            svc.apply(vec![Change::Add {
                object: ws(&format!("x{i}"), &format!("x{i}")),
            }])
            .unwrap();
        }
        svc.apply(vec![Change::Remove {
            id: "w3".into(),
            kind: Kind::Workspace,
        }])
        .unwrap();
        let d = cache.digest(&svc.snapshot());
        assert_eq!(d, catalog_digest(&svc.snapshot()));
        assert_eq!(cache.digest(&svc.snapshot()), d);
    }
}
