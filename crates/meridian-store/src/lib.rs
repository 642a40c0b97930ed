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
    /// A file of the store could not be read or written.
    #[error(transparent)]
    Files(#[from] meridian_catalog::PersistError),
    /// The pending snapshot's file does not parse.
    #[error("{}: {source}", path.display())]
    PendingSnapshot {
        /// The file.
        path: std::path::PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// Re-applying the pending snapshot at start failed.
    #[error("re-applying the pending snapshot failed: {0}")]
    Reapply(meridian_catalog::ApplyError),
    /// Re-applying a journaled batch at start failed.
    #[error("redo of {origin}#{seq} failed: {source}")]
    Redo {
        /// The batch's origin.
        origin: String,
        /// Its sequence.
        seq: u64,
        /// Why it did not apply.
        source: meridian_catalog::ApplyError,
    },
    /// A journaled batch's sealed secrets do not open.
    #[error("redo of {origin}#{seq}: {source} (was the cluster secret changed?)")]
    Sealed {
        /// The batch's origin.
        origin: String,
        /// Its sequence.
        seq: u64,
        /// Why it did not open.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
