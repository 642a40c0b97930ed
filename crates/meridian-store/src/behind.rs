//! Writing data-directory files behind the journal. A snapshot replaces the whole catalog:
//! its files (one or two per object) would hold the node back for as long as the filesystem
//! takes to create them, while the catalog itself is applied in a second. So a snapshot is
//! made durable as one file, applied, and its files are written here, on a thread, followed in
//! order by the files of every batch applied meanwhile. Replicated batches are written here
//! too: a replica serves a change once it is journaled, and its files follow; batches that
//! move and remove no file share a job while they wait (see [`Behind::queue`]). A second after
//! the first batch written since the last sync (sooner after `sync_after` batches, and when
//! the node settles), the files are synced and the applied marker moves; the snapshot file
//! goes once no snapshot's files are still queued. A crash before that is repaired at the next
//! start: the snapshot file is applied again, then the journal redone. Syncing on a timer
//! rather than whenever the queue runs empty keeps a filesystem-wide sync per replicated
//! write off a lightly loaded node (and off the other nodes sharing its disk).

use crate::files::write_marker;
use crate::StoreError;
use meridian_catalog::sync::lock;
use meridian_catalog::{Catalog, Effect, Object, PersistError};
use meridian_datadir::DataDir;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// At most this many batches wait for their files; applying more waits (each queued batch
/// holds its version of the catalog).
const MAX_QUEUED: usize = 10_000;

/// Files written behind are synced, and the marker moved, at most this long after the first
/// batch written since the last sync.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Files of one applied batch (or snapshot), to write in order; or of several consecutive
/// batches that move and remove no file, merged while they waited (see [`Behind::queue`]).
struct Job {
    /// The catalog as the last of its batches left it.
    after: Catalog,
    effects: Vec<Effect>,
    /// How many batches (the merged ones included).
    batches: usize,
    /// Whether every batch merged so far moves and removes no file.
    mergeable: bool,
    /// Journal heads once its last batch was journaled: what the marker may say once its
    /// files are on disk.
    heads: BTreeMap<String, u64>,
    /// The files of a snapshot (counted in [`Backlog::snapshots`] until written).
    snapshot: bool,
    /// Sync and move the marker once this many batches were written since the last sync
    /// (the journal must not drop records the marker does not cover).
    sync_after: usize,
}

#[derive(Default)]
pub(crate) struct Backlog {
    /// Batches whose files are not written yet (waiting, or being written).
    queued: usize,
    /// Snapshots kept whose files are not all written: the snapshot file must stay.
    snapshots: usize,
    /// A file could not be written since the last snapshot: the marker stays where it is, so
    /// the next start applies the snapshot and redoes the journal.
    failed: bool,
    /// Written but not synced yet: how many batches, since when, and the journal heads the
    /// marker may record once they are synced.
    unsynced: Option<Unsynced>,
}

/// What waits for one files thread, in apply order.
#[derive(Default)]
struct Jobs {
    waiting: VecDeque<Job>,
    /// The queue is closed: the thread writes what is left, syncs and ends.
    closed: bool,
    /// The thread has ended (or died): batches are written in line.
    ended: bool,
}

/// Held by the files thread: marks its queue ended when the thread returns or unwinds.
struct Ending(Arc<(Mutex<Jobs>, Condvar)>);

impl Drop for Ending {
    fn drop(&mut self) {
        lock(&self.0 .0).ended = true;
    }
}

/// Batches whose files are written but not synced.
struct Unsynced {
    batches: usize,
    since: Instant,
    heads: BTreeMap<String, u64>,
}

/// Where a node records which journaled batches have their files on disk (the applied
/// marker), and how many batches' files are still queued behind the journal. Shared by the
/// node's persisters (one per reload) and its status.
#[derive(Clone)]
pub struct FilesProgress {
    marker: PathBuf,
    backlog: Arc<(Mutex<Backlog>, Condvar)>,
}

impl FilesProgress {
    /// Progress recorded in the marker file `marker` (`cluster/applied.json`).
    pub fn new(marker: PathBuf) -> FilesProgress {
        FilesProgress {
            marker,
            backlog: Arc::default(),
        }
    }

    /// The applied marker's path.
    pub fn marker(&self) -> &Path {
        &self.marker
    }

    /// Batches (and snapshots) whose files are not written yet.
    pub fn pending(&self) -> usize {
        lock(&self.backlog.0).queued
    }

