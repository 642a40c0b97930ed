//! A digest of the replicated configuration: equal on nodes that hold the same catalog.

use meridian_catalog::{Catalog, Kind};
use sha2::{Digest, Sha256};

/// SHA-256 over every object (by id order): kind, id, XML and style body. The update sequence
/// in global settings is per node and left out.
pub fn catalog_digest(cat: &Catalog) -> String {
    let mut objects: Vec<_> = cat.objects().collect();
    objects.sort_by(|a, b| a.id().cmp(b.id()));
    let mut h = Sha256::new();
    for o in objects {
        h.update(format!("{:?}\0{}\0", o.kind, o.id()).as_bytes());
        if o.kind == Kind::Global {
            let mut x = o.xml.clone();
            x.remove("updateSequence");
            h.update(x.to_xml().as_bytes());
        } else {
            h.update(o.xml.to_xml().as_bytes());
        }
        h.update([0]);
        if let Some(b) = &o.body {
            h.update(b.as_bytes());
        }
        h.update([1]);
    }
    if let Some(d) = cat.default_workspace() {
        h.update(d.id().as_bytes());
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}
