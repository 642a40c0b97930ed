//! GeoTIFF: any sample type the `tiff` crate decodes (striped or tiled; none, LZW, Deflate,
//! PackBits), georeferenced by its model tie point and pixel scale (or model transformation),
//! its CRS from the GeoKey directory, else a world file and `.prj` beside it.

use crate::{prj_epsg, CoverageError, Grid};
use std::path::Path;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

/// Read a GeoTIFF's first image.
pub fn read(path: &Path) -> Result<Grid, CoverageError> {
    let file = std::fs::File::open(path).map_err(|source| CoverageError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let err = |e: tiff::TiffError| CoverageError::format(path, e.to_string());
    let mut d = Decoder::new(std::io::BufReader::new(file))
        .map_err(err)?
        .with_limits(Limits::default());
    let (w, h) = d.dimensions().map_err(err)?;
    let (width, height) = (w as usize, h as usize);
    let colour_type = d.colortype().map_err(err)?;
    let bands = match colour_type {
        tiff::ColorType::Gray(_) => 1,
        tiff::ColorType::GrayA(_) => 2,
        tiff::ColorType::RGB(_) => 3,
        tiff::ColorType::RGBA(_) => 4,
        other => {
            return Err(CoverageError::format(
                path,
                format!("samples of {other:?} are not read"),
            ))
        }
    };
    let scale = d.get_tag_f64_vec(Tag::ModelPixelScaleTag).ok();
    let tie = d.get_tag_f64_vec(Tag::ModelTiepointTag).ok();
    let model = d.get_tag_f64_vec(Tag::ModelTransformationTag).ok();
    let keys = d.get_tag_u16_vec(Tag::GeoKeyDirectoryTag).ok();
    let nodata = d
        .get_tag_ascii_string(Tag::GdalNodata)
        .ok()
        .and_then(|s| s.trim_matches(char::from(0)).trim().parse::<f64>().ok());
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
