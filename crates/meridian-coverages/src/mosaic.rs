//! ImageMosaic stores: a shapefile index whose features are the granules' footprints, each
//! naming its file in the location attribute (`mosaic.properties`: `LocationAttribute`,
//! default `location`; `AbsolutePath`, default false). Granules are GeoTIFFs or images with a
//! world file, read as single grids when a map needs them.

use crate::CoverageError;
use std::path::{Component, Path, PathBuf};

/// One granule: its file and its footprint's box in the mosaic's CRS.
#[derive(Debug, Clone)]
pub struct Granule {
    /// The granule's file (inside the mosaic's folder unless the mosaic says paths are
    /// absolute; the filesystem sandbox applies either way).
    pub path: PathBuf,
    /// min x, min y, max x, max y.
    pub bounds: [f64; 4],
}

/// A mosaic's index.
#[derive(Debug, Clone)]
pub struct Mosaic {
    /// The granules.
    pub granules: Vec<Granule>,
    /// The CRS of the index (its `.prj`), when recognised.
    pub epsg: Option<u32>,
}

/// Granules a mosaic may index (a bound on what a damaged or hostile index costs).
const MAX_GRANULES: usize = 1_000_000;

impl Mosaic {
    /// The granules whose footprint meets `bbox` (min x, min y, max x, max y).
    pub fn granules_in(&self, bbox: [f64; 4]) -> impl Iterator<Item = &Granule> {
        self.granules.iter().filter(move |g| {
            g.bounds[0] <= bbox[2]
                && g.bounds[2] >= bbox[0]
                && g.bounds[1] <= bbox[3]
                && g.bounds[3] >= bbox[1]
        })
    }

    /// The whole mosaic's box.
    pub fn bounds(&self) -> Option<[f64; 4]> {
        self.granules.iter().map(|g| g.bounds).reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
    }
}

/// `key=value` lines of a Java properties file (what a mosaic's needs of it).
fn property(text: &str, key: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once(['=', ':']))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
}

/// Read the index of the mosaic whose shapefile (or folder) is `path`.
pub fn read(path: &Path) -> Result<Mosaic, CoverageError> {
    let shp = if path.is_dir() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        path.join(format!("{name}.shp"))
    } else {
        path.to_path_buf()
    };
    let dir = shp
        .parent()
        .ok_or_else(|| CoverageError::format(&shp, "the index has no folder"))?
        .to_path_buf();
    let props = std::fs::read_to_string(shp.with_extension("properties")).unwrap_or_default();
    let attribute = property(&props, "LocationAttribute").unwrap_or_else(|| "location".into());
    let absolute = property(&props, "AbsolutePath").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut reader = shapefile::Reader::from_path(&shp)
        .map_err(|e| CoverageError::format(&shp, format!("the mosaic's index: {e}")))?;
    let mut granules = Vec::new();
    for item in reader.iter_shapes_and_records() {
        let (shape, record) =
            item.map_err(|e| CoverageError::format(&shp, format!("the mosaic's index: {e}")))?;
        let Some(bounds) = shape_bounds(&shape) else {
            continue;
        };
        let location = match record.get(&attribute) {
            Some(shapefile::dbase::FieldValue::Character(Some(s))) => s.trim().to_string(),
            _ => {
                return Err(CoverageError::format(
                    &shp,
                    format!("a granule has no '{attribute}' attribute"),
                ))
            }
        };
        let path = granule_path(&dir, &location, absolute).ok_or_else(|| {
            CoverageError::format(
                &shp,
                format!("granule '{location}' is not a file name inside the mosaic's folder"),
            )
        })?;
        granules.push(Granule { path, bounds });
        if granules.len() > MAX_GRANULES {
            return Err(CoverageError::format(&shp, "too many granules"));
        }
    }
    Ok(Mosaic {
        granules,
        epsg: crate::prj_epsg(&shp),
    })
}

/// A granule's file: a relative path of plain names inside the mosaic's folder, or, when the
/// mosaic says so, an absolute path.
fn granule_path(dir: &Path, location: &str, absolute: bool) -> Option<PathBuf> {
    let p = Path::new(location);
    if location.is_empty() || location.contains('\0') {
        return None;
    }
    if p.is_absolute() {
        let plain = p
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        return (absolute && plain).then(|| p.to_path_buf());
    }
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then(|| dir.join(p))
}

fn shape_bounds(shape: &shapefile::Shape) -> Option<[f64; 4]> {
    use shapefile::Shape;
    let b = match shape {
        Shape::Polygon(p) => p.bbox(),
        Shape::PolygonM(p) => {
            return Some([
                p.bbox().min.x,
                p.bbox().min.y,
                p.bbox().max.x,
                p.bbox().max.y,
            ])
        }
        Shape::PolygonZ(p) => {
            return Some([
                p.bbox().min.x,
                p.bbox().min.y,
                p.bbox().max.x,
                p.bbox().max.y,
            ])
        }
        _ => return None,
    };
    let v = [b.min.x, b.min.y, b.max.x, b.max.y];
    (v.iter().all(|x| x.is_finite()) && v[0] <= v[2] && v[1] <= v[3]).then_some(v)
}

/// A granule's data (kept like every coverage while its file is unchanged): GeoTIFF by its
/// extension, else an image with a world file.
pub fn open_granule(g: &Granule) -> Result<crate::Coverage, CoverageError> {
    let ext = g
        .path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let kind = if ext == "tif" || ext == "tiff" {
        "GeoTIFF"
    } else {
        "WorldImage"
    };
    crate::open_coverage(kind, &g.path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_release_mosaic_indexes_its_granules() {
        let dd = meridian_testkit::fixture_datadir();
        let m = read(&dd.join("coverages/mosaic_sample/mosaic.shp")).unwrap();
        assert_eq!(m.granules.len(), 25);
        assert_eq!(m.epsg, Some(4326));
        let b = m.bounds().unwrap();
        assert!(
            (b[0] - 6.346).abs() < 0.01 && (b[3] - 46.591).abs() < 0.01,
            "{b:?}"
        );
        let g = &m.granules[0];
        assert!(g.path.ends_with("global_mosaic_0.png"), "{:?}", g.path);
        let grids = open_granule(g).unwrap().grids_in(g.bounds, 0.0).unwrap();
        assert_eq!((grids[0].width, grids[0].height), (50, 50));
        assert_eq!(m.granules_in([6.0, 36.0, 7.0, 37.0]).count(), 1);
    }

    #[test]
    fn granules_stay_inside_the_mosaic() {
        let dir = Path::new("/data/mosaic");
        assert_eq!(granule_path(dir, "a.png", false), Some(dir.join("a.png")));
        assert_eq!(
            granule_path(dir, "sub/a.png", false),
            Some(dir.join("sub/a.png"))
        );
        assert_eq!(granule_path(dir, "../a.png", false), None);
        assert_eq!(granule_path(dir, "sub/../../a.png", false), None);
        assert_eq!(granule_path(dir, "/etc/passwd", false), None);
        assert_eq!(
            granule_path(dir, "/srv/g/a.tif", true),
            Some(PathBuf::from("/srv/g/a.tif"))
        );
        assert_eq!(granule_path(dir, "/srv/../etc/passwd", true), None);
        assert_eq!(granule_path(dir, "", false), None);
    }
}
