//! Coverages: gridded data read whole into memory from the files a coverage store names —
//! GeoTIFF ([`geotiff`]), images with a world file ([`worldimage`]) and ESRI ASCII grids
//! ([`arcgrid`]) — with the affine transform from pixels to the grid's CRS, and mosaics of
//! such files ([`mosaic`]). Grids and mosaic indexes are kept while their file is unchanged.

pub mod arcgrid;
pub mod geotiff;
pub mod mosaic;
pub mod worldimage;

pub use mosaic::{Granule, Mosaic};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Why a coverage could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not of its format, or holds what Meridian does not read.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The store's type is not one Meridian reads.
    #[error("coverage stores of type '{0}' are not read (GeoTIFF, WorldImage, ArcGrid and ImageMosaic are)")]
    Unsupported(String),
    /// Outside the filesystem sandbox.
    #[error(transparent)]
    Source(#[from] meridian_sources::SourceError),
}

impl CoverageError {
    pub(crate) fn format(path: &Path, reason: impl Into<String>) -> CoverageError {
        CoverageError::Format {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }
}

/// A grid in memory: `bands` values per pixel, row by row from the top.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Pixels across.
    pub width: usize,
    /// Pixels down.
    pub height: usize,
    /// Values per pixel.
    pub bands: usize,
    /// `width × height × bands` values, pixel-interleaved.
    pub data: Vec<f32>,
    /// GDAL's geotransform: x = t0 + col·t1 + row·t2, y = t3 + col·t4 + row·t5 (pixel corners).
    pub transform: [f64; 6],
    /// The CRS (EPSG), when the file says.
    pub epsg: Option<u32>,
    /// The value that means no data.
    pub nodata: Option<f64>,
    /// Whether values are 8-bit colours (images) rather than measurements.
    pub colour: bool,
}

impl Grid {
    /// The value of band `b` at pixel `(col, row)`.
    pub fn value(&self, col: usize, row: usize, b: usize) -> Option<f32> {
        if col >= self.width || row >= self.height || b >= self.bands {
            return None;
        }
        self.data
            .get((row * self.width + col) * self.bands + b)
            .copied()
    }

    /// Whether `v` is the no-data value (or not a number).
    pub fn is_nodata(&self, v: f32) -> bool {
        v.is_nan()
            || self
                .nodata
                .is_some_and(|n| (f64::from(v) - n).abs() <= n.abs() * 1e-6)
    }

    /// The pixel (fractional column, row) of a point in the grid's CRS.
    pub fn pixel_of(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let [a, b, c, d, e, f] = self.transform;
        let det = b * f - c * e;
        if det.abs() < f64::EPSILON * (b.abs() * f.abs()).max(1e-300) {
            return None;
        }
        let (dx, dy) = (x - a, y - d);
        Some(((f * dx - c * dy) / det, (b * dy - e * dx) / det))
    }

    /// The grid's box in its CRS: min x, min y, max x, max y.
    pub fn bounds(&self) -> [f64; 4] {
        let [a, b, c, d, e, f] = self.transform;
        let (w, h) = (self.width as f64, self.height as f64);
        let xs = [a, a + w * b, a + h * c, a + w * b + h * c];
        let ys = [d, d + w * e, d + h * f, d + w * e + h * f];
        let min = |v: &[f64; 4]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = |v: &[f64; 4]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        [min(&xs), min(&ys), max(&xs), max(&ys)]
    }
}

type Key = (PathBuf, Option<SystemTime>, u64);

/// What was read from files, by file and its modification, at most `max` of them (the oldest
/// read first goes); a file changed since is read again.
struct Kept<T> {
    entries: Mutex<Vec<(Key, Arc<T>)>>,
    max: usize,
}

impl<T> Kept<T> {
    const fn new(max: usize) -> Kept<T> {
        Kept {
            entries: Mutex::new(Vec::new()),
            max,
        }
    }

