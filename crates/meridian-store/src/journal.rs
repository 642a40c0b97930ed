//! The durable journal: every batch this node applied, local or replicated, numbered per origin.
//! One JSON line per record, fsynced before the batch's files are written; a torn last line is
//! dropped when the journal is opened. The file is grown ahead of the appends with zeros (see
//! [`PREALLOCATE`]); reading stops at the first zero byte that starts a line.

use meridian_catalog::{Change, PersistError, Provenance};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much the journal file grows at a time, written as zeros ahead of the appends.
const PREALLOCATE: u64 = 1 << 20;

/// Seals the connection secrets of records before they are journaled (so that the journal
/// file and the records served to peers carry none in clear), and opens them again before
/// they are applied. The clustering crate implements it with the cluster's keys.
pub trait RecordSealer: Send + Sync {
    /// The record with its secrets sealed (the same record when it holds none).
    fn seal(&self, r: Record) -> Record;
    /// Open the sealed secrets of `changes` in place.
    fn open(&self, changes: &mut [Change]) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// One journaled batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Origin, sequence and clock.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// The changes, as applied.
    pub changes: Vec<Change>,
}

/// A record as written (provenance flattened), read without buffering it first as serde does
/// for a flattened struct.
#[derive(Deserialize)]
struct RecordWire {
    origin: String,
    seq: u64,
    hlc: u64,
    changes: Vec<Change>,
}

impl Record {
    /// A record from the fields it is written with (the wire forms read them flat).
    pub fn from_fields(origin: String, seq: u64, hlc: u64, changes: Vec<Change>) -> Record {
        Record {
            provenance: Provenance { origin, seq, hlc },
            changes,
        }
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = RecordWire::deserialize(d)?;
        Ok(Record::from_fields(w.origin, w.seq, w.hlc, w.changes))
    }
}

/// A line of the journal file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Line {
    /// A batch.
    Batch(Record),
    /// Positions taken over from a snapshot: records up to these are not held here.
    Base { heads: BTreeMap<String, u64> },
}

/// Read a journal line: a batch straight into its fields (without the buffering serde does
/// for an internally tagged enum), anything else through [`Line`].
fn read_line(line: &str) -> Result<Line, serde_json::Error> {
    if let Ok(r) = serde_json::from_str::<BatchLineWire>(line) {
        return Ok(Line::Batch(Record::from_fields(
            r.origin, r.seq, r.hlc, r.changes,
        )));
    }
    serde_json::from_str::<Line>(line)
}

/// A batch line serialized from a borrowed record, for compaction when it cannot copy a line
/// kept: the same fields, in the same order, as [`Line::Batch`].
#[derive(Serialize)]
struct BatchLineRef<'a> {
    t: &'static str,
    origin: &'a str,
    seq: u64,
    hlc: u64,
    changes: &'a [Change],
}

impl<'a> BatchLineRef<'a> {
    fn of(r: &'a Record) -> Self {
        BatchLineRef {
            t: "batch",
            origin: &r.provenance.origin,
            seq: r.provenance.seq,
            hlc: r.provenance.hlc,
            changes: &r.changes,
        }
    }
}

#[derive(Deserialize)]
struct BatchLineWire {
    #[serde(rename = "t")]
    _t: BatchTag,
    origin: String,
    seq: u64,
    hlc: u64,
    changes: Vec<Change>,
}

#[derive(Deserialize)]
enum BatchTag {
    #[serde(rename = "batch")]
    Batch,
}

/// Journal errors.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read, written, grown or synced.
    #[error("journal {}: {source}", path.display())]
    Io {
        /// The journal file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A record could not be encoded.
    #[error("journal {}: {source}", path.display())]
    Encode {
        /// The journal file.
        path: PathBuf,
        /// The encoding error.
        source: serde_json::Error,
    },
    /// A record out of sequence was offered.
    #[error("journal {}: record {origin}#{seq} does not follow head {head}", path.display())]
    OutOfSequence {
        /// The journal file.
        path: PathBuf,
        /// The record's origin.
        origin: String,
        /// The record's sequence.
        seq: u64,
        /// The origin's head in the journal.
        head: u64,
    },
}

