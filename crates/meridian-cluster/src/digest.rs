//! A digest of the replicated configuration: equal on nodes that hold the same catalog.
//!
//! Each object is hashed on its own (SHA-256 of kind, id, XML and style body; the per-node
//! update sequence of global settings left out) and the object hashes are added up, so the
//! digest does not depend on order and only objects that changed since the last digest are
//! hashed again (objects are immutable `Arc`s: a change replaces the `Arc`).

use meridian_catalog::{Catalog, Object};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

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
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Object hashes kept between digests, by object identity: a change replaces an object's
/// `Arc`, and holding the `Arc` here keeps its address from being reused.
#[derive(Default)]
pub struct DigestCache {
    hashes: HashMap<usize, (Arc<Object>, u128, u64)>,
    generation: u64,
}

impl DigestCache {
    /// The digest of `cat`, hashing only objects not seen (as the same `Arc`) last time.
    pub fn digest(&mut self, cat: &Catalog) -> String {
        self.generation += 1;
        let generation = self.generation;
        let mut sum = 0u128;
        for o in cat.objects() {
            let entry = self
                .hashes
                .entry(Arc::as_ptr(o) as usize)
                .or_insert_with(|| (o.clone(), object_hash(o), generation));
            entry.2 = generation;
            sum = sum.wrapping_add(entry.1);
        }
        // Objects replaced or removed since the last digest.
        self.hashes.retain(|_, e| e.2 == generation);
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
    }
}
