//! Convergence with several primaries. Every object carries the stamp (hybrid logical clock,
//! origin) of its last write; removals leave tombstones. A replicated batch is reconciled with
//! the local catalog before it is applied, the same way on every node:
//!
//! * a removal wins: an add or modify of a removed object, or of an object referring to one,
//!   is dropped (and the object tombstoned, so what depends on it is dropped too);
//! * a remove of an object still referenced here removes the referrers as well;
//! * otherwise the later stamp wins: a change older than the object's stamp is dropped;
//! * two objects taking the same name: the later stamp keeps it, the other is removed.

use meridian_catalog::{cascade_remove, Catalog, Change};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Stamp of a write: clock first, origin name as the tie-break.
pub type Stamp = (u64, String);

/// Stamps and tombstones of a node.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Stamps {
    /// Last write per object id (and `"default-workspace"`).
    pub last: BTreeMap<String, Stamp>,
    /// Removed object ids.
    pub removed: BTreeSet<String>,
}

const DEFAULT_KEY: &str = "default-workspace";

fn key(c: &Change) -> &str {
    match c {
        Change::Add { object } | Change::Modify { object } => object.id(),
        Change::Remove { id, .. } => id,
        Change::SetDefaultWorkspace { .. } => DEFAULT_KEY,
    }
}

impl Stamps {
    /// Record an applied batch.
    pub fn record(&mut self, changes: &[Change], stamp: &Stamp) {
        for c in changes {
            let k = key(c).to_string();
            if let Change::Remove { .. } = c {
                self.removed.insert(k.clone());
            }
            let newer = self.last.get(&k).is_none_or(|s| s < stamp);
            if newer {
                self.last.insert(k, stamp.clone());
            }
        }
    }

    /// Take in a peer's stamps (with its snapshot): its tombstones, and each of its stamps
    /// newer than this node's.
    pub fn merge(&mut self, other: Stamps) {
        self.removed.extend(other.removed);
        for (k, v) in other.last {
            if self.last.get(&k).is_none_or(|s| *s < v) {
                self.last.insert(k, v);
            }
        }
    }

