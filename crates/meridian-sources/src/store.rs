//! A store's connection parameters, and the data directory its relative paths resolve against.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What Meridian needs to read a store: its connection parameters and the data directory
/// that relative `file:` URLs resolve against.
#[derive(Debug, Clone, Default)]
pub struct StoreParams {
    /// Connection parameters (key, value).
    pub params: Vec<(String, String)>,
    /// `<type>` of the store, if given.
    pub store_type: Option<String>,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The SQL view the feature type read through these parameters is (a layer's
    /// `JDBC_VIRTUAL_TABLE`), with the parameter values of the request.
    pub view: Option<(std::sync::Arc<crate::SqlView>, HashMap<String, String>)>,
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
            view: None,
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

    /// The files the parameters name, resolved: `url`, `database` and `file` unless they are
    /// other URLs, and any `file:` value. The filesystem sandbox applies to each of them.
    pub fn files(&self) -> Vec<PathBuf> {
        self.params
            .iter()
            .filter(|(k, v)| {
                v.starts_with("file:")
                    || (["url", "database", "file"].contains(&k.to_ascii_lowercase().as_str())
                        && !v.contains("://"))
            })
            .map(|(_, v)| self.resolve_path(v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_a_store_names_are_its_paths_not_its_urls() {
        let sp = StoreParams::from_pairs(
            &[
                ("url", "file:data/sf"),
                ("database", "data/x.gpkg"),
                ("namespace", "http://sf"),
                ("host", "localhost"),
                ("extra", "file:///abs/y.shp"),
                ("file", "https://example.org/z"),
            ],
            PathBuf::from("/dd"),
        );
        assert_eq!(
            sp.files(),
            vec![
                PathBuf::from("/dd/data/sf"),
                PathBuf::from("/dd/data/x.gpkg"),
                PathBuf::from("/abs/y.shp"),
            ]
        );
    }
}
