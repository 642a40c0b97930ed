//! The reverse-reference index: for each id, the ids of the objects whose references name it.

use crate::Id;

/// Sets up to this size are plain vectors (copied on change); larger ones are persistent sets.
const FEW: usize = 16;

/// The referrers of one target. Most targets (a feature type, named by its one layer) have one
/// or two; a persistent hash set costs about a kilobyte even for one member, so small sets are
/// kept as vectors and only popular targets (a namespace, a shared style) get a persistent set.
#[derive(Debug, Clone)]
enum Set {
    Few(Vec<Id>),
    Many(imbl::OrdSet<Id>),
}

impl Set {
    fn insert(&mut self, id: &Id) {
        match self {
            Set::Few(v) if v.iter().any(|x| x == id) => {}
            Set::Few(v) if v.len() < FEW => {
                v.reserve_exact(1);
                v.push(id.clone());
            }
            Set::Few(v) => {
                let mut s: imbl::OrdSet<Id> = v.drain(..).collect();
                s.insert(id.clone());
                *self = Set::Many(s);
            }
            Set::Many(s) => {
                s.insert(id.clone());
            }
        }
    }

    /// Remove `id`; true when the set is now empty.
    fn remove(&mut self, id: &str) -> bool {
        match self {
            Set::Few(v) => {
                v.retain(|x| &**x != id);
                v.shrink_to_fit();
                v.is_empty()
            }
            Set::Many(s) => {
                s.remove(id);
                s.is_empty()
            }
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            Set::Few(v) => Box::new(v.iter().map(|i| &**i)),
            Set::Many(s) => Box::new(s.iter().map(|i| &**i)),
        }
    }
}

/// Target id → ids of its referrers; persistent, so a catalog working copy shares it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Referrers(imbl::OrdMap<Id, Set>);

impl Referrers {
    /// Record that `from` references `target`.
    pub(crate) fn add(&mut self, target: &str, from: &Id) {
        match self.0.get_mut(target) {
            Some(set) => set.insert(from),
            None => {
                self.0
                    .insert(Id::from(target), Set::Few(vec![from.clone()]));
            }
        }
    }

    /// Forget that `from` references `target`.
    pub(crate) fn remove(&mut self, target: &str, from: &str) {
        let now_empty = self.0.get_mut(target).is_some_and(|set| set.remove(from));
        if now_empty {
            self.0.remove(target);
        }
    }

    /// The ids referencing `target`, in no particular order.
    pub(crate) fn of<'a>(&'a self, target: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.get(target).into_iter().flat_map(Set::iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_sets_add_and_remove_the_same_way() {
        let mut r = Referrers::default();
        for n in [1, FEW, FEW + 1, 3 * FEW] {
            for i in 0..n {
                let id = Id::from(format!("o{i}"));
                r.add("t", &id);
                r.add("t", &id);
            }
            let mut got: Vec<&str> = r.of("t").collect();
            got.sort();
            let mut want: Vec<String> = (0..n).map(|i| format!("o{i}")).collect();
            want.sort();
            assert_eq!(got, want, "{n} referrers");
            let copy = r.clone();
            for i in 0..n {
                r.remove("t", &format!("o{i}"));
            }
            assert_eq!(r.of("t").count(), 0);
            assert_eq!(copy.of("t").count(), n, "a copy is not changed");
            assert!(r.0.is_empty(), "an empty set is dropped");
        }
    }
}