    /// Reconcile a replicated batch with the local catalog; returns the changes to apply.
    pub fn reconcile(&mut self, cat: &Catalog, changes: Vec<Change>, stamp: &Stamp) -> Vec<Change> {
        let mut out: Vec<Change> = Vec::new();
        let removed_here: BTreeSet<String> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Remove { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        for c in changes {
            let k = key(&c).to_string();
            match &c {
                Change::Add { object } | Change::Modify { object } => {
                    if self.removed.contains(&k)
                        || object
                            .references()
                            .iter()
                            .any(|r| self.removed.contains(*r))
                    {
                        self.removed.insert(k);
                        continue;
                    }
                    if self.last.get(&k).is_some_and(|s| s > stamp) {
                        continue;
                    }
                    if let Some(other) = cat
                        .name_conflict(object)
                        .filter(|o| !removed_here.contains(o.id()))
                    {
                        let other_stamp = self
                            .last
                            .get(other.id())
                            .cloned()
                            .unwrap_or((0, String::new()));
                        if &other_stamp > stamp {
                            self.removed.insert(k);
                            continue;
                        }
                        let other_id = other.id().to_string();
                        out.extend(cascade_remove(cat, other.kind, &other_id));
                        self.removed.insert(other_id);
                    }
                    out.push(c);
                }
                Change::Remove { kind, id } => {
                    if cat.get(id).is_some()
                        && cat
                            .first_referrer(id)
                            .is_some_and(|r| !removed_here.contains(r.id()))
                    {
                        // Remove what still refers to it here, then it.
                        let cascade = cascade_remove(cat, *kind, id);
                        for cc in &cascade {
                            if let Change::Remove { id, .. } = cc {
                                self.removed.insert(id.clone());
                            }
                        }
                        out.extend(cascade);
                    } else {
                        out.push(c);
                    }
                }
                Change::SetDefaultWorkspace { id } => {
                    if self.removed.contains(id)
                        || self.last.get(DEFAULT_KEY).is_some_and(|s| s > stamp)
                    {
                        continue;
                    }
                    out.push(c);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_catalog::{Kind, Object};

    #[test]
    fn a_peers_stamps_merge_keeping_the_newer_of_each() {
        let stamp = |t: u64, o: &str| (t, o.to_string());
        let mut mine = Stamps::default();
        mine.last.insert("a".into(), stamp(5, "x"));
        mine.last.insert("b".into(), stamp(9, "x"));
        let mut theirs = Stamps::default();
        theirs.last.insert("a".into(), stamp(7, "y"));
        theirs.last.insert("b".into(), stamp(3, "y"));
        theirs.removed.insert("gone".into());
        mine.merge(theirs);
        assert_eq!(mine.last["a"], stamp(7, "y"));
        assert_eq!(mine.last["b"], stamp(9, "x"));
        assert!(mine.removed.contains("gone"));
    }

    fn ws(id: &str, name: &str, extra: &str) -> Object {
        Object::new(
            Kind::Workspace,
            meridian_xml::parse(&format!(
                "<workspace><id>{id}</id><name>{name}</name>{extra}</workspace>"
            ))
            .unwrap(),
        )
    }

    fn cat(objects: Vec<Object>) -> Catalog {
        Catalog::from_loaded(objects, None)
    }

    #[test]
    fn a_removal_beats_a_concurrent_modify_and_later_stamps_win() {
        let mut s = Stamps::default();
        s.record(
            &[Change::Remove {
                kind: Kind::Workspace,
                id: "w1".into(),
            }],
            &(10, "a".into()),
        );
        let out = s.reconcile(
            &cat(vec![]),
            vec![Change::Modify {
                object: ws("w1", "x", ""),
            }],
            &(20, "b".into()),
        );
        assert!(out.is_empty(), "a removed object stays removed");
        s.record(
            &[Change::Modify {
                object: ws("w2", "y", "<isolated>true</isolated>"),
            }],
            &(30, "a".into()),
        );
        let older = vec![Change::Modify {
            object: ws("w2", "y", ""),
        }];
        assert!(s
            .reconcile(
                &cat(vec![ws("w2", "y", "")]),
                older.clone(),
                &(25, "b".into())
            )
            .is_empty());
        assert_eq!(
            s.reconcile(&cat(vec![ws("w2", "y", "")]), older, &(31, "b".into()))
                .len(),
            1
        );
        // Same clock: the origin name breaks the tie.
        assert!(s
            .reconcile(
                &cat(vec![]),
                vec![Change::Modify {
                    object: ws("w2", "y", "")
                }],
                &(30, "0".into())
            )
            .is_empty());
    }

    #[test]
    fn the_later_of_two_same_named_objects_keeps_the_name() {
        let mut s = Stamps::default();
        let local = ws("w-local", "acme", "");
        s.record(
            &[Change::Add {
                object: local.clone(),
            }],
            &(10, "a".into()),
        );
        let c = cat(vec![local.clone()]);
        let out = s.reconcile(
            &c,
            vec![Change::Add {
                object: ws("w-remote", "acme", ""),
            }],
            &(20, "b".into()),
        );
        assert!(
            matches!(&out[0], Change::Remove { id, .. } if id == "w-local"),
            "{out:?}"
        );
        assert!(matches!(&out[1], Change::Add { object } if object.id() == "w-remote"));
        let mut s2 = Stamps::default();
        s2.record(&[Change::Add { object: local }], &(30, "a".into()));
        let out = s2.reconcile(
            &c,
            vec![Change::Add {
                object: ws("w-remote", "acme", ""),
            }],
            &(20, "b".into()),
        );
        assert!(out.is_empty());
        assert!(s2.removed.contains("w-remote"));
    }
}
