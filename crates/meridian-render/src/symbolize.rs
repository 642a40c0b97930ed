//! Drawing one feature with one symbolizer: areas, lines and point graphics (marks and PNG
//! images), with graphic fills as repeated tiles.

use crate::color::Color;
use crate::expr::Expr;
use crate::labels::{Anchor, Label};
use crate::map::MapExtent;
use crate::marks::{mark_path, stroke_only};
use crate::rasterize::{Rasterizer, Rule};
use crate::sld::{
    Fill, Graphic, GraphicSymbol, LineCap, LineJoin, Placement, Stroke, Symbolizer, TextSymbolizer,
};
use geo_types::{Coord, Geometry, LineString, Polygon};
use meridian_features::Feature;
use std::collections::HashMap;
use std::path::{Component, Path as FsPath, PathBuf};
use tiny_skia::{
    FillRule, Paint, Path, PathBuilder, Pattern, Pixmap, PixmapPaint, SpreadMode, Transform,
};

/// A graphic stroke places at most this many graphics on one feature.
const MAX_STATIONS: usize = 20_000;

/// Marks are drawn 16 pixels high unless the style gives a size (as GeoServer does).
const DEFAULT_MARK_SIZE: f64 = 16.0;

/// An external graphic as read: a PNG, or an SVG drawn at each size asked.
enum Picture {
    Raster(Pixmap),
    Vector(Box<resvg::usvg::Tree>),
}

/// Images a style refers to, decoded once per map.
#[derive(Default)]
pub(crate) struct Images {
    dir: Option<PathBuf>,
    cache: HashMap<String, Option<Picture>>,
    /// SVGs drawn, by file and height in pixels.
    drawn: HashMap<(String, u32), Pixmap>,
}

/// SVG files larger than this are not read (these are symbols).
const SVG_MAX_BYTES: usize = 1 << 20;

impl Images {
    pub(crate) fn set_dir(&mut self, dir: Option<PathBuf>) {
        if self.dir != dir {
            self.cache.clear();
            self.drawn.clear();
        }
        self.dir = dir;
    }

    /// The image at `href` (a plain relative path inside the style's folder: no `..`, no
    /// absolute path, no URL scheme but `file:` to a relative name), `size` pixels high when
    /// given: a PNG as it is (the caller scales it), an SVG drawn at that size.
    fn get(&mut self, href: &str, size: Option<f64>) -> Option<&Pixmap> {
        if !self.cache.contains_key(href) {
            let loaded = self.load(href);
            if loaded.is_none() {
                tracing::debug!(%href, "external graphic not drawn (not a PNG or SVG inside the style's folder)");
            }
            self.cache.insert(href.to_string(), loaded);
        }
        match self.cache.get(href)?.as_ref()? {
            Picture::Raster(p) => Some(p),
            Picture::Vector(tree) => {
                let natural = tree.size();
                let h = size
                    .unwrap_or(f64::from(natural.height()))
                    .clamp(1.0, 512.0)
                    .round() as u32;
                let key = (href.to_string(), h);
                if !self.drawn.contains_key(&key) {
                    let k = h as f32 / natural.height();
                    let w = (natural.width() * k).ceil().clamp(1.0, 2048.0) as u32;
                    let mut p = Pixmap::new(w, h)?;
                    resvg::render(tree, Transform::from_scale(k, k), &mut p.as_mut());
                    self.drawn.insert(key.clone(), p);
                }
                self.drawn.get(&key)
            }
        }
    }

    fn load(&self, href: &str) -> Option<Picture> {
        let rel = href.strip_prefix("file:").unwrap_or(href);
        let rel = FsPath::new(rel);
        let plain = rel.components().next().is_some()
            && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !plain || href.contains("://") {
            return None;
        }
        let path = self.dir.as_ref()?.join(rel);
        let bytes = std::fs::read(path).ok()?;
        if bytes.starts_with(b"\x89PNG") {
            return decode_png(&bytes).map(Picture::Raster);
        }
        if bytes.len() > SVG_MAX_BYTES {
            return None;
        }
        // Nothing outside the file is fetched: no resources folder, no fonts.
        let tree = resvg::usvg::Tree::from_data(&bytes, &resvg::usvg::Options::default()).ok()?;
        (tree.size().height() > 0.0 && tree.size().width() > 0.0)
            .then(|| Picture::Vector(Box::new(tree)))
    }
}