impl From<JournalError> for PersistError {
    fn from(e: JournalError) -> Self {
        match e {
            JournalError::Io { path, source } => PersistError::Io { path, source },
            other => PersistError::Other(other.to_string()),
        }
    }
}

/// A record held in memory, and where its line is in the file: compaction copies the lines
/// it keeps instead of serializing their records again.
struct Entry {
    record: Arc<Record>,
    at: u64,
    len: u64,
}

/// The journal of one node.
pub struct Journal {
    path: PathBuf,
    file: File,
    records: BTreeMap<String, Vec<Entry>>,
    base: BTreeMap<String, u64>,
    /// A base line was written (a snapshot was taken), even one with no positions.
    based: bool,
    /// While set, appends are not fdatasynced one by one (see [`Journal::defer_sync`]).
    deferred: bool,
    /// Lines written since the last fdatasync.
    unsynced: bool,
    /// The first record appended by [`Journal::append_staged`] and not synced yet: it and
    /// the origin's later records are not served to peers until they are durable.
    staged_from: Option<(String, u64)>,
    len: u64,
    /// Bytes of the file already written (zeros past `len`): appends inside them change no
    /// file metadata, so their fdatasync needs no filesystem-journal commit.
    allocated: u64,
    retention: usize,
    /// Seals the connection secrets of appended records.
    sealer: Option<Arc<dyn RecordSealer>>,
}

