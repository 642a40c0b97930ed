//! Reading an SLD 1.0 / SE 1.1 document (names with or without their `sld:`, `se:` and `ogc:`
//! prefixes).

use super::{
    ColorMap, ColorMapEntry, ColorMapKind, FeatureTypeStyle, Fill, Graphic, GraphicSymbol,
    Inclusion, LineCap, LineJoin, LineSymbolizer, Placement, PointSymbolizer, PolygonSymbolizer,
    RasterSymbolizer, Rule, Stroke, Style, Symbolizer, TextSymbolizer, DEFAULT_ANGLE_DELTA,
};
use crate::color::Color;
use crate::error::RenderError;
use crate::expr::Expr;
use meridian_features::filter::fes::parse_filter;
use meridian_xml::Element;

fn local(n: &str) -> &str {
    n.rsplit(':').next().unwrap_or(n)
}

fn child<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.children.iter().find(|c| local(&c.name) == name)
}

fn children<'a>(e: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    e.children.iter().filter(move |c| local(&c.name) == name)
}

fn text(e: &Element, name: &str) -> String {
    child(e, name)
        .and_then(Element::text_trim)
        .unwrap_or("")
        .to_string()
}

/// What the reader met and does not draw.
#[derive(Default)]
struct Reader {
    skipped: Vec<String>,
}

impl Reader {
    fn skip(&mut self, what: &str) {
        if !self.skipped.iter().any(|s| s == what) {
            self.skipped.push(what.to_string());
        }
    }

