//! Group commit of concurrent local batches (see [`CatalogService::apply`]): batches wait in
//! a queue; one of their threads at a time leads, takes every queued batch and commits them as
//! a group under the writer, each validated on the state the previous ones left and answered
//! on its own, made durable with one commit of the persister, then made visible and announced
//! in order. The others sleep until a group is done: those answered return together, and one
//! of the rest leads the next group (no convoy through the writer lock).

use crate::apply::{apply_changes, Batch, Effect, Persist, PersistError, Source};
use crate::catalog::Catalog;
use crate::sync::lock;
use crate::{Applied, ApplyError, CatalogService, Change};
use std::sync::{Arc, Mutex};

/// Where a waiting local batch's result is left for it.
type Answer = Arc<Mutex<Option<Result<Applied, ApplyError>>>>;

/// A local batch waiting for the writer.
struct Waiting {
    changes: Vec<Change>,
    answer: Answer,
}

/// The batches waiting, and whether a thread is leading a group.
#[derive(Default)]
pub(crate) struct Queue {
    waiting: Vec<Waiting>,
    leading: bool,
}

/// Held by the thread leading a group: when it is done (or panics), the next may lead.
struct Leading<'a>(&'a CatalogService);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        lock(&self.0.queue).leading = false;
        self.0.committed.notify_all();
    }
}

/// A batch of a commit group, staged with the persister.
struct Staged {
    answer: Answer,
    applied: Applied,
    effects: Vec<Effect>,
    after: Catalog,
}

impl CatalogService {
    /// Local batches waiting for the writer (tests of group commit).
    #[cfg(test)]
    pub(crate) fn waiting_len(&self) -> usize {
        lock(&self.queue).waiting.len()
    }

    pub(crate) fn apply_grouped(&self, changes: Vec<Change>) -> Result<Applied, ApplyError> {
        if let Some(reason) = self.write_gate() {
            return Err(ApplyError::ReadOnly(reason));
        }
        let answer: Answer = Arc::default();
        let mut queue = lock(&self.queue);
        queue.waiting.push(Waiting {
            changes,
            answer: answer.clone(),
        });
        loop {
            if let Some(done) = lock(&answer).take() {
                return done;
            }
            if !queue.leading {
                queue.leading = true;
                let group = std::mem::take(&mut queue.waiting);
                drop(queue);
                let leading = Leading(self);
                let mut writer = lock(&self.writer);
                self.commit_group(&mut **writer, group);
                drop(writer);
                drop(leading);
                // The group held this batch: its answer is in.
                return lock(&answer).take().unwrap_or_else(|| {
                    Err(ApplyError::Persist(PersistError::Other(
                        "the batch was lost from its commit group".into(),
                    )))
                });
            }
            queue = match self.committed.wait(queue) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
    }

    /// Apply a group of waiting local batches under the writer (see [`CatalogService::apply`]).
    fn commit_group(&self, writer: &mut dyn Persist, group: Vec<Waiting>) {
        let staged = self.stage_group(writer, group);
        if staged.is_empty() {
            return;
        }
        let kept = make_durable(writer, staged);
        self.make_visible(kept);
    }

    /// Validate each batch on the state the previous ones left and stage it with the
    /// persister; a refused batch is answered at once and leaves the state as it was.
    fn stage_group(&self, writer: &mut dyn Persist, group: Vec<Waiting>) -> Vec<Staged> {
        let mut work: Catalog = (*self.snapshot()).clone();
        let mut staged = Vec::with_capacity(group.len());
        for Waiting { changes, answer } in group {
            let mut next = work.clone();
            let (applied_changes, effects) = match apply_changes(&mut next, changes, &Source::Local)
            {
                Ok(applied) => applied,
                Err(e) => {
                    *lock(&answer) = Some(Err(e.into()));
                    continue;
                }
            };
            let batch = Batch {
                changes: &applied_changes,
                effects: &effects,
                source: &Source::Local,
            };
            match writer.stage(&work, &next, &batch) {
                Ok(provenance) => {
                    work = next;
                    staged.push(Staged {
                        answer,
                        applied: Applied {
                            changes: applied_changes,
                            update_sequence: work.update_sequence(),
                            provenance,
                            source: Source::Local,
                        },
                        effects,
                        after: work.clone(),
                    });
                }
                Err(e) => *lock(&answer) = Some(Err(e.into())),
            }
        }
        staged
    }

    /// Swap in the state the last kept batch left, move the position, then tell listeners of
    /// each batch in order and answer it (still under the writer).
    fn make_visible(&self, kept: Vec<Staged>) {
        let Some(last) = kept.last() else { return };
        self.swap_in(last.after.clone(), last.applied.provenance.as_ref());
        for s in kept {
            self.notify(&s.applied);
            *lock(&s.answer) = Some(Ok(s.applied));
        }
    }
}

/// Commit the staged batches (one sync), then finish each in order; the first failure takes
/// back that batch and every one after it (they were validated on top of it), answering them
/// with the error. Returns the batches that stand.
fn make_durable(writer: &mut dyn Persist, staged: Vec<Staged>) -> Vec<Staged> {
    let mut failure = writer.commit_staged().err().map(|e| (0, e));
    if failure.is_none() {
        for (i, s) in staged.iter().enumerate() {
            let batch = Batch {
                changes: &s.applied.changes,
                effects: &s.effects,
                source: &Source::Local,
            };
            if let Err(e) = writer.finish_staged(&s.after, &batch, s.applied.provenance.as_ref()) {
                failure = Some((i, e));
                break;
            }
        }
    }
    let keep = failure.as_ref().map_or(staged.len(), |(i, _)| *i);
    if let Err(e) = writer.end_group(keep) {
        tracing::warn!(error = %e, "closing a commit group");
    }
    let mut staged = staged.into_iter();
    let kept: Vec<Staged> = staged.by_ref().take(keep).collect();
    if let Some((_, e)) = failure {
        for s in staged {
            *lock(&s.answer) = Some(Err(ApplyError::Persist(e.shared())));
        }
    }
    kept
}
