//! The single apply path: validate a batch on a working copy, persist it, then publish it.

use crate::catalog::Catalog;
use crate::group::Queue;
use crate::validate::{check, ValidationError};
use crate::{Applied, Change, Kind, Object};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

/// What a batch did, for the persister: objects to (re)write and objects to delete.
#[derive(Debug, Clone)]
pub enum Effect {
    /// An object was added or modified; `previous` is its state before (for renames).
    Saved {
        /// The new state.
        object: Arc<Object>,
        /// The state before, when modified.
        previous: Option<Arc<Object>>,
    },
    /// An object was removed.
    Removed {
        /// Its last state.
        object: Arc<Object>,
    },
    /// The default workspace changed.
    DefaultWorkspace {
        /// The new default, if any.
        id: Option<String>,
    },
}

/// Where a replicated batch comes from: its origin node, the origin's gapless sequence number
/// for it, and the origin's hybrid logical clock when it was committed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The origin node's instance name.
    pub origin: String,
    /// Sequence number of the batch in the origin's stream (1, 2, 3, ...).
    pub seq: u64,
    /// Hybrid logical clock of the commit at the origin.
    pub hlc: u64,
}

/// Who asks for a batch to be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local write (REST, reload); refused while local writes are closed.
    Local,
    /// The node's own bootstrap (built-in styles of a new data directory): local to this node,
    /// never journaled or published, allowed when local writes are closed.
    System,
    /// A whole catalog taken over from a peer's snapshot, with the positions it holds.
    Snapshot(std::collections::BTreeMap<String, u64>),
    /// A batch replicated from another node. Applied leniently: an add of an object that
    /// exists becomes a modify, a modify of a missing object an add, a remove of a missing
    /// object is skipped, so a replay changes nothing twice.
    Remote(Provenance),
}

/// What the persister is given for one batch.
#[derive(Debug)]
pub struct Batch<'a> {
    /// The changes as applied (after lenient normalisation for remote batches).
    pub changes: &'a [Change],
    /// Their effects on objects.
    pub effects: &'a [Effect],
    /// Where the batch comes from.
    pub source: &'a Source,
}

/// An error from the persister; the batch is not applied in memory when it fails.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// A file (or the journal) could not be written, moved, synced or removed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The persister refuses the write: a path outside the data directory, an object with
    /// no place in it.
    #[error("refused: {0}")]
    Refused(String),
    /// Anything else, said in words.
    #[error("{0}")]
    Other(String),
}

impl PersistError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        PersistError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the write failed because the disk or the user's quota is full.
    pub fn is_storage_full(&self) -> bool {
        match self {
            PersistError::Io { source, .. } => {
                matches!(
                    source.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                ) || matches!(source.raw_os_error(), Some(28 | 122))
            }
            _ => false,
        }
    }

    /// The same failure again, for each batch of a group that shares it.
    pub fn shared(&self) -> PersistError {
        match self {
            PersistError::Io { path, source } => PersistError::Io {
                path: path.clone(),
                source: match source.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(source.kind(), source.to_string()),
                },
            },
            PersistError::Refused(m) => PersistError::Refused(m.clone()),
            PersistError::Other(m) => PersistError::Other(m.clone()),
        }
    }
}

