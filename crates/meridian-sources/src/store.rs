//! A store's connection parameters, and the data directory its relative paths resolve against.

use std::path::{Path, PathBuf};

/// What Meridian needs to read a store: its connection parameters and the data directory
/// that relative `file:` URLs resolve against.
#[derive(Debug, Clone)]
pub struct StoreParams {
    /// Connection parameters (key, value).
    pub params: Vec<(String, String)>,
    /// `<type>` of the store, if given.
    pub store_type: Option<String>,
    /// The data directory.
    pub data_dir: PathBuf,
}

impl StoreParams {
    /// Parameters given as pairs (tests, tools), resolved against `data_dir`.
    pub fn from_pairs(params: &[(&str, &str)], data_dir: PathBuf) -> Self {
        StoreParams {
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            store_type: None,
            data_dir,
        }
    }

    /// A connection parameter by key (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Resolve `file:data/x`, `file:///abs`, `data/x` or `/abs` against the data directory.
    pub fn resolve_path(&self, url: &str) -> PathBuf {
        let p = url
            .strip_prefix("file://")
            .or_else(|| url.strip_prefix("file:"))
            .unwrap_or(url);
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.data_dir.join(p)
        }
    }
}