    /// An expression element (`Literal`, `PropertyName`, arithmetic, `Function`).
    fn expr_element(&mut self, e: &Element) -> Option<Expr> {
        match local(&e.name) {
            "Literal" => Some(Expr::Literal(
                e.text.as_deref().map(str::trim).unwrap_or("").to_string(),
            )),
            "PropertyName" | "ValueReference" => {
                let p = e.text_trim()?;
                let last = p.rsplit('/').next().unwrap_or(p);
                Some(Expr::Property(local(last).to_string()))
            }
            op @ ("Add" | "Sub" | "Mul" | "Div") => {
                let mut it = e.children.iter();
                let a = self.expr_element(it.next()?)?;
                let b = self.expr_element(it.next()?)?;
                let c = match op {
                    "Add" => '+',
                    "Sub" => '-',
                    "Mul" => '*',
                    _ => '/',
                };
                Some(Expr::Arith(c, Box::new(a), Box::new(b)))
            }
            "Function" => {
                let name = e.attr_value("name").unwrap_or("");
                if name.eq_ignore_ascii_case("recode") {
                    let args: Vec<Expr> = e
                        .children
                        .iter()
                        .filter_map(|c| self.expr_element(c))
                        .collect();
                    let (input, rest) = args.split_first()?;
                    let pairs = rest
                        .chunks_exact(2)
                        .map(|p| (p[0].clone(), p[1].clone()))
                        .collect();
                    Some(Expr::Recode(Box::new(input.clone()), pairs))
                } else if let Some(known) = crate::expr::FUNCTIONS
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(name))
                {
                    let args: Vec<Expr> = e
                        .children
                        .iter()
                        .filter_map(|c| self.expr_element(c))
                        .collect();
                    Some(Expr::Function(known.to_string(), args))
                } else {
                    self.skip(&format!("function {name}"));
                    None
                }
            }
            other => {
                self.skip(other);
                None
            }
        }
    }

    /// The value of a parameter or value element: its text, or the expression(s) it holds.
    fn value(&mut self, e: &Element) -> Option<Expr> {
        if e.children.is_empty() {
            return Some(Expr::Literal(e.text_trim().unwrap_or("").to_string()));
        }
        let parts: Vec<Expr> = e
            .children
            .iter()
            .filter_map(|c| self.expr_element(c))
            .collect();
        match parts.len() {
            0 => None,
            1 => parts.into_iter().next(),
            _ => Some(Expr::Concat(parts)),
        }
    }

    /// `CssParameter`/`SvgParameter` values by name.
    fn params(&mut self, e: &Element) -> Vec<(String, Expr)> {
        let mut v = Vec::new();
        for p in e
            .children
            .iter()
            .filter(|c| matches!(local(&c.name), "CssParameter" | "SvgParameter"))
        {
            let name = p.attr_value("name").unwrap_or("").to_string();
            if let Some(x) = self.value(p) {
                v.push((name, x));
            }
        }
        v
    }

    fn fill(&mut self, e: &Element) -> Fill {
        let mut f = Fill::default();
        for (name, x) in self.params(e) {
            match name.as_str() {
                "fill" => f.color = x,
                "fill-opacity" => f.opacity = x,
                other => self.skip(&format!("fill parameter {other}")),
            }
        }
        if let Some(g) = child(e, "GraphicFill").and_then(|gf| child(gf, "Graphic")) {
            f.graphic = Some(Box::new(self.graphic(g)));
        }
        f
    }

    fn stroke(&mut self, e: &Element) -> Stroke {
        let mut s = Stroke::default();
        for (name, x) in self.params(e) {
            let literal = match &x {
                Expr::Literal(t) => t.clone(),
                _ => String::new(),
            };
            match name.as_str() {
                "stroke" => s.color = x,
                "stroke-width" => s.width = x,
                "stroke-opacity" => s.opacity = x,
                "stroke-dasharray" => {
                    s.dash = literal
                        .split([' ', ','])
                        .filter_map(|d| d.trim().parse::<f32>().ok())
                        .filter(|d| d.is_finite() && *d >= 0.0)
                        .collect();
                }
                "stroke-dashoffset" => s.dash_offset = literal.trim().parse().unwrap_or(0.0),
                "stroke-linecap" => {
                    s.cap = match literal.trim() {
                        "round" => LineCap::Round,
                        "square" => LineCap::Square,
                        _ => LineCap::Butt,
                    }
                }
                "stroke-linejoin" => {
                    s.join = match literal.trim() {
                        "round" => LineJoin::Round,
                        "bevel" => LineJoin::Bevel,
                        _ => LineJoin::Miter,
                    }
                }
                other => self.skip(&format!("stroke parameter {other}")),
            }
        }
        if let Some(g) = child(e, "GraphicStroke").and_then(|gs| child(gs, "Graphic")) {
            s.graphic = Some(Box::new(self.graphic(g)));
        }
        s
    }

    fn graphic(&mut self, e: &Element) -> Graphic {
        let mut g = Graphic::default();
        for c in &e.children {
            match local(&c.name) {
                "Mark" => g.symbols.push(GraphicSymbol::Mark {
                    name: child(c, "WellKnownName")
                        .and_then(|w| self.value(w))
                        .map(|x| match x {
                            Expr::Literal(t) => Expr::from_text(&t),
                            other => other,
                        })
                        .unwrap_or_else(|| Expr::Literal("square".into())),
                    fill: child(c, "Fill").map(|f| Box::new(self.fill(f))),
                    stroke: child(c, "Stroke").map(|s| Box::new(self.stroke(s))),
                }),
                "ExternalGraphic" => {
                    let href = child(c, "OnlineResource")
                        .and_then(|o| o.attr_value("xlink:href").or_else(|| o.attr_value("href")))
                        .unwrap_or("")
                        .to_string();
                    g.symbols.push(GraphicSymbol::External {
                        href,
                        format: text(c, "Format"),
                    });
                }
                "Size" => g.size = self.value(c),
                "Rotation" => {
                    if let Some(x) = self.value(c) {
                        g.rotation = x;
                    }
                }
                "Opacity" => {
                    if let Some(x) = self.value(c) {
                        g.opacity = x;
                    }
                }
                "AnchorPoint" | "Displacement" => self.skip(local(&c.name)),
                _ => {}
            }
        }
        g
    }

    fn number(&mut self, e: Option<&Element>) -> Option<f64> {
        match self.value(e?)? {
            Expr::Literal(t) => t.trim().parse().ok(),
            _ => None,
        }
    }

    fn raster_symbolizer(&mut self, c: &Element) -> RasterSymbolizer {
        let mut r = RasterSymbolizer::default();
        if let Some(o) = self.number(child(c, "Opacity")) {
            r.opacity = o.clamp(0.0, 1.0);
        }
        r.gray_channel = child(c, "ChannelSelection")
            .and_then(|cs| child(cs, "GrayChannel"))
            .and_then(|g| child(g, "SourceChannelName"))
            .and_then(Element::text_trim)
            .and_then(|t| t.parse::<usize>().ok())
            .filter(|n| *n >= 1);
        if let Some(cm) = child(c, "ColorMap") {
            let kind = match cm.attr_value("type").unwrap_or("ramp") {
                "intervals" => ColorMapKind::Intervals,
                "values" => ColorMapKind::Values,
                _ => ColorMapKind::Ramp,
            };
            let mut entries: Vec<ColorMapEntry> = children(cm, "ColorMapEntry")
                .filter_map(|e| {
                    Some(ColorMapEntry {
                        color: Color::parse(e.attr_value("color")?)?,
                        quantity: e
                            .attr_value("quantity")
                            .and_then(|q| q.trim().parse().ok())?,
                        opacity: e
                            .attr_value("opacity")
                            .and_then(|o| o.trim().parse().ok())
                            .unwrap_or(1.0),
                        label: e.attr_value("label").unwrap_or("").to_string(),
                    })
                })
                .collect();
            entries.sort_by(|a, b| {
                a.quantity
                    .partial_cmp(&b.quantity)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            r.color_map = Some(ColorMap { kind, entries });
        }
        for other in ["ContrastEnhancement", "ShadedRelief", "ImageOutline"] {
            if child(c, other).is_some() {
                self.skip(other);
            }
        }
        r
    }

    fn text_symbolizer(&mut self, c: &Element) -> TextSymbolizer {
        let mut t = TextSymbolizer {
            label: child(c, "Label").and_then(|l| self.value(l)),
            ..TextSymbolizer::default()
        };
        if let Some(font) = child(c, "Font") {
            for (name, x) in self.params(font) {
                let lit = match &x {
                    Expr::Literal(s) => s.trim().to_ascii_lowercase(),
                    _ => String::new(),
                };
                match name.as_str() {
                    "font-family" => {
                        if let Expr::Literal(f) = x {
                            t.families.push(f.trim().to_string());
                        }
                    }
                    "font-size" => t.size = x,
                    "font-weight" => t.bold = lit == "bold",
                    "font-style" => t.italic = lit == "italic" || lit == "oblique",
                    _ => {}
                }
            }
        }
        if let Some(f) = child(c, "Fill") {
            let given = self.params(f).iter().any(|(n, _)| n == "fill");
            t.fill = self.fill(f);
            if !given {
                t.fill.color = Expr::Literal("#000000".into());
            }
        }
        if let Some(h) = child(c, "Halo") {
            let radius = child(h, "Radius")
                .and_then(|r| self.value(r))
                .unwrap_or(Expr::Literal("1".into()));
            let mut fill = Fill {
                color: Expr::Literal("#FFFFFF".into()),
                ..Fill::default()
            };
            if let Some(f) = child(h, "Fill") {
                let given = self.params(f).iter().any(|(n, _)| n == "fill");
                let read = self.fill(f);
                if given {
                    fill.color = read.color;
                }
                fill.opacity = read.opacity;
            }
            t.halo = Some((radius, fill));
        }
        if let Some(lp) = child(c, "LabelPlacement") {
            if let Some(pp) = child(lp, "PointPlacement") {
                let anchor = child(pp, "AnchorPoint");
                let disp = child(pp, "Displacement");
                t.placement = Placement::Point {
                    anchor: anchor.map(|a| {
                        (
                            self.number(child(a, "AnchorPointX")).unwrap_or(0.0),
                            self.number(child(a, "AnchorPointY")).unwrap_or(0.5),
                        )
                    }),
                    displacement: (
                        self.number(disp.and_then(|d| child(d, "DisplacementX")))
                            .unwrap_or(0.0),
                        self.number(disp.and_then(|d| child(d, "DisplacementY")))
                            .unwrap_or(0.0),
                    ),
                    rotation: child(pp, "Rotation")
                        .and_then(|r| self.value(r))
                        .unwrap_or(Expr::Literal("0".into())),
                };
            } else if let Some(line) = child(lp, "LinePlacement") {
                t.placement = Placement::Line {
                    offset: self
                        .number(child(line, "PerpendicularOffset"))
                        .unwrap_or(0.0),
                };
            }
        }
        t.priority = child(c, "Priority").and_then(|p| self.value(p));
        for v in children(c, "VendorOption") {
            let val = v.text_trim().unwrap_or("");
            let yes = matches!(val.to_ascii_lowercase().as_str(), "true" | "yes" | "1");
            match v.attr_value("name").unwrap_or("") {
                "group" => t.options.group = yes,
                "spaceAround" => t.options.space_around = val.parse().unwrap_or(0.0),
                "maxDisplacement" => t.options.max_displacement = val.parse().unwrap_or(0.0),
                "followLine" => t.options.follow_line = yes,
                "autoWrap" => t.options.auto_wrap = val.parse().unwrap_or(0.0),
                "charSpacing" => t.options.char_spacing = val.parse().unwrap_or(0.0),
                "maxAngleDelta" => {
                    t.options.max_angle_delta = val.parse().unwrap_or(DEFAULT_ANGLE_DELTA)
                }
                "conflictResolution" => t.options.overlap = !yes && !val.is_empty(),
                "inclusion" => {}
                other => self.skip(&format!("label option {other}")),
            }
        }
        t
    }

    fn geometry(&mut self, e: &Element) -> Option<String> {
        let g = child(e, "Geometry")?;
        match g.children.first().and_then(|c| self.expr_element(c)) {
            Some(Expr::Property(p)) => Some(p),
            _ => {
                self.skip("Geometry expression");
                None
            }
        }
    }

    fn rule(&mut self, e: &Element) -> Result<Rule, RenderError> {
        let mut r = Rule {
            name: text(e, "Name"),
            title: text(e, "Title"),
            ..Rule::default()
        };
        if let Some(d) = child(e, "Description") {
            if r.title.is_empty() {
                r.title = text(d, "Title");
            }
        }
        for c in &e.children {
            match local(&c.name) {
                "Filter" => {
                    // Rule filters carry boxes and geometries in the layer's CRS.
                    let envelope = |b: [f64; 4], _: Option<&str>| {
                        Ok(geo_types::Rect::new(
                            geo_types::coord! { x: b[0], y: b[1] },
                            geo_types::coord! { x: b[2], y: b[3] },
                        ))
                    };
                    let geometry = |g: geo_types::Geometry<f64>, _: Option<&str>| Ok(g);
                    r.filter = Some(parse_filter(c, &envelope, &geometry)?);
                }
                "ElseFilter" => r.else_filter = true,
                "MinScaleDenominator" => r.min_scale = c.text_trim().and_then(|t| t.parse().ok()),
                "MaxScaleDenominator" => r.max_scale = c.text_trim().and_then(|t| t.parse().ok()),
                "PolygonSymbolizer" => r.symbolizers.push(Symbolizer::Polygon(PolygonSymbolizer {
                    fill: child(c, "Fill").map(|f| self.fill(f)),
                    stroke: child(c, "Stroke").map(|s| self.stroke(s)),
                    geometry: self.geometry(c),
                })),
                "LineSymbolizer" => r.symbolizers.push(Symbolizer::Line(LineSymbolizer {
                    stroke: child(c, "Stroke")
                        .map(|s| self.stroke(s))
                        .unwrap_or_default(),
                    perpendicular_offset: child(c, "PerpendicularOffset")
                        .and_then(Element::text_trim)
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0.0),
                    geometry: self.geometry(c),
                })),
                "PointSymbolizer" => r.symbolizers.push(Symbolizer::Point(PointSymbolizer {
                    graphic: child(c, "Graphic")
                        .map(|g| self.graphic(g))
                        .unwrap_or_default(),
                    geometry: self.geometry(c),
                })),
                "TextSymbolizer" => {
                    let t = self.text_symbolizer(c);
                    r.symbolizers.push(Symbolizer::Text(Box::new(t)));
                }
                "RasterSymbolizer" => {
                    let sym = self.raster_symbolizer(c);
                    r.symbolizers.push(Symbolizer::Raster(Box::new(sym)));
                }
                _ => {}
            }
        }
        // GeoServer's `inclusion`, on the rule or on each symbolizer.
        let of = |e: &Element| -> Option<Inclusion> {
            children(e, "VendorOption")
                .find(|v| v.attr_value("name") == Some("inclusion"))
                .and_then(|v| match v.text_trim()? {
                    "mapOnly" => Some(Inclusion::MapOnly),
                    "legendOnly" => Some(Inclusion::LegendOnly),
                    _ => Some(Inclusion::Normal),
                })
        };
        let rule_wide = of(e).unwrap_or_default();
        r.inclusion = e
            .children
            .iter()
            .filter(|c| {
                matches!(
                    local(&c.name),
                    "PolygonSymbolizer"
                        | "LineSymbolizer"
                        | "PointSymbolizer"
                        | "TextSymbolizer"
                        | "RasterSymbolizer"
                )
            })
            .map(|c| of(c).unwrap_or(rule_wide))
            .collect();
        Ok(r)
    }

    fn feature_type_style(&mut self, e: &Element) -> Result<FeatureTypeStyle, RenderError> {
        let mut fts = FeatureTypeStyle::default();
        for c in &e.children {
            match local(&c.name) {
                "Rule" => fts.rules.push(self.rule(c)?),
                "VendorOption" => match c.attr_value("name") {
                    Some("ruleEvaluation") => {
                        fts.first_rule_only = c.text_trim() == Some("first");
                    }
                    Some(other) => self.skip(&format!("vendor option {other}")),
                    None => {}
                },
                _ => {}
            }
        }
        Ok(fts)
    }
}