/// Where applied batches are stored (the data directory). Called with the state before and
/// after the batch, under the writer lock, before the new state becomes visible.
pub trait Persist: Send {
    /// Make the batch durable. A journaling persister returns the provenance it recorded the
    /// batch under (for a local batch, the sequence number it assigned).
    fn persist(
        &mut self,
        before: &Catalog,
        after: &Catalog,
        batch: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError>;

    /// Make everything persisted so far durable, for persisters that defer it (called
    /// periodically and at shutdown). The default has nothing to do.
    fn checkpoint(&mut self) -> Result<(), PersistError> {
        Ok(())
    }

    /// Wait until every file of what was persisted so far is written and durable (before the
    /// data directory is read again, or the persister replaced). Defaults to a checkpoint.
    fn settle(&mut self) -> Result<(), PersistError> {
        self.checkpoint()
    }

    /// Group commit of concurrent local batches: record one batch of a group without making
    /// it durable yet. [`Persist::commit_staged`] then makes the whole group durable at once,
    /// [`Persist::finish_staged`] is called for each batch in order, and
    /// [`Persist::end_group`] closes the group. The default persists at once.
    fn stage(
        &mut self,
        before: &Catalog,
        after: &Catalog,
        batch: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        self.persist(before, after, batch)
    }

    /// Make every batch staged since the group began durable (one sync).
    fn commit_staged(&mut self) -> Result<(), PersistError> {
        Ok(())
    }

    /// After the commit, what a staged batch still needs (its files), in stage order.
    fn finish_staged(
        &mut self,
        _after: &Catalog,
        _batch: &Batch<'_>,
        _provenance: Option<&Provenance>,
    ) -> Result<(), PersistError> {
        Ok(())
    }

    /// Close the group: the first `keep` staged batches stand, the others (after a failed
    /// commit or files) are taken back.
    fn end_group(&mut self, _keep: usize) -> Result<(), PersistError> {
        Ok(())
    }
}

/// A persister that keeps nothing (tests, in-memory catalogs).
pub struct NoPersist;

impl Persist for NoPersist {
    fn persist(
        &mut self,
        _: &Catalog,
        _: &Catalog,
        _: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        Ok(None)
    }
}

/// Why a batch was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A change broke a catalog rule; the batch was refused whole.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Writing to the data directory failed; memory is unchanged.
    #[error("could not save the configuration: {0}")]
    Persist(#[from] PersistError),
    /// Local writes are closed on this node (a pure replica, or read-only).
    #[error("{0}")]
    ReadOnly(String),
}

/// Listener called after each applied batch, in apply order and under the writer lock
/// (replication hooks in here): it must be quick and must not apply anything itself.
pub type Listener = Box<dyn Fn(&Applied) + Send + Sync>;

/// The catalog together with its persister: the one place changes are applied.
pub struct CatalogService {
    state: RwLock<Arc<Catalog>>,
    pub(crate) writer: Mutex<Box<dyn Persist>>,
    /// Local batches waiting to be committed, and whether one of their threads is committing
    /// a group (see [`CatalogService::apply`]); `committed` wakes the waiters after a group.
    pub(crate) queue: Mutex<Queue>,
    pub(crate) committed: Condvar,
    listeners: RwLock<Vec<Listener>>,
    write_gate: RwLock<Option<String>>,
    version: std::sync::atomic::AtomicU64,
    /// Per origin, the last sequence the visible state reflects (see
    /// [`CatalogService::wait_for_position`]).
    positions: Mutex<BTreeMap<String, u64>>,
    reached: Condvar,
    /// Called whenever positions move (async waiters are woken through these).
    position_observers: RwLock<Vec<Box<dyn Fn() + Send + Sync>>>,
}

impl CatalogService {
    /// A service over a loaded catalog.
    pub fn new(catalog: Catalog, persist: Box<dyn Persist>) -> Self {
        CatalogService {
            state: RwLock::new(Arc::new(catalog)),
            writer: Mutex::new(persist),
            queue: Mutex::new(Queue::default()),
            committed: Condvar::new(),
            listeners: RwLock::new(Vec::new()),
            write_gate: RwLock::new(None),
            version: std::sync::atomic::AtomicU64::new(0),
            positions: Mutex::new(BTreeMap::new()),
            reached: Condvar::new(),
            position_observers: RwLock::new(Vec::new()),
        }
    }

    /// Record that the visible state reflects `heads` (the positions a node started from,
    /// those of a snapshot), and wake whoever waits for them.
    pub fn note_positions(&self, heads: &BTreeMap<String, u64>) {
        let mut g = crate::sync::lock(&self.positions);
        for (origin, seq) in heads {
            let e = g.entry(origin.clone()).or_insert(0);
            *e = (*e).max(*seq);
        }
        drop(g);
        self.reached.notify_all();
        let observers = crate::sync::read(&self.position_observers);
        for o in observers.iter() {
            o();
        }
    }

