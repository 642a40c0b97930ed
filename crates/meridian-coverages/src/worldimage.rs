//! Images with a world file: TIFF, PNG or JPEG beside a `.tfw`/`.pgw`/`.jgw`/`.wld` (six
//! lines: x size, two rotations, y size, the centre of the top-left pixel) or a `.meta` (the
//! origin and corner longitudes and latitudes GeoServer's sample image carries), and a `.prj`.

use crate::{prj_epsg, CoverageError, Grid};
use std::path::Path;

/// The geotransform of the world file beside `path` (pixel corners), if there is one.
pub(crate) fn world_file(path: &Path) -> Option<[f64; 6]> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let mut candidates = vec!["wld".to_string()];
    if ext.len() >= 2 {
        let b = ext.as_bytes();
        candidates.insert(0, format!("{}{}w", b[0] as char, b[ext.len() - 1] as char));
    }
    candidates.push(format!("{ext}w"));
    for c in candidates {
        let Ok(text) = std::fs::read_to_string(path.with_extension(&c)) else {
            continue;
        };
        let v: Vec<f64> = text
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        if v.len() >= 6 {
            let (a, d, b, e, c0, f0) = (v[0], v[1], v[2], v[3], v[4], v[5]);
            // World files name the centre of the top-left pixel.
            return Some([c0 - a / 2.0 - b / 2.0, a, b, f0 - d / 2.0 - e / 2.0, d, e]);
        }
    }
    None
}

/// Read an image with its world file.
pub fn read(path: &Path) -> Result<Grid, CoverageError> {
    let world = world_file(path);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut grid = match ext.as_str() {
        "tif" | "tiff" => crate::geotiff::read(path)?,
        "png" => png_grid(path)?,
        "jpg" | "jpeg" => jpeg_grid(path)?,
        other => {
            return Err(CoverageError::format(
                path,
                format!("images of type '{other}' are not read"),
            ))
        }
    };
    grid.transform = match world.or_else(|| meta_file(path, grid.width, grid.height)) {
        Some(t) => t,
        None => {
            return Err(CoverageError::format(
                path,
                "no world file (or .meta) beside the image",
            ))
        }
    };
    grid.epsg = grid.epsg.or_else(|| prj_epsg(path));
    Ok(grid)
}

/// The geotransform a `.meta` beside `path` gives an image `w`×`h`: its origin (south-west)
/// and corner (north-east) longitudes and latitudes.
fn meta_file(path: &Path, w: usize, h: usize) -> Option<[f64; 6]> {
    let text = std::fs::read_to_string(path.with_extension("meta")).ok()?;
    let get = |k: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| {
                l.split_once('=')
                    .filter(|(key, _)| key.trim().eq_ignore_ascii_case(k))
            })
            .and_then(|(_, v)| v.trim().parse().ok())
    };
    let (x0, y0) = (get("Origin Longitude")?, get("Origin Latitude")?);
    let (x1, y1) = (get("Corner Longitude")?, get("Corner Latitude")?);
    if w == 0 || h == 0 {
        return None;
    }
    Some([
        x0,
        (x1 - x0) / w as f64,
        0.0,
        y1,
        0.0,
        -(y1 - y0) / h as f64,
    ])
}

fn png_grid(path: &Path) -> Result<Grid, CoverageError> {
    let bytes = std::fs::read(path).map_err(|source| CoverageError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut r = d
        .read_info()
        .map_err(|e| CoverageError::format(path, e.to_string()))?;
    let size = r
        .output_buffer_size()
        .ok_or_else(|| CoverageError::format(path, "image too large"))?;
    let mut buf = vec![0; size];
    let f = r
        .next_frame(&mut buf)
        .map_err(|e| CoverageError::format(path, e.to_string()))?;
    let bands = f.color_type.samples();
    Ok(Grid {
        width: f.width as usize,
        height: f.height as usize,
        bands,
        data: buf[..f.buffer_size()]
            .iter()
            .map(|v| f32::from(*v))
            .collect(),
        transform: [0.0; 6],
        epsg: None,
        nodata: None,
        colour: true,
    })
}

fn jpeg_grid(path: &Path) -> Result<Grid, CoverageError> {
    let bytes = std::fs::read(path).map_err(|source| CoverageError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut d = zune_jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes));
    let pixels = d
        .decode()
        .map_err(|e| CoverageError::format(path, format!("{e:?}")))?;
    let (w, h) = d
        .dimensions()
        .ok_or_else(|| CoverageError::format(path, "no image size"))?;
    let bands = pixels.len().checked_div(w * h).unwrap_or(1);
    Ok(Grid {
        width: w,
        height: h,
        bands,
        data: pixels.into_iter().map(f32::from).collect(),
        transform: [0.0; 6],
        epsg: None,
        nodata: None,
        colour: true,
    })
}
