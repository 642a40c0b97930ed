//! Coverages on a map: every pixel of the map is looked up in the grid (its position found
//! exactly every few pixels and interpolated in between, which keeps reprojection cheap), its
//! value coloured through the symbolizer's colour map, or drawn as the image's own colour, and
//! laid over what is drawn.

use crate::color::Color;
use crate::map::Map;
use crate::sld::{RasterSymbolizer, Style, Symbolizer};

/// A grid the map reads values from.
pub trait RasterSource {
    /// Values per pixel.
    fn bands(&self) -> usize;
    /// Whether values are 8-bit colours (an image), not measurements.
    fn colour(&self) -> bool;
    /// The values at grid pixel `(col, row)` (nearest), `None` outside or where there is no
    /// data.
    fn sample(&self, col: f64, row: f64) -> Option<[f32; 4]>;
    /// The range of band 1's values (grey stretch of measurements without a colour map).
    fn range(&self) -> (f32, f32);
}

/// Positions are computed exactly on a lattice of this step, interpolated between.
const STEP: usize = 8;

impl Map {
    /// Draw a coverage with the raster symbolizers of `style` that apply at this scale
    /// (the first one; a style without one draws the coverage as it is). `locate` gives the
    /// grid pixel (fractional column, row) of a point in the map's CRS.
    pub fn draw_raster(
        &mut self,
        style: &Style,
        source: &dyn RasterSource,
        locate: &dyn Fn(f64, f64) -> Option<(f64, f64)>,
    ) {
        let scale = self.scale();
        let sym = style
            .feature_type_styles
            .iter()
            .flat_map(|f| f.rules.iter())
            .filter(|r| r.in_scale(scale))
            .flat_map(|r| r.map_symbolizers())
            .find_map(|s| match s {
                Symbolizer::Raster(r) => Some((**r).clone()),
                _ => None,
            })
            .unwrap_or_default();
        let e = *self.extent();
        let (w, h) = (e.width as usize, e.height as usize);
        let at = |px: f64, py: f64| -> Option<(f64, f64)> {
            let x = e.min_x + px / w as f64 * (e.max_x - e.min_x);
            let y = e.max_y - py / h as f64 * (e.max_y - e.min_y);
            locate(x, y)
        };
        // The lattice: grid positions every STEP pixels (pixel centres).
        let (lw, lh) = (w / STEP + 2, h / STEP + 2);
        let mut lattice = Vec::with_capacity(lw * lh);
        for j in 0..lh {
            for i in 0..lw {
                lattice.push(at((i * STEP) as f64 + 0.5, (j * STEP) as f64 + 0.5));
            }
        }
        // Only measurements drawn without a colour map are stretched (the range is a pass
        // over the grid).
        let stretch = if source.colour() || sym.color_map.is_some() {
            (0.0, 255.0)
        } else {
            source.range()
        };
        let lut = sym.color_map.as_ref().and_then(Lut::new);
        let band = sym.gray_channel.map_or(0, |c| c - 1).min(3);
        let opacity = sym.opacity;
        let pixels = self.pixmap_mut().pixels_mut();
        for py in 0..h {
            let (j, fy) = (py / STEP, (py % STEP) as f64 / STEP as f64);
            for px in 0..w {
                let (i, fx) = (px / STEP, (px % STEP) as f64 / STEP as f64);
                let corners = [
                    lattice[j * lw + i],
                    lattice[j * lw + i + 1],
                    lattice[(j + 1) * lw + i],
                    lattice[(j + 1) * lw + i + 1],
                ];
                let pos = match corners {
                    [Some(a), Some(b), Some(c), Some(d)] => {
                        let top = (a.0 + (b.0 - a.0) * fx, a.1 + (b.1 - a.1) * fx);
                        let bottom = (c.0 + (d.0 - c.0) * fx, c.1 + (d.1 - c.1) * fx);
                        Some((
                            top.0 + (bottom.0 - top.0) * fy,
                            top.1 + (bottom.1 - top.1) * fy,
                        ))
                    }
                    _ => at(px as f64 + 0.5, py as f64 + 0.5),
                };
                let Some((col, row)) = pos else { continue };
                let Some(v) = source.sample(col, row) else {
                    continue;
                };
                let c = match &lut {
                    Some(l) => l.get(f64::from(v[band])),
                    None => colour_of(&sym, source, &v, stretch),
                };
                let Some(c) = c else { continue };
                let c = if opacity < 1.0 {
                    c.with_opacity(opacity)
                } else {
                    c
                };
                if c.a == 0 {
                    continue;
                }
                let dst = &mut pixels[py * w + px];
                if c.a == 255 {
                    if let Some(p) = tiny_skia::PremultipliedColorU8::from_rgba(c.r, c.g, c.b, 255)
                    {
                        *dst = p;
                    }
                    continue;
                }
                let a = u32::from(c.a);
                let blend = |s: u8, d: u8| -> u8 {
                    ((u32::from(s) * a + u32::from(d) * (255 - a) + 127) / 255) as u8
                };
                // The destination is premultiplied; the source is laid over it.
                let sr = (u32::from(c.r) * a / 255) as u8;
                let sg = (u32::from(c.g) * a / 255) as u8;
                let sb = (u32::from(c.b) * a / 255) as u8;
                let inv = 255 - a;
                let r = (u32::from(sr) + (u32::from(dst.red()) * inv + 127) / 255).min(255) as u8;
                let g = (u32::from(sg) + (u32::from(dst.green()) * inv + 127) / 255).min(255) as u8;
                let b = (u32::from(sb) + (u32::from(dst.blue()) * inv + 127) / 255).min(255) as u8;
                let al = blend(255, dst.alpha());
                if let Some(p) =
                    tiny_skia::PremultipliedColorU8::from_rgba(r.min(al), g.min(al), b.min(al), al)
                {
                    *dst = p;
                }
            }
        }
    }
}

