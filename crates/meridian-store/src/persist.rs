//! The persister of every node: the journal first (fdatasync), then the data-directory
//! files (replaced atomically, not fsynced one by one; a local batch's before its 2xx, a
//! replicated batch's behind, on the files thread), and at checkpoints one syncfs followed
//! by the applied marker. At startup, journaled batches the marker does not cover are applied
//! again (idempotently), so neither a crash nor a power loss between the journal and a
//! checkpoint loses anything, and a change costs one fsync instead of one per file.

use crate::behind::{Behind, FilesProgress};
use crate::conflict::Stamps;
use crate::files::write_marker;
use crate::hlc::Hlc;
use crate::journal::{Journal, Record};
use meridian_catalog::{Batch, Catalog, Effect, Persist, PersistError, Provenance, Source};
use meridian_datadir::DataDir;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Journal + data directory.
pub struct JournalingPersist {
    files: Behind,
    journal: Arc<Mutex<Journal>>,
    me: String,
    hlc: Arc<Hlc>,
    marker: PathBuf,
    stamps: Arc<Mutex<Stamps>>,
    /// Journaled batches whose files are written but not yet covered by the marker, and when
    /// the first of them was.
    unsynced: usize,
    first_unsynced: Option<Instant>,
    /// Local batches of the current commit group: (journal length before, sequence).
    staged: Vec<(u64, u64)>,
}

/// A checkpoint is taken at least this often while batches arrive (and by the node's timer).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// At most this many batches wait for a checkpoint (fewer when the journal keeps fewer).
const CHECKPOINT_BATCHES: usize = 1000;

impl JournalingPersist {
    /// Wrap a data directory.
    pub fn new(
        inner: DataDir,
        journal: Arc<Mutex<Journal>>,
        me: String,
        hlc: Arc<Hlc>,
        progress: &FilesProgress,
        stamps: Arc<Mutex<Stamps>>,
    ) -> Self {
        JournalingPersist {
            files: Behind::new(inner.defer_sync(), progress),
            journal,
            me,
            hlc,
            marker: progress.marker().to_path_buf(),
            stamps,
            unsynced: 0,
            first_unsynced: None,
            staged: Vec::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        meridian_catalog::sync::lock(&self.journal)
    }
}

impl Persist for JournalingPersist {
    fn persist(
        &mut self,
        _before: &Catalog,
        after: &Catalog,
        batch: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        let prov = match batch.source {
            Source::System => {
                self.write_files(after, batch.effects, false)?;
                self.sync_files()?;
                return Ok(None);
            }
            Source::Snapshot(heads) => {
                // One file now; the snapshot's own files are written behind (see `behind`).
                self.files.keep_snapshot(after, heads)?;
                let heads = {
                    let mut j = self.lock();
                    j.set_base(heads.clone())?;
                    j.heads()
                };
                let sync_after = self.sync_after();
                if !self
                    .files
                    .queue(after, batch.effects, heads, true, sync_after)
                {
                    self.files.dd().write_effects(after, batch.effects)?;
                    self.checkpoint_now()?;
                    self.files.snapshot_written()?;
                }
                return Ok(None);
            }
            Source::Local if batch.changes.is_empty() => {
                self.write_files(after, batch.effects, false)?;
                self.sync_files()?;
                return Ok(None);
            }
            // A local batch applied alone (a reload's diff, `apply_from(.., Local)`); REST
            // writes come through `stage` in groups.
            Source::Local => {
                let seq = self.lock().head(&self.me) + 1;
                Provenance {
                    origin: self.me.clone(),
                    seq,
                    hlc: self.hlc.now(),
                }
            }
            Source::Remote(p) => {
                self.hlc.observe(p.hlc);
                p.clone()
            }
        };
        let (len_before, fresh) = {
            let mut j = self.lock();
            let len = j.len();
            let head = j.head(&prov.origin);
            if prov.seq <= head {
                // Already journaled (startup redo): only the files are missing.
                (len, false)
            } else {
                let rec = Record {
                    provenance: prov.clone(),
                    changes: batch.changes.to_vec(),
                };
                j.append(rec)?;
                if batch.source == &Source::Local && j.is_deferred() {
                    j.sync()?;
                }
                (len, true)
            }
        };
        // A replica serves a replicated batch once it is journaled; its files follow behind.
        let behind = matches!(batch.source, Source::Remote(_));
        let queued = match self.write_files(after, batch.effects, behind) {
            Ok(queued) => queued,
            Err(e) => {
                if fresh {
                    self.lock().undo_last(&prov.origin, prov.seq, len_before);
                }
                return Err(e);
            }
        };
        if !queued {
            self.count_in_line_batch();
            self.checkpoint_if_due()?;
        }
        self.record_stamps(batch, &prov);
        Ok(Some(prov))
    }

