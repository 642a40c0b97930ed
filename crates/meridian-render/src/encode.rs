//! Writing a map as PNG (a fast deflate: fdeflate's setting in the `png` crate).

use crate::error::RenderError;
use tiny_skia::Pixmap;

/// The map as PNG: RGBA, or RGB when every pixel is opaque (smaller, as GeoServer's opaque
/// maps are).
pub fn png(pixmap: &Pixmap) -> Result<Vec<u8>, RenderError> {
    let raw = pixmap.data();
    // Without an early exit the test vectorises; most maps are opaque and read it all anyway.
    let opaque = raw.chunks_exact(4).fold(255u8, |a, p| a & p[3]) == 255;
    let (w, h) = (pixmap.width(), pixmap.height());
    let err = |e: png::EncodingError| RenderError::Encode(e.to_string());
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
        let mut writer = enc.write_header().map_err(err)?;
        let mut stream = writer.stream_writer().map_err(err)?;
        // Row by row: no second copy of the image.
        let mut row = Vec::with_capacity(w as usize * 4);
        for line in raw.chunks_exact(w as usize * 4) {
            row.clear();
            if opaque {
                // Opaque premultiplied colour is the colour itself.
                row.resize(w as usize * 3, 0);
                for (o, p) in row.chunks_exact_mut(3).zip(line.chunks_exact(4)) {
                    o.copy_from_slice(&p[..3]);
                }
            } else {
                for p in line.chunks_exact(4) {
                    // Opaque and empty pixels (most of a map) need no division.
                    match p[3] {
                        255 => row.extend_from_slice(p),
                        0 => row.extend_from_slice(&[0, 0, 0, 0]),
                        _ => {
                            let c =
                                tiny_skia::PremultipliedColorU8::from_rgba(p[0], p[1], p[2], p[3])
                                    .map(|c| c.demultiply())
                                    .unwrap_or(tiny_skia::ColorU8::from_rgba(0, 0, 0, 0));
                            row.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
                        }
                    }
                }
            }
            std::io::Write::write_all(&mut stream, &row)
                .map_err(|e| RenderError::Encode(e.to_string()))?;
        }
        stream.finish().map_err(err)?;
    }
    Ok(out)
}

/// The map as an 8-bit paletted PNG (`image/png8`): its own colours when it has at most 256,
/// else a palette of 256 made by NeuQuant; transparency in a `tRNS` chunk.
pub fn png8(pixmap: &Pixmap) -> Result<Vec<u8>, RenderError> {
    let (w, h) = (pixmap.width(), pixmap.height());
    let rgba: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    // Exact when the map has few colours (most vector maps without antialiasing do).
    let mut exact: std::collections::HashMap<[u8; 4], u8> = std::collections::HashMap::new();
    let mut palette: Vec<[u8; 4]> = Vec::new();
    let mut fits = true;
    for px in rgba.chunks_exact(4) {
        let k = [px[0], px[1], px[2], px[3]];
        if let std::collections::hash_map::Entry::Vacant(slot) = exact.entry(k) {
            if palette.len() == 256 {
                fits = false;
                break;
            }
            slot.insert(palette.len() as u8);
            palette.push(k);
        }
    }
    let indices: Vec<u8> = if fits {
        rgba.chunks_exact(4)
            .map(|px| {
                exact
                    .get(&[px[0], px[1], px[2], px[3]])
                    .copied()
                    .unwrap_or(0)
            })
            .collect()
    } else {
        let nq = color_quant::NeuQuant::new(10, 256, &rgba);
        palette = nq
            .color_map_rgba()
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect();
        rgba.chunks_exact(4)
            .map(|px| nq.index_of(px) as u8)
            .collect()
    };
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        enc.set_palette(
            palette
                .iter()
                .flat_map(|c| [c[0], c[1], c[2]])
                .collect::<Vec<u8>>(),
        );
        if palette.iter().any(|c| c[3] != 255) {
            enc.set_trns(palette.iter().map(|c| c[3]).collect::<Vec<u8>>());
        }
        let mut writer = enc
            .write_header()
            .map_err(|e| RenderError::Encode(e.to_string()))?;
        writer
            .write_image_data(&indices)
            .map_err(|e| RenderError::Encode(e.to_string()))?;
    }
    Ok(out)
}

/// The map as JPEG at `quality` (1–100), composed over `matte` where it is not opaque (JPEG
/// has no transparency).
pub fn jpeg(pixmap: &Pixmap, quality: u8, matte: crate::Color) -> Result<Vec<u8>, RenderError> {
    let (w, h) = (pixmap.width(), pixmap.height());
    let (w16, h16) = match (u16::try_from(w), u16::try_from(h)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => {
            return Err(RenderError::Encode(
                "JPEG images are at most 65535 pixels a side".into(),
            ))
        }
    };
    let over = |c: u8, a: u8, m: u8| -> u8 {
        // Premultiplied colour over the matte.
        (u16::from(c) + (u16::from(m) * (255 - u16::from(a)) + 127) / 255).min(255) as u8
    };
    let rgb: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let a = p.alpha();
            [
                over(p.red(), a, matte.r),
                over(p.green(), a, matte.g),
                over(p.blue(), a, matte.b),
            ]
        })
        .collect();
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    enc.encode(&rgb, w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| RenderError::Encode(e.to_string()))?;
    Ok(out)
}
