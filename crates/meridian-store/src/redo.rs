//! Recovery at start: what the journal holds beyond the files is applied again, and the
//! conflict stamps are rebuilt from the journal.

use crate::conflict::Stamps;
use crate::files::read_marker;
use crate::journal::{Journal, Record, RecordSealer};
use crate::StoreError;
use meridian_catalog::sync::lock;
use meridian_catalog::{Catalog, CatalogService, Source};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Re-apply journaled batches whose files the marker does not cover (a crash in between),
/// after a snapshot whose files were not all written, if there is one.
pub(crate) fn redo(
    service: &CatalogService,
    journal: &Mutex<Journal>,
    marker: &Path,
    sealer: Option<&dyn RecordSealer>,
) -> Result<(), StoreError> {
    let mut done = read_marker(marker);
    if let Some(snap) = crate::behind::read_pending(marker)? {
        // A snapshot whose files were not all written: take it again (its files are written
        // behind once more), then redo what the journal holds after it.
        tracing::info!("re-applying a snapshot whose files were not all written");
        let cat = Catalog::from_loaded(snap.objects, snap.default_workspace);
        service
            .apply_snapshot(cat, snap.heads.clone())
            .map_err(StoreError::Reapply)?;
        for (origin, seq) in snap.heads {
            let d = done.entry(origin).or_insert(0);
            *d = (*d).max(seq);
        }
    }
    let pending: Vec<Arc<Record>> = {
        let j = lock(journal);
        let mut v: Vec<Arc<Record>> = j
            .heads()
            .keys()
            .flat_map(|o| {
                j.since(o, done.get(o).copied().unwrap_or(0), usize::MAX)
                    .unwrap_or_default()
            })
            .collect();
        v.sort_by_key(|r| r.provenance.hlc);
        v
    };
    let (count, started) = (pending.len(), std::time::Instant::now());
    for r in pending {
        tracing::debug!(origin = %r.provenance.origin, seq = r.provenance.seq, "re-applying a journaled batch");
        let mut changes = r.changes.clone();
        if let Some(s) = sealer {
            s.open(&mut changes).map_err(|source| StoreError::Sealed {
                origin: r.provenance.origin.clone(),
                seq: r.provenance.seq,
                source,
            })?;
        }
        service
            .apply_from(changes, Source::Remote(r.provenance.clone()))
            .map_err(|source| StoreError::Redo {
                origin: r.provenance.origin.clone(),
                seq: r.provenance.seq,
                source,
            })?;
    }
    if count > 0 {
        tracing::info!(
            batches = count,
            ms = started.elapsed().as_millis() as u64,
            "re-applied the journaled batches whose files were not all written"
        );
    }
    Ok(())
}

/// Stamps from every journaled batch, in clock order.
pub(crate) fn rebuild_stamps(journal: &Mutex<Journal>) -> Stamps {
    let j = lock(journal);
    let mut all: Vec<Arc<Record>> = j
        .heads()
        .keys()
        .flat_map(|o| j.since(o, 0, usize::MAX).unwrap_or_default())
        .collect();
    all.sort_by_key(|r| r.provenance.hlc);
    let mut s = Stamps::default();
    for r in all {
        s.record(&r.changes, &(r.provenance.hlc, r.provenance.origin.clone()));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::persist::tests::journaling_service;
    use meridian_catalog::{Kind, Object};
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    fn object(kind: Kind, xml: &str) -> Object {
        Object::new(kind, meridian_xml::parse(xml).unwrap())
    }

    /// A node whose files of a snapshot were not all written when it stopped.
    #[test]
    fn a_pending_snapshot_is_taken_again_at_start_then_the_journal_redone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        meridian_datadir::init_if_empty(&root).unwrap();
        let marker = root.join("cluster/applied.json");
        let journal_path = root.join("cluster/journal.log");
        let loaded = meridian_datadir::load(&root).unwrap();
        // Before the stop: the snapshot file (a workspace the files never got), a journal
        // based on it, and one journaled batch after it.
        let mut objects: Vec<Object> = loaded.catalog.objects().map(|o| (**o).clone()).collect();
        objects.push(object(
            Kind::Workspace,
            "<workspace><id>ws-snap</id><name>snap</name></workspace>",
        ));
        objects.push(object(
            Kind::Namespace,
            "<namespace><id>ns-snap</id><prefix>snap</prefix><uri>http://snap</uri></namespace>",
        ));
        let heads: BTreeMap<String, u64> = [("peer".to_string(), 5)].into();
        let pending = serde_json::json!({
            "heads": heads,
            "default_workspace": null,
            "objects": objects,
        });
        std::fs::create_dir_all(root.join("cluster")).unwrap();
        std::fs::write(
            crate::behind::snapshot_file(&marker),
            serde_json::to_vec(&pending).unwrap(),
        )
        .unwrap();
        {
            let mut j = Journal::open(&journal_path).unwrap();
            j.set_base(heads.clone()).unwrap();
            j.append(Record {
                provenance: meridian_catalog::Provenance {
                    origin: "peer".into(),
                    seq: 6,
                    hlc: 1,
                },
                changes: vec![meridian_catalog::Change::Add {
                    object: object(
                        Kind::Workspace,
                        "<workspace><id>ws-after</id><name>after</name></workspace>",
                    ),
                }],
            })
            .unwrap();
        }
        // The start: load, redo.
        let (service, journal, marker) = journaling_service(&root);
        redo(&service, &journal, &marker, None).unwrap();
        let cat = service.snapshot();
        assert!(cat.get("ws-snap").is_some() && cat.get("ws-after").is_some());
        let deadline = Instant::now() + Duration::from_secs(30);
        while crate::behind::read_pending(&marker).unwrap().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(crate::behind::read_pending(&marker).unwrap().is_none());
        assert!(root.join("workspaces/snap/namespace.xml").is_file());
        assert!(root.join("workspaces/after/workspace.xml").is_file());
        assert_eq!(read_marker(&marker).get("peer"), Some(&6));
    }
}
