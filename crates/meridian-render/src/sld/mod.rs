//! A style as SLD 1.0 and SE 1.1 describe it: user styles of feature-type styles of rules,
//! each rule with an optional filter, a scale range and its symbolizers. [`parse`] reads a
//! document; what Meridian does not draw is listed in [`Style::skipped`] so the caller can say
//! so once.

mod parse;

pub use parse::{parse, parse_layers, LayerStyle};

use crate::color::Color;
use crate::expr::Expr;
use meridian_features::{Feature, Filter};

/// A named style of an SLD document (its first or default `UserStyle`).
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// `Name` of the user style.
    pub name: String,
    /// `Title`.
    pub title: String,
    /// Feature-type styles, drawn one after the other (each on top of the previous).
    pub feature_type_styles: Vec<FeatureTypeStyle>,
    /// What the document holds that is not drawn (element names), for one log line.
    pub skipped: Vec<String>,
}

/// One pass over the features.
#[derive(Debug, Clone, Default)]
pub struct FeatureTypeStyle {
    /// Rules in order.
    pub rules: Vec<Rule>,
    /// GeoServer's `ruleEvaluation=first`: only the first matching rule draws a feature.
    pub first_rule_only: bool,
}

/// A rule: which features, at which scales, drawn how.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    /// `Name`.
    pub name: String,
    /// `Title` (legends).
    pub title: String,
    /// The filter; `None` takes every feature.
    pub filter: Option<Filter>,
    /// `ElseFilter`: features no other rule of the pass took.
    pub else_filter: bool,
    /// Drawn when the scale denominator is at least this.
    pub min_scale: Option<f64>,
    /// Drawn when the scale denominator is below this.
    pub max_scale: Option<f64>,
    /// Symbolizers in order.
    pub symbolizers: Vec<Symbolizer>,
    /// Where each symbolizer shows (GeoServer's `inclusion` vendor option), aligned with
    /// `symbolizers`.
    pub inclusion: Vec<Inclusion>,
}

/// Where a symbolizer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Inclusion {
    /// On maps and in legends.
    #[default]
    Normal,
    /// On maps only.
    MapOnly,
    /// In legends only.
    LegendOnly,
}

impl Rule {
    /// Whether the rule applies at `scale` (min inclusive, max exclusive, as GeoServer).
    pub fn in_scale(&self, scale: f64) -> bool {
        self.min_scale.is_none_or(|m| scale >= m) && self.max_scale.is_none_or(|m| scale < m)
    }

    /// The symbolizers drawn on maps.
    pub fn map_symbolizers(&self) -> impl Iterator<Item = &Symbolizer> {
        self.symbolizers
            .iter()
            .enumerate()
            .filter(|(i, _)| self.inclusion.get(*i) != Some(&Inclusion::LegendOnly))
            .map(|(_, s)| s)
    }

    /// The symbolizers drawn in legends.
    pub fn legend_symbolizers(&self) -> impl Iterator<Item = &Symbolizer> {
        self.symbolizers
            .iter()
            .enumerate()
            .filter(|(i, _)| self.inclusion.get(*i) != Some(&Inclusion::MapOnly))
            .map(|(_, s)| s)
    }

    /// Whether the rule's filter takes `f` (an else-rule is decided by the caller).
    pub fn takes(&self, f: &Feature) -> bool {
        self.filter.as_ref().is_none_or(|flt| flt.matches(f))
    }
}

/// How to draw.
#[derive(Debug, Clone)]
pub enum Symbolizer {
    /// Areas: fill and outline.
    Polygon(PolygonSymbolizer),
    /// Lines.
    Line(LineSymbolizer),
    /// A graphic at each point (or at the centre of lines and areas).
    Point(PointSymbolizer),
    /// Labels (drawn by a later step; read so rules and legends see them).
    Text(Box<TextSymbolizer>),
    /// Coverages: values through a colour map, or images as they are.
    Raster(Box<RasterSymbolizer>),
}

/// How a coverage is drawn.
#[derive(Debug, Clone)]
pub struct RasterSymbolizer {
    /// `Opacity` (default 1).
    pub opacity: f64,
    /// `ColorMap`: values to colours; `None` draws images as they are and stretches
    /// measurements to grey.
    pub color_map: Option<ColorMap>,
    /// `ChannelSelection/GrayChannel/SourceChannelName` (1-based): the band a colour map reads.
    pub gray_channel: Option<usize>,
}

impl Default for RasterSymbolizer {
    fn default() -> Self {
        RasterSymbolizer {
            opacity: 1.0,
            color_map: None,
            gray_channel: None,
        }
    }
}