/// A PNG as a premultiplied pixmap (at most 1024 pixels a side: these are symbols).
fn decode_png(bytes: &[u8]) -> Option<Pixmap> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().ok()?;
    let (w, h) = (reader.info().width, reader.info().height);
    if w == 0 || h == 0 || w > 1024 || h > 1024 {
        return None;
    }
    let mut buf = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut buf).ok()?;
    let data = &buf[..frame.buffer_size()];
    let mut pixmap = Pixmap::new(w, h)?;
    let px = pixmap.pixels_mut();
    let channels = match frame.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Grayscale => 1,
        png::ColorType::Indexed => return None,
    };
    for (i, chunk) in data.chunks_exact(channels).enumerate().take(px.len()) {
        let (r, g, b, a) = match channels {
            4 => (chunk[0], chunk[1], chunk[2], chunk[3]),
            3 => (chunk[0], chunk[1], chunk[2], 255),
            2 => (chunk[0], chunk[0], chunk[0], chunk[1]),
            _ => (chunk[0], chunk[0], chunk[0], 255),
        };
        px[i] = tiny_skia::ColorU8::from_rgba(r, g, b, a).premultiply();
    }
    Some(pixmap)
}

/// Draws on a map's canvas.
pub(crate) struct Painter<'a> {
    pub pixmap: &'a mut Pixmap,
    pub extent: &'a MapExtent,
    pub antialias: bool,
    pub images: &'a mut Images,
    pub labels: &'a mut Vec<crate::labels::Label>,
    pub raster: &'a mut Rasterizer,
}

fn color_of(color: &Expr, opacity: &Expr, f: &Feature) -> Option<Color> {
    let c = Color::parse(&color.eval(f)?)?;
    Some(c.with_opacity(opacity.number(f).unwrap_or(1.0)))
}

