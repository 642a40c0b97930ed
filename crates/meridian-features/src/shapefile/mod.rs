//! Shapefiles: a directory of them or one file; the schema from the `.shp` header, the
//! `.dbf` fields and the `.prj`; features streamed in file order; edits written as new
//! files renamed over the old ([`write`]).

mod index;
mod scan;
mod schema;
mod write;

pub use schema::dbf_fields;

use crate::source::{FeatureSource, FeatureStore, Pushdown, StoreTransaction};
use crate::{Feature, FeatureError};
use geo_types::Rect;
use meridian_sources::{Schema, SourceError};
use std::path::{Path, PathBuf};

/// A shapefile store.
pub(crate) enum ShapefileStore {
    /// A directory: each `.shp` in it is a feature type.
    Directory(PathBuf),
    /// One `.shp` file: its stem is the one feature type.
    File(PathBuf),
}

/// The type name of a shapefile: its file stem.
fn stem(f: &Path) -> Option<&str> {
    f.file_stem().and_then(|s| s.to_str())
}

impl FeatureStore for ShapefileStore {
    fn type_names(&self) -> Result<Vec<String>, FeatureError> {
        match self {
            ShapefileStore::Directory(d) => Ok(schema::list_dir(d)?),
            ShapefileStore::File(f) => {
                if !f.is_file() {
                    return Err(SourceError::Io(format!("{}: no such file", f.display())).into());
                }
                Ok(stem(f).map(str::to_string).into_iter().collect())
            }
        }
    }

    fn source(&self, name: &str) -> Result<Box<dyn FeatureSource>, FeatureError> {
        let file = match self {
            ShapefileStore::Directory(d) => schema::find_in_dir(d, name),
            ShapefileStore::File(f) => (stem(f) == Some(name)).then(|| f.clone()),
        };
        match file {
            Some(f) => Ok(Box::new(ShapefileSource(f))),
            None => Err(SourceError::NoSuchType(name.to_string()).into()),
        }
    }

    fn begin(&self) -> Result<Box<dyn StoreTransaction>, FeatureError> {
        let locate: write::Locate = match self {
            ShapefileStore::Directory(d) => {
                let d = d.clone();
                Box::new(move |name| schema::find_in_dir(&d, name))
            }
            ShapefileStore::File(f) => {
                let f = f.clone();
                Box::new(move |name| (stem(&f) == Some(name)).then(|| f.clone()))
            }
        };
        Ok(Box::new(write::ShapefileTransaction::new(locate)))
    }
}

/// One shapefile.
struct ShapefileSource(PathBuf);

impl FeatureSource for ShapefileSource {
    fn schema(&self) -> Result<Schema, FeatureError> {
        Ok(schema::describe(&self.0)?)
    }

    fn pushdown(&self) -> Pushdown {
        // The .shx gives the count; the boxes of the records, indexed on first use, pick
        // what a box may meet.
        Pushdown {
            count: true,
            bbox: true,
            ..Pushdown::default()
        }
    }

    fn scan(
        &self,
        bbox: Option<Rect<f64>>,
        id_prefix: &str,
        each: &mut dyn FnMut(Feature) -> bool,
    ) -> Result<(), FeatureError> {
        if !self.0.is_file() {
            return Err(SourceError::NoSuchType(stem(&self.0).unwrap_or("").to_string()).into());
        }
        scan::scan_box(&self.0, id_prefix, bbox, true, each)
    }

    fn scan_geometries(
        &self,
        bbox: Option<Rect<f64>>,
        id_prefix: &str,
        each: &mut dyn FnMut(Feature) -> bool,
    ) -> Result<(), FeatureError> {
        if !self.0.is_file() {
            return Err(SourceError::NoSuchType(stem(&self.0).unwrap_or("").to_string()).into());
        }
        scan::scan_box(&self.0, id_prefix, bbox, false, each)
    }

    fn count_all(&self) -> Result<Option<usize>, FeatureError> {
        Ok(scan::count(&self.0))
    }
}
