//! GeoTIFF: any sample type the `tiff` crate decodes (striped or tiled; none, LZW, Deflate,
//! PackBits), georeferenced by its model tie point and pixel scale (or model transformation),
//! its CRS from the GeoKey directory, else a world file and `.prj` beside it. Small files are
//! read whole; a large one is read by window ([`read_window`]): from the overview (a reduced
//! resolution image of the file) nearest the map's resolution, only the strips or tiles the
//! window meets, keeping every k-th pixel when even the overview is finer than the map.

use crate::{prj_epsg, CoverageError, Grid};
use std::path::{Path, PathBuf};
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

/// One image of the file: the full resolution first, then its overviews.
#[derive(Debug, Clone, Copy)]
pub struct Level {
    /// The image's index in the file.
    pub ifd: usize,
    /// Pixels across and down.
    pub width: usize,
    /// Pixels down.
    pub height: usize,
}

/// What a GeoTIFF holds, read from its headers only.
#[derive(Debug, Clone)]
pub struct TiffInfo {
    /// The file.
    pub path: PathBuf,
    /// The full image, then the overviews, largest first.
    pub levels: Vec<Level>,
    /// Values per pixel.
    pub bands: usize,
    /// The full image's geotransform (see [`Grid::transform`]).
    pub transform: [f64; 6],
    /// The CRS, when the file says.
    pub epsg: Option<u32>,
    /// The no-data value.
    pub nodata: Option<f64>,
    /// 8-bit samples: an image's colours.
    pub colour: bool,
    /// Bands interleaved in each pixel (windows are read only from such files).
    pub chunky: bool,
}

impl TiffInfo {
    /// Values in the full image.
    pub fn samples(&self) -> usize {
        self.levels.first().map_or(0, |l| {
            l.width.saturating_mul(l.height).saturating_mul(self.bands)
        })
    }

    /// The full image's box: min x, min y, max x, max y.
    pub fn bounds(&self) -> [f64; 4] {
        let l = self.levels.first().copied().unwrap_or(Level {
            ifd: 0,
            width: 0,
            height: 0,
        });
        Grid {
            width: l.width,
            height: l.height,
            bands: 0,
            data: Vec::new(),
            transform: self.transform,
            epsg: None,
            nodata: None,
            colour: false,
        }
        .bounds()
    }
}

/// Overviews a file may list (a bound on a hostile file).
const MAX_LEVELS: usize = 32;

/// A window's values at most (256 MB of samples): windows follow the map's size, so only a
/// map far beyond maxRequestMemory could ask for more.
const MAX_WINDOW_SAMPLES: usize = 64 << 20;

fn bands_of(path: &Path, c: tiff::ColorType) -> Result<usize, CoverageError> {
    match c {
        tiff::ColorType::Gray(_) => Ok(1),
        tiff::ColorType::GrayA(_) => Ok(2),
        tiff::ColorType::RGB(_) => Ok(3),
        tiff::ColorType::RGBA(_) => Ok(4),
        other => Err(CoverageError::format(
            path,
            format!("samples of {other:?} are not read"),
        )),
    }
}