    /// Whether a file written behind failed since the last snapshot: the marker stays, and the
    /// next start redoes the journal from it (the node logged why).
    pub fn failed(&self) -> bool {
        lock(&self.backlog.0).failed
    }
}

/// The write-behind queue and its thread.
pub(crate) struct Behind {
    dd: Arc<Mutex<DataDir>>,
    backlog: Arc<(Mutex<Backlog>, Condvar)>,
    /// The files thread's queue; `None` when it could not start (files are written in line).
    jobs: Option<Arc<(Mutex<Jobs>, Condvar)>>,
    snapshot_file: PathBuf,
}

/// A snapshot as kept until its files are written.
#[derive(Serialize)]
struct PendingRef<'a> {
    heads: &'a BTreeMap<String, u64>,
    default_workspace: Option<&'a str>,
    objects: Vec<&'a Object>,
}

/// A snapshot read back at startup.
#[derive(Deserialize)]
pub struct PendingSnapshot {
    /// Journal positions the snapshot reflects.
    pub heads: BTreeMap<String, u64>,
    /// The default workspace id.
    pub default_workspace: Option<String>,
    /// Every object.
    pub objects: Vec<Object>,
}

/// The snapshot file next to the marker.
pub fn snapshot_file(marker: &Path) -> PathBuf {
    marker.with_file_name("snapshot.json")
}

/// The snapshot whose files were not all written before the node stopped, if any.
pub fn read_pending(marker: &Path) -> Result<Option<PendingSnapshot>, StoreError> {
    let path = snapshot_file(marker);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|source| StoreError::PendingSnapshot { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PersistError::io(path, e).into()),
    }
}

impl Behind {
    /// Start the writer thread over a data directory. The queue's count is the node's
    /// (`progress`), kept across persisters: the one replaced was settled first.
    pub(crate) fn new(dd: DataDir, progress: &FilesProgress) -> Behind {
        let dd = Arc::new(Mutex::new(dd));
        let backlog = progress.backlog.clone();
        lock(&backlog.0).failed = false;
        let jobs: Arc<(Mutex<Jobs>, Condvar)> = Arc::default();
        let marker = progress.marker.clone();
        let snapshot_file = snapshot_file(&marker);
        let (t_jobs, t_dd, t_backlog, t_marker, t_snapshot) = (
            jobs.clone(),
            dd.clone(),
            backlog.clone(),
            marker.clone(),
            snapshot_file.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("meridian-files".into())
            .spawn(move || {
                let _ending = Ending(t_jobs.clone());
                lower_priority();
                loop {
                    match next_job(&t_jobs, &t_backlog.0) {
                        Next::Job(job) => write_job(&t_dd, &t_backlog, &t_marker, &t_snapshot, job),
                        Next::SyncDue => {
                            sync_written(&mut lock(&t_dd), &t_backlog.0, &t_marker, &t_snapshot)
                        }
                        Next::Closed => {
                            sync_written(&mut lock(&t_dd), &t_backlog.0, &t_marker, &t_snapshot);
                            return;
                        }
                    }
                }
            });
        let jobs = match spawned {
            Ok(_) => Some(jobs),
            Err(e) => {
                tracing::error!(error = %e, "no thread for writing files behind; writing them in line");
                None
            }
        };
        Behind {
            dd,
            backlog,
            jobs,
            snapshot_file,
        }
    }

    /// The data directory, for writing in line (only when nothing is queued).
    pub(crate) fn dd(&self) -> MutexGuard<'_, DataDir> {
        lock(&self.dd)
    }

    /// Whether files are queued (new batches must then queue behind them).
    pub(crate) fn busy(&self) -> bool {
        lock(&self.backlog.0).queued > 0
    }

    /// Make a snapshot durable as one file; its files are then written behind (queue them
    /// next with `snapshot` set, or write them in line and call [`Behind::snapshot_written`]).
    pub(crate) fn keep_snapshot(
        &self,
        after: &Catalog,
        heads: &BTreeMap<String, u64>,
    ) -> Result<(), PersistError> {
        let pending = PendingRef {
            heads,
            default_workspace: after.default_workspace().map(|w| w.id()),
            objects: after.objects().map(|o| &**o).collect(),
        };
        let bytes = serde_json::to_vec(&pending)
            .map_err(|e| PersistError::Other(format!("encoding the snapshot: {e}")))?;
        // Counted before the file exists, so a sync of earlier batches never removes it.
        lock(&self.backlog.0).snapshots += 1;
        let written = meridian_datadir::write_private(&self.snapshot_file, &bytes)
            .map_err(|e| PersistError::io(&self.snapshot_file, e));
        let mut g = lock(&self.backlog.0);
        match written {
            Ok(()) => {
                g.failed = false;
                Ok(())
            }
            Err(e) => {
                g.snapshots -= 1;
                Err(e)
            }
        }
    }

