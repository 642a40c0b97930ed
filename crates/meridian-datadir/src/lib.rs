//! GeoServer's data directory: loading it into a [`meridian_catalog::Catalog`], writing applied
//! changes back file by file (atomically), and creating a minimal one for a new node.

mod atomic;
mod defaults;
mod layout;
mod load;
mod locations;
mod persist;

pub use atomic::{
    remove_file_durable, sync_filesystem, write_atomic, write_private, write_replacing,
    write_with_mode,
};
pub use defaults::{default_styles, init_if_empty};
pub use layout::resource_file_name;
pub use load::{load, load_with_readers, LoadProblem, Loaded};
pub use locations::{Locations, RelPath};
pub use persist::{moves_no_file, DataDir};

/// Errors of the data directory as a whole (single files that fail are [`LoadProblem`]s).
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// An I/O error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The path exists and is not a directory.
    #[error("{0} is not a directory")]
    NotADirectory(String),
}

impl DataDirError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        DataDirError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