/// Read the style of an SLD document: its `UserStyle` marked `IsDefault`, else its first.
pub fn parse(doc: &str) -> Result<Style, RenderError> {
    let root = meridian_xml::parse(doc).map_err(|e| RenderError::Style(e.to_string()))?;
    let user_styles: Vec<&Element> = match local(&root.name) {
        "StyledLayerDescriptor" => root
            .children
            .iter()
            .filter(|l| matches!(local(&l.name), "NamedLayer" | "UserLayer"))
            .flat_map(|l| children(l, "UserStyle"))
            .collect(),
        "UserStyle" => vec![&root],
        other => {
            return Err(RenderError::Style(format!(
                "expected an SLD StyledLayerDescriptor, got <{other}>"
            )))
        }
    };
    let chosen = user_styles
        .iter()
        .find(|u| matches!(text(u, "IsDefault").as_str(), "1" | "true"))
        .or(user_styles.first())
        .ok_or_else(|| RenderError::Style("the SLD document has no UserStyle".into()))?;
    user_style(chosen)
}

/// One `UserStyle` element as a style.
fn user_style(chosen: &Element) -> Result<Style, RenderError> {
    let mut reader = Reader::default();
    let mut style = Style {
        name: text(chosen, "Name"),
        title: text(chosen, "Title"),
        ..Style::default()
    };
    for c in &chosen.children {
        match local(&c.name) {
            "FeatureTypeStyle" => style
                .feature_type_styles
                .push(reader.feature_type_style(c)?),
            "CoverageStyle" => reader.skip("CoverageStyle"),
            _ => {}
        }
    }
    style.skipped = reader.skipped;
    Ok(style)
}