impl Painter<'_> {
    /// Draw `f` with `s` (labels are drawn by another step).
    pub fn symbolize(&mut self, s: &Symbolizer, f: &Feature) {
        let geometry = |name: &Option<String>| -> Option<&Geometry<f64>> {
            match name {
                None => f.geometry.as_ref(),
                // Only the default geometry is read from the stores today.
                Some(_) => f.geometry.as_ref(),
            }
        };
        match s {
            Symbolizer::Polygon(p) => {
                let Some(g) = geometry(&p.geometry) else {
                    return;
                };
                let Some(path) = self.area_path(g) else {
                    return;
                };
                if let Some(fill) = &p.fill {
                    self.fill_path(&path, fill, f);
                }
                if let Some(stroke) = &p.stroke {
                    self.stroke_path(&path, stroke, f);
                }
            }
            Symbolizer::Line(l) => {
                let Some(g) = geometry(&l.geometry) else {
                    return;
                };
                let Some(mut path) = self.line_path(g) else {
                    return;
                };
                if l.perpendicular_offset != 0.0 {
                    match crate::along::offset(&path, l.perpendicular_offset as f32) {
                        Some(moved) => path = moved,
                        None => return,
                    }
                }
                self.stroke_path(&path, &l.stroke, f);
            }
            Symbolizer::Point(p) => {
                let Some(g) = geometry(&p.geometry) else {
                    return;
                };
                for c in anchor_points(g) {
                    let (x, y) = self.extent.to_pixel(c.x, c.y);
                    self.graphic_at(&p.graphic, f, x, y, 0.0);
                }
            }
            Symbolizer::Text(t) => {
                if let Some(l) = self.label(t, f) {
                    self.labels.push(l);
                }
            }
            // Coverages are drawn by `Map::draw_raster`, not feature by feature.
            Symbolizer::Raster(_) => {}
        }
    }

    /// Add the lines of `g` to `batch` (drawn by [`Painter::stroke_batch`]).
    pub fn batch_lines(&self, batch: &mut PathBuilder, g: &Geometry<f64>) {
        if let Some(p) = self.line_path(g) {
            batch.push_path(&p);
        }
    }

    /// Stroke the lines gathered in `batch` (the stroke is the same for every feature: its
    /// parameters are literals), and empty it. Antialiased, the outlines gather in the
    /// rasterizer and are drawn at once when `last`.
    pub fn stroke_batch(&mut self, batch: &mut PathBuilder, stroke: &Stroke, last: bool) {
        let none = Feature {
            id: String::new(),
            geometry: None,
            properties: Vec::new(),
        };
        let path = std::mem::take(batch).finish();
        let (Some(s), Some(c)) = (
            skia_stroke(stroke, &none),
            color_of(&stroke.color, &stroke.opacity, &none),
        ) else {
            return;
        };
        if !(self.antialias && s.width > 0.0) {
            if let Some(path) = path {
                self.stroke_path(&path, stroke, &none);
            }
            return;
        }
        if let Some(path) = path {
            self.raster.add_stroke(self.pixmap, &path, &s);
        }
        if last {
            self.raster.composite(self.pixmap, c, Rule::NonZero);
        }
    }

    /// The label `t` gives `f`, to be placed once every layer is drawn.
    fn label(&self, t: &TextSymbolizer, f: &Feature) -> Option<Label> {
        let text = t.label.as_ref()?.eval(f)?;
        let text = text.trim().to_string();
        if text.is_empty() {
            return None;
        }
        let g = f.geometry.as_ref()?;
        let size = t.size.number(f).unwrap_or(10.0).clamp(1.0, 400.0) as f32;
        let face = crate::text::face(&t.families, t.bold, t.italic)?;
        let fill = color_of(&t.fill.color, &t.fill.opacity, f).unwrap_or(Color::BLACK);
        let halo = t.halo.as_ref().map(|(r, hf)| {
            (
                r.number(f).unwrap_or(1.0).clamp(0.0, 50.0) as f32,
                color_of(&hf.color, &hf.opacity, f).unwrap_or(Color::WHITE),
            )
        });
        let is_point = matches!(g, Geometry::Point(_) | Geometry::MultiPoint(_));
        let anchor = match &t.placement {
            Placement::Line { offset } => {
                let line = longest_line(g)?;
                let points: Vec<(f32, f32)> = line
                    .0
                    .iter()
                    .map(|c| self.extent.to_pixel(c.x, c.y))
                    .collect();
                Anchor::Line {
                    points,
                    offset: *offset as f32,
                }
            }
            Placement::Point {
                anchor,
                displacement,
                rotation,
            } => {
                let c = label_point(g)?;
                let (x, y) = self.extent.to_pixel(c.x, c.y);
                let a = anchor.unwrap_or(if is_point { (0.0, 0.5) } else { (0.5, 0.5) });
                Anchor::Point {
                    x,
                    y,
                    anchor: (a.0 as f32, a.1 as f32),
                    displacement: (displacement.0 as f32, displacement.1 as f32),
                    rotation: rotation.number(f).unwrap_or(0.0) as f32,
                }
            }
        };
        Some(Label {
            text,
            face,
            size,
            fill,
            halo,
            anchor,
            priority: t.priority.as_ref().and_then(|p| p.number(f)).unwrap_or(0.0),
            group: t.options.group,
            space_around: t.options.space_around as f32,
            max_displacement: t.options.max_displacement as f32,
            overlap: t.options.overlap,
            follow_line: t.options.follow_line,
            max_angle_delta: t.options.max_angle_delta.clamp(0.0, 180.0) as f32,
            wrap: t.options.auto_wrap.clamp(0.0, 10_000.0) as f32,
            spacing: t.options.char_spacing.clamp(-50.0, 200.0) as f32,
        })
    }

    fn ring(&self, b: &mut PathBuilder, ls: &LineString<f64>) {
        if !ls.0.is_empty() {
            self.open_line(b, ls);
            b.close();
        }
    }

    fn polygon(&self, b: &mut PathBuilder, p: &Polygon<f64>) {
        self.ring(b, p.exterior());
        for i in p.interiors() {
            self.ring(b, i);
        }
    }

    /// The areas of `g` as one path (holes by the even-odd rule).
    fn area_path(&self, g: &Geometry<f64>) -> Option<Path> {
        let mut b = PathBuilder::new();
        match g {
            Geometry::Polygon(p) => self.polygon(&mut b, p),
            Geometry::MultiPolygon(mp) => mp.0.iter().for_each(|p| self.polygon(&mut b, p)),
            Geometry::Rect(r) => self.polygon(&mut b, &r.to_polygon()),
            Geometry::GeometryCollection(c) => {
                for g in &c.0 {
                    if let Some(p) = self.area_path(g) {
                        b.push_path(&p);
                    }
                }
            }
            _ => return None,
        }
        b.finish()
    }

    fn open_line(&self, b: &mut PathBuilder, ls: &LineString<f64>) {
        let mut it = ls.0.iter();
        if let Some(c) = it.next() {
            let (x, y) = self.extent.to_pixel(c.x, c.y);
            b.move_to(x, y);
            for c in it {
                let (x, y) = self.extent.to_pixel(c.x, c.y);
                b.line_to(x, y);
            }
        }
    }

    /// The lines of `g` (areas give their rings).
    fn line_path(&self, g: &Geometry<f64>) -> Option<Path> {
        let mut b = PathBuilder::new();
        match g {
            Geometry::LineString(l) => self.open_line(&mut b, l),
            Geometry::MultiLineString(m) => m.0.iter().for_each(|l| self.open_line(&mut b, l)),
            Geometry::Line(l) => self.open_line(&mut b, &LineString::from(vec![l.start, l.end])),
            Geometry::Polygon(_) | Geometry::MultiPolygon(_) | Geometry::Rect(_) => {
                return self.area_path(g)
            }
            Geometry::GeometryCollection(c) => {
                for g in &c.0 {
                    if let Some(p) = self.line_path(g) {
                        b.push_path(&p);
                    }
                }
            }
            _ => return None,
        }
        b.finish()
    }

    fn paint(&self, color: Color) -> Paint<'static> {
        let mut p = Paint::default();
        p.set_color(color.skia());
        p.anti_alias = self.antialias;
        p
    }

    /// A paint that repeats `tile` (graphic fills and strokes).
    fn tiled<'t>(&self, tile: &'t Pixmap, opacity: f32) -> Paint<'t> {
        Paint {
            anti_alias: self.antialias,
            shader: Pattern::new(
                tile.as_ref(),
                SpreadMode::Repeat,
                tiny_skia::FilterQuality::Nearest,
                opacity,
                Transform::identity(),
            ),
            ..Paint::default()
        }
    }

    fn fill_path(&mut self, path: &Path, fill: &Fill, f: &Feature) {
        if let Some(g) = &fill.graphic {
            let opacity = fill.opacity.number(f).unwrap_or(1.0) as f32;
            if let Some(tile) = self.graphic_tile(g, f) {
                let paint = self.tiled(&tile, opacity);
                self.pixmap
                    .fill_path(path, &paint, FillRule::EvenOdd, Transform::identity(), None);
            }
            return;
        }
        if let Some(c) = color_of(&fill.color, &fill.opacity, f) {
            if self.antialias {
                self.raster.fill(self.pixmap, path, c, Rule::EvenOdd);
                return;
            }
            let paint = self.paint(c);
            self.pixmap
                .fill_path(path, &paint, FillRule::EvenOdd, Transform::identity(), None);
        }
    }

    fn stroke_path(&mut self, path: &Path, stroke: &Stroke, f: &Feature) {
        let Some(s) = skia_stroke(stroke, f) else {
            return;
        };
        if let Some(g) = &stroke.graphic {
            self.graphic_stroke(path, g, stroke, f);
            return;
        }
        if let Some(c) = color_of(&stroke.color, &stroke.opacity, f) {
            // A zero width is a hairline, which tiny-skia draws.
            if self.antialias && s.width > 0.0 {
                self.raster.stroke(self.pixmap, path, &s, c);
                return;
            }
            let paint = self.paint(c);
            self.pixmap
                .stroke_path(path, &paint, &s, Transform::identity(), None);
        }
    }

    /// A graphic stroke: the graphic repeated along the line, turned with it, as GeoServer
    /// draws one: end to end, or one per cycle of the stroke's dash array, the first half a
    /// graphic in.
    fn graphic_stroke(&mut self, path: &Path, g: &Graphic, stroke: &Stroke, f: &Feature) {
        let Some(size) = graphic_size(g, f, &mut *self.images) else {
            return;
        };
        let size = size.clamp(1.0, 512.0) as f32;
        let cycle: f32 = stroke.dash.iter().sum();
        let step = if cycle > 0.0 { cycle } else { size };
        let first = size / 2.0 + stroke.dash_offset.max(0.0);
        let (w, h) = (self.pixmap.width() as f32, self.pixmap.height() as f32);
        for (x, y, angle) in crate::along::stations(path, first, step, MAX_STATIONS) {
            if x < -size || y < -size || x > w + size || y > h + size {
                continue;
            }
            self.graphic_at(g, f, x, y, angle);
        }
    }

    /// A graphic drawn once into its own pixmap (the tile of a graphic fill or stroke).
    fn graphic_tile(&mut self, g: &Graphic, f: &Feature) -> Option<Pixmap> {
        let size = graphic_size(g, f, &mut *self.images)?;
        let side = size.ceil().clamp(1.0, 512.0) as u32;
        let mut tile = Pixmap::new(side, side)?;
        let mut no_labels = Vec::new();
        let mut raster = Rasterizer::default();
        let mut p = Painter {
            pixmap: &mut tile,
            extent: self.extent,
            antialias: self.antialias,
            images: &mut *self.images,
            labels: &mut no_labels,
            raster: &mut raster,
        };
        let c = side as f32 / 2.0;
        p.graphic_at(g, f, c, c, 0.0);
        Some(tile)
    }

    /// Draw a graphic centred at pixel `(x, y)`.
    fn graphic_at(&mut self, g: &Graphic, f: &Feature, x: f32, y: f32, turn: f32) {
        let rotation = g.rotation.number(f).unwrap_or(0.0) as f32 + turn;
        let opacity = g.opacity.number(f).unwrap_or(1.0).clamp(0.0, 1.0);
        for sym in &g.symbols {
            match sym {
                GraphicSymbol::Mark { name, fill, stroke } => {
                    let Some(name) = name.eval(f) else { continue };
                    let name = name.as_str();
                    let size = g
                        .size
                        .as_ref()
                        .and_then(|s| s.number(f))
                        .unwrap_or(DEFAULT_MARK_SIZE)
                        .clamp(0.0, 512.0) as f32;
                    let Some(path) = mark_path(name, size) else {
                        continue;
                    };
                    let t = Transform::from_rotate(rotation).post_translate(x, y);
                    if !stroke_only(name) {
                        if let Some(fill) = fill {
                            if let Some(c) = color_of(&fill.color, &fill.opacity, f) {
                                let c = c.with_opacity(opacity);
                                if self.antialias {
                                    self.raster.fill_at(self.pixmap, &path, c, Rule::NonZero, t);
                                } else {
                                    let paint = self.paint(c);
                                    self.pixmap.fill_path(
                                        &path,
                                        &paint,
                                        FillRule::Winding,
                                        t,
                                        None,
                                    );
                                }
                            }
                        }
                    }
                    // `shape://` marks are strokes: with no stroke given, GeoServer draws them
                    // in the fill's colour (or black).
                    let stroke = stroke.clone().or_else(|| {
                        stroke_only(name).then(|| {
                            Box::new(Stroke {
                                color: fill
                                    .as_ref()
                                    .map(|f| f.color.clone())
                                    .unwrap_or(Expr::Literal("#000000".into())),
                                ..Stroke::default()
                            })
                        })
                    });
                    if let Some(stroke) = stroke {
                        if let (Some(c), Some(s)) = (
                            color_of(&stroke.color, &stroke.opacity, f),
                            skia_stroke(&stroke, f),
                        ) {
                            let c = c.with_opacity(opacity);
                            if self.antialias && s.width > 0.0 {
                                self.raster.stroke_at(self.pixmap, &path, &s, c, t);
                            } else {
                                let paint = self.paint(c);
                                self.pixmap.stroke_path(&path, &paint, &s, t, None);
                            }
                        }
                    }
                    return;
                }
                GraphicSymbol::External { href, .. } => {
                    let size = g.size.as_ref().and_then(|s| s.number(f));
                    let Some(img) = self.images.get(href, size) else {
                        continue;
                    };
                    let (w, h) = (img.width() as f32, img.height() as f32);
                    let k = size.map(|s| s as f32 / h).unwrap_or(1.0);
                    let t = Transform::from_translate(-w / 2.0, -h / 2.0)
                        .post_scale(k, k)
                        .post_rotate(rotation)
                        .post_translate(x, y);
                    let paint = PixmapPaint {
                        opacity: opacity as f32,
                        quality: tiny_skia::FilterQuality::Bilinear,
                        ..PixmapPaint::default()
                    };
                    let img = img.clone();
                    self.pixmap.draw_pixmap(0, 0, img.as_ref(), &paint, t, None);
                    return;
                }
            }
        }
    }
}