    /// Call `f` whenever the positions the visible state reflects move (it must be quick: it
    /// runs under the state's lock). For waiting without a thread, e.g. on an async runtime.
    pub fn on_positions(&self, f: Box<dyn Fn() + Send + Sync>) {
        match self.position_observers.write() {
            Ok(mut g) => g.push(f),
            Err(p) => p.into_inner().push(f),
        }
    }

    /// The current state and the positions (origin → last sequence) it reflects, read
    /// together: a digest of this state belongs to exactly these positions.
    pub fn snapshot_with_positions(&self) -> (Arc<Catalog>, BTreeMap<String, u64>) {
        let g = crate::sync::read(&self.state);
        let positions = crate::sync::lock(&self.positions).clone();
        (g.clone(), positions)
    }

    /// The last sequence of `origin` the visible state reflects (0 when none).
    pub fn position(&self, origin: &str) -> u64 {
        crate::sync::lock(&self.positions)
            .get(origin)
            .copied()
            .unwrap_or(0)
    }

    /// Wait at most `timeout` until the visible state reflects batch `seq` of `origin` (read
    /// your writes on any node: a write's position, then a wait on the node read from).
    /// Returns the position reached.
    pub fn wait_for_position(&self, origin: &str, seq: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut g = crate::sync::lock(&self.positions);
        loop {
            let at = g.get(origin).copied().unwrap_or(0);
            let left = deadline.saturating_duration_since(Instant::now());
            if at >= seq || left.is_zero() {
                return at;
            }
            g = match self.reached.wait_timeout(g, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// An in-memory service that persists nothing.
    pub fn in_memory(catalog: Catalog) -> Self {
        Self::new(catalog, Box::new(NoPersist))
    }

    /// The current state; readers never block writers for long.
    pub fn snapshot(&self) -> Arc<Catalog> {
        crate::sync::read(&self.state).clone()
    }

    /// A number that changes whenever the state is replaced (cache key for derived values).
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Register a listener called after every applied batch.
    pub fn subscribe(&self, l: Listener) {
        match self.listeners.write() {
            Ok(mut g) => g.push(l),
            Err(p) => p.into_inner().push(l),
        }
    }

    /// Replace the whole state and its persister (reload from disk). Nothing is written but
    /// what the old persister deferred (its checkpoint).
    pub fn replace(&self, catalog: Catalog, persist: Box<dyn Persist>) {
        let mut w = crate::sync::lock(&self.writer);
        if let Err(e) = w.settle() {
            tracing::warn!(error = %e, "settling files before replacing the persister failed");
        }
        *w = persist;
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match self.state.write() {
            Ok(mut g) => *g = Arc::new(catalog),
            Err(p) => *p.into_inner() = Arc::new(catalog),
        }
    }

    /// Replace the whole catalog with `new` (a peer's snapshot), writing what differs: objects
    /// missing from `new` are removed, new or changed ones saved. No validation: the snapshot
    /// comes from a catalog that was valid where it was taken.
    pub fn apply_snapshot(
        &self,
        new: Catalog,
        heads: std::collections::BTreeMap<String, u64>,
    ) -> Result<Applied, ApplyError> {
        let mut writer = crate::sync::lock(&self.writer);
        let before = self.snapshot();
        let mut effects = Vec::new();
        let mut removed: Vec<Arc<Object>> = before
            .objects()
            .filter(|o| new.get(o.id()).is_none())
            .cloned()
            .collect();
        removed.sort_by_key(|o| std::cmp::Reverse(kind_rank(o.kind)));
        for object in removed {
            effects.push(Effect::Removed { object });
        }
        let mut saved: Vec<(Arc<Object>, Option<Arc<Object>>)> = new
            .objects()
            .filter(|o| before.get(o.id()).map(|b| b != *o).unwrap_or(true))
            .map(|o| (o.clone(), before.get(o.id()).cloned()))
            .collect();
        saved.sort_by_key(|(o, _)| kind_rank(o.kind));
        for (object, previous) in saved {
            effects.push(Effect::Saved { object, previous });
        }
        let new_default = new.default_workspace().map(|w| w.id().to_string());
        if before.default_workspace().map(|w| w.id().to_string()) != new_default {
            effects.push(Effect::DefaultWorkspace { id: new_default });
        }
        let source = Source::Snapshot(heads.clone());
        let batch = Batch {
            changes: &[],
            effects: &effects,
            source: &source,
        };
        let provenance = writer.persist(&before, &new, &batch)?;
        let applied = Applied {
            changes: Vec::new(),
            update_sequence: new.update_sequence(),
            provenance,
            source,
        };
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        {
            let mut g = crate::sync::write(&self.state);
            *g = Arc::new(new);
            self.note_positions(&heads);
        }
        // Listeners hear of the new state too (its changes are not listed: a snapshot is
        // no local batch, so nothing republishes it).
        self.notify(&applied);
        Ok(applied)
    }

    /// Ask the persister to make what it deferred durable (see [`Persist::checkpoint`]).
    pub fn checkpoint(&self) -> Result<(), PersistError> {
        match self.writer.lock() {
            Ok(mut g) => g.checkpoint(),
            Err(p) => p.into_inner().checkpoint(),
        }
    }

    /// Swap the persister (after a reload found files in new places), keeping the state.
    pub fn replace_persister(&self, persist: Box<dyn Persist>) {
        let mut w = crate::sync::lock(&self.writer);
        if let Err(e) = w.settle() {
            tracing::warn!(error = %e, "settling files before replacing the persister failed");
        }
        *w = persist;
    }

    /// Wait until the files of everything applied so far are on disk (see [`Persist::settle`]);
    /// applies wait meanwhile. Call before reading the data directory again.
    pub fn settle(&self) -> Result<(), PersistError> {
        match self.writer.lock() {
            Ok(mut g) => g.settle(),
            Err(p) => p.into_inner().settle(),
        }
    }

    /// Close local writes with a reason (`None` opens them again). Remote batches still apply.
    pub fn set_write_gate(&self, reason: Option<String>) {
        match self.write_gate.write() {
            Ok(mut g) => *g = reason,
            Err(p) => *p.into_inner() = reason,
        }
    }

    /// Why local writes are closed, if they are.
    pub fn write_gate(&self) -> Option<String> {
        crate::sync::read(&self.write_gate).clone()
    }

    /// Validate, persist and apply a local batch of changes, all or nothing. The update
    /// sequence in `global.xml` is bumped once per batch.
    ///
    /// Concurrent local batches are committed in groups: a batch waits for the writer in a
    /// queue, and whoever takes the writer applies every queued batch in turn (each validated
    /// on the state the previous ones left, each its own sequence number and answer), makes
    /// them durable with one sync, writes their files, then makes them visible and notifies
    /// listeners in order. A batch refused by validation does not hold the others back; one
    /// that cannot be saved takes back those after it (they were validated on top of it).
    pub fn apply(&self, changes: Vec<Change>) -> Result<Applied, ApplyError> {
        self.apply_from(changes, Source::Local)
    }

    /// Validate, persist and apply a batch from `source`.
    pub fn apply_from(&self, changes: Vec<Change>, source: Source) -> Result<Applied, ApplyError> {
        if source == Source::Local && !changes.is_empty() {
            return self.apply_grouped(changes);
        }
        self.apply_with(changes, source, |_, c| c)
    }

    /// Like [`CatalogService::apply_from`], with `prepare` rewriting the batch against the
    /// current state under the writer lock (replication reconciles concurrent writes here, so
    /// no local write slips in between).
    pub fn apply_with(
        &self,
        changes: Vec<Change>,
        source: Source,
        prepare: impl FnOnce(&Catalog, Vec<Change>) -> Vec<Change>,
    ) -> Result<Applied, ApplyError> {
        if source == Source::Local {
            if let Some(reason) = self.write_gate() {
                return Err(ApplyError::ReadOnly(reason));
            }
        }
        let mut writer = crate::sync::lock(&self.writer);
        let before = self.snapshot();
        let changes = prepare(&before, changes);
        let mut work: Catalog = (*before).clone();
        let (applied_changes, effects) = apply_changes(&mut work, changes, &source)?;
        let batch = Batch {
            changes: &applied_changes,
            effects: &effects,
            source: &source,
        };
        let provenance = writer.persist(&before, &work, &batch)?;
        let applied = Applied {
            changes: applied_changes,
            update_sequence: work.update_sequence(),
            provenance,
            source,
        };
        self.swap_in(work, applied.provenance.as_ref());
        self.notify(&applied);
        drop(writer);
        Ok(applied)
    }

    /// Make `catalog` the visible state, with the position of the batch it ends with. Under
    /// the writer lock; the positions move with the state, under its lock, so a reader of both
    /// (`snapshot_with_positions`) never sees one without the other.
    pub(crate) fn swap_in(&self, catalog: Catalog, last: Option<&Provenance>) {
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut g = crate::sync::write(&self.state);
        *g = Arc::new(catalog);
        if let Some(p) = last {
            self.note_positions(&BTreeMap::from([(p.origin.clone(), p.seq)]));
        }
    }

    /// Tell the listeners of an applied batch. Still under the writer lock: listeners see
    /// batches in the order they were applied (replication publishes them in sequence order).
    pub(crate) fn notify(&self, applied: &Applied) {
        let listeners = crate::sync::read(&self.listeners);
        for l in listeners.iter() {
            l(applied);
        }
    }
}

/// The changes that turn `old` into `new`: removals (children first), then additions and
/// modifications (parents first), then the default workspace.
pub fn diff(old: &Catalog, new: &Catalog) -> Vec<Change> {
    let mut removed: Vec<&Arc<Object>> = old
        .objects()
        .filter(|o| new.get(o.id()).is_none())
        .collect();
    removed.sort_by_key(|o| std::cmp::Reverse(kind_rank(o.kind)));
    let mut changed: Vec<&Arc<Object>> = new
        .objects()
        .filter(|o| old.get(o.id()).map(|b| b != *o).unwrap_or(true))
        .collect();
    changed.sort_by_key(|o| kind_rank(o.kind));
    let mut out: Vec<Change> = removed
        .into_iter()
        .filter(|o| !matches!(o.kind, Kind::Global | Kind::Logging))
        .map(|o| Change::Remove {
            kind: o.kind,
            id: o.id().to_string(),
        })
        .collect();
    for o in changed {
        let mut o = (**o).clone();
        if o.kind == Kind::Global {
            // The update sequence is the node's own.
            if let Some(g) = old.global() {
                o.edit_xml(|x| match g.xml().child_text("updateSequence") {
                    Some(seq) => x.set_child_text("updateSequence", seq),
                    None => {
                        x.remove("updateSequence");
                    }
                });
                if **g == o {
                    continue;
                }
            }
        }
        out.push(if old.get(o.id()).is_some() {
            Change::Modify { object: o }
        } else {
            Change::Add { object: o }
        });
    }
    let (od, nd) = (
        old.default_workspace().map(|w| w.id()),
        new.default_workspace().map(|w| w.id()),
    );
    if od != nd {
        if let Some(id) = nd {
            out.push(Change::SetDefaultWorkspace { id: id.to_string() });
        }
    }
    out
}

/// Parents before children: the order in which new objects' files can be placed.
fn kind_rank(k: Kind) -> u8 {
    match k {
        Kind::Global | Kind::Logging | Kind::Security => 0,
        Kind::Workspace => 1,
        Kind::Namespace => 2,
        Kind::Settings | Kind::Service => 3,
        k if k.is_store() => 4,
        k if k.is_resource() => 5,
        Kind::Style => 6,
        Kind::Layer => 7,
        _ => 8,
    }
}

fn bump_sequence(work: &mut Catalog, effects: &mut Vec<Effect>) {
    let Some(g) = work.global().cloned() else {
        return;
    };
    let mut g2 = (*g).clone();
    let next = work.update_sequence() + 1;
    g2.set_child_text("updateSequence", &next.to_string());
    let g2 = Arc::new(g2);
    work.put(g2.clone());
    effects.retain(|e| !matches!(e, Effect::Saved { object, .. } if object.kind == Kind::Global));
    effects.push(Effect::Saved {
        object: g2,
        previous: Some(g),
    });
}

/// Validate and apply `changes` from `source` to `work` in turn (a replicated change made
/// lenient first, see [`lenient`]), then bump the update sequence once when anything was
/// applied: the changes as applied and their effects.
pub(crate) fn apply_changes(
    work: &mut Catalog,
    changes: Vec<Change>,
    source: &Source,
) -> Result<(Vec<Change>, Vec<Effect>), ValidationError> {
    let mut effects = Vec::new();
    let mut applied = Vec::with_capacity(changes.len());
    for c in changes {
        let c = match source {
            Source::Local | Source::System | Source::Snapshot(_) => c,
            Source::Remote(_) => match lenient(work, c) {
                Some(c) => c,
                None => continue,
            },
        };
        check(work, &c)?;
        apply_unchecked(work, &c, &mut effects);
        applied.push(c);
    }
    if !applied.is_empty() {
        bump_sequence(work, &mut effects);
    }
    Ok((applied, effects))
}

/// Rewrite a replicated change so that applying it twice, or after a partial apply, is harmless.
fn lenient(work: &Catalog, c: Change) -> Option<Change> {
    match c {
        Change::Add { object } if work.get(object.id()).is_some() => {
            if work
                .get(object.id())
                .map(|o| **o == object)
                .unwrap_or(false)
            {
                None
            } else {
                Some(Change::Modify { object })
            }
        }
        Change::Modify { object } if work.get(object.id()).is_none() => {
            Some(Change::Add { object })
        }
        Change::Modify { object } if work.get(object.id()).is_some_and(|o| **o == object) => None,
        Change::Remove { id, .. } if work.get(&id).is_none() => None,
        Change::SetDefaultWorkspace { id }
            if work.default_workspace().is_some_and(|w| w.id() == id) =>
        {
            None
        }
        c => Some(c),
    }
}

/// Apply a change that has been checked (or is generated by the catalog itself).
pub(crate) fn apply_unchecked(work: &mut Catalog, c: &Change, effects: &mut Vec<Effect>) {
    match c {
        Change::Add { object } | Change::Modify { object } => {
            let previous = work.get(object.id()).cloned();
            let object = Arc::new(object.clone());
            work.put(object.clone());
            if object.kind.is_resource() {
                work.reindex_layers_of(object.id());
            }
            if object.kind == Kind::Workspace && work.default_workspace().is_none() {
                work.set_default_workspace_id(Some(object.id().to_string()));
                effects.push(Effect::DefaultWorkspace {
                    id: Some(object.id().to_string()),
                });
            }
            effects.push(Effect::Saved { object, previous });
        }
        Change::Remove { id, .. } => {
            if let Some(object) = work.take(id) {
                let was_default =
                    work.default_workspace().is_none() && object.kind == Kind::Workspace;
                effects.push(Effect::Removed { object });
                if was_default {
                    let next = work
                        .list(Kind::Workspace)
                        .first()
                        .map(|w| w.id().to_string());
                    work.set_default_workspace_id(next.clone());
                    effects.push(Effect::DefaultWorkspace { id: next });
                }
            }
        }
        Change::SetDefaultWorkspace { id } => {
            work.set_default_workspace_id(Some(id.clone()));
            effects.push(Effect::DefaultWorkspace {
                id: Some(id.clone()),
            });
        }
    }
}
