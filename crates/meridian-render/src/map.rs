//! A map being drawn: the canvas, its extent in the map's CRS, its scale, and the passes of a
//! style over streamed features.

use crate::color::Color;
use crate::error::RenderError;
use crate::rasterize::Rasterizer;
use crate::sld::Style;
use crate::symbolize::{Images, Painter};
use meridian_features::Feature;
use std::path::PathBuf;
use tiny_skia::Pixmap;

/// Streams features to the function it is given (which answers whether to go on).
pub type Scan<'a, E> = dyn FnMut(&mut dyn FnMut(Feature) -> bool) -> Result<(), E> + 'a;

/// The map's box in its CRS (x east, y north) and its size in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapExtent {
    /// West.
    pub min_x: f64,
    /// South.
    pub min_y: f64,
    /// East.
    pub max_x: f64,
    /// North.
    pub max_y: f64,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

impl MapExtent {
    /// Pixel position of a map coordinate (fractional, y down).
    pub fn to_pixel(&self, x: f64, y: f64) -> (f32, f32) {
        let px = (x - self.min_x) / (self.max_x - self.min_x) * f64::from(self.width);
        let py = (self.max_y - y) / (self.max_y - self.min_y) * f64::from(self.height);
        (px as f32, py as f32)
    }

    /// Map units per pixel across.
    pub fn resolution(&self) -> f64 {
        (self.max_x - self.min_x) / f64::from(self.width.max(1))
    }
}

/// A map: a canvas, its extent, its scale denominator.
pub struct Map {
    pixmap: Pixmap,
    extent: MapExtent,
    scale: f64,
    antialias: bool,
    images: Images,
    labels: Vec<crate::labels::Label>,
    raster: Rasterizer,
}

impl Map {
    /// An empty map filled with `background` (transparent when `None`).
    pub fn new(
        extent: MapExtent,
        background: Option<Color>,
        scale: f64,
        antialias: bool,
    ) -> Result<Map, RenderError> {
        if !(extent.max_x > extent.min_x && extent.max_y > extent.min_y) {
            return Err(RenderError::Image("the map's box is empty".into()));
        }
        let mut pixmap = Pixmap::new(extent.width, extent.height).ok_or_else(|| {
            RenderError::Image(format!(
                "cannot make an image of {}×{} pixels",
                extent.width, extent.height
            ))
        })?;
        if let Some(bg) = background {
            pixmap.fill(bg.skia());
        }
        Ok(Map {
            pixmap,
            extent,
            scale,
            antialias,
            images: Images::default(),
            labels: Vec::new(),
            raster: Rasterizer::default(),
        })
    }

    /// Where external graphics of the next style are found (its folder in the data
    /// directory); names that leave it are refused.
    pub fn set_style_dir(&mut self, dir: Option<PathBuf>) {
        self.images.set_dir(dir);
    }

    /// The scale denominator.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The extent.
    pub fn extent(&self) -> &MapExtent {
        &self.extent
    }

    /// The image.
    pub fn pixmap(&self) -> &Pixmap {
        &self.pixmap
    }

    pub(crate) fn pixmap_mut(&mut self) -> &mut Pixmap {
        &mut self.pixmap
    }

    /// Write `message` over the map, top left, wrapped to its width (WMS `INIMAGE`
    /// exceptions).
    pub fn write_message(&mut self, message: &str) {
        let Some(face) = crate::text::face(&["sans-serif".into()], false, false) else {
            return;
        };
        let size = 12.0;
        let max_w = self.pixmap.width() as f32 - 8.0;
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in message.split_whitespace() {
            let candidate = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            let fits =
                crate::text::layout(&face, &candidate, size).is_none_or(|l| l.width <= max_w);
            if fits || current.is_empty() {
                current = candidate;
            } else {
                lines.push(std::mem::replace(&mut current, word.to_string()));
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        let mut paint = tiny_skia::Paint::default();
        paint.set_color(tiny_skia::Color::BLACK);
        let mut y = 4.0 + size;
        for l in lines {
            if let Some(t) = crate::text::layout(&face, &l, size) {
                self.pixmap.fill_path(
                    &t.path,
                    &paint,
                    tiny_skia::FillRule::Winding,
                    tiny_skia::Transform::from_translate(4.0, y),
                    None,
                );
            }
            y += size * 1.3;
            if y > self.pixmap.height() as f32 {
                break;
            }
        }
    }

    /// Place and draw the labels gathered so far, on top of everything drawn (call once the
    /// last layer is drawn).
    pub fn draw_labels(&mut self) {
        let labels = std::mem::take(&mut self.labels);
        crate::labels::draw_labels(&mut self.pixmap, labels, self.antialias, &mut self.raster);
    }

    /// Draw features through `style`: `scan` hands features, already in the map's CRS, to
    /// the function it is given, once per feature-type style (each pass on top of the last).
    pub fn draw<E>(&mut self, style: &Style, scan: &mut Scan<'_, E>) -> Result<(), E> {
        let scale = self.scale;
        for fts in &style.feature_type_styles {
            let rules: Vec<_> = fts.rules.iter().filter(|r| r.in_scale(scale)).collect();
            if rules.iter().all(|r| r.symbolizers.is_empty()) {
                continue;
            }
            let mut painter = Painter {
                pixmap: &mut self.pixmap,
                extent: &self.extent,
                antialias: self.antialias,
                images: &mut self.images,
                labels: &mut self.labels,
                raster: &mut self.raster,
            };
            // A pass that strokes every feature's lines alike (one rule for all, one line
            // symbolizer of literal parameters) strokes them in batches: one pass over many
            // lines instead of one per feature.
            if let Some(stroke) = uniform_stroke(&rules) {
                let mut batch = tiny_skia::PathBuilder::new();
                let mut n = 0usize;
                scan(&mut |f: Feature| {
                    if let Some(g) = &f.geometry {
                        painter.batch_lines(&mut batch, g);
                        n += 1;
                        if n % 64 == 0 {
                            painter.stroke_batch(&mut batch, stroke, false);
                        }
                    }
                    true
                })?;
                painter.stroke_batch(&mut batch, stroke, true);
                continue;
            }
            scan(&mut |f: Feature| {
                let mut taken = false;
                for r in rules.iter().filter(|r| !r.else_filter) {
                    if r.takes(&f) {
                        taken = true;
                        for s in r.map_symbolizers() {
                            painter.symbolize(s, &f);
                        }
                        if fts.first_rule_only {
                            break;
                        }
                    }
                }
                if !taken {
                    for r in rules.iter().filter(|r| r.else_filter) {
                        for s in r.map_symbolizers() {
                            painter.symbolize(s, &f);
                        }
                    }
                }
                true
            })?;
        }
        Ok(())
    }
}

/// The stroke of a pass whose every feature is drawn by the same literal line stroke.
fn uniform_stroke<'a>(rules: &[&'a crate::sld::Rule]) -> Option<&'a crate::sld::Stroke> {
    let [r] = rules else { return None };
    if r.filter.is_some() || r.else_filter {
        return None;
    }
    let mut syms = r.map_symbolizers();
    let (Some(crate::sld::Symbolizer::Line(l)), None) = (syms.next(), syms.next()) else {
        return None;
    };
    let s = &l.stroke;
    let literal = s.color.is_literal() && s.width.is_literal() && s.opacity.is_literal();
    (literal && s.graphic.is_none() && l.perpendicular_offset == 0.0 && l.geometry.is_none())
        .then_some(s)
}
