//! Durability: what makes every node's configuration survive a crash, clustered or not.
//!
//! * [`journal`]: the durable per-origin journal every applied batch goes to first.
//! * [`persist`]: the persister: journal first, then files, then the applied marker.
//! * [`behind`]: files written on a thread behind the journal (replicated batches, snapshots).
//! * [`files`]: the applied marker and the node's other small JSON files.
//! * [`hlc`]: the hybrid logical clock that stamps batches.
//! * [`conflict`]: per-object stamps and tombstones that make several primaries converge.
//! * [`Store`]: opens and wires them; recovery (redo, stamps) at start.

pub mod behind;
pub mod conflict;
pub mod files;
pub mod hlc;
pub mod journal;
pub mod persist;
mod redo;
mod store;

pub use journal::{Journal, JournalError, Record, RecordSealer};
pub use store::Store;

/// Why the store could not open or recover.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The journal could not be opened, written or synced.
    #[error(transparent)]
    Journal(JournalError),
    /// Re-applying the journal (or a pending snapshot) at start failed.
    #[error("{0}")]
    Redo(String),
}
