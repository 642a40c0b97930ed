//! Legends as GeoServer draws them: a row per rule (those in scale, or the one named), a
//! swatch made by drawing the rule's symbolizers over a sample shape (an area, a line or a
//! point, as each symbolizer draws), and the rule's title beside it.

use crate::color::Color;
use crate::error::RenderError;
use crate::map::MapExtent;
use crate::sld::{Rule, Style, Symbolizer};
use crate::symbolize::{Images, Painter};
use geo_types::{coord, Geometry, LineString, Point, Polygon};
use meridian_features::Feature;
use std::path::PathBuf;
use tiny_skia::{FillRule, Paint, Pixmap, Transform};

/// What a legend looks like (`WIDTH`, `HEIGHT`, `LEGEND_OPTIONS`).
#[derive(Debug, Clone)]
pub struct LegendOptions {
    /// Swatch width in pixels (default 20).
    pub width: u32,
    /// Swatch height in pixels (default 20).
    pub height: u32,
    /// The rules drawn: those in scale at this denominator (all when `None`).
    pub scale: Option<f64>,
    /// Only this rule (by name).
    pub rule: Option<String>,
    /// Font families of the titles (`fontName`).
    pub font: Vec<String>,
    /// Title size in pixels (`fontSize`, default 12).
    pub font_size: f32,
    /// Title colour (`fontColor`).
    pub font_color: Color,
    /// Bold titles (`fontStyle:bold`).
    pub bold: bool,
    /// The background; `None`: transparent.
    pub background: Option<Color>,
    /// Titles even for a single rule (`forceLabels:on`).
    pub force_labels: bool,
    /// Antialiased drawing and text.
    pub antialias: bool,
    /// The style's folder (external graphics).
    pub style_dir: Option<PathBuf>,
}

impl Default for LegendOptions {
    fn default() -> Self {
        LegendOptions {
            width: 20,
            height: 20,
            scale: None,
            rule: None,
            font: vec!["sans-serif".into()],
            font_size: 12.0,
            font_color: Color::BLACK,
            bold: false,
            background: None,
            force_labels: false,
            antialias: true,
            style_dir: None,
        }
    }
}

/// The sample shape a symbolizer is drawn over in a swatch `w`×`h` (map units are pixels, y up).
fn sample(s: &Symbolizer, w: f64, h: f64) -> Geometry<f64> {
    match s {
        Symbolizer::Polygon(_) => Geometry::Polygon(Polygon::new(
            LineString::from(vec![
                coord! { x: 1.0, y: 1.0 },
                coord! { x: w - 1.0, y: 1.0 },
                coord! { x: w - 1.0, y: h - 1.0 },
                coord! { x: 1.0, y: h - 1.0 },
                coord! { x: 1.0, y: 1.0 },
            ]),
            vec![],
        )),
        Symbolizer::Line(_) => Geometry::LineString(LineString::from(vec![
            coord! { x: 1.0, y: 1.0 },
            coord! { x: w * 0.4, y: h * 0.6 },
            coord! { x: w * 0.6, y: h * 0.4 },
            coord! { x: w - 1.0, y: h - 1.0 },
        ])),
        _ => Geometry::Point(Point::new(w / 2.0, h / 2.0)),
    }
}