    /// Queue a batch's files (a kept snapshot's with `snapshot`); `false` when there is no
    /// writer thread (write them in line).
    ///
    /// A batch that moves and removes no file joins the job still waiting before it when that
    /// one is the same kind of batch: the job then holds only the later catalog state, so the
    /// versions of a busy replica's catalog are freed as soon as they are replaced (each
    /// version waiting would keep the parts of the catalog it changed), and the files thread
    /// takes the data directory once for the lot.
    pub(crate) fn queue(
        &self,
        after: &Catalog,
        effects: &[Effect],
        heads: BTreeMap<String, u64>,
        snapshot: bool,
        sync_after: usize,
    ) -> bool {
        let Some(jobs) = &self.jobs else {
            return false;
        };
        {
            let (m, cv) = &*self.backlog;
            let mut g = lock(m);
            while g.queued >= MAX_QUEUED {
                g = match cv.wait(g) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
            }
            g.queued += 1;
        }
        let mergeable = !snapshot && meridian_datadir::moves_no_file(effects);
        let (m, cv) = &**jobs;
        let mut g = lock(m);
        if g.ended {
            drop(g);
            let mut b = lock(&self.backlog.0);
            b.queued = b.queued.saturating_sub(1);
            return false;
        }
        match g.waiting.back_mut() {
            // At most `sync_after` batches a job, so the marker moves as often as before.
            Some(last) if mergeable && last.mergeable && last.batches < sync_after => {
                last.after = after.clone();
                last.effects.extend_from_slice(effects);
                last.batches += 1;
                last.heads = heads;
                last.sync_after = sync_after;
            }
            _ => g.waiting.push_back(Job {
                after: after.clone(),
                effects: effects.to_vec(),
                batches: 1,
                mergeable,
                heads,
                snapshot,
                sync_after,
            }),
        }
        cv.notify_one();
        true
    }

    /// The snapshot's files were written in line (no writer thread): its file goes.
    pub(crate) fn snapshot_written(&self) -> Result<(), PersistError> {
        {
            let mut g = lock(&self.backlog.0);
            g.snapshots = g.snapshots.saturating_sub(1);
        }
        snapshot_written(&self.snapshot_file)
    }

    /// How many batches each waiting job holds, in order (tests of merging).
    #[cfg(test)]
    fn waiting(&self) -> Vec<usize> {
        self.jobs.as_ref().map_or_else(Vec::new, |j| {
            lock(&j.0).waiting.iter().map(|job| job.batches).collect()
        })
    }

    /// Whether a file written behind failed (the marker must not move past it).
    pub(crate) fn failed(&self) -> bool {
        lock(&self.backlog.0).failed
    }

    /// Wait until every queued file is written (before the directory is read again).
    pub fn wait_idle(&self) {
        let (m, cv) = &*self.backlog;
        let mut g = lock(m);
        while g.queued > 0 {
            g = match cv.wait(g) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
    }

    /// The caller synced the data directory (locked) and wrote a marker covering everything
    /// written so far: what was written behind needs no sync of its own, and a snapshot whose
    /// files are all written loses its file.
    pub(crate) fn covered(&self) -> Result<(), PersistError> {
        let (was_unsynced, snapshots_left) = {
            let mut g = lock(&self.backlog.0);
            (g.unsynced.take().is_some(), g.snapshots)
        };
        if was_unsynced && snapshots_left == 0 {
            snapshot_written(&self.snapshot_file)?;
        }
        Ok(())
    }
}

/// The nice value of the files thread: creating files costs the kernel far more CPU than
/// applying a batch in memory, and on a node's few cores it must not delay serving.
const FILES_NICE: i32 = 10;

/// Lower the calling thread's scheduling priority (Linux keeps a nice value per thread).
fn lower_priority() {
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), FILES_NICE) {
        tracing::debug!(error = %e, "could not lower the files thread's priority");
    }
}

