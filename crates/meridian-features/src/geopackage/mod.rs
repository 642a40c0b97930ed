//! GeoPackage files: feature tables listed in `gpkg_contents`, schemas from the GeoPackage
//! tables, features read through the R-tree for bounding boxes, in key order; written in
//! SQLite transactions ([`write`]).

mod pool;
mod scan;
mod schema;
mod write;

use crate::source::{FeatureSource, FeatureStore, Pushdown, StoreTransaction};
use crate::{Feature, FeatureError};
use geo_types::Rect;
use meridian_sources::Schema;
use std::path::PathBuf;

/// A GeoPackage file.
pub(crate) struct GeoPackageStore(pub(crate) PathBuf);

impl FeatureStore for GeoPackageStore {
    fn type_names(&self) -> Result<Vec<String>, FeatureError> {
        Ok(schema::list(&self.0)?)
    }

    fn source(&self, name: &str) -> Result<Box<dyn FeatureSource>, FeatureError> {
        Ok(Box::new(GeoPackageSource {
            file: self.0.clone(),
            table: name.to_string(),
        }))
    }

    fn begin(&self) -> Result<Box<dyn StoreTransaction>, FeatureError> {
        Ok(Box::new(write::GeoPackageTransaction::begin(&self.0)?))
    }
}

/// One feature table of a GeoPackage.
struct GeoPackageSource {
    file: PathBuf,
    table: String,
}

impl FeatureSource for GeoPackageSource {
    fn schema(&self) -> Result<Schema, FeatureError> {
        Ok(schema::describe(&self.file, &self.table)?)
    }

    fn pushdown(&self) -> Pushdown {
        Pushdown {
            bbox: true,
            count: true,
            ..Pushdown::default()
        }
    }

    fn scan(
        &self,
        bbox: Option<Rect<f64>>,
        id_prefix: &str,
        each: &mut dyn FnMut(Feature) -> bool,
    ) -> Result<(), FeatureError> {
        if !self.file.is_file() {
            return Err(FeatureError::Data(format!(
                "{}: no such GeoPackage",
                self.file.display()
            )));
        }
        scan::scan(&self.file, &self.table, id_prefix, bbox, each)
    }

    fn count_all(&self) -> Result<Option<usize>, FeatureError> {
        if !self.file.is_file() {
            return Ok(None);
        }
        scan::count(&self.file, &self.table).map(Some)
    }
}
