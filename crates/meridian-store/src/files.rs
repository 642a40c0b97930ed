//! The node's small bookkeeping files: the applied marker (positions whose data-directory
//! files are on disk) and other JSON files of the node (its peers), written atomically and
//! readable by the node's user only.

use meridian_catalog::PersistError;
use std::collections::BTreeMap;
use std::path::Path;

/// Positions whose files are known to be on disk.
pub fn read_marker(path: &Path) -> BTreeMap<String, u64> {
    read_json(path)
}

/// Record that the files of every batch up to `heads` are on disk.
pub fn write_marker(marker: &Path, heads: &BTreeMap<String, u64>) -> Result<(), PersistError> {
    write_json(marker, heads)
}

/// A small JSON file of the node's; the default when missing or unreadable.
pub fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> T {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Write a small JSON file of the node's atomically and durably, readable by its user only.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), PersistError> {
    let text = serde_json::to_vec(value)
        .map_err(|e| PersistError::Other(format!("{}: {e}", path.display())))?;
    meridian_datadir::write_private(path, &text).map_err(|e| PersistError::io(path, e))
}