impl Drop for Behind {
    /// Close the queue: the files thread writes what waits, syncs and ends.
    fn drop(&mut self) {
        if let Some(jobs) = &self.jobs {
            let (m, cv) = &**jobs;
            lock(m).closed = true;
            cv.notify_one();
        }
    }
}

/// What the files thread does next.
enum Next {
    Job(Job),
    /// Files written earlier are due for a sync.
    SyncDue,
    /// The queue is closed and empty.
    Closed,
}

/// Wait for the next job, or until written files are due for a sync (only the files thread
/// leaves files unsynced, so what it reads of that before waiting stays true meanwhile).
fn next_job(jobs: &(Mutex<Jobs>, Condvar), backlog: &Mutex<Backlog>) -> Next {
    let (m, cv) = jobs;
    let mut g = lock(m);
    loop {
        if let Some(job) = g.waiting.pop_front() {
            return Next::Job(job);
        }
        if g.closed {
            return Next::Closed;
        }
        let due_in = lock(backlog)
            .unsynced
            .as_ref()
            .map(|u| SYNC_EVERY.saturating_sub(u.since.elapsed()));
        g = match due_in {
            Some(left) if left.is_zero() => return Next::SyncDue,
            Some(left) => match cv.wait_timeout(g, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            },
            None => match cv.wait(g) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            },
        };
    }
}

/// Remove the snapshot file once its files are on disk (missing is fine).
fn snapshot_written(snapshot: &Path) -> Result<(), PersistError> {
    meridian_datadir::remove_file_durable(snapshot).map_err(|e| PersistError::io(snapshot, e))
}

fn write_job(
    dd: &Mutex<DataDir>,
    backlog: &(Mutex<Backlog>, Condvar),
    marker: &Path,
    snapshot: &Path,
    job: Job,
) {
    let mut d = lock(dd);
    if let Err(e) = d.write_effects(&job.after, &job.effects) {
        tracing::error!(error = %e, "writing files behind the journal failed; the next start redoes them");
        lock(&backlog.0).failed = true;
    }
    let (m, cv) = backlog;
    let due = {
        let mut g = lock(m);
        if job.snapshot {
            g.snapshots = g.snapshots.saturating_sub(1);
        }
        let u = g.unsynced.get_or_insert_with(|| Unsynced {
            batches: 0,
            since: Instant::now(),
            heads: BTreeMap::new(),
        });
        u.batches += job.batches;
        u.heads = job.heads;
        u.batches >= job.sync_after.max(1) || u.since.elapsed() >= SYNC_EVERY
    };
    if due {
        sync_written(&mut d, m, marker, snapshot);
    }
    drop(d);
    let mut g = lock(m);
    g.queued = g.queued.saturating_sub(job.batches);
    cv.notify_all();
}