impl Journal {
    /// Open (or create) the journal at `path`, dropping a torn last line. Records are kept
    /// as they are given (tests); a node opens its journal with [`Journal::open_sealed`].
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        Journal::open_with(path, None)
    }

    /// Open (or create) the journal at `path`; every record appended from now on has its
    /// connection secrets sealed, in memory as in the file, so that the lines written and the
    /// records served to peers carry none in clear. Whoever applies a record opens it
    /// ([`RecordSealer::open`]).
    pub fn open_sealed(path: &Path, sealer: Arc<dyn RecordSealer>) -> Result<Self, JournalError> {
        Journal::open_with(path, Some(sealer))
    }

    fn open_with(path: &Path, sealer: Option<Arc<dyn RecordSealer>>) -> Result<Self, JournalError> {
        let err = |source: std::io::Error| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(err)?;
        }
        let mut records: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        let mut base = BTreeMap::new();
        let mut based = false;
        let mut good_len = 0u64;
        if path.exists() {
            let f = File::open(path).map_err(err)?;
            let mut reader = BufReader::new(f);
            let mut line = String::new();
            loop {
                line.clear();
                // The zeros written ahead of the appends: the end of what was written.
                if reader.fill_buf().map_err(err)?.first() == Some(&0) {
                    break;
                }
                let n = reader.read_line(&mut line).map_err(err)?;
                if n == 0 || !line.ends_with('\n') {
                    break;
                }
                match read_line(&line) {
                    Ok(Line::Batch(r)) => {
                        records
                            .entry(r.provenance.origin.clone())
                            .or_default()
                            .push(Entry {
                                record: Arc::new(r),
                                at: good_len,
                                len: n as u64,
                            });
                    }
                    Ok(Line::Base { heads }) => {
                        based = true;
                        for (o, s) in heads {
                            base.insert(o.clone(), s);
                            records
                                .entry(o)
                                .or_default()
                                .retain(|e| e.record.provenance.seq > s);
                        }
                    }
                    Err(_) => break,
                }
                good_len += n as u64;
            }
        }
        // The journal holds every change, store connection settings included: the node's
        // user only (a journal of an earlier version is narrowed too).
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
        file.set_len(good_len).map_err(err)?;
        Ok(Journal {
            allocated: good_len,
            path: path.to_path_buf(),
            file,
            records,
            base,
            based,
            deferred: false,
            unsynced: false,
            staged_from: None,
            len: good_len,
            retention: usize::MAX,
            sealer,
        })
    }

    fn write_line(&mut self, line: &Line) -> Result<(), JournalError> {
        self.write_line_syncing(line, !self.deferred)
    }

    fn write_line_syncing(&mut self, line: &Line, sync: bool) -> Result<(), JournalError> {
        let mut text = serde_json::to_string(line).map_err(|source| JournalError::Encode {
            path: self.path.clone(),
            source,
        })?;
        text.push('\n');
        self.write_text(&text, sync)
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })
    }

    fn write_text(&mut self, text: &str, sync: bool) -> std::io::Result<()> {
        let end = self.len + text.len() as u64;
        if end > self.allocated {
            self.preallocate(end)?;
        }
        self.file.write_all_at(text.as_bytes(), self.len)?;
        if sync {
            self.file.sync_data()?;
        } else {
            self.unsynced = true;
        }
        self.len = end;
        Ok(())
    }

    /// Write zeros from the allocated end to at least `end` (a [`PREALLOCATE`] at a time) and
    /// make them durable with the file's new size, so that the appends which then overwrite
    /// them change no metadata and their fdatasync needs no commit of the filesystem's own
    /// journal (which would carry every other file changed since the last one with it).
    fn preallocate(&mut self, end: u64) -> std::io::Result<()> {
        let grow = (end - self.allocated).max(PREALLOCATE);
        let zeros = vec![0u8; usize::try_from(grow).map_err(std::io::Error::other)?];
        self.file.write_all_at(&zeros, self.allocated)?;
        self.file.sync_all()?;
        self.allocated += grow;
        Ok(())
    }

    /// Batch many appends under one fdatasync: while deferred, appends are written but not
    /// synced; [`Journal::end_deferred`] syncs them all. For replaying records fetched from a
    /// peer, which a crash in between only makes the node fetch again.
    pub fn defer_sync(&mut self) {
        self.deferred = true;
    }

    /// Whether appends are currently deferred.
    pub fn is_deferred(&self) -> bool {
        self.deferred
    }

    /// fdatasync now (a local write during a deferred catch-up page must be durable before
    /// its 2xx).
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.file.sync_data().map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.unsynced = false;
        self.staged_from = None;
        Ok(())
    }

    /// Sync what was appended while deferred and go back to one fdatasync per append.
    pub fn end_deferred(&mut self) -> Result<(), JournalError> {
        self.deferred = false;
        if self.unsynced {
            self.sync()?;
        }
        Ok(())
    }

    /// Append a record durably. Its sequence must follow the origin's head.
    pub fn append(&mut self, r: Record) -> Result<(), JournalError> {
        self.append_line(r, !self.deferred)?;
        self.compact_if_due()
    }

    /// Append a record of a group of local batches without syncing (nor compacting): the
    /// group's [`Journal::sync`] makes them all durable at once, and until then peers are not
    /// served them. [`Journal::undo_last`] takes them back, last first, if the group fails.
    pub fn append_staged(&mut self, r: Record) -> Result<(), JournalError> {
        let at = (r.provenance.origin.clone(), r.provenance.seq);
        self.append_line(r, false)?;
        self.staged_from.get_or_insert(at);
        Ok(())
    }

    /// Drop records beyond twice the retention, when there are (after a group's records are
    /// synced or taken back, as compaction rewrites the file).
    pub fn compact_if_due(&mut self) -> Result<(), JournalError> {
        let limit = self.retention.saturating_mul(2);
        if self.records.values().any(|v| v.len() > limit) {
            self.compact()?;
        }
        Ok(())
    }

    fn append_line(&mut self, r: Record, sync: bool) -> Result<(), JournalError> {
        let head = self.head(&r.provenance.origin);
        if r.provenance.seq != head + 1 {
            return Err(JournalError::OutOfSequence {
                path: self.path.clone(),
                origin: r.provenance.origin.clone(),
                seq: r.provenance.seq,
                head,
            });
        }
        let r = match &self.sealer {
            Some(s) => s.seal(r),
            None => r,
        };
        let before = self.len;
        let line = Line::Batch(r);
        if let Err(e) = self.write_line_syncing(&line, sync) {
            let _ = self.file.set_len(before);
            self.len = before;
            self.allocated = before;
            return Err(e);
        }
        if let Line::Batch(r) = line {
            let v = self.records.entry(r.provenance.origin.clone()).or_default();
            v.push(Entry {
                record: Arc::new(r),
                at: before,
                len: self.len - before,
            });
        }
        Ok(())
    }

    /// Keep at least `n` records per origin; older ones are dropped when twice as many have
    /// piled up. Peers further behind then take a snapshot.
    pub fn set_retention(&mut self, n: usize) {
        self.retention = n.max(1);
    }

    /// Records kept per origin (see [`Journal::set_retention`]).
    pub fn retention(&self) -> usize {
        self.retention
    }

    /// Drop records beyond the retention: rewrite the file with a base line and what is kept.
    /// Returns how many lines kept had to be serialized again (not copied).
    fn compact(&mut self) -> Result<usize, JournalError> {
        let started = std::time::Instant::now();
        let err = |source: std::io::Error| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        for (origin, v) in self.records.iter_mut() {
            if v.len() > self.retention {
                let cut = v.len() - self.retention;
                let last_dropped = v[cut - 1].record.provenance.seq;
                v.drain(..cut);
                self.base.insert(origin.clone(), last_dropped);
            }
        }
        let mut base = serde_json::to_vec(&Line::Base {
            heads: self.base.clone(),
        })
        .map_err(|e| err(std::io::Error::other(e)))?;
        base.push(b'\n');
        // The lines kept are copied from the file in the order they were written (each
        // origin's in sequence order), run by run of adjacent lines, by the kernel
        // (copy_file_range): nothing is serialized again. A run whose ends do not read back
        // as lines is written anew from its records. Their places in the new file are noted
        // once it replaced the old one.
        let mut all: Vec<&mut Entry> = self.records.values_mut().flatten().collect();
        all.sort_by_key(|e| e.at);
        let mut runs: Vec<&[&mut Entry]> = Vec::new();
        let mut rest = &all[..];
        while !rest.is_empty() {
            let n = 1 + rest
                .windows(2)
                .take_while(|w| w[0].at + w[0].len == w[1].at)
                .count();
            runs.push(&rest[..n]);
            rest = &rest[n..];
        }
        let old = File::open(&self.path).map_err(err)?;
        let tmp = self.path.with_extension("log.compact");
        let mut spans = Vec::with_capacity(all.len());
        let mut rewritten = 0;
        let mut len = base.len() as u64;
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(err)?;
            f.write_all(&base).map_err(err)?;
            for run in runs {
                let (first, last) = (&*run[0], &*run[run.len() - 1]);
                let end = last.at + last.len;
                let mut head = [0u8; 12];
                let mut tail = [0u8; 1];
                let lines = old.read_exact_at(&mut head, first.at).is_ok()
                    && &head == br#"{"t":"batch""#
                    && old.read_exact_at(&mut tail, end - 1).is_ok()
                    && tail == [b'\n'];
                let copied = lines && {
                    let mut from = &old;
                    std::io::Seek::seek(&mut from, std::io::SeekFrom::Start(first.at))
                        .and_then(|_| std::io::copy(&mut from.take(end - first.at), &mut f))
                        .map_err(err)?
                        == end - first.at
                };
                if copied {
                    for e in run {
                        spans.push((len + e.at - first.at, e.len));
                    }
                    len += end - first.at;
                } else {
                    // Nothing of a short copy stays: the run is written again from its start.
                    f.set_len(len).map_err(err)?;
                    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(len)).map_err(err)?;
                    for e in run {
                        rewritten += 1;
                        let mut line = serde_json::to_vec(&BatchLineRef::of(&e.record))
                            .map_err(|e| err(std::io::Error::other(e)))?;
                        line.push(b'\n');
                        f.write_all(&line).map_err(err)?;
                        spans.push((len, line.len() as u64));
                        len += line.len() as u64;
                    }
                }
            }
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        if let Some(d) = self.path.parent() {
            File::open(d).and_then(|d| d.sync_all()).map_err(err)?;
        }
        self.file = OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(err)?;
        self.len = len;
        self.allocated = len;
        for (e, (at, len)) in all.into_iter().zip(spans) {
            e.at = at;
            e.len = len;
        }
        tracing::debug!(
            kept = self.records.values().map(Vec::len).sum::<usize>(),
            bytes = self.len,
            rewritten,
            ms = started.elapsed().as_millis(),
            "journal compacted"
        );
        Ok(rewritten)
    }

    /// Take the last record back (its files could not be written).
    pub fn undo_last(&mut self, origin: &str, seq: u64, len_before: u64) {
        if let Some(v) = self.records.get_mut(origin) {
            if v.last().is_some_and(|e| e.record.provenance.seq == seq) {
                v.pop();
            }
        }
        if self.file.set_len(len_before).is_ok() {
            self.len = len_before;
            self.allocated = len_before;
        }
        if self
            .staged_from
            .as_ref()
            .is_some_and(|(o, s)| o == origin && *s >= seq)
        {
            self.staged_from = None;
        }
    }

    /// Current byte length (for [`Journal::undo_last`]).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was ever journaled or based (a node that took a snapshot, even of a
    /// catalog nobody had changed yet, is not new any more).
    pub fn is_empty(&self) -> bool {
        self.records.values().all(Vec::is_empty) && self.base.is_empty() && !self.based
    }

    /// Adopt positions from a snapshot.
    pub fn set_base(&mut self, heads: BTreeMap<String, u64>) -> Result<(), JournalError> {
        self.write_line(&Line::Base {
            heads: heads.clone(),
        })?;
        self.based = true;
        for (o, s) in heads {
            self.records
                .entry(o.clone())
                .or_default()
                .retain(|e| e.record.provenance.seq > s);
            self.base.insert(o, s);
        }
        Ok(())
    }

    /// The last sequence applied from `origin` (0 when none).
    pub fn head(&self, origin: &str) -> u64 {
        let rec = self
            .records
            .get(origin)
            .and_then(|v| v.last())
            .map(|e| e.record.provenance.seq);
        rec.or_else(|| self.base.get(origin).copied()).unwrap_or(0)
    }

    /// Heads of every origin known.
    pub fn heads(&self) -> BTreeMap<String, u64> {
        let mut m: BTreeMap<String, u64> = self.base.clone();
        for (o, v) in &self.records {
            if let Some(e) = v.last() {
                m.insert(o.clone(), e.record.provenance.seq);
            }
        }
        m
    }

    /// Records of `origin` after `after`, at most `limit`; `None` when this journal no longer
    /// holds the record right after `after` (a snapshot is needed).
    pub fn since(&self, origin: &str, after: u64, limit: usize) -> Option<Vec<Arc<Record>>> {
        let base = self.base.get(origin).copied().unwrap_or(0);
        if after < base {
            return None;
        }
        let v = self.records.get(origin).map(Vec::as_slice).unwrap_or(&[]);
        let durable_until = match &self.staged_from {
            Some((o, s)) if o == origin => *s,
            _ => u64::MAX,
        };
        Some(
            v.iter()
                .map(|e| &e.record)
                .filter(|r| r.provenance.seq > after && r.provenance.seq < durable_until)
                .take(limit)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(origin: &str, seq: u64) -> Record {
        Record {
            provenance: Provenance {
                origin: origin.into(),
                seq,
                hlc: seq,
            },
            changes: vec![],
        }
    }

    fn workspace(origin: &str, seq: u64, name: &str) -> Record {
        let xml =
            format!("<workspace><id>WorkspaceInfoImpl-{name}</id><name>{name}</name></workspace>");
        let object = meridian_catalog::Object::new(
            meridian_catalog::Kind::Workspace,
            meridian_xml::parse(&xml).unwrap(),
        );
        Record {
            changes: vec![Change::Add { object }],
            ..rec(origin, seq)
        }
    }

    #[test]
    fn compaction_writes_each_record_kept_as_it_was_appended() {
        // Quotes and escaped markup in the XML are escaped again in the JSON line.
        let r = workspace("p", 7, "a\"b&lt;c&gt;");
        assert_eq!(
            serde_json::to_string(&BatchLineRef::of(&r)).unwrap(),
            serde_json::to_string(&Line::Batch(r.clone())).unwrap()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let mut j = Journal::open(&path).unwrap();
        j.set_retention(2);
        let all: Vec<Record> = (1..=5)
            .map(|s| workspace("p", s, &format!("ws{s}")))
            .collect();
        for r in &all {
            j.append(r.clone()).unwrap();
        }
        drop(j);
        let j = Journal::open(&path).unwrap();
        let kept: Vec<Record> = j
            .since("p", 3, 10)
            .unwrap()
            .iter()
            .map(|r| (**r).clone())
            .collect();
        assert_eq!(
            kept,
            all[3..].to_vec(),
            "compacted at the 5th: the last 2 kept"
        );
        assert!(j.since("p", 2, 10).is_none());
    }

    #[test]
    fn compaction_copies_the_lines_kept_of_every_origin_again_and_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let mut j = Journal::open(&path).unwrap();
        j.set_retention(3);
        let mut written: BTreeMap<&str, Vec<Record>> = BTreeMap::new();
        for s in 1..=20u64 {
            for origin in ["p", "q"] {
                // Origins interleave, and q writes half as often.
                if origin == "q" && s % 2 == 0 {
                    continue;
                }
                let seq = j.head(origin) + 1;
                let r = workspace(origin, seq, &format!("{origin}{seq}"));
                j.append(r.clone()).unwrap();
                written.entry(origin).or_default().push(r);
            }
            if s == 9 {
                // A staged record taken back leaves nothing for compaction to copy.
                let len = j.len();
                j.append_staged(workspace("p", j.head("p") + 1, "gone"))
                    .unwrap();
                j.undo_last("p", j.head("p"), len);
            }
        }
        let kept = |j: &Journal, origin: &str| -> Vec<Record> {
            let after = j.head(origin) - j.records[origin].len() as u64;
            let v = j.since(origin, after, 100).unwrap();
            v.iter().map(|r| (**r).clone()).collect()
        };
        for origin in ["p", "q"] {
            let n = kept(&j, origin).len();
            assert!((3..=6).contains(&n), "{origin}: {n} kept");
            assert_eq!(
                kept(&j, origin)[..],
                written[origin][written[origin].len() - n..]
            );
        }
        // Every line kept was copied; one that no longer reads back where it was noted is
        // written from its record.
        assert_eq!(j.compact().unwrap(), 0);
        j.records.get_mut("q").unwrap()[0].at = 0;
        assert_eq!(j.compact().unwrap(), 1);
        drop(j);
        let j = Journal::open(&path).unwrap();
        for origin in ["p", "q"] {
            let got = kept(&j, origin);
            assert_eq!(got.len(), 3);
            assert_eq!(got[..], written[origin][written[origin].len() - 3..]);
            assert!(j.since(origin, j.head(origin) - 4, 10).is_none());
        }
    }

    #[test]
    fn a_deferred_page_of_appends_is_kept_like_single_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let mut j = Journal::open(&path).unwrap();
        j.defer_sync();
        assert!(j.is_deferred());
        for seq in 1..=50 {
            j.append(rec("p", seq)).unwrap();
        }
        j.end_deferred().unwrap();
        assert!(!j.is_deferred());
        j.append(rec("p", 51)).unwrap();
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.head("p"), 51);
        assert_eq!(j.since("p", 0, 100).unwrap().len(), 51);
    }

    #[test]
    fn staged_records_are_served_to_peers_only_once_synced_and_can_be_taken_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let mut j = Journal::open(&path).unwrap();
        j.append(rec("me", 1)).unwrap();
        let len = j.len();
        j.append_staged(rec("me", 2)).unwrap();
        j.append_staged(rec("me", 3)).unwrap();
        // Numbered (the next batch follows them), not served before they are durable.
        assert_eq!(j.head("me"), 3);
        assert_eq!(j.since("me", 0, 10).unwrap().len(), 1);
        j.sync().unwrap();
        assert_eq!(j.since("me", 0, 10).unwrap().len(), 3);
        // A failed group takes its records back, last first.
        let len3 = j.len();
        j.append_staged(rec("me", 4)).unwrap();
        let len4 = j.len();
        j.append_staged(rec("me", 5)).unwrap();
        j.undo_last("me", 5, len4);
        j.undo_last("me", 4, len3);
        assert_eq!(j.head("me"), 3);
        j.append(rec("me", 4)).unwrap();
        assert_eq!(j.since("me", 0, 10).unwrap().len(), 4);
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.head("me"), 4);
        assert!(len < len3);
    }

    #[test]
    fn a_snapshot_of_an_unchanged_catalog_still_makes_the_node_not_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let mut j = Journal::open(&path).unwrap();
        assert!(j.is_empty());
        j.set_base(BTreeMap::new()).unwrap();
        assert!(!j.is_empty());
        drop(j);
        assert!(!Journal::open(&path).unwrap().is_empty());
    }

    #[test]
    fn the_zeros_written_ahead_change_no_record_and_are_grown_again_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.log");
        let mut j = Journal::open(&p).unwrap();
        j.append(rec("a", 1)).unwrap();
        let end = j.len();
        let on_disk = std::fs::metadata(&p).unwrap().len();
        assert_eq!(
            on_disk, PREALLOCATE,
            "the file is grown ahead of the appends"
        );
        let bytes = std::fs::read(&p).unwrap();
        assert!(bytes[end as usize..].iter().all(|b| *b == 0));
        // A whole line appended after the zeros (never by the journal) is not read as a record:
        // reading stops where the journal stopped writing.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"t\":\"base\",\"heads\":{\"a\":9}}\n")
            .unwrap();
        drop(j);
        let mut j = Journal::open(&p).unwrap();
        assert_eq!(j.head("a"), 1);
        assert_eq!(j.len(), end);
        // Appends bigger than the zeros ahead grow the file by as much as they need.
        let big = workspace("a", 2, &"w".repeat(PREALLOCATE as usize + 10));
        j.append(big).unwrap();
        j.append(rec("a", 3)).unwrap();
        assert!(std::fs::metadata(&p).unwrap().len() >= j.len());
        let len = j.len();
        drop(j);
        let j = Journal::open(&p).unwrap();
        assert_eq!(j.head("a"), 3);
        assert_eq!(j.len(), len);
        assert_eq!(j.since("a", 1, 10).unwrap().len(), 2);
    }

    #[test]
    fn appends_survive_reopen_and_a_torn_tail_is_dropped() {
        let d = std::env::temp_dir().join(format!("meridian-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let p = d.join("journal.log");
        let mut j = Journal::open(&p).unwrap();
        j.append(rec("a", 1)).unwrap();
        j.append(rec("a", 2)).unwrap();
        j.append(rec("b", 1)).unwrap();
        assert!(j.append(rec("a", 4)).is_err(), "gaps are refused");
        let end = j.len();
        drop(j);
        // A crash in the middle of an append: part of a line over the zeros written ahead.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .write_all_at(b"{\"t\":\"batch\",\"ori", end)
            .unwrap();
        let mut j = Journal::open(&p).unwrap();
        assert_eq!(j.head("a"), 2);
        assert_eq!(j.head("b"), 1);
        assert_eq!(j.since("a", 0, 10).unwrap().len(), 2);
        j.append(rec("a", 3)).unwrap();
        j.set_base([("c".to_string(), 10)].into()).unwrap();
        drop(j);
        let mut j = Journal::open(&p).unwrap();
        assert_eq!(j.head("a"), 3);
        assert_eq!(j.head("c"), 10);
        assert!(j.since("c", 5, 10).is_none());
        assert_eq!(j.since("c", 10, 10).unwrap().len(), 0);
        // Retention: beyond twice the limit, old records go and a base takes their place.
        j.set_retention(2);
        for s in 4..=8 {
            j.append(rec("a", s)).unwrap();
        }
        assert_eq!(j.head("a"), 8);
        assert!(j.since("a", 0, 100).is_none(), "compacted away");
        assert!(j.since("a", 6, 100).is_some());
        drop(j);
        let j = Journal::open(&p).unwrap();
        assert_eq!(j.head("a"), 8);
        assert_eq!(j.head("b"), 1);
        assert_eq!(j.head("c"), 10);
        let _ = std::fs::remove_dir_all(&d);
    }
}