/// The style an SLD document gives one named layer.
#[derive(Debug, Clone)]
pub enum LayerStyle {
    /// A style written in the document.
    Inline(Style),
    /// A style of the catalog, by name (`NamedStyle`; empty: the layer's default).
    Named(String),
}

/// The layers an SLD document (a WMS `SLD_BODY`) names, in order, each with its style.
pub fn parse_layers(doc: &str) -> Result<Vec<(String, LayerStyle)>, RenderError> {
    let root = meridian_xml::parse(doc).map_err(|e| RenderError::Style(e.to_string()))?;
    if local(&root.name) != "StyledLayerDescriptor" {
        return Err(RenderError::Style(format!(
            "expected an SLD StyledLayerDescriptor, got <{}>",
            root.name
        )));
    }
    let mut out = Vec::new();
    for l in root
        .children
        .iter()
        .filter(|l| matches!(local(&l.name), "NamedLayer" | "UserLayer"))
    {
        let name = text(l, "Name");
        if name.is_empty() {
            return Err(RenderError::Style(
                "an SLD layer has no Name: name the layer it styles".into(),
            ));
        }
        let style = if let Some(u) = children(l, "UserStyle")
            .find(|u| matches!(text(u, "IsDefault").as_str(), "1" | "true"))
            .or_else(|| child(l, "UserStyle"))
        {
            LayerStyle::Inline(user_style(u)?)
        } else {
            LayerStyle::Named(
                child(l, "NamedStyle")
                    .map(|n| text(n, "Name"))
                    .unwrap_or_default(),
            )
        };
        out.push((name, style));
    }
    if out.is_empty() {
        return Err(RenderError::Style("the SLD document names no layer".into()));
    }
    Ok(out)
}