/// Sync the files written behind since the last sync, then record in the marker that the
/// journal heads of the last one are covered; remove the snapshot file once no snapshot's
/// files are queued. Called with the data directory locked, so no batch is written meanwhile.
fn sync_written(d: &mut DataDir, backlog: &Mutex<Backlog>, marker: &Path, snapshot: &Path) {
    let (unsynced, failed, snapshots_left) = {
        let mut g = lock(backlog);
        (g.unsynced.take(), g.failed, g.snapshots)
    };
    let Some(unsynced) = unsynced else { return };
    if failed {
        return;
    }
    let done = d
        .sync()
        .and_then(|_| write_marker(marker, &unsynced.heads))
        .and_then(|_| {
            if snapshots_left == 0 {
                snapshot_written(snapshot)
            } else {
                Ok(())
            }
        });
    if let Err(e) = done {
        tracing::error!(error = %e, "syncing files written behind the journal failed");
        lock(backlog).failed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_catalog::{
        Batch, CatalogService, Change, Kind, Persist, PersistError, Provenance,
    };

    type Written = Arc<Mutex<Vec<(Catalog, Vec<Effect>)>>>;

    /// Keeps each batch's catalog state and effects, to hand them to the files thread later.
    struct Recorder(Written);

    impl Persist for Recorder {
        fn persist(
            &mut self,
            _before: &Catalog,
            after: &Catalog,
            batch: &Batch<'_>,
        ) -> Result<Option<Provenance>, PersistError> {
            lock(&self.0).push((after.clone(), batch.effects.to_vec()));
            Ok(None)
        }
    }

    fn object(kind: Kind, xml: &str) -> Object {
        Object::new(kind, meridian_xml::parse(xml).unwrap())
    }

    fn workspace(i: usize, name: &str) -> Object {
        object(
            Kind::Workspace,
            &format!("<workspace><id>ws-{i}</id><name>{name}</name></workspace>"),
        )
    }

    fn namespace(i: usize, prefix: &str) -> Object {
        object(
            Kind::Namespace,
            &format!("<namespace><id>ns-{i}</id><prefix>{prefix}</prefix><uri>http://t/{i}</uri></namespace>"),
        )
    }

    fn add_pair(i: usize) -> Vec<Change> {
        vec![
            Change::Add {
                object: workspace(i, &format!("w{i}")),
            },
            Change::Add {
                object: namespace(i, &format!("w{i}")),
            },
        ]
    }

    /// (kind, id, name) of every workspace and namespace, sorted.
    fn names(cat: &Catalog) -> Vec<(Kind, String, String)> {
        let mut v: Vec<_> = cat
            .objects()
            .filter(|o| matches!(o.kind, Kind::Workspace | Kind::Namespace))
            .map(|o| (o.kind, o.id().to_string(), o.name().to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn batches_waiting_for_their_files_share_a_job_unless_one_moves_or_removes_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        meridian_datadir::init_if_empty(&root).unwrap();
        let loaded = meridian_datadir::load(&root).unwrap();
        let written: Written = Arc::default();
        let service = CatalogService::new(loaded.catalog, Box::new(Recorder(written.clone())));
        for i in 0..5 {
            service.apply(add_pair(i)).unwrap();
        }
        // An edit in place (a new namespace URI), then a rename: its files move.
        let mut ns2 = namespace(2, "w2");
        ns2.set_child_text("uri", "http://t/edited");
        service.apply(vec![Change::Modify { object: ns2 }]).unwrap();
        service
            .apply(vec![Change::Modify {
                object: workspace(3, "renamed"),
            }])
            .unwrap();
        for i in 5..9 {
            service.apply(add_pair(i)).unwrap();
        }
        service
            .apply(vec![
                Change::Remove {
                    kind: Kind::Namespace,
                    id: "ns-1".into(),
                },
                Change::Remove {
                    kind: Kind::Workspace,
                    id: "ws-1".into(),
                },
            ])
            .unwrap();
        // The name freed by the removal is taken again by another workspace.
        service
            .apply(vec![
                Change::Add {
                    object: workspace(9, "w1"),
                },
                Change::Add {
                    object: namespace(9, "w1"),
                },
            ])
            .unwrap();
        let batches = std::mem::take(&mut *lock(&written));
        assert_eq!(batches.len(), 13);

        let progress = FilesProgress::new(root.join("cluster/applied.json"));
        let behind = Behind::new(DataDir::new(root.clone(), loaded.locations), &progress);
        // The files thread waits for the data directory meanwhile: at most the first job is
        // taken, and the rest wait, merged where they can be.
        let held = behind.dd();
        for (seq, (after, effects)) in batches.iter().enumerate() {
            let heads = BTreeMap::from([("peer".to_string(), seq as u64 + 1)]);
            assert!(behind.queue(after, effects, heads, false, 1000));
        }
        let waiting = behind.waiting();
        // The six first batches (adds and the edit) are one job, or were taken as one; then
        // the rename alone, the four adds after it, the removal alone, the add after it.
        assert!(
            waiting == [6, 1, 4, 1, 1] || waiting.ends_with(&[1, 4, 1, 1]) && waiting.len() <= 5,
            "{waiting:?}"
        );
        assert_eq!(progress.pending(), 13);
        drop(held);
        behind.wait_idle();
        assert!(!behind.failed());

        let reloaded = meridian_datadir::load(&root).unwrap();
        assert!(reloaded.problems.is_empty(), "{:?}", reloaded.problems);
        assert_eq!(names(&reloaded.catalog), names(&service.snapshot()));
        let ns2 = reloaded.catalog.get("ns-2").unwrap();
        assert_eq!(ns2.xml().child_text("uri"), Some("http://t/edited"));
        assert!(!root.join("workspaces/w3").exists());
        drop(behind);
    }
}