    /// What `read` makes of `path`, kept while the file is unchanged.
    fn get_or_read(
        &self,
        path: &Path,
        read: impl FnOnce() -> Result<T, CoverageError>,
    ) -> Result<Arc<T>, CoverageError> {
        let meta = std::fs::metadata(path).map_err(|source| CoverageError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let key = (path.to_path_buf(), meta.modified().ok(), meta.len());
        let lock = || match self.entries.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if let Some((_, v)) = lock().iter().find(|(k, _)| *k == key) {
            return Ok(v.clone());
        }
        let v = Arc::new(read()?);
        let mut c = lock();
        c.retain(|(k, _)| k.0 != key.0);
        if c.len() >= self.max {
            c.remove(0);
        }
        c.push((key, v.clone()));
        Ok(v)
    }
}

/// Grids read whole.
static GRIDS: Kept<Grid> = Kept::new(32);
/// GeoTIFF headers.
static TIFF_INFOS: Kept<geotiff::TiffInfo> = Kept::new(64);
/// Mosaic indexes.
static MOSAICS: Kept<Mosaic> = Kept::new(8);

/// Read the grid of a coverage store of `store_type` at `path` (kept while the file is
/// unchanged). The filesystem sandbox applies.
pub fn open(store_type: &str, path: &Path) -> Result<Arc<Grid>, CoverageError> {
    meridian_sources::sandbox::check(path)?;
    GRIDS.get_or_read(path, || match store_type.to_ascii_lowercase().as_str() {
        "geotiff" => geotiff::read(path),
        "worldimage" => worldimage::read(path),
        "arcgrid" => arcgrid::read(path),
        _ => Err(CoverageError::Unsupported(store_type.to_string())),
    })
}

/// A coverage store's data: one grid, a large GeoTIFF read by window, or a mosaic.
#[derive(Debug, Clone)]
pub enum Coverage {
    /// A single file, read whole (kept while unchanged).
    Grid(Arc<Grid>),
    /// A GeoTIFF too large to read whole: its headers; windows are read per map.
    Tiff(Arc<geotiff::TiffInfo>),
    /// An ImageMosaic's index (granules read when needed).
    Mosaic(Arc<Mosaic>),
}

/// GeoTIFFs of at most this many values are read whole and kept; larger ones by window.
pub const WHOLE_MAX_SAMPLES: usize = 1 << 22;

impl Coverage {
    /// The CRS the data says it is in.
    pub fn epsg(&self) -> Option<u32> {
        match self {
            Coverage::Grid(g) => g.epsg,
            Coverage::Tiff(t) => t.epsg,
            Coverage::Mosaic(m) => m.epsg,
        }
    }

    /// The data's box in its CRS.
    pub fn bounds(&self) -> Option<[f64; 4]> {
        match self {
            Coverage::Grid(g) => Some(g.bounds()),
            Coverage::Tiff(t) => Some(t.bounds()),
            Coverage::Mosaic(m) => m.bounds(),
        }
    }

