//! Changes: the only way the catalog is mutated.

use crate::{Kind, Object, Provenance, Source};
use serde::{Deserialize, Serialize};

/// One self-contained mutation of the catalog. It carries the object's full state (ids minted by
/// the origin, references by id, style bodies) so that a replica applies it without asking back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Add a new object.
    Add {
        /// The new object.
        object: Object,
    },
    /// Replace an existing object (same id) with a new full state.
    Modify {
        /// The object's new state.
        object: Object,
    },
    /// Remove an object that nothing references any more.
    Remove {
        /// Its kind (checked).
        kind: Kind,
        /// Its id.
        id: String,
    },
    /// Make a workspace (and its namespace) the default.
    SetDefaultWorkspace {
        /// The workspace id.
        id: String,
    },
}

/// The wire form of a change read back: every variant's fields, flat, so that reading does not
/// buffer the whole change first as serde does for an internally tagged enum (a replica reads
/// every change of every batch it receives).
#[derive(Deserialize)]
struct ChangeWire {
    op: Op,
    object: Option<Object>,
    kind: Option<Kind>,
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Add,
    Modify,
    Remove,
    SetDefaultWorkspace,
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let w = ChangeWire::deserialize(d)?;
        let missing = |f: &'static str| D::Error::missing_field(f);
        Ok(match w.op {
            Op::Add => Change::Add {
                object: w.object.ok_or_else(|| missing("object"))?,
            },
            Op::Modify => Change::Modify {
                object: w.object.ok_or_else(|| missing("object"))?,
            },
            Op::Remove => Change::Remove {
                kind: w.kind.ok_or_else(|| missing("kind"))?,
                id: w.id.ok_or_else(|| missing("id"))?,
            },
            Op::SetDefaultWorkspace => Change::SetDefaultWorkspace {
                id: w.id.ok_or_else(|| missing("id"))?,
            },
        })
    }
}

impl Change {
    /// Store `object` in `cat`: a [`Change::Modify`] of the object with its id, else a
    /// [`Change::Add`].
    pub fn put(cat: &crate::Catalog, object: Object) -> Change {
        if cat.get(object.id()).is_some() {
            Change::Modify { object }
        } else {
            Change::Add { object }
        }
    }

    /// A short description for logs: `add workspace acme`.
    pub fn describe(&self) -> String {
        match self {
            Change::Add { object } => format!("add {} {}", object.kind.label(), object.name()),
            Change::Modify { object } => {
                format!("modify {} {}", object.kind.label(), object.name())
            }
            Change::Remove { kind, id } => format!("remove {} {id}", kind.label()),
            Change::SetDefaultWorkspace { id } => format!("set default workspace {id}"),
        }
    }
}

/// The outcome of a successful apply.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The changes, in the order applied.
    pub changes: Vec<Change>,
    /// The catalog's update sequence after the batch.
    pub update_sequence: u64,
    /// Where the persister recorded the batch (origin and sequence), when it journals.
    pub provenance: Option<Provenance>,
    /// Who asked for it.
    pub source: Source,
}