/// A decoder on the file at `path`, with the `tiff` crate's default limits.
fn decoder(path: &Path) -> Result<Decoder<std::io::BufReader<std::fs::File>>, CoverageError> {
    let file = std::fs::File::open(path).map_err(|source| CoverageError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Decoder::new(std::io::BufReader::new(file))
        .map(|d| d.with_limits(Limits::default()))
        .map_err(|e| CoverageError::format(path, e.to_string()))
}

/// Read a GeoTIFF's headers: its images (full and overviews), bands and georeferencing.
pub fn info(path: &Path) -> Result<TiffInfo, CoverageError> {
    let err = |e: tiff::TiffError| CoverageError::format(path, e.to_string());
    let mut d = decoder(path)?;
    let (w, h) = d.dimensions().map_err(err)?;
    let colour_type = d.colortype().map_err(err)?;
    let bands = bands_of(path, colour_type)?;
    let colour = matches!(
        colour_type,
        tiff::ColorType::Gray(8)
            | tiff::ColorType::GrayA(8)
            | tiff::ColorType::RGB(8)
            | tiff::ColorType::RGBA(8)
    ) && d
        .find_tag_unsigned::<u16>(Tag::SampleFormat)
        .ok()
        .flatten()
        .is_none_or(|f| f == 1);
    let chunky = d
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .ok()
        .flatten()
        .is_none_or(|p| p == 1)
        || bands == 1;
    let (transform, epsg, nodata) = georeference(path, &mut d)?;
    let mut levels = vec![Level {
        ifd: 0,
        width: w as usize,
        height: h as usize,
    }];
    let mut ifd = 0;
    while d.more_images() && levels.len() < MAX_LEVELS {
        if d.next_image().is_err() {
            break;
        }
        ifd += 1;
        // NewSubfileType: bit 0 a reduced resolution image, bit 2 a transparency mask.
        let kind = d
            .find_tag_unsigned::<u32>(Tag::NewSubfileType)
            .ok()
            .flatten()
            .unwrap_or(0);
        let same_bands = d.colortype().ok().is_some_and(|c| c == colour_type);
        if kind & 1 == 1 && kind & 4 == 0 && same_bands {
            if let Ok((lw, lh)) = d.dimensions() {
                let last = levels[levels.len() - 1];
                if (lw as usize) < last.width && lw > 0 && lh > 0 {
                    levels.push(Level {
                        ifd,
                        width: lw as usize,
                        height: lh as usize,
                    });
                }
            }
        }
    }
    Ok(TiffInfo {
        path: path.to_path_buf(),
        levels,
        bands,
        transform,
        epsg,
        nodata,
        colour,
        chunky,
    })
}

/// One sample of a decoded chunk as a number.
fn sample(d: &DecodingResult, i: usize) -> Option<f32> {
    Some(match d {
        DecodingResult::U8(v) => f32::from(*v.get(i)?),
        DecodingResult::U16(v) => f32::from(*v.get(i)?),
        DecodingResult::U32(v) => *v.get(i)? as f32,
        DecodingResult::U64(v) => *v.get(i)? as f32,
        DecodingResult::I8(v) => f32::from(*v.get(i)?),
        DecodingResult::I16(v) => f32::from(*v.get(i)?),
        DecodingResult::I32(v) => *v.get(i)? as f32,
        DecodingResult::I64(v) => *v.get(i)? as f32,
        DecodingResult::F16(v) => f32::from(*v.get(i)?),
        DecodingResult::F32(v) => *v.get(i)?,
        DecodingResult::F64(v) => *v.get(i)? as f32,
    })
}

/// The part of the file covering `bbox` (in its CRS) for a map whose pixels are
/// `resolution` units wide: from the coarsest image at least that fine, every k-th pixel
/// when it is still much finer. `None` when the box misses the image.
pub fn read_window(
    info: &TiffInfo,
    bbox: [f64; 4],
    resolution: f64,
) -> Result<Option<Grid>, CoverageError> {
    let path = &info.path;
    if !info.chunky {
        return Err(CoverageError::format(
            path,
            "bands stored plane by plane are read only from small files",
        ));
    }
    let full = info.levels[0];
    let t = info.transform;
    let full_res = t[1].hypot(t[4]).max(t[2].hypot(t[5]));
    if !(full_res > 0.0 && full_res.is_finite()) {
        return Err(CoverageError::format(
            path,
            "the pixel size is not a number",
        ));
    }
    let res_of = |l: &Level| full_res * full.width as f64 / l.width.max(1) as f64;
    let level = info
        .levels
        .iter()
        .copied()
        .rev()
        .find(|l| res_of(l) <= resolution * 1.001 || l.ifd == full.ifd)
        .unwrap_or(full);
    let (sx, sy) = (
        full.width as f64 / level.width as f64,
        full.height as f64 / level.height as f64,
    );
    let lt = [t[0], t[1] * sx, t[2] * sy, t[3], t[4] * sx, t[5] * sy];
    let probe = Grid {
        width: level.width,
        height: level.height,
        bands: 0,
        data: Vec::new(),
        transform: lt,
        epsg: None,
        nodata: None,
        colour: false,
    };
    // The window: the box's corners in the level's pixels, a pixel of margin.
    let mut cols = (f64::INFINITY, f64::NEG_INFINITY);
    let mut rows = (f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in [
        (bbox[0], bbox[1]),
        (bbox[0], bbox[3]),
        (bbox[2], bbox[1]),
        (bbox[2], bbox[3]),
    ] {
        let Some((c, r)) = probe.pixel_of(x, y) else {
            return Ok(None);
        };
        cols = (cols.0.min(c), cols.1.max(c));
        rows = (rows.0.min(r), rows.1.max(r));
    }
    let clamp = |v: f64, hi: usize| -> usize { v.clamp(0.0, hi as f64) as usize };
    let (c0, c1) = (
        clamp(cols.0.floor() - 1.0, level.width),
        clamp(cols.1.ceil() + 1.0, level.width),
    );
    let (r0, r1) = (
        clamp(rows.0.floor() - 1.0, level.height),
        clamp(rows.1.ceil() + 1.0, level.height),
    );
    if c0 >= c1 || r0 >= r1 {
        return Ok(None);
    }
    let k = ((resolution / res_of(&level)).floor() as usize).clamp(1, 1 << 16);
    let (ow, oh) = ((c1 - c0).div_ceil(k), (r1 - r0).div_ceil(k));
    let bands = info.bands;
    if ow.saturating_mul(oh).saturating_mul(bands) > MAX_WINDOW_SAMPLES {
        return Err(CoverageError::format(
            path,
            "the map needs more of this coverage than a request may hold: ask for a smaller image",
        ));
    }
    let err = |e: tiff::TiffError| CoverageError::format(path, e.to_string());
    let mut d = decoder(path)?;
    d.seek_to_image(level.ifd).map_err(err)?;
    let (tw, th, count) = match d.get_chunk_type() {
        tiff::decoder::ChunkType::Tile => {
            let tw = d.get_tag_u32(Tag::TileWidth).map_err(err)? as usize;
            let th = d.get_tag_u32(Tag::TileLength).map_err(err)? as usize;
            (tw, th, d.tile_count().map_err(err)? as usize)
        }
        tiff::decoder::ChunkType::Strip => {
            let rps = d
                .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
                .ok()
                .flatten()
                .map_or(level.height, |r| (r as usize).min(level.height));
            (level.width, rps, d.strip_count().map_err(err)? as usize)
        }
    };
    if tw == 0 || th == 0 {
        return Err(CoverageError::format(path, "chunks of no size"));
    }
    let across = level.width.div_ceil(tw);
    let mut data = vec![f32::NAN; ow * oh * bands];
    for cy in r0 / th..=(r1 - 1) / th {
        for cx in c0 / tw..=(c1 - 1) / tw {
            let index = cy * across + cx;
            if index >= count {
                continue;
            }
            let chunk = d.read_chunk(index as u32).map_err(err)?;
            // The chunk's own pixels (edge chunks may be cut).
            let (x0, y0) = (cx * tw, cy * th);
            let (cw, ch) = (tw.min(level.width - x0), th.min(level.height - y0));
            let row_lo = r0.max(y0);
            let row_hi = r1.min(y0 + ch);
            let col_lo = c0.max(x0);
            let col_hi = c1.min(x0 + cw);
            // Source rows and columns kept: r0, r0 + k, ...
            let first = |lo: usize, start: usize| start + (lo - start).div_ceil(k) * k;
            let mut row = first(row_lo, r0);
            while row < row_hi {
                let oy = (row - r0) / k;
                let mut col = first(col_lo, c0);
                while col < col_hi {
                    let ox = (col - c0) / k;
                    // Chunks come decoded without their padding: rows of `cw` pixels.
                    let src = ((row - y0) * cw + (col - x0)) * bands;
                    let dst = (oy * ow + ox) * bands;
                    for b in 0..bands {
                        if let Some(v) = sample(&chunk, src + b) {
                            data[dst + b] = v;
                        }
                    }
                    col += k;
                }
                row += k;
            }
        }
    }
    let kx = k as f64;
    let origin_x = lt[0] + c0 as f64 * lt[1] + r0 as f64 * lt[2];
    let origin_y = lt[3] + c0 as f64 * lt[4] + r0 as f64 * lt[5];
    Ok(Some(Grid {
        width: ow,
        height: oh,
        bands,
        data,
        transform: [
            origin_x,
            lt[1] * kx,
            lt[2] * kx,
            origin_y,
            lt[4] * kx,
            lt[5] * kx,
        ],
        epsg: info.epsg,
        nodata: info.nodata,
        colour: info.colour,
    }))
}

/// Read a GeoTIFF's first image whole.
pub fn read(path: &Path) -> Result<Grid, CoverageError> {
    let err = |e: tiff::TiffError| CoverageError::format(path, e.to_string());
    let mut d = decoder(path)?;
    let (w, h) = d.dimensions().map_err(err)?;
    let (width, height) = (w as usize, h as usize);
    let bands = bands_of(path, d.colortype().map_err(err)?)?;
    let (transform, epsg, nodata) = georeference(path, &mut d)?;
    let decoded = d.read_image().map_err(err)?;
    let colour = matches!(decoded, DecodingResult::U8(_));
    let data: Vec<f32> = match decoded {
        DecodingResult::U8(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::U16(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::U32(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::U64(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::I8(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::I16(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::I32(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::I64(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::F16(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::F32(v) => v,
        DecodingResult::F64(v) => v.into_iter().map(|x| x as f32).collect(),
    };
    if data.len() < width * height * bands {
        return Err(CoverageError::format(
            path,
            "fewer samples than the image's size says",
        ));
    }
    Ok(Grid {
        width,
        height,
        bands,
        data,
        transform,
        epsg,
        nodata,
        colour,
    })
}

/// Where an image lies: its geotransform, CRS and no-data value.
type Georef = ([f64; 6], Option<u32>, Option<f64>);

/// The geotransform, CRS and no-data value of the decoder's current image.
fn georeference<R: std::io::Read + std::io::Seek>(
    path: &Path,
    d: &mut Decoder<R>,
) -> Result<Georef, CoverageError> {
    let scale = d.get_tag_f64_vec(Tag::ModelPixelScaleTag).ok();
    let tie = d.get_tag_f64_vec(Tag::ModelTiepointTag).ok();
    let model = d.get_tag_f64_vec(Tag::ModelTransformationTag).ok();
    let keys = d.get_tag_u16_vec(Tag::GeoKeyDirectoryTag).ok();
    let nodata = d
        .get_tag_ascii_string(Tag::GdalNodata)
        .ok()
        .and_then(|s| s.trim_matches(char::from(0)).trim().parse::<f64>().ok());
    let transform = match (scale, tie, model) {
        (Some(s), Some(t), _) if s.len() >= 2 && t.len() >= 6 => {
            // The tie point maps raster (i, j) to model (x, y).
            let (i, j, x, y) = (t[0], t[1], t[3], t[4]);
            [x - i * s[0], s[0], 0.0, y + j * s[1], 0.0, -s[1]]
        }
        (_, _, Some(m)) if m.len() >= 8 => [m[3], m[0], m[1], m[7], m[4], m[5]],
        _ => crate::worldimage::world_file(path).ok_or_else(|| {
            CoverageError::format(path, "no georeferencing (GeoTIFF tags or a world file)")
        })?,
    };
    let epsg = keys
        .as_deref()
        .and_then(epsg_of_keys)
        .or_else(|| prj_epsg(path));
    Ok((transform, epsg, nodata))
}

/// The EPSG code the GeoKey directory names (projected, else geographic).
fn epsg_of_keys(k: &[u16]) -> Option<u32> {
    if k.len() < 4 {
        return None;
    }
    let n = usize::from(k[3]);
    let mut projected = None;
    let mut geographic = None;
    for e in k[4..].chunks_exact(4).take(n) {
        let (id, location, value) = (e[0], e[1], e[3]);
        // Inline SHORT values only (location 0); 32767 is "user defined".
        if location != 0 || value == 32767 || value == 0 {
            continue;
        }
        match id {
            3072 => projected = Some(u32::from(value)),
            2048 => geographic = Some(u32::from(value)),
            _ => {}
        }
    }
    projected.or(geographic)
}