/// The colour of one grid pixel's values.
fn colour_of(
    sym: &RasterSymbolizer,
    source: &dyn RasterSource,
    v: &[f32; 4],
    (lo, hi): (f32, f32),
) -> Option<Color> {
    if let Some(cm) = &sym.color_map {
        let band = sym.gray_channel.map_or(0, |c| c - 1).min(3);
        return cm.color_of(f64::from(v[band]));
    }
    let to8 = |x: f32| -> u8 {
        if hi > lo {
            (((x - lo) / (hi - lo)) * 255.0).clamp(0.0, 255.0) as u8
        } else {
            x.clamp(0.0, 255.0) as u8
        }
    };
    Some(match source.bands() {
        1 => {
            let g = to8(v[0]);
            Color::rgb(g, g, g)
        }
        2 => {
            let g = to8(v[0]);
            Color {
                r: g,
                g,
                b: g,
                a: v[1].clamp(0.0, 255.0) as u8,
            }
        }
        3 => Color::rgb(to8(v[0]), to8(v[1]), to8(v[2])),
        _ => Color {
            r: to8(v[0]),
            g: to8(v[1]),
            b: to8(v[2]),
            a: v[3].clamp(0.0, 255.0) as u8,
        },
    })
}

/// A colour map sampled into a table: 4096 steps between its first and last quantity (ramps
/// and intervals; a values map is looked up as it is).
struct Lut {
    lo: f64,
    step: f64,
    colours: Vec<Option<Color>>,
    map: crate::sld::ColorMap,
}

impl Lut {
    const STEPS: usize = 4096;

    fn new(cm: &crate::sld::ColorMap) -> Option<Lut> {
        if cm.kind == crate::sld::ColorMapKind::Values {
            return None;
        }
        let (lo, hi) = (cm.entries.first()?.quantity, cm.entries.last()?.quantity);
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let step = (hi - lo) / Self::STEPS as f64;
        let colours = (0..=Self::STEPS)
            .map(|i| cm.color_of(lo + (i as f64 + 0.5) * step))
            .collect();
        Some(Lut {
            lo,
            step,
            colours,
            map: cm.clone(),
        })
    }

    /// The colour of `v`: from the table inside the map's range, exactly outside it.
    fn get(&self, v: f64) -> Option<Color> {
        let i = (v - self.lo) / self.step;
        if i >= 0.0 && i < Self::STEPS as f64 {
            self.colours[i as usize]
        } else {
            self.map.color_of(v)
        }
    }
}