/// The legend of `style` as an image; an error when no rule is left to draw.
pub fn legend(style: &Style, o: &LegendOptions) -> Result<Pixmap, RenderError> {
    let rules: Vec<&Rule> = style
        .feature_type_styles
        .iter()
        .flat_map(|f| f.rules.iter())
        .filter(|r| o.scale.is_none_or(|s| r.in_scale(s)))
        .filter(|r| o.rule.as_ref().is_none_or(|n| &r.name == n))
        .collect();
    // A coverage's colour map: a row per entry, its colour and its label (or quantity).
    if let Some(cm) = rules
        .iter()
        .flat_map(|r| r.legend_symbolizers())
        .find_map(|s| match s {
            Symbolizer::Raster(r) => r.color_map.as_ref(),
            _ => None,
        })
    {
        return color_map_legend(cm, o);
    }
    if rules.is_empty() {
        return Err(RenderError::Style(match &o.rule {
            Some(n) => format!("the style has no rule named '{n}'"),
            None => "the style has no rule to show at this scale".into(),
        }));
    }
    let (w, h) = (o.width.clamp(1, 512), o.height.clamp(1, 512));
    let labelled = rules.len() > 1 || o.force_labels;
    let face = if labelled {
        crate::text::face(&o.font, o.bold, false)
    } else {
        None
    };
    // Each row: its swatch and its title laid out.
    let rows: Vec<(&Rule, Option<crate::text::TextLine>)> = rules
        .iter()
        .map(|r| {
            let title = if r.title.is_empty() {
                &r.name
            } else {
                &r.title
            };
            let line = face
                .as_ref()
                .and_then(|f| crate::text::layout(f, title, o.font_size));
            (*r, line)
        })
        .collect();
    let gap = 2u32;
    let row_h = |t: &Option<crate::text::TextLine>| -> u32 {
        let th = t.as_ref().map_or(0.0, |l| l.ascent + l.descent).ceil() as u32;
        h.max(th)
    };
    let text_w = rows
        .iter()
        .filter_map(|(_, t)| t.as_ref().map(|l| l.width.ceil() as u32))
        .max()
        .unwrap_or(0);
    let total_w = if text_w > 0 { w + 5 + text_w + 2 } else { w };
    let total_h: u32 =
        rows.iter().map(|(_, t)| row_h(t)).sum::<u32>() + gap * (rows.len() as u32 - 1);
    let mut img = Pixmap::new(total_w.min(4096), total_h.min(8192))
        .ok_or_else(|| RenderError::Image("legend too large".into()))?;
    if let Some(bg) = o.background {
        img.fill(bg.skia());
    }
    let mut images = Images::default();
    images.set_dir(o.style_dir.clone());
    let mut y = 0u32;
    for (rule, title) in &rows {
        let rh = row_h(title);
        let mut swatch =
            Pixmap::new(w, h).ok_or_else(|| RenderError::Image("legend swatch".into()))?;
        let extent = MapExtent {
            min_x: 0.0,
            min_y: 0.0,
            max_x: f64::from(w),
            max_y: f64::from(h),
            width: w,
            height: h,
        };
        let mut no_labels = Vec::new();
        let mut raster = crate::rasterize::Rasterizer::default();
        let mut painter = Painter {
            pixmap: &mut swatch,
            extent: &extent,
            antialias: o.antialias,
            images: &mut images,
            labels: &mut no_labels,
            raster: &mut raster,
        };
        for s in rule.legend_symbolizers() {
            if matches!(s, Symbolizer::Text(_)) {
                continue;
            }
            let f = Feature {
                id: "legend".into(),
                geometry: Some(sample(s, f64::from(w), f64::from(h))),
                properties: Vec::new(),
            };
            painter.symbolize(s, &f);
        }
        let sy = y + (rh - h) / 2;
        img.draw_pixmap(
            0,
            sy as i32,
            swatch.as_ref(),
            &tiny_skia::PixmapPaint::default(),
            Transform::identity(),
            None,
        );
        if let Some(line) = title {
            let mut paint = Paint::default();
            paint.set_color(o.font_color.skia());
            paint.anti_alias = o.antialias;
            let th = line.ascent + line.descent;
            let baseline = y as f32 + (rh as f32 - th) / 2.0 + line.ascent;
            img.fill_path(
                &line.path,
                &paint,
                FillRule::Winding,
                Transform::from_translate((w + 5) as f32, baseline),
                None,
            );
        }
        y += rh + gap;
    }
    Ok(img)
}

/// The legend of a colour map: a swatch and a label per entry.
fn color_map_legend(cm: &crate::sld::ColorMap, o: &LegendOptions) -> Result<Pixmap, RenderError> {
    if cm.entries.is_empty() {
        return Err(RenderError::Style("the colour map has no entry".into()));
    }
    let (w, h) = (o.width.clamp(1, 512), o.height.clamp(1, 512));
    let face = crate::text::face(&o.font, o.bold, false);
    let lines: Vec<Option<crate::text::TextLine>> = cm
        .entries
        .iter()
        .map(|e| {
            let label = if e.label.is_empty() {
                format!("{}", e.quantity)
            } else {
                e.label.clone()
            };
            face.as_ref()
                .and_then(|f| crate::text::layout(f, &label, o.font_size))
        })
        .collect();
    let text_w = lines
        .iter()
        .filter_map(|l| l.as_ref().map(|t| t.width.ceil() as u32))
        .max()
        .unwrap_or(0);
    let total_w = if text_w > 0 { w + 5 + text_w + 2 } else { w };
    let n = cm.entries.len() as u32;
    let mut img = Pixmap::new(total_w.min(4096), (h * n).min(8192))
        .ok_or_else(|| RenderError::Image("legend too large".into()))?;
    if let Some(bg) = o.background {
        img.fill(bg.skia());
    }
    for (i, (e, line)) in cm.entries.iter().zip(&lines).enumerate() {
        let y = (i as u32 * h) as f32;
        let mut paint = Paint::default();
        paint.set_color(e.color.with_opacity(e.opacity).skia());
        if let Some(r) = tiny_skia::Rect::from_xywh(1.0, y + 1.0, w as f32 - 2.0, h as f32 - 2.0) {
            img.fill_rect(r, &paint, Transform::identity(), None);
        }
        if let Some(t) = line {
            let mut p = Paint::default();
            p.set_color(o.font_color.skia());
            p.anti_alias = o.antialias;
            let th = t.ascent + t.descent;
            let baseline = y + (h as f32 - th) / 2.0 + t.ascent;
            img.fill_path(
                &t.path,
                &p,
                FillRule::Winding,
                Transform::from_translate((w + 5) as f32, baseline),
                None,
            );
        }
    }
    Ok(img)
}
