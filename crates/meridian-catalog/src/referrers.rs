//! The reverse-reference index: for each id, the ids of the objects whose references name it.

use crate::Id;

/// Sets up to this size are boxed slices (copied on change); larger ones are persistent sets.
const FEW: usize = 16;

/// The referrers of one target. Most targets (a feature type, named by its one layer) have
/// one, kept without an allocation; a few more are a boxed slice; only popular targets (a
/// namespace, a shared style) get a persistent set, boxed so the common cases stay small.
#[derive(Debug, Clone)]
enum Set {
    One(Id),
    Few(Box<[Id]>),
    Many(Box<imbl::OrdSet<Id>>),
}

impl Set {
    /// A set of ids sorted and without repeats.
    fn of_sorted(mut ids: Vec<Id>) -> Set {
        match ids.len() {
            1 => match ids.pop() {
                Some(id) => Set::One(id),
                None => Set::Few(Box::default()),
            },
            n if n <= FEW => Set::Few(ids.into_boxed_slice()),
            _ => {
                let mut s = imbl::OrdSet::new();
                for id in crate::dense::fill_order(ids) {
                    s.insert(id);
                }
                Set::Many(Box::new(s))
            }
        }
    }

    fn insert(&mut self, id: &Id) {
        match self {
            Set::One(x) if x == id => {}
            Set::One(x) => *self = Set::Few(Box::new([x.clone(), id.clone()])),
            Set::Few(v) if v.iter().any(|x| x == id) => {}
            Set::Few(v) if v.len() < FEW => {
                let mut grown = Vec::with_capacity(v.len() + 1);
                grown.extend(v.iter().cloned());
                grown.push(id.clone());
                *v = grown.into_boxed_slice();
            }
            Set::Few(v) => {
                let mut s: imbl::OrdSet<Id> = v.iter().cloned().collect();
                s.insert(id.clone());
                *self = Set::Many(Box::new(s));
            }
            Set::Many(s) => {
                s.insert(id.clone());
            }
        }
    }

    /// Remove `id`; true when the set is now empty.
    fn remove(&mut self, id: &str) -> bool {
        match self {
            Set::One(x) => &**x == id,
            Set::Few(v) => {
                if v.iter().any(|x| &**x == id) {
                    *v = v.iter().filter(|x| &***x != id).cloned().collect();
                }
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
            Set::One(x) => Box::new(std::iter::once(&**x)),
            Set::Few(v) => Box::new(v.iter().map(|i| &**i)),
            Set::Many(s) => Box::new(s.iter().map(|i| &**i)),
        }
    }
}

/// Target id → ids of its referrers; persistent, so a catalog working copy shares it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Referrers(imbl::OrdMap<Id, Set>);

impl Referrers {
    /// Record that `from` references `target`. `target` is the catalog's own copy of the
    /// id when it has one (see [`crate::Catalog`]), so the index adds no string.
    pub(crate) fn add(&mut self, target: &Id, from: &Id) {
        match self.0.get_mut(&**target) {
            Some(set) => set.insert(from),
            None => {
                self.0.insert(target.clone(), Set::One(from.clone()));
            }
        }
    }

    /// Record many references at once: (target, from) pairs in any order. New targets are
    /// added in an order that leaves the map's nodes full (see [`crate::dense`]).
    pub(crate) fn add_all(&mut self, mut pairs: Vec<(Id, Id)>) {
        pairs.sort_unstable();
        pairs.dedup();
        let mut fresh: Vec<(Id, Set)> = Vec::new();
        let mut pairs = pairs.into_iter().peekable();
        while let Some((target, from)) = pairs.next() {
            let mut group = vec![from];
            while let Some((_, f)) = pairs.next_if(|(t, _)| *t == target) {
                group.push(f);
            }
            match self.0.get_mut(&*target) {
                Some(set) => group.iter().for_each(|f| set.insert(f)),
                None => fresh.push((target, Set::of_sorted(group))),
            }
        }
        for (target, set) in crate::dense::fill_order(fresh) {
            self.0.insert(target, set);
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
                r.add(&Id::from("t"), &id);
                r.add(&Id::from("t"), &id);
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

    #[test]
    fn adding_all_at_once_gives_the_sets_of_adding_one_at_a_time() {
        let id = |s: String| Id::from(s);
        let mut pairs = Vec::new();
        for t in 0..40 {
            // Target t has t % 20 referrers: none, one, a few and many.
            for f in 0..(t % 20) * 2 {
                pairs.push((id(format!("t{t}")), id(format!("f{f}"))));
            }
        }
        let mut one = Referrers::default();
        for (t, f) in &pairs {
            one.add(t, f);
        }
        let mut all = Referrers::default();
        // Some targets known already, pairs twice and out of order.
        all.add(&id("t3".into()), &id("f0".into()));
        let mut shuffled: Vec<(Id, Id)> = pairs.iter().rev().cloned().collect();
        shuffled.extend(pairs.iter().take(30).cloned());
        all.add_all(shuffled);
        for t in 0..40 {
            let t = format!("t{t}");
            let mut a: Vec<&str> = one.of(&t).collect();
            let mut b: Vec<&str> = all.of(&t).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{t}");
        }
    }
}