/// A colour map.
#[derive(Debug, Clone, Default)]
pub struct ColorMap {
    /// How values between entries are coloured.
    pub kind: ColorMapKind,
    /// Entries by increasing quantity.
    pub entries: Vec<ColorMapEntry>,
}

/// How a colour map colours values between its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorMapKind {
    /// Blend between the entries around the value.
    #[default]
    Ramp,
    /// The colour of the first entry above the value.
    Intervals,
    /// Only values equal to an entry's quantity.
    Values,
}

/// One colour map entry.
#[derive(Debug, Clone)]
pub struct ColorMapEntry {
    /// Its colour.
    pub color: Color,
    /// Its value.
    pub quantity: f64,
    /// Its opacity.
    pub opacity: f64,
    /// Its label (legends).
    pub label: String,
}

impl ColorMap {
    /// The colour of `v` (`None`: not drawn).
    pub fn color_of(&self, v: f64) -> Option<Color> {
        let e = &self.entries;
        let first = e.first()?;
        let c = |x: &ColorMapEntry| Some(x.color.with_opacity(x.opacity));
        match self.kind {
            ColorMapKind::Values => e.iter().find(|x| x.quantity == v).and_then(c),
            ColorMapKind::Intervals => e.iter().find(|x| v < x.quantity).and_then(c),
            ColorMapKind::Ramp => {
                if v <= first.quantity {
                    return c(first);
                }
                let Some(i) = e.iter().position(|x| v < x.quantity) else {
                    return e.last().and_then(c);
                };
                let (a, b) = (&e[i - 1], &e[i]);
                let t = ((v - a.quantity) / (b.quantity - a.quantity)).clamp(0.0, 1.0);
                let mix =
                    |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * t).round() as u8;
                let op = a.opacity + (b.opacity - a.opacity) * t;
                Some(
                    Color {
                        r: mix(a.color.r, b.color.r),
                        g: mix(a.color.g, b.color.g),
                        b: mix(a.color.b, b.color.b),
                        a: 255,
                    }
                    .with_opacity(op),
                )
            }
        }
    }
}

/// Fill and stroke of areas.
#[derive(Debug, Clone, Default)]
pub struct PolygonSymbolizer {
    /// `None`: no fill.
    pub fill: Option<Fill>,
    /// `None`: no outline.
    pub stroke: Option<Stroke>,
    /// Geometry property to draw (default: the feature's geometry).
    pub geometry: Option<String>,
}

/// A stroke along lines.
#[derive(Debug, Clone, Default)]
pub struct LineSymbolizer {
    /// The stroke.
    pub stroke: Stroke,
    /// Pixels to the left (positive) or right of the line.
    pub perpendicular_offset: f64,
    /// Geometry property to draw.
    pub geometry: Option<String>,
}

/// A graphic at points.
#[derive(Debug, Clone, Default)]
pub struct PointSymbolizer {
    /// The graphic.
    pub graphic: Graphic,
    /// Geometry property to draw.
    pub geometry: Option<String>,
}

/// A label.
#[derive(Debug, Clone)]
pub struct TextSymbolizer {
    /// The label text.
    pub label: Option<Expr>,
    /// Font families in order of preference.
    pub families: Vec<String>,
    /// `font-size` in pixels (default 10).
    pub size: Expr,
    /// `font-weight: bold`.
    pub bold: bool,
    /// `font-style: italic` or `oblique`.
    pub italic: bool,
    /// The text's colour (default black).
    pub fill: Fill,
    /// A halo: radius in pixels and its fill (default white).
    pub halo: Option<(Expr, Fill)>,
    /// Where the label goes.
    pub placement: Placement,
    /// Which labels win a conflict: the higher first (default: document order).
    pub priority: Option<Expr>,
    /// GeoServer's vendor options that change placement.
    pub options: LabelOptions,
}

impl Default for TextSymbolizer {
    fn default() -> Self {
        TextSymbolizer {
            label: None,
            families: Vec::new(),
            size: Expr::Literal("10".into()),
            bold: false,
            italic: false,
            fill: Fill {
                color: Expr::Literal("#000000".into()),
                ..Fill::default()
            },
            halo: None,
            placement: Placement::default(),
            priority: None,
            options: LabelOptions::default(),
        }
    }
}

/// Where a label goes.
#[derive(Debug, Clone)]
pub enum Placement {
    /// At the point (a line's middle, an area's centre): which point of the label sits there
    /// (0–1 across, 0–1 up), moved by a displacement in pixels, turned clockwise.
    Point {
        /// `AnchorPoint` (x, y); `None`: (0, 0.5) at points, the label's centre on lines and
        /// areas, as GeoServer places them.
        anchor: Option<(f64, f64)>,
        /// `Displacement` (x right, y up) in pixels.
        displacement: (f64, f64),
        /// `Rotation` in degrees.
        rotation: Expr,
    },
    /// Along a line, at its middle.
    Line {
        /// Pixels away from the line (positive: left of it, as the line goes).
        offset: f64,
    },
}

