//! [`Store`]: a node's durable state, opened once and shared: the journal, the clock, the
//! conflict stamps and the progress of the files written behind. Everything outside this
//! crate goes through its methods; nothing else locks the journal.

use crate::behind::FilesProgress;
use crate::conflict::Stamps;
use crate::hlc::Hlc;
use crate::journal::{Journal, Record, RecordSealer};
use crate::persist::JournalingPersist;
use crate::StoreError;
use meridian_catalog::sync::lock;
use meridian_catalog::CatalogService;
use meridian_datadir::DataDir;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A node's durable state. Cloning shares it.
#[derive(Clone)]
pub struct Store {
    journal: Arc<Mutex<Journal>>,
    hlc: Arc<Hlc>,
    stamps: Arc<Mutex<Stamps>>,
    files: FilesProgress,
    me: String,
    sealer: Option<Arc<dyn RecordSealer>>,
}

impl Store {
    /// Open the durable state of the data directory `dir` for node `me`: the journal
    /// (`cluster/journal.log`, keeping at least `retention` records per origin, sealed by
    /// `sealer` when given) and the applied marker (`cluster/applied.json`).
    pub fn open(
        dir: &Path,
        me: &str,
        retention: usize,
        sealer: Option<Arc<dyn RecordSealer>>,
    ) -> Result<Store, StoreError> {
        let path = dir.join("cluster").join("journal.log");
        let mut journal = match &sealer {
            Some(s) => Journal::open_sealed(&path, s.clone()),
            None => Journal::open(&path),
        }
        .map_err(StoreError::Journal)?;
        journal.set_retention(retention);
        Ok(Store {
            journal: Arc::new(Mutex::new(journal)),
            hlc: Arc::new(Hlc::default()),
            stamps: Arc::new(Mutex::new(Stamps::default())),
            files: FilesProgress::new(dir.join("cluster").join("applied.json")),
            me: me.to_string(),
            sealer,
        })
    }

    /// The persister of a data directory over this store (a new one after each reload).
    pub fn persister(&self, dd: DataDir) -> Box<JournalingPersist> {
        Box::new(JournalingPersist::new(
            dd,
            self.journal.clone(),
            self.me.clone(),
            self.hlc.clone(),
            &self.files,
            self.stamps.clone(),
        ))
    }

    /// Recover at start: redo what the journal holds beyond the files, tell `service` the
    /// positions its catalog now holds, and rebuild the conflict stamps.
    pub fn recover(&self, service: &CatalogService) -> Result<(), StoreError> {
        crate::redo::redo(
            service,
            &self.journal,
            self.files.marker(),
            self.sealer.as_deref(),
        )?;
        service.note_positions(&self.heads());
        *lock(&self.stamps) = crate::redo::rebuild_stamps(&self.journal);
        Ok(())
    }

    /// The last sequence journaled per origin.
    pub fn heads(&self) -> BTreeMap<String, u64> {
        lock(&self.journal).heads()
    }

    /// The last sequence journaled of `origin` (0 for none).
    pub fn head(&self, origin: &str) -> u64 {
        lock(&self.journal).head(origin)
    }

    /// The heads, and whether the journal holds nothing yet (a new node).
    pub fn heads_and_new(&self) -> (BTreeMap<String, u64>, bool) {
        let j = lock(&self.journal);
        (j.heads(), j.is_empty())
    }

    /// Up to `limit` records of `origin` after `after`, sealed as journaled; `None` when
    /// they are no longer held (the asker takes a snapshot).
    pub fn since(&self, origin: &str, after: u64, limit: usize) -> Option<Vec<Arc<Record>>> {
        lock(&self.journal).since(origin, after, limit)
    }

    /// Hold back the journal's fdatasync until [`Store::end_deferred`] (a page of records).
    pub fn defer_sync(&self) {
        lock(&self.journal).defer_sync();
    }

    /// Sync what was appended since [`Store::defer_sync`], and sync each append again.
    pub fn end_deferred(&self) -> Result<(), StoreError> {
        lock(&self.journal)
            .end_deferred()
            .map_err(StoreError::Journal)
    }

    /// The node's hybrid logical clock.
    pub fn hlc(&self) -> &Hlc {
        &self.hlc
    }

    /// The conflict stamps (per object, the clock and origin of its last change).
    pub fn stamps(&self) -> &Arc<Mutex<Stamps>> {
        &self.stamps
    }

    /// Progress of the files written behind the journal, and the applied marker.
    pub fn files(&self) -> &FilesProgress {
        &self.files
    }
}
