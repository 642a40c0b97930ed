//! ESRI ASCII grids: a header (`ncols`, `nrows`, `xllcorner`/`xllcenter`,
//! `yllcorner`/`yllcenter`, `cellsize`, `NODATA_value`) and the values row by row from the
//! top; the CRS from the `.prj` beside it.

use crate::{prj_epsg, CoverageError, Grid};
use std::path::Path;

/// The largest grid read (values).
const MAX_CELLS: usize = 64 * 1024 * 1024;

/// Read an ASCII grid.
pub fn read(path: &Path) -> Result<Grid, CoverageError> {
    let text = std::fs::read_to_string(path).map_err(|source| CoverageError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut words = text.split_whitespace().peekable();
    let (mut ncols, mut nrows, mut x, mut y, mut cell, mut nodata) =
        (None, None, None, None, None, None);
    let mut centre = (false, false);
    while let Some(w) = words.peek() {
        if w.parse::<f64>().is_ok() {
            break;
        }
        let key = words.next().unwrap_or("").to_ascii_lowercase();
        let val: f64 = words
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| CoverageError::format(path, format!("header '{key}' has no number")))?;
        match key.as_str() {
            "ncols" => ncols = Some(val as usize),
            "nrows" => nrows = Some(val as usize),
            "xllcorner" => x = Some(val),
            "xllcenter" => {
                x = Some(val);
                centre.0 = true;
            }
            "yllcorner" => y = Some(val),
            "yllcenter" => {
                y = Some(val);
                centre.1 = true;
            }
            "cellsize" => cell = Some(val),
            "nodata_value" => nodata = Some(val),
            other => {
                return Err(CoverageError::format(
                    path,
                    format!("unknown header '{other}'"),
                ))
            }
        }
    }
    let missing = |k: &str| CoverageError::format(path, format!("the header has no {k}"));
    let (w, h) = (
        ncols.ok_or_else(|| missing("ncols"))?,
        nrows.ok_or_else(|| missing("nrows"))?,
    );
    let cell = cell.ok_or_else(|| missing("cellsize"))?;
    if w == 0 || h == 0 || w.saturating_mul(h) > MAX_CELLS || cell.is_nan() || cell <= 0.0 {
        return Err(CoverageError::format(
            path,
            "the grid's size or cell size is not usable",
        ));
    }
    let mut x0 = x.ok_or_else(|| missing("xllcorner"))?;
    let mut y0 = y.ok_or_else(|| missing("yllcorner"))?;
    if centre.0 {
        x0 -= cell / 2.0;
    }
    if centre.1 {
        y0 -= cell / 2.0;
    }
    let data: Vec<f32> = words
        .take(w * h)
        .map(|v| v.parse::<f32>().unwrap_or(f32::NAN))
        .collect();
    if data.len() < w * h {
        return Err(CoverageError::format(
            path,
            "fewer values than ncols × nrows",
        ));
    }
    Ok(Grid {
        width: w,
        height: h,
        bands: 1,
        data,
        transform: [x0, cell, 0.0, y0 + cell * h as f64, 0.0, -cell],
        epsg: prj_epsg(path),
        nodata,
        colour: false,
    })
}