/// The size of a graphic in pixels.
fn graphic_size(g: &Graphic, f: &Feature, images: &mut Images) -> Option<f64> {
    if let Some(s) = g.size.as_ref().and_then(|s| s.number(f)) {
        return Some(s);
    }
    for sym in &g.symbols {
        match sym {
            GraphicSymbol::Mark { .. } => return Some(DEFAULT_MARK_SIZE),
            GraphicSymbol::External { href, .. } => {
                if let Some(img) = images.get(href, None) {
                    return Some(f64::from(img.height()));
                }
            }
        }
    }
    None
}

fn skia_stroke(s: &Stroke, f: &Feature) -> Option<tiny_skia::Stroke> {
    let width = s.width.number(f).unwrap_or(1.0);
    if width.is_nan() || width < 0.0 {
        return None;
    }
    let mut k = tiny_skia::Stroke {
        // A zero width draws a hairline, as GeoServer does.
        width: width.min(1000.0) as f32,
        line_cap: match s.cap {
            LineCap::Butt => tiny_skia::LineCap::Butt,
            LineCap::Round => tiny_skia::LineCap::Round,
            LineCap::Square => tiny_skia::LineCap::Square,
        },
        line_join: match s.join {
            LineJoin::Miter => tiny_skia::LineJoin::Miter,
            LineJoin::Round => tiny_skia::LineJoin::Round,
            LineJoin::Bevel => tiny_skia::LineJoin::Bevel,
        },
        ..tiny_skia::Stroke::default()
    };
    if !s.dash.is_empty() {
        let mut d = s.dash.clone();
        if d.len() % 2 == 1 {
            d.extend_from_slice(&s.dash);
        }
        k.dash = tiny_skia::StrokeDash::new(d, s.dash_offset);
    }
    Some(k)
}