    /// The grids with data in `bbox` (in the coverage's CRS) for a map whose pixels are
    /// `resolution` units wide (0: the finest): the grid, the window of a large GeoTIFF at
    /// the overview nearest that resolution, or the granules whose footprint meets the box.
    pub fn grids_in(
        &self,
        bbox: [f64; 4],
        resolution: f64,
    ) -> Result<Vec<Arc<Grid>>, CoverageError> {
        match self {
            Coverage::Grid(g) => Ok(vec![g.clone()]),
            Coverage::Tiff(t) => Ok(geotiff::read_window(t, bbox, resolution)?
                .map(Arc::new)
                .into_iter()
                .collect()),
            Coverage::Mosaic(m) => {
                let mut out = Vec::new();
                for g in m.granules_in(bbox) {
                    out.extend(mosaic::open_granule(g)?.grids_in(bbox, resolution)?);
                }
                Ok(out)
            }
        }
    }
}

/// Read a coverage store of `store_type` at `path`: a single grid, or an ImageMosaic's index.
pub fn open_coverage(store_type: &str, path: &Path) -> Result<Coverage, CoverageError> {
    if store_type.eq_ignore_ascii_case("geotiff") {
        meridian_sources::sandbox::check(path)?;
        let info = TIFF_INFOS.get_or_read(path, || geotiff::info(path))?;
        if info.samples() > WHOLE_MAX_SAMPLES {
            return Ok(Coverage::Tiff(info));
        }
        return open(store_type, path).map(Coverage::Grid);
    }
    if !store_type.eq_ignore_ascii_case("imagemosaic") {
        return open(store_type, path).map(Coverage::Grid);
    }
    meridian_sources::sandbox::check(path)?;
    let m = MOSAICS.get_or_read(path, || {
        let m = mosaic::read(path)?;
        for g in &m.granules {
            meridian_sources::sandbox::check(&g.path)?;
        }
        Ok(m)
    })?;
    Ok(Coverage::Mosaic(m))
}

/// The CRS of a `.prj` beside `path`, when there is one Meridian recognises.
pub(crate) fn prj_epsg(path: &Path) -> Option<u32> {
    let wkt = std::fs::read_to_string(path.with_extension("prj")).ok()?;
    meridian_sources::epsg_from_wkt(&wkt)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_release_coverages_read_with_their_georeferencing() {
        let dd = meridian_testkit::fixture_datadir();
        let dem = open("GeoTIFF", &dd.join("data/sf/sfdem.tif")).unwrap();
        assert_eq!((dem.width, dem.height, dem.bands), (634, 477, 1));
        assert_eq!(dem.epsg, Some(26713));
        assert_eq!(dem.bounds(), [589980.0, 4913700.0, 609000.0, 4928010.0]);
        assert!(dem.nodata.is_some_and(|n| n < -1e36));
        let v = dem.value(300, 200, 0).unwrap();
        assert!((1000.0..2000.0).contains(&v), "{v}");
        let (c, r) = dem
            .pixel_of(589980.0 + 30.0 * 10.5, 4928010.0 - 30.0 * 20.5)
            .unwrap();
        assert!((c - 10.5).abs() < 1e-9 && (r - 20.5).abs() < 1e-9);
        let grid = open("ArcGrid", &dd.join("coverages/arc_sample/precip30min.asc")).unwrap();
        assert_eq!((grid.width, grid.height), (720, 360));
        assert_eq!(grid.epsg, Some(4326));
        let img = open("WorldImage", &dd.join("coverages/img_sample/usa.jpeg")).unwrap();
        assert!(img.colour && img.bands == 3, "{} bands", img.bands);
        let tif = open("WorldImage", &dd.join("coverages/img_sample/Pk50095.tif")).unwrap();
        assert!(tif.width > 0 && tif.epsg.is_some(), "{:?}", tif.epsg);
        assert!(matches!(
            open(
                "ImageMosaic",
                &dd.join("coverages/mosaic_sample/mosaic.shp")
            ),
            Err(CoverageError::Unsupported(_))
        ));
    }

    #[test]
    fn a_damaged_grid_is_an_error_not_a_panic() {
        let dir = std::env::temp_dir().join(format!("meridian-cov-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, body) in [
            ("a.asc", "ncols 10\nnrows 10\ncellsize 0\n"),
            ("b.asc", "ncols x\n"),
            (
                "c.asc",
                "ncols 4\nnrows 4\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2 3\n",
            ),
        ] {
            std::fs::write(dir.join(name), body).unwrap();
            assert!(open("ArcGrid", &dir.join(name)).is_err(), "{name}");
        }
        std::fs::write(dir.join("d.tif"), b"II*\0garbage").unwrap();
        assert!(open("GeoTIFF", &dir.join("d.tif")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
