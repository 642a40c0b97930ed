//! Writing a map as PNG (a fast deflate: fdeflate's setting in the `png` crate).

use crate::error::RenderError;
use tiny_skia::Pixmap;

/// The map as PNG: RGBA, or RGB when every pixel is opaque (smaller, as GeoServer's opaque
/// maps are).
pub fn png(pixmap: &Pixmap) -> Result<Vec<u8>, RenderError> {
    let opaque = pixmap.pixels().iter().all(|p| p.alpha() == 255);
    let (w, h) = (pixmap.width(), pixmap.height());
    let mut data = Vec::with_capacity((w * h * if opaque { 3 } else { 4 }) as usize);
    for p in pixmap.pixels() {
        let c = p.demultiply();
        data.extend_from_slice(&[c.red(), c.green(), c.blue()]);
        if !opaque {
            data.push(c.alpha());
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(if opaque {
            png::ColorType::Rgb
        } else {
            png::ColorType::Rgba
        });
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc
            .write_header()
            .map_err(|e| RenderError::Encode(e.to_string()))?;
        writer
            .write_image_data(&data)
            .map_err(|e| RenderError::Encode(e.to_string()))?;
    }
    Ok(out)
}
