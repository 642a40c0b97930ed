//! Finding a store's data from its connection parameters.

use crate::{gpkg, shp, Schema, SourceError};
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

enum Source {
    ShapeDir(PathBuf),
    ShapeFile(PathBuf),
    GeoPackage(PathBuf),
    PostGis(crate::postgis::PgParams),
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

    fn get(&self, key: &str) -> Option<&str> {
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

    fn source(&self) -> Result<Source, SourceError> {
        let s = self.source_unchecked()?;
        match &s {
            Source::ShapeDir(p) | Source::ShapeFile(p) | Source::GeoPackage(p) => {
                crate::sandbox::check(p)?
            }
            Source::PostGis(_) => {}
        }
        Ok(s)
    }

    fn source_unchecked(&self) -> Result<Source, SourceError> {
        let dbtype = self.get("dbtype").unwrap_or("").to_lowercase();
        if dbtype == "geopkg" || dbtype == "geopackage" {
            let db = self.get("database").ok_or_else(|| {
                SourceError::Format("GeoPackage store has no 'database' parameter".into())
            })?;
            return Ok(Source::GeoPackage(self.resolve_path(db)));
        }
        if dbtype == "postgis" {
            return Ok(Source::PostGis(crate::postgis::PgParams::from_store(self)?));
        }
        if !dbtype.is_empty() {
            return Err(SourceError::Unsupported(dbtype));
        }
        if let Some(url) = self.get("url") {
            let path = self.resolve_path(url);
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("shp"))
            {
                return Ok(Source::ShapeFile(path));
            }
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gpkg"))
            {
                return Ok(Source::GeoPackage(path));
            }
            if path.is_dir() || url.ends_with('/') {
                return Ok(Source::ShapeDir(path));
            }
            return Err(SourceError::Io(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
        Err(SourceError::Unsupported(
            self.store_type
                .clone()
                .unwrap_or_else(|| "this kind of".into()),
        ))
    }
}

/// The feature type names a store offers.
pub fn list_types(store: &StoreParams) -> Result<Vec<String>, SourceError> {
    match store.source()? {
        Source::ShapeDir(d) => shp::list_dir(&d),
        Source::ShapeFile(f) => {
            if !f.is_file() {
                return Err(SourceError::Io(format!("{}: no such file", f.display())));
            }
            Ok(f.file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
                .into_iter()
                .collect())
        }
        Source::GeoPackage(p) => gpkg::list(&p),
        Source::PostGis(p) => crate::postgis::list(&p),
    }
}

/// Where the features of one type are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// A `.shp` file.
    Shapefile(PathBuf),
    /// A table of a GeoPackage file.
    GeoPackage(PathBuf, String),
    /// A table of a PostGIS database.
    PostGis(crate::postgis::PgParams, String),
}

/// Find the data of one feature type (by native name).
pub fn locate(store: &StoreParams, name: &str) -> Result<Located, SourceError> {
    match store.source()? {
        Source::ShapeDir(d) => shp::find_in_dir(&d, name)
            .map(Located::Shapefile)
            .ok_or_else(|| SourceError::NoSuchType(name.to_string())),
        Source::ShapeFile(f) => {
            if f.file_stem().and_then(|s| s.to_str()) == Some(name) && f.is_file() {
                Ok(Located::Shapefile(f))
            } else {
                Err(SourceError::NoSuchType(name.to_string()))
            }
        }
        Source::GeoPackage(p) => Ok(Located::GeoPackage(p, name.to_string())),
        Source::PostGis(p) => Ok(Located::PostGis(p, name.to_string())),
    }
}

/// The schema of one feature type of a store (by native name).
pub fn describe(store: &StoreParams, name: &str) -> Result<Schema, SourceError> {
    match store.source()? {
        Source::ShapeDir(d) => {
            let f = shp::find_in_dir(&d, name)
                .ok_or_else(|| SourceError::NoSuchType(name.to_string()))?;
            shp::describe(&f)
        }
        Source::ShapeFile(f) => {
            if f.file_stem().and_then(|s| s.to_str()) != Some(name) {
                return Err(SourceError::NoSuchType(name.to_string()));
            }
            shp::describe(&f)
        }
        Source::GeoPackage(p) => gpkg::describe(&p, name),
        Source::PostGis(p) => crate::postgis::describe(&p, name),
    }
}
