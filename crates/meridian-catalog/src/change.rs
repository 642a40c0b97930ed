//! Changes: the only way the catalog is mutated.

use crate::{Kind, Object, Provenance, Source};
use serde::{Deserialize, Serialize};

/// One self-contained mutation of the catalog. It carries the object's full state (ids minted by
/// the origin, references by id, style bodies) so that a replica applies it without asking back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl Change {
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
