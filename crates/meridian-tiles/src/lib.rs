//! Meridian's tile cache: GeoWebCache's gridsets (the built-in ones and those of
//! `gwc/geowebcache.xml`), the tile layer configuration GeoServer keeps (`gwc-gs.xml`,
//! `gwc-layers/*.xml`), and the disk cache the tile services read and write.

mod cache;
mod config;
mod gridset;
pub mod mvt;

pub use cache::{DiskCache, TileKey, TOUCH_EVERY};
pub use config::{
    extension, format_of_extension, ConfigError, GridSubset, LayerKind, Settings, StyleFilter,
    TileLayer, FORMATS,
};
pub use gridset::{builtin, java_double, GridError, GridSet, METERS_PER_DEGREE, PIXEL_SIZE};

use std::path::Path;

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A file or folder of the cache.
    #[error("{path}: {reason}")]
    Io {
        /// The file or folder.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl CacheError {
    pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> CacheError {
        CacheError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}
