//! Which backend reads a store, from its connection parameters, and the store opened as a
//! [`FeatureStore`].

use crate::geopackage::GeoPackageStore;
use crate::postgis::{PgParams, PostGisStore};
use crate::shapefile::ShapefileStore;
use crate::source::{FeatureSource, FeatureStore, StoreTransaction};
use crate::FeatureError;
use meridian_sources::{Schema, SourceError, StoreParams};
use std::path::PathBuf;

/// The backend of a store, and where its data is.
enum Backend {
    /// A directory of shapefiles.
    ShapeDir(PathBuf),
    /// One shapefile.
    ShapeFile(PathBuf),
    /// A GeoPackage file.
    GeoPackage(PathBuf),
    /// A PostGIS database.
    PostGis(PgParams),
}

impl Backend {
    /// The backend the parameters name (GeoServer's keys: `dbtype`, `database`, `url`).
    fn of(store: &StoreParams) -> Result<Backend, SourceError> {
        let dbtype = store.get("dbtype").unwrap_or("").to_lowercase();
        if dbtype == "geopkg" || dbtype == "geopackage" {
            let db = store.get("database").ok_or_else(|| {
                SourceError::Format("GeoPackage store has no 'database' parameter".into())
            })?;
            return Ok(Backend::GeoPackage(store.resolve_path(db)));
        }
        if dbtype == "postgis" {
            return Ok(Backend::PostGis(PgParams::from_store(store)?));
        }
        if !dbtype.is_empty() {
            return Err(SourceError::Unsupported(dbtype));
        }
        if let Some(url) = store.get("url") {
            let path = store.resolve_path(url);
            let ext = |e: &str| path.extension().is_some_and(|x| x.eq_ignore_ascii_case(e));
            if ext("shp") {
                return Ok(Backend::ShapeFile(path));
            }
            if ext("gpkg") {
                return Ok(Backend::GeoPackage(path));
            }
            if path.is_dir() || url.ends_with('/') {
                return Ok(Backend::ShapeDir(path));
            }
            return Err(SourceError::Io(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
        Err(SourceError::Unsupported(
            store
                .store_type
                .clone()
                .unwrap_or_else(|| "this kind of".into()),
        ))
    }

    /// The backend, once every file the store names is found inside the filesystem sandbox.
    fn checked(store: &StoreParams) -> Result<Backend, SourceError> {
        for f in store.files() {
            meridian_sources::sandbox::check(&f)?;
        }
        let b = Backend::of(store)?;
        if store.view.is_some() && !matches!(b, Backend::PostGis(_)) {
            return Err(SourceError::Unsupported(
                "SQL views (JDBC_VIRTUAL_TABLE) on a store other than PostGIS".into(),
            ));
        }
        match &b {
            Backend::ShapeDir(p) | Backend::ShapeFile(p) | Backend::GeoPackage(p) => {
                meridian_sources::sandbox::check(p)?
            }
            Backend::PostGis(_) => {}
        }
        Ok(b)
    }
}

/// Whether the store is a database server's: opening it reads no file, and its sources may
/// answer from async code ([`crate::FeatureSource::mvt`]).
pub fn is_database(store: &StoreParams) -> bool {
    store
        .get("dbtype")
        .is_some_and(|t| t.eq_ignore_ascii_case("postgis"))
}

/// Open a store with the backend its parameters name.
pub fn open_store(store: &StoreParams) -> Result<Box<dyn FeatureStore>, FeatureError> {
    Ok(match Backend::checked(store)? {
        Backend::ShapeDir(d) => Box::new(ShapefileStore::Directory(d)),
        Backend::ShapeFile(f) => Box::new(ShapefileStore::File(f)),
        Backend::GeoPackage(p) => Box::new(GeoPackageStore(p)),
        Backend::PostGis(params) => Box::new(PostGisStore {
            params,
            view: store.view.clone(),
        }),
    })
}

/// One feature type of a store, by native name.
pub fn open_source(
    store: &StoreParams,
    name: &str,
) -> Result<Box<dyn FeatureSource>, FeatureError> {
    open_store(store)?.source(name)
}

/// The feature type names a store offers.
pub fn list_types(store: &StoreParams) -> Result<Vec<String>, FeatureError> {
    open_store(store)?.type_names()
}

/// The schema of one feature type of a store (by native name).
pub fn describe(store: &StoreParams, name: &str) -> Result<Schema, FeatureError> {
    open_source(store, name)?.schema()
}

/// Start changing a store's features ([`FeatureError::ReadOnly`] for stores that take no
/// writes).
pub fn begin(store: &StoreParams) -> Result<Box<dyn StoreTransaction>, FeatureError> {
    open_store(store)?.begin()
}
