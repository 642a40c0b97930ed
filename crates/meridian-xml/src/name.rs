//! Interned element names: a catalog holds millions of elements but only a few hundred distinct
//! names, so each name is stored once and elements share it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

/// An element name, shared by every element of that name (cheap to clone and compare).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

/// Names interned so far, for every thread.
fn global() -> &'static Mutex<HashSet<Arc<str>>> {
    static NAMES: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

thread_local! {
    /// This thread's view of the interned names (no locking on the parsing hot path).
    static LOCAL: RefCell<HashSet<Arc<str>, foldhash::fast::RandomState>> =
        RefCell::new(HashSet::default());
}

/// Names longer than this are not interned (they are unusual, and input could be hostile).
const MAX_INTERNED: usize = 128;
/// The shared table stops growing here; later names are simply not shared.
const MAX_NAMES: usize = 100_000;

impl Name {
    /// The interned name for `s`.
    pub fn new(s: &str) -> Name {
        if s.len() > MAX_INTERNED {
            return Name(Arc::from(s));
        }
        if let Some(hit) = LOCAL.with(|l| l.borrow().get(s).cloned()) {
            return Name(hit);
        }
        let shared = {
            let mut g = match global().lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            match g.get(s) {
                Some(a) => a.clone(),
                None => {
                    let a: Arc<str> = Arc::from(s);
                    if g.len() < MAX_NAMES {
                        g.insert(a.clone());
                    }
                    a
                }
            }
        };
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            if l.len() < MAX_NAMES {
                l.insert(shared.clone());
            }
        });
        Name(shared)
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::new("")
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Hashes and compares as the string (the derived `Hash` and `Eq` are those of `str`).
impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name::new(&s)
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Self {
        Name::new(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> Self {
        n.0.to_string()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == &*other.0
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Name::new(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_allocation_across_threads() {
        let a = Name::new("featureType");
        let b = std::thread::spawn(|| Name::new("featureType"))
            .join()
            .unwrap_or_default();
        assert_eq!(a, b);
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, "featureType");
        let long = "x".repeat(MAX_INTERNED + 1);
        assert_eq!(Name::new(&long).as_str(), long);
    }
}