impl Default for Placement {
    fn default() -> Self {
        Placement::Point {
            anchor: None,
            displacement: (0.0, 0.0),
            rotation: Expr::Literal("0".into()),
        }
    }
}

/// GeoServer's default `maxAngleDelta`.
pub const DEFAULT_ANGLE_DELTA: f64 = 22.5;

/// GeoServer's label vendor options Meridian follows.
#[derive(Debug, Clone)]
pub struct LabelOptions {
    /// `group`: labels of the same text are placed once.
    pub group: bool,
    /// `spaceAround`: pixels kept free around the label (negative lets labels overlap).
    pub space_around: f64,
    /// `maxDisplacement`: how far a point label may move to find room.
    pub max_displacement: f64,
    /// `followLine`: a line label follows the line's bends, glyph by glyph.
    pub follow_line: bool,
    /// `maxAngleDelta`: the sharpest turn (degrees) between two glyphs of a label that
    /// follows a line (GeoServer's default 22.5).
    pub max_angle_delta: f64,
    /// `conflictResolution=false`: placed whatever it overlaps.
    pub overlap: bool,
    /// `autoWrap`: lines longer than this many pixels wrap at spaces (0 = never).
    pub auto_wrap: f64,
    /// `charSpacing`: pixels added between characters.
    pub char_spacing: f64,
}

impl Default for LabelOptions {
    fn default() -> Self {
        LabelOptions {
            group: false,
            space_around: 0.0,
            max_displacement: 0.0,
            follow_line: false,
            max_angle_delta: DEFAULT_ANGLE_DELTA,
            overlap: false,
            auto_wrap: 0.0,
            char_spacing: 0.0,
        }
    }
}

/// An area fill.
#[derive(Debug, Clone)]
pub struct Fill {
    /// `fill` (default grey #808080).
    pub color: Expr,
    /// `fill-opacity` (default 1).
    pub opacity: Expr,
    /// A graphic repeated over the area instead of a color.
    pub graphic: Option<Box<Graphic>>,
}

impl Default for Fill {
    fn default() -> Self {
        Fill {
            color: Expr::Literal("#808080".into()),
            opacity: Expr::Literal("1".into()),
            graphic: None,
        }
    }
}

/// A stroke.
#[derive(Debug, Clone)]
pub struct Stroke {
    /// `stroke` (default black).
    pub color: Expr,
    /// `stroke-width` in pixels (default 1).
    pub width: Expr,
    /// `stroke-opacity` (default 1).
    pub opacity: Expr,
    /// `stroke-dasharray` in pixels (empty: solid).
    pub dash: Vec<f32>,
    /// `stroke-dashoffset`.
    pub dash_offset: f32,
    /// `stroke-linecap`: butt (default), round, square.
    pub cap: LineCap,
    /// `stroke-linejoin`: miter (default), round, bevel.
    pub join: LineJoin,
    /// A graphic repeated along the line instead of a color.
    pub graphic: Option<Box<Graphic>>,
}

impl Default for Stroke {
    fn default() -> Self {
        Stroke {
            color: Expr::Literal("#000000".into()),
            width: Expr::Literal("1".into()),
            opacity: Expr::Literal("1".into()),
            dash: Vec::new(),
            dash_offset: 0.0,
            cap: LineCap::Butt,
            join: LineJoin::Miter,
            graphic: None,
        }
    }
}

/// Line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineCap {
    /// Flat at the end point.
    #[default]
    Butt,
    /// Round.
    Round,
    /// Square, past the end point.
    Square,
}

/// Line corners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineJoin {
    /// Sharp.
    #[default]
    Miter,
    /// Round.
    Round,
    /// Cut.
    Bevel,
}

/// A graphic: a mark or an image, sized, rotated, with an opacity.
#[derive(Debug, Clone)]
pub struct Graphic {
    /// What to draw: the first one Meridian can draw is used.
    pub symbols: Vec<GraphicSymbol>,
    /// Size in pixels (height); `None`: 16 for marks as GeoServer draws them, an image's own
    /// height.
    pub size: Option<Expr>,
    /// Rotation in degrees, clockwise.
    pub rotation: Expr,
    /// Opacity.
    pub opacity: Expr,
}

impl Default for Graphic {
    fn default() -> Self {
        Graphic {
            symbols: Vec::new(),
            size: None,
            rotation: Expr::Literal("0".into()),
            opacity: Expr::Literal("1".into()),
        }
    }
}