/// Where point graphics go on a geometry: its points, a line's middle vertex, an area's
/// centre.
fn anchor_points(g: &Geometry<f64>) -> Vec<Coord<f64>> {
    match g {
        Geometry::Point(p) => vec![p.0],
        Geometry::MultiPoint(m) => m.0.iter().map(|p| p.0).collect(),
        Geometry::LineString(l) => l.0.get(l.0.len() / 2).copied().into_iter().collect(),
        Geometry::MultiLineString(m) => {
            m.0.iter()
                .filter_map(|l| l.0.get(l.0.len() / 2).copied())
                .collect()
        }
        Geometry::Polygon(p) => ring_centre(p.exterior()).into_iter().collect(),
        Geometry::MultiPolygon(m) => {
            m.0.iter()
                .filter_map(|p| ring_centre(p.exterior()))
                .collect()
        }
        Geometry::GeometryCollection(c) => c.0.iter().flat_map(anchor_points).collect(),
        _ => Vec::new(),
    }
}

/// The centroid of a ring (its vertices' mean when it has no area).
fn ring_centre(r: &LineString<f64>) -> Option<Coord<f64>> {
    let pts = &r.0;
    if pts.is_empty() {
        return None;
    }
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for w in pts.windows(2) {
        let cross = w[0].x * w[1].y - w[1].x * w[0].y;
        a += cross;
        cx += (w[0].x + w[1].x) * cross;
        cy += (w[0].y + w[1].y) * cross;
    }
    if a.abs() < f64::EPSILON {
        let n = pts.len() as f64;
        return Some(Coord {
            x: pts.iter().map(|c| c.x).sum::<f64>() / n,
            y: pts.iter().map(|c| c.y).sum::<f64>() / n,
        });
    }
    Some(Coord {
        x: cx / (3.0 * a),
        y: cy / (3.0 * a),
    })
}

