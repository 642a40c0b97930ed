//! Feature locks (WFS LockFeature and GetFeatureWithLock): which features a lock holds and
//! until when. A Transaction that changes a locked feature must name the lock; locks lapse
//! at their expiry. Locks live in the memory of the node that granted them (a client keeps
//! talking to one node through its lock, as with GeoServer's in-memory lock provider).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A locked feature: the layer's qualified name and the feature id.
pub(crate) type FeatureKey = (String, String);

/// Longest a lock may be asked to last.
const MAX_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// Most features locked at once (every lock together).
const MAX_LOCKED: usize = 1_000_000;

struct Lock {
    features: HashSet<FeatureKey>,
    expires: Instant,
}

#[derive(Default)]
struct Table {
    locks: HashMap<String, Lock>,
    holder: HashMap<FeatureKey, String>,
    counter: u64,
}

impl Table {
    fn purge(&mut self) {
        let now = Instant::now();
        let gone: Vec<String> = self
            .locks
            .iter()
            .filter(|(_, l)| l.expires <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.drop_lock(&id);
        }
    }

    fn drop_lock(&mut self, id: &str) {
        if let Some(l) = self.locks.remove(id) {
            for f in l.features {
                if self.holder.get(&f).is_some_and(|h| h == id) {
                    self.holder.remove(&f);
                }
            }
        }
    }
}

/// The locks of this node.
#[derive(Default)]
pub struct Locks(Mutex<Table>);

/// What a lock request got.
pub(crate) struct Granted {
    /// The new lock's id.
    pub(crate) lock_id: String,
    /// The features it holds.
    pub(crate) locked: Vec<FeatureKey>,
    /// The features another lock holds.
    pub(crate) not_locked: Vec<FeatureKey>,
}

impl Locks {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Lock `features` for `expiry`. With `all`, fail (naming a feature) unless every one is
    /// free; otherwise lock the free ones.
    pub(crate) fn lock(
        &self,
        features: Vec<FeatureKey>,
        expiry: Duration,
        all: bool,
    ) -> Result<Granted, String> {
        let mut t = self.table();
        t.purge();
        let (free, taken): (Vec<FeatureKey>, Vec<FeatureKey>) = features
            .into_iter()
            .partition(|f| !t.holder.contains_key(f));
        if all {
            if let Some((layer, id)) = taken.first() {
                return Err(format!("feature {id} of {layer} is locked by another lock"));
            }
        }
        if t.holder.len() + free.len() > MAX_LOCKED {
            return Err(format!(
                "locking {} more features would pass the {MAX_LOCKED} this server holds",
                free.len()
            ));
        }
        t.counter += 1;
        let lock_id = format!("meridian-{}-{}", std::process::id(), t.counter);
        for f in &free {
            t.holder.insert(f.clone(), lock_id.clone());
        }
        t.locks.insert(
            lock_id.clone(),
            Lock {
                features: free.iter().cloned().collect(),
                expires: Instant::now() + expiry.min(MAX_EXPIRY),
            },
        );
        Ok(Granted {
            lock_id,
            locked: free,
            not_locked: taken,
        })
    }

    /// Whether `lock_id` names a live lock.
    pub(crate) fn exists(&self, lock_id: &str) -> bool {
        let mut t = self.table();
        t.purge();
        t.locks.contains_key(lock_id)
    }

    /// The first of `features` held by a lock other than `lock_id`.
    pub(crate) fn conflict<'a>(
        &self,
        lock_id: Option<&str>,
        features: impl Iterator<Item = &'a FeatureKey>,
    ) -> Option<FeatureKey> {
        let mut t = self.table();
        t.purge();
        for f in features {
            if let Some(h) = t.holder.get(f) {
                if Some(h.as_str()) != lock_id {
                    return Some(f.clone());
                }
            }
        }
        None
    }

    /// Release a lock whole, or (`Some`) only the features given.
    pub(crate) fn release(&self, lock_id: &str, only: Option<&[FeatureKey]>) {
        let mut t = self.table();
        match only {
            None => t.drop_lock(lock_id),
            Some(features) => {
                for f in features {
                    if t.holder.get(f).is_some_and(|h| h == lock_id) {
                        t.holder.remove(f);
                    }
                    if let Some(l) = t.locks.get_mut(lock_id) {
                        l.features.remove(f);
                    }
                }
                if t.locks.get(lock_id).is_some_and(|l| l.features.is_empty()) {
                    t.locks.remove(lock_id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(id: &str) -> FeatureKey {
        ("topp:states".into(), id.into())
    }

    #[test]
    fn a_locked_feature_needs_its_lock_and_locks_lapse() {
        let l = Locks::default();
        let g = l
            .lock(
                vec![key("states.1"), key("states.2")],
                Duration::from_secs(60),
                true,
            )
            .unwrap();
        assert_eq!(g.locked.len(), 2);
        assert!(l.conflict(None, [key("states.1")].iter()).is_some());
        assert!(l
            .conflict(Some(&g.lock_id), [key("states.1")].iter())
            .is_none());
        assert!(l
            .lock(vec![key("states.2")], Duration::from_secs(60), true)
            .is_err());
        let some = l
            .lock(
                vec![key("states.2"), key("states.3")],
                Duration::from_secs(60),
                false,
            )
            .unwrap();
        assert_eq!(some.locked, vec![key("states.3")]);
        assert_eq!(some.not_locked, vec![key("states.2")]);
        l.release(&g.lock_id, Some(&[key("states.1")]));
        assert!(l.conflict(None, [key("states.1")].iter()).is_none());
        assert!(l.exists(&g.lock_id), "states.2 is still held");
        let short = l
            .lock(vec![key("states.9")], Duration::from_millis(1), true)
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(!l.exists(&short.lock_id));
        assert!(l.conflict(None, [key("states.9")].iter()).is_none());
    }
}