/// One symbol of a graphic.
#[derive(Debug, Clone)]
pub enum GraphicSymbol {
    /// A well-known mark (`square`, `circle`, `triangle`, `star`, `cross`, `x`, `shape://...`).
    Mark {
        /// Its well-known name (an expression: GeoServer's styles choose marks per feature).
        name: Expr,
        /// Its fill (`None`: none).
        fill: Option<Box<Fill>>,
        /// Its outline (`None`: none).
        stroke: Option<Box<Stroke>>,
    },
    /// An image by URL (`OnlineResource`), relative to the style's folder.
    External {
        /// The reference as written.
        href: String,
        /// Its MIME type.
        format: String,
    },
}

impl Style {
    /// How many pixels beyond its geometry a feature's symbols may reach (half a stroke, a
    /// line's offset, half a point graphic), for the margin of features read around a map;
    /// `None` when a size depends on the feature (the caller then takes its largest margin).
    /// Labels are left out: they are placed inside the map.
    pub fn symbol_reach(&self) -> Option<f64> {
        let none = meridian_features::Feature {
            id: String::new(),
            geometry: None,
            properties: Vec::new(),
        };
        let num = |e: &crate::expr::Expr| -> Option<f64> {
            e.is_literal().then(|| e.number(&none)).flatten()
        };
        fn graphic_size(
            g: &Graphic,
            num: &dyn Fn(&crate::expr::Expr) -> Option<f64>,
        ) -> Option<f64> {
            match &g.size {
                Some(e) => num(e),
                None => g.symbols.iter().find_map(|s| match s {
                    GraphicSymbol::Mark { .. } => Some(16.0),
                    // An image's own size is known only once it is read.
                    GraphicSymbol::External { .. } => None,
                }),
            }
        }
        let graphic = |g: &Graphic| -> Option<f64> {
            // Turned, a square's corner reaches √2 of its half side.
            Some(graphic_size(g, &num)? / 2.0 * std::f64::consts::SQRT_2 + 1.0)
        };
        let stroke = |s: &Stroke| -> Option<f64> {
            let w = num(&s.width)? / 2.0;
            match &s.graphic {
                Some(g) => Some(w.max(graphic(g)?)),
                None => Some(w),
            }
        };
        let mut reach = 0.0f64;
        for r in self.feature_type_styles.iter().flat_map(|f| f.rules.iter()) {
            for s in &r.symbolizers {
                let here = match s {
                    Symbolizer::Point(p) => graphic(&p.graphic)?,
                    Symbolizer::Line(l) => stroke(&l.stroke)? + l.perpendicular_offset.abs(),
                    Symbolizer::Polygon(p) => match &p.stroke {
                        Some(s) => stroke(s)?,
                        None => 0.0,
                    },
                    Symbolizer::Text(_) | Symbolizer::Raster(_) => 0.0,
                };
                reach = reach.max(here);
            }
        }
        Some(reach)
    }

    /// Whether drawing reads any property of the features (a filter, a label, or a parameter
    /// that is not a literal); when not, sources may leave attributes unread.
    pub fn reads_properties(&self) -> bool {
        fn fill(f: &Fill) -> bool {
            !f.color.is_literal()
                || !f.opacity.is_literal()
                || f.graphic.as_deref().is_some_and(graphic)
        }
        fn stroke(s: &Stroke) -> bool {
            !s.color.is_literal()
                || !s.width.is_literal()
                || !s.opacity.is_literal()
                || s.graphic.as_deref().is_some_and(graphic)
        }
        fn graphic(g: &Graphic) -> bool {
            g.size.as_ref().is_some_and(|e| !e.is_literal())
                || !g.rotation.is_literal()
                || !g.opacity.is_literal()
                || g.symbols.iter().any(|s| match s {
                    GraphicSymbol::Mark {
                        fill: f,
                        stroke: st,
                        ..
                    } => f.as_deref().is_some_and(fill) || st.as_deref().is_some_and(stroke),
                    GraphicSymbol::External { .. } => false,
                })
        }
        self.feature_type_styles
            .iter()
            .flat_map(|f| f.rules.iter())
            .any(|r| {
                r.filter.is_some()
                    || r.symbolizers.iter().any(|s| match s {
                        Symbolizer::Polygon(p) => {
                            p.fill.as_ref().is_some_and(fill)
                                || p.stroke.as_ref().is_some_and(stroke)
                        }
                        Symbolizer::Line(l) => stroke(&l.stroke),
                        Symbolizer::Point(p) => graphic(&p.graphic),
                        Symbolizer::Text(_) => true,
                        Symbolizer::Raster(_) => false,
                    })
            })
    }

    /// The colour of a literal expression, when it is one (legends, tests).
    pub fn literal_color(e: &Expr) -> Option<Color> {
        match e {
            Expr::Literal(s) => Color::parse(s),
            _ => None,
        }
    }
}