    fn stage(
        &mut self,
        before: &Catalog,
        after: &Catalog,
        batch: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        if batch.source != &Source::Local || batch.changes.is_empty() {
            return self.persist(before, after, batch);
        }
        let mut j = self.lock();
        let prov = Provenance {
            origin: self.me.clone(),
            seq: j.head(&self.me) + 1,
            hlc: self.hlc.now(),
        };
        let len_before = j.len();
        j.append_staged(Record {
            provenance: prov.clone(),
            changes: batch.changes.to_vec(),
        })?;
        drop(j);
        self.staged.push((len_before, prov.seq));
        Ok(Some(prov))
    }

    fn commit_staged(&mut self) -> Result<(), PersistError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        Ok(self.lock().sync()?)
    }

    fn finish_staged(
        &mut self,
        after: &Catalog,
        batch: &Batch<'_>,
        provenance: Option<&Provenance>,
    ) -> Result<(), PersistError> {
        let Some(prov) = provenance else {
            return Ok(());
        };
        // Counted, but not checkpointed, until the group ends: the journal's heads already
        // name the later batches of the group, whose files are not written yet.
        let behind = self.files.busy().then(|| {
            let mut heads = self.lock().heads();
            heads.insert(prov.origin.clone(), prov.seq);
            heads
        });
        if !self.write_files_at(after, batch.effects, false, behind)? {
            self.count_in_line_batch();
        }
        self.record_stamps(batch, prov);
        Ok(())
    }

