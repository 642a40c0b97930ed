//! Writing data-directory files behind the journal. A snapshot replaces the whole catalog:
//! its files (one or two per object) would hold the node back for as long as the filesystem
//! takes to create them, while the catalog itself is applied in a second. So a snapshot is
//! made durable as one file, applied, and its files are written here, on a thread, followed in
//! order by the files of every batch applied meanwhile. Replicated batches are written here
//! too: a replica serves a change once it is journaled, and its files follow. A second after
//! the first batch written since the last sync (sooner after `sync_after` batches, and when
//! the node settles), the files are synced and the applied marker moves; the snapshot file
//! goes once no snapshot's files are still queued. A crash before that is repaired at the next
//! start: the snapshot file is applied again, then the journal redone. Syncing on a timer
//! rather than whenever the queue runs empty keeps a filesystem-wide sync per replicated
//! write off a lightly loaded node (and off the other nodes sharing its disk).

use crate::persist::write_marker;
use meridian_catalog::{Catalog, Effect, Object};
use meridian_datadir::DataDir;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// At most this many batches wait for their files; applying more waits (each queued batch
/// holds its version of the catalog).
const MAX_QUEUED: usize = 10_000;

/// Files written behind are synced, and the marker moved, at most this long after the first
/// batch written since the last sync.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Files of one applied batch (or snapshot), to write in order.
struct Job {
    after: Catalog,
    effects: Vec<Effect>,
    /// Journal heads once this batch was journaled: what the marker may say once its files
    /// are on disk.
    heads: BTreeMap<String, u64>,
    /// The files of a snapshot (counted in [`Backlog::snapshots`] until written).
    snapshot: bool,
    /// Sync and move the marker once this many batches were written since the last sync
    /// (the journal must not drop records the marker does not cover).
    sync_after: usize,
}

#[derive(Default)]
pub(crate) struct Backlog {
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
    tx: Option<mpsc::Sender<Job>>,
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
pub fn read_pending(marker: &Path) -> Result<Option<PendingSnapshot>, String> {
    let path = snapshot_file(marker);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Behind {
    /// Start the writer thread over a data directory. The queue's count is the node's
    /// (`progress`), kept across persisters: the one replaced was settled first.
    pub(crate) fn new(dd: DataDir, progress: &FilesProgress) -> Behind {
        let dd = Arc::new(Mutex::new(dd));
        let backlog = progress.backlog.clone();
        lock(&backlog.0).failed = false;
        let (tx, rx) = mpsc::channel::<Job>();
        let marker = progress.marker.clone();
        let snapshot_file = snapshot_file(&marker);
        let (t_dd, t_backlog, t_marker, t_snapshot) = (
            dd.clone(),
            backlog.clone(),
            marker.clone(),
            snapshot_file.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("meridian-files".into())
            .spawn(move || {
                lower_priority();
                loop {
                    // Wait for the next batch, or until written files are due for a sync.
                    let due_in = lock(&t_backlog.0)
                        .unsynced
                        .as_ref()
                        .map(|u| SYNC_EVERY.saturating_sub(u.since.elapsed()));
                    let next = match due_in {
                        None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                        Some(left) => rx.recv_timeout(left),
                    };
                    match next {
                        Ok(job) => write_job(&t_dd, &t_backlog, &t_marker, &t_snapshot, job),
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            sync_written(&mut lock(&t_dd), &t_backlog.0, &t_marker, &t_snapshot)
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            sync_written(&mut lock(&t_dd), &t_backlog.0, &t_marker, &t_snapshot);
                            return;
                        }
                    }
                }
            });
        let tx = match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::error!(error = %e, "no thread for writing files behind; writing them in line");
                None
            }
        };
        Behind {
            dd,
            backlog,
            tx,
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
    ) -> Result<(), String> {
        let pending = PendingRef {
            heads,
            default_workspace: after.default_workspace().map(|w| w.id()),
            objects: after.objects().map(|o| &**o).collect(),
        };
        let bytes = serde_json::to_vec(&pending).map_err(|e| e.to_string())?;
        // Counted before the file exists, so a sync of earlier batches never removes it.
        lock(&self.backlog.0).snapshots += 1;
        let written = meridian_datadir::write_atomic(&self.snapshot_file, &bytes)
            .map_err(|e| format!("{}: {e}", self.snapshot_file.display()));
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
    pub(crate) fn queue(
        &self,
        after: &Catalog,
        effects: &[Effect],
        heads: BTreeMap<String, u64>,
        snapshot: bool,
        sync_after: usize,
    ) -> bool {
        let Some(tx) = &self.tx else { return false };
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
        let job = Job {
            after: after.clone(),
            effects: effects.to_vec(),
            heads,
            snapshot,
            sync_after,
        };
        if tx.send(job).is_err() {
            lock(&self.backlog.0).queued -= 1;
            return false;
        }
        true
    }

    /// The snapshot's files were written in line (no writer thread): its file goes.
    pub(crate) fn snapshot_written(&self) -> Result<(), String> {
        {
            let mut g = lock(&self.backlog.0);
            g.snapshots = g.snapshots.saturating_sub(1);
        }
        snapshot_written(&self.snapshot_file)
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
    pub(crate) fn covered(&self) -> Result<(), String> {
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

/// Remove the snapshot file once its files are on disk (missing is fine).
fn snapshot_written(snapshot: &Path) -> Result<(), String> {
    meridian_datadir::remove_file_durable(snapshot)
        .map_err(|e| format!("{}: {e}", snapshot.display()))
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
        u.batches += 1;
        u.heads = job.heads;
        u.batches >= job.sync_after.max(1) || u.since.elapsed() >= SYNC_EVERY
    };
    if due {
        sync_written(&mut d, m, marker, snapshot);
    }
    drop(d);
    let mut g = lock(m);
    g.queued = g.queued.saturating_sub(1);
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
        .map_err(|e| e.to_string())
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