/// The longest line of a geometry (an area's outer ring).
fn longest_line(g: &Geometry<f64>) -> Option<LineString<f64>> {
    use geo_types::MultiLineString;
    let lines: Vec<LineString<f64>> = match g {
        Geometry::LineString(l) => vec![l.clone()],
        Geometry::MultiLineString(MultiLineString(ls)) => ls.clone(),
        Geometry::Polygon(p) => vec![p.exterior().clone()],
        Geometry::MultiPolygon(m) => m.0.iter().map(|p| p.exterior().clone()).collect(),
        _ => return None,
    };
    let len = |l: &LineString<f64>| -> f64 {
        l.0.windows(2)
            .map(|w| ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt())
            .sum()
    };
    lines.into_iter().max_by(|a, b| {
        len(a)
            .partial_cmp(&len(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

/// Where a point-placed label goes: the point, a line's middle vertex, the centre of the
/// largest area.
fn label_point(g: &Geometry<f64>) -> Option<Coord<f64>> {
    match g {
        Geometry::MultiPolygon(m) => {
            let area = |p: &Polygon<f64>| -> f64 {
                p.exterior()
                    .0
                    .windows(2)
                    .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
                    .sum::<f64>()
                    .abs()
            };
            let biggest = m.0.iter().max_by(|a, b| {
                area(a)
                    .partial_cmp(&area(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })?;
            ring_centre(biggest.exterior())
        }
        other => anchor_points(other).into_iter().next(),
    }
}