    fn end_group(&mut self, keep: usize) -> Result<(), PersistError> {
        let taken_back = self.staged.split_off(keep.min(self.staged.len()));
        self.staged.clear();
        {
            let mut j = self.lock();
            for (len_before, seq) in taken_back.into_iter().rev() {
                j.undo_last(&self.me, seq, len_before);
            }
            j.compact_if_due()?;
        }
        if !self.files.busy() {
            self.checkpoint_if_due()?;
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> Result<(), PersistError> {
        if self.unsynced > 0 && !self.files.busy() {
            self.checkpoint_now()?;
        }
        Ok(())
    }

    fn settle(&mut self) -> Result<(), PersistError> {
        self.files.wait_idle();
        if self.files.failed() {
            return Err(PersistError::Other(
                "files written behind the journal failed; restart the node to redo them".into(),
            ));
        }
        self.checkpoint_now()
    }
}

impl JournalingPersist {
    /// Count a batch whose files were written in line, not yet covered by the marker.
    fn count_in_line_batch(&mut self) {
        self.unsynced += 1;
        self.first_unsynced.get_or_insert_with(Instant::now);
    }

    /// Checkpoint when enough in-line batches wait, or the first of them waited a second (the
    /// node's timer checkpoints a quiet node every second; this catches a busy one). Files
    /// written behind are synced, and the marker moved, by the files thread.
    fn checkpoint_if_due(&mut self) -> Result<(), PersistError> {
        let due = self.unsynced > 0
            && (self.unsynced >= self.sync_after()
                || self
                    .first_unsynced
                    .is_some_and(|t| t.elapsed() >= CHECKPOINT_EVERY));
        if due {
            self.checkpoint_now()?;
        }
        Ok(())
    }

    /// Stamps are recorded under the writer lock, with the batch, so reconciliation of a
    /// replicated batch always sees every local write before it.
    fn record_stamps(&self, batch: &Batch<'_>, prov: &Provenance) {
        match self.stamps.lock() {
            Ok(mut s) => s.record(batch.changes, &(prov.hlc, prov.origin.clone())),
            Err(p) => p
                .into_inner()
                .record(batch.changes, &(prov.hlc, prov.origin.clone())),
        }
    }

    /// Batches journaled between two syncs of the files at most: half the journal's
    /// retention (so it never drops a record the marker does not cover), at most 1000.
    fn sync_after(&self) -> usize {
        (self.lock().retention() / 2).clamp(1, CHECKPOINT_BATCHES)
    }

    /// Write a batch's files: behind (when asked, or when others are queued, as files are
    /// written in apply order), else in line. True when they were queued.
    fn write_files(
        &mut self,
        after: &Catalog,
        effects: &[Effect],
        behind: bool,
    ) -> Result<bool, PersistError> {
        self.write_files_at(after, effects, behind, None)
    }

    /// The same, with the heads the marker may name once these files are written behind
    /// (default: the journal's; a batch of a commit group names its own sequence, as the
    /// journal already holds the group's later batches).
    fn write_files_at(
        &mut self,
        after: &Catalog,
        effects: &[Effect],
        behind: bool,
        heads: Option<BTreeMap<String, u64>>,
    ) -> Result<bool, PersistError> {
        if behind || self.files.busy() {
            let heads = heads.unwrap_or_else(|| self.lock().heads());
            let sync_after = self.sync_after();
            if self.files.queue(after, effects, heads, false, sync_after) {
                return Ok(true);
            }
        }
        self.files.dd().write_effects(after, effects)?;
        Ok(false)
    }

    /// Sync in-line files now (nothing to do while files are written behind: the writer
    /// syncs when it catches up).
    fn sync_files(&mut self) -> Result<(), PersistError> {
        if self.files.busy() {
            return Ok(());
        }
        self.files.dd().sync()
    }

    /// Flush the files written since the last checkpoint, then record that the journal's
    /// heads are covered by files on disk.
    fn checkpoint_now(&mut self) -> Result<(), PersistError> {
        // The data directory stays locked throughout: the files thread does not sync (and
        // move the marker back to its older heads) in between.
        let mut dd = self.files.dd();
        dd.sync()?;
        if !self.files.failed() {
            let heads = self.lock().heads();
            write_marker(&self.marker, &heads)?;
            self.files.covered()?;
        }
        drop(dd);
        self.unsynced = 0;
        self.first_unsynced = None;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::files::read_marker;
    use meridian_catalog::{CatalogService, Change, Kind, Object};
    use std::path::Path;

    /// The catalog service of a node over `root`, with its journaling persister, as
    /// `meridian serve` builds it: (service, journal, applied marker).
    pub(crate) fn journaling_service(
        root: &Path,
    ) -> (CatalogService, Arc<Mutex<Journal>>, PathBuf) {
        let (service, journal, progress) = journaling_service_with_progress(root);
        (service, journal, progress.marker().to_path_buf())
    }

    /// The same, with the node's files progress.
    pub(crate) fn journaling_service_with_progress(
        root: &Path,
    ) -> (CatalogService, Arc<Mutex<Journal>>, FilesProgress) {
        let journal = Arc::new(Mutex::new(
            Journal::open(&root.join("cluster/journal.log")).unwrap(),
        ));
        let progress = FilesProgress::new(root.join("cluster/applied.json"));
        let loaded = meridian_datadir::load(root).unwrap();
        let persist = JournalingPersist::new(
            DataDir::new(root.to_path_buf(), loaded.locations),
            journal.clone(),
            "me".into(),
            Arc::new(Hlc::default()),
            &progress,
            Arc::new(Mutex::new(Stamps::default())),
        );
        let service = CatalogService::new(loaded.catalog, Box::new(persist));
        (service, journal, progress)
    }

    /// A fresh data directory with GeoServer's defaults (removed when the guard drops).
    fn new_data_dir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        meridian_datadir::init_if_empty(&root).unwrap();
        (dir, root)
    }

    fn add(kind: Kind, xml: &str) -> Change {
        Change::Add {
            object: Object::new(kind, meridian_xml::parse(xml).unwrap()),
        }
    }

    fn workspace(i: usize) -> Change {
        let xml =
            format!("<workspace><id>WorkspaceInfoImpl-t{i}</id><name>w{i}</name></workspace>");
        add(Kind::Workspace, &xml)
    }

    fn namespace(i: usize) -> Change {
        let xml = format!("<namespace><id>NamespaceInfoImpl-t{i}</id><prefix>w{i}</prefix><uri>http://t/{i}</uri></namespace>");
        add(Kind::Namespace, &xml)
    }

    #[test]
    fn the_marker_moves_only_at_checkpoints_and_then_covers_every_journaled_batch() {
        let (_dir, root) = new_data_dir();
        let (service, journal, marker) = journaling_service(&root);
        for i in 0..3 {
            service.apply(vec![workspace(i)]).unwrap();
        }
        // Journaled and written, but no checkpoint yet: a restart would redo all three.
        assert_eq!(journal.lock().unwrap().head("me"), 3);
        assert!(root.join("workspaces/w2/workspace.xml").is_file());
        assert_eq!(read_marker(&marker).get("me"), None);
        // global.xml is written when it really changes, its update sequence alone at checkpoints.
        let sequence = || {
            let xml = std::fs::read_to_string(root.join("global.xml")).unwrap();
            meridian_xml::parse(&xml)
                .unwrap()
                .child_text("updateSequence")
                .map(str::to_string)
        };
        assert_ne!(sequence().as_deref(), Some("3"));
        service.checkpoint().unwrap();
        assert_eq!(read_marker(&marker).get("me"), Some(&3));
        assert_eq!(sequence().as_deref(), Some("3"));
    }

    #[test]
    fn a_replicated_batch_is_served_once_journaled_and_its_files_follow() {
        let (_dir, root) = new_data_dir();
        let (service, journal, progress) = journaling_service_with_progress(&root);
        let marker = progress.marker().to_path_buf();
        let remote = |seq: u64| {
            Source::Remote(Provenance {
                origin: "peer".into(),
                seq,
                hlc: seq,
            })
        };
        // The files of peer#1 cannot be written yet (a file stands where its directory goes):
        // the batch is journaled and served all the same, as its files are written behind.
        std::fs::create_dir_all(root.join("workspaces")).unwrap();
        std::fs::write(root.join("workspaces/w1"), b"in the way").unwrap();
        service
            .apply_from(vec![workspace(1), namespace(1)], remote(1))
            .unwrap();
        assert!(service.snapshot().get("WorkspaceInfoImpl-t1").is_some());
        assert_eq!(journal.lock().unwrap().head("peer"), 1);
        // Settling reports the failure (so does the status), and the marker does not claim
        // the batch's files.
        assert!(service.settle().is_err());
        assert!(progress.failed());
        assert_eq!(read_marker(&marker).get("peer"), None);
        // Once the obstacle is gone, the next start redoes the batch from the journal.
        std::fs::remove_file(root.join("workspaces/w1")).unwrap();
        drop(service);
        let (service, journal, marker) = journaling_service(&root);
        crate::redo::redo(&service, &journal, &marker, None).unwrap();
        service
            .apply_from(vec![workspace(2), namespace(2)], remote(2))
            .unwrap();
        service.settle().unwrap();
        assert!(root.join("workspaces/w1/namespace.xml").is_file());
        assert!(root.join("workspaces/w2/namespace.xml").is_file());
        assert_eq!(read_marker(&marker).get("peer"), Some(&2));
        let reloaded = meridian_datadir::load(&root).unwrap();
        assert!(reloaded.problems.is_empty(), "{:?}", reloaded.problems);
    }

    #[test]
    fn concurrent_local_writes_are_journaled_in_groups_each_with_its_files() {
        let (_dir, root) = new_data_dir();
        let (service, journal, marker) = journaling_service(&root);
        let service = Arc::new(service);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let service = service.clone();
                std::thread::spawn(move || {
                    (0..20)
                        .map(|i| {
                            let n = 100 + t * 20 + i;
                            let a = service.apply(vec![workspace(n), namespace(n)]).unwrap();
                            a.provenance.unwrap().seq
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut seqs: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        seqs.sort();
        assert_eq!(seqs, (1..=160).collect::<Vec<u64>>());
        {
            let j = journal.lock().unwrap();
            assert_eq!(j.head("me"), 160);
            assert_eq!(j.since("me", 0, 1000).unwrap().len(), 160);
        }
        service.settle().unwrap();
        assert_eq!(read_marker(&marker).get("me"), Some(&160));
        let reloaded = meridian_datadir::load(&root).unwrap();
        assert!(reloaded.problems.is_empty(), "{:?}", reloaded.problems);
        for n in 100..260 {
            assert!(reloaded
                .catalog
                .get(&format!("WorkspaceInfoImpl-t{n}"))
                .is_some());
        }
        drop(journal);
        drop(service);
        // The journal reopens with every record, in sequence order.
        let j = Journal::open(&root.join("cluster/journal.log")).unwrap();
        let back: Vec<u64> = j
            .since("me", 0, 1000)
            .unwrap()
            .iter()
            .map(|r| r.provenance.seq)
            .collect();
        assert_eq!(back, (1..=160).collect::<Vec<u64>>());
    }

    #[test]
    fn files_written_behind_are_synced_and_marked_on_a_timer_without_more_batches() {
        let (_dir, root) = new_data_dir();
        let (service, _journal, marker) = journaling_service(&root);
        for seq in 1..=3 {
            let source = Source::Remote(Provenance {
                origin: "peer".into(),
                seq,
                hlc: seq,
            });
            service
                .apply_from(vec![workspace(seq as usize)], source)
                .unwrap();
        }
        // Synced on the files thread's timer (not per batch), with nothing else asking.
        let t0 = Instant::now();
        let mut covered = false;
        while !covered && t0.elapsed() < Duration::from_secs(5) {
            covered = read_marker(&marker).get("peer") == Some(&3);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            covered,
            "the marker never covered the batches written behind"
        );
        assert!(root.join("workspaces/w3/workspace.xml").is_file());
    }

    #[test]
    fn a_snapshot_is_one_durable_file_until_its_files_are_written_behind() {
        let (_dir, root) = new_data_dir();
        let (service, _journal, marker) = journaling_service(&root);
        let base = (*service.snapshot()).clone();
        // The snapshot: the loaded catalog plus 200 workspaces, as a peer would send it.
        let mut objects: Vec<Object> = base.objects().map(|o| (**o).clone()).collect();
        for i in 0..200 {
            for c in [workspace(i), namespace(i)] {
                if let Change::Add { object } = c {
                    objects.push(object);
                }
            }
        }
        let snapshot = Catalog::from_loaded(objects, None);
        let heads: BTreeMap<String, u64> = [("peer".to_string(), 7)].into();
        service.apply_snapshot(snapshot, heads.clone()).unwrap();
        // Applied at once; the snapshot is on disk as one file or already written out.
        assert!(service.snapshot().get("WorkspaceInfoImpl-t199").is_some());
        let pending = crate::behind::read_pending(&marker).unwrap();
        assert!(
            pending.is_none_or(|p| p.heads == heads && p.objects.len() > 200),
            "the pending snapshot holds the whole catalog"
        );
        // A batch applied meanwhile queues behind the snapshot's files; settling (what a
        // reload does first) waits for all of them.
        service
            .apply(vec![workspace(1000), namespace(1000)])
            .unwrap();
        let files = root.join("workspaces/w1000/workspace.xml");
        service.settle().unwrap();
        assert!(root.join("workspaces/w0/workspace.xml").is_file());
        assert!(root.join("workspaces/w199/namespace.xml").is_file());
        assert!(files.is_file());
        assert_eq!(read_marker(&marker).get("peer"), Some(&7));
        assert!(crate::behind::read_pending(&marker).unwrap().is_none());
        // And the directory loads as the catalog the node serves.
        let reloaded = meridian_datadir::load(&root).unwrap();
        assert!(reloaded.problems.is_empty(), "{:?}", reloaded.problems);
        assert_eq!(
            reloaded.catalog.objects().count(),
            service.snapshot().objects().count()
        );
    }
}
