//! GetMap: the named layers drawn bottom first through their styles, features read from each
//! store by the map's box (in the layer's CRS) and reprojected to the map's, within the
//! service's memory and time limits.

use super::error::{wms_err, WmsError};
use super::groups::{find_group, group_layers};
use super::layer::{find_wms_layer, WmsLayer};
use super::request::{Exceptions, Format, GetMap, Params};
use super::styles::{layer_style, style_by_id, StyleSource};
use crate::coverages::CoverageLayer;
use crate::layers::FeatureLayer;
use crate::OgcState;
use axum::response::{IntoResponse, Response};
use meridian_features::{open_source, transform_bbox, Feature, FeatureError, Filter, Transformer};
use meridian_render::sld::{self, Style};
use meridian_render::{encode, scale_denominator, Map, MapExtent};
use meridian_xml::Element;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What bounds one request, from `wms.xml`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Bytes the image may take (`maxRequestMemory`, KB; 0 = only the side limit).
    pub memory: u64,
    /// Time drawing may take (`maxRenderingTime`, s; 0 = none).
    pub time: Option<Duration>,
    /// The largest margin (pixels) of features read around a map when the styles do not
    /// tell (`maxBuffer`, GeoServer's default 25).
    pub max_buffer: f64,
}

impl Limits {
    pub(super) fn of(svc: Option<&Element>) -> Limits {
        let num = |k: &str| {
            svc.and_then(|s| s.child_text(k))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Limits {
            memory: num("maxRequestMemory") * 1024,
            time: Some(num("maxRenderingTime"))
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
            max_buffer: svc
                .and_then(|s| s.child_text("maxBuffer"))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|b| *b > 0.0 && *b <= 1024.0)
                .unwrap_or(25.0),
        }
    }
}

/// One layer to draw: where its features are, which of them, and the style to draw them
/// with.
struct Drawn {
    layer: WmsLayer,
    style: Arc<Style>,
    style_dir: Option<std::path::PathBuf>,
    filter: Option<Filter>,
}

impl Drawn {
    fn new(layer: WmsLayer, style: &StyleSource, filter: Option<Filter>) -> Drawn {
        Drawn {
            layer,
            style: style.parsed(),
            style_dir: style.dir.clone(),
            filter,
        }
    }
}

/// The features of `layer` a request draws: the layer's own `cqlFilter`, the request's
/// `CQL_FILTER` for it, and `FEATUREID`, all in the layer's CRS.
pub(super) fn layer_filter(
    layer: &FeatureLayer,
    cql: Option<&str>,
    feature_ids: &[String],
    v: super::error::Version,
) -> Result<Option<Filter>, WmsError> {
    let mut parts = Vec::new();
    let own = layer.own_filter().map_err(|e| {
        wms_err(
            v,
            "NoApplicableCode",
            "layers",
            format!(
                "the layer {}'s own cqlFilter does not read: {e}",
                layer.qualified()
            ),
        )
    })?;
    parts.extend(own);
    if let Some(c) =
        cql.filter(|c| !c.trim().is_empty() && !c.trim().eq_ignore_ascii_case("INCLUDE"))
    {
        let f = layer.read_cql(c).map_err(|e| {
            wms_err(
                v,
                "InvalidParameterValue",
                "cql_filter",
                format!("bad CQL_FILTER for {}: {e}", layer.qualified()),
            )
        })?;
        parts.push(f);
    }
    if !feature_ids.is_empty() {
        parts.push(Filter::Ids(feature_ids.to_vec()));
    }
    Ok(match parts.len() {
        0 => None,
        _ => Some(Filter::all_of(parts)),
    })
}

/// Answer a GetMap request. Once the request reads, a failure is answered as `EXCEPTIONS`
/// asks: a report, or an image of the size asked for.
pub(super) async fn get_map(
    st: &Arc<OgcState>,
    ws: Option<&str>,
    p: &Params,
    svc: Option<&Element>,
    access: &meridian_security::LayerAccess,
) -> Result<Response, WmsError> {
    let req = GetMap::read(p)?;
    // GeoServer's switch for styles sent with the request.
    let dynamic_off = svc
        .and_then(|s| s.child_text("dynamicStylingDisabled"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if dynamic_off && (req.sld_body.is_some() || req.sld_url.is_some()) {
        return Err(wms_err(
            req.version,
            "StyleNotDefined",
            "sld_body",
            "styles sent with the request (SLD_BODY, SLD) are disabled on this server (wms.xml: dynamicStylingDisabled)",
        ));
    }
    // A GetMap that is one cached tile (GeoServer's direct WMS integration).
    let ask = crate::gwc::direct::MapAsk {
        layers: &req.layers,
        styles: &req.styles,
        epsg: req.epsg,
        bbox: req.bbox,
        width: req.width,
        height: req.height,
        format: req.format.mime(),
    };
    let miss = match crate::gwc::direct::get_map(st, ws, p, ask, access).await {
        crate::gwc::direct::Direct::Tile(r) => return Ok(r),
        crate::gwc::direct::Direct::Miss(why) => Some(why),
        crate::gwc::direct::Direct::Off => None,
    };
    let prefixes = super::sld_url::allowed(svc);
    let drawn = match draw_map(st, ws, &req, Limits::of(svc), &prefixes, access).await {
        Ok(map) => image(&req, map),
        // A refusal of the caller stays a refusal (401 asks for a login), never an image.
        Err(e) if e.status.is_some() => Err(e),
        Err(e) if req.exceptions != Exceptions::Xml => {
            tracing::debug!(error = %e.text, "GetMap failed; answered with an image as EXCEPTIONS asks");
            let mut map = blank_map(&req)?;
            if req.exceptions == Exceptions::InImage {
                map.write_message(&e.text);
            }
            image(&req, map)
        }
        Err(e) => Err(e),
    };
    match (drawn, miss) {
        (Ok(mut r), Some(why)) => {
            let h = r.headers_mut();
            h.insert(
                "geowebcache-cache-result",
                axum::http::HeaderValue::from_static("MISS"),
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&why) {
                h.insert("geowebcache-miss-reason", v);
            }
            Ok(r)
        }
        (drawn, _) => drawn,
    }
}

/// A map drawn for the tile services: the GetMap `p` names (layers, styles, box, size), as
/// WMS draws it for `access`'s caller under the global WMS limits.
pub(crate) async fn draw_for_tiles(
    st: &Arc<OgcState>,
    p: &Params,
    access: &meridian_security::LayerAccess,
) -> Result<Map, WmsError> {
    let req = GetMap::read(p)?;
    let svc = crate::ows::service_settings(st, None, "wms").map(|o| o.element());
    let prefixes = super::sld_url::allowed(svc.as_ref());
    draw_map(st, None, &req, Limits::of(svc.as_ref()), &prefixes, access).await
}

/// The map of a request that reads.
async fn draw_map(
    st: &Arc<OgcState>,
    ws: Option<&str>,
    req: &GetMap,
    limits: Limits,
    sld_prefixes: &[reqwest::Url],
    access: &meridian_security::LayerAccess,
) -> Result<Map, WmsError> {
    let v = req.version;
    // The canvas (4 bytes a pixel) and the rasterizer's coverage cells (4 more).
    let bytes = u64::from(req.width) * u64::from(req.height) * 8;
    if limits.memory > 0 && bytes > limits.memory {
        return Err(wms_err(
            v,
            "InvalidParameterValue",
            "width",
            format!(
                "a {}×{} map needs {} KB, more than this server's limit of {} KB (maxRequestMemory): ask for a smaller image",
                req.width,
                req.height,
                bytes / 1024,
                limits.memory / 1024
            ),
        ));
    }
    let cat = st.catalog.snapshot();
    // SLD_BODY, or the document SLD names: its layers (when LAYERS names none) and their
    // styles.
    let fetched;
    let (doc, param) = match (&req.sld_body, &req.sld_url) {
        (Some(body), _) => (Some(body.as_str()), "SLD_BODY"),
        (None, Some(url)) => {
            fetched = super::sld_url::fetch(url, sld_prefixes, v).await?;
            (Some(fetched.as_str()), "SLD")
        }
        (None, None) => (None, ""),
    };
    let sld = match doc {
        Some(body) => sld::parse_layers(body).map_err(|err| {
            wms_err(
                v,
                "StyleNotDefined",
                &param.to_ascii_lowercase(),
                format!("{param}: {err}"),
            )
        })?,
        None => Vec::new(),
    };
    let names: Vec<String> = if req.layers.is_empty() {
        sld.iter().map(|(n, _)| n.clone()).collect()
    } else {
        req.layers.clone()
    };
    let mut drawn = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let asked = req.styles.get(i).map(String::as_str).unwrap_or("");
        let cql = req.cql_for(Some(i));
        // The SLD_BODY entry for this layer, by its name as written or qualified.
        let local = |n: &str| n.rsplit(':').next().unwrap_or(n).to_string();
        let from_sld = sld
            .iter()
            .find(|(n, _)| n == name || local(n) == local(name));
        if let Some(layer) = find_wms_layer(&cat, &st.data_dir, ws, name) {
            layer.readable(access).map_err(|r| {
                super::error::wms_refusal(
                    v,
                    r,
                    wms_err(
                        v,
                        "LayerNotDefined",
                        "layers",
                        format!("no layer or layer group named '{name}'"),
                    ),
                )
            })?;
            let layer = match layer {
                WmsLayer::Features(l) => {
                    WmsLayer::Features(l.with_view_params(req.view_params.as_deref(), i).map_err(
                        |e| wms_err(v, "InvalidParameterValue", "viewparams", e.to_string()),
                    )?)
                }
                other => other,
            };
            let filter = match &layer {
                WmsLayer::Features(l) => layer_filter(l, cql, &req.feature_ids, v)?,
                WmsLayer::Coverage(_) => None,
            };
            match from_sld.map(|(_, s)| s) {
                Some(sld::LayerStyle::Inline(style)) => drawn.push(Drawn {
                    layer,
                    style: Arc::new(style.clone()),
                    style_dir: None,
                    filter,
                }),
                named => {
                    let asked = match named {
                        Some(sld::LayerStyle::Named(n)) => n.as_str(),
                        _ => asked,
                    };
                    let style = layer_style(&cat, &st.data_dir, &layer, asked)
                        .map_err(|m| wms_err(v, "StyleNotDefined", "styles", m))?;
                    drawn.push(Drawn::new(layer, &style, filter));
                }
            }
            continue;
        }
        let unknown = || {
            wms_err(
                v,
                "LayerNotDefined",
                "layers",
                format!("no layer or layer group named '{name}'"),
            )
        };
        let group = find_group(&cat, ws, name).ok_or_else(unknown)?;
        // The group's own rule (`ws.group.r`, or `group.r` for a global one).
        let group_ws = group
            .workspace()
            .and_then(|id| cat.get(id))
            .map(|w| w.name().to_string())
            .unwrap_or_default();
        crate::access::read(access, &group_ws, group.name())
            .map_err(|r| super::error::wms_refusal(v, r, unknown()))?;
        let mut skipped = Vec::new();
        // The members the caller may read (the others are left out, as if not in the group).
        let members = group_layers(&cat, &st.data_dir, group, &mut skipped, access);
        for (layer, style_id) in members {
            let style = match style_id {
                Some(id) => style_by_id(&cat, &st.data_dir, &id),
                None => layer_style(&cat, &st.data_dir, &layer, ""),
            }
            .map_err(|m| wms_err(v, "StyleNotDefined", "styles", m))?;
            let filter = match &layer {
                WmsLayer::Features(l) => layer_filter(l, cql, &req.feature_ids, v)?,
                WmsLayer::Coverage(_) => None,
            };
            drawn.push(Drawn::new(layer, &style, filter));
        }
        if !skipped.is_empty() {
            tracing::debug!(group = %name, members = ?skipped, "group members Meridian does not draw (coverage stores of another type)");
        }
    }
    let req = req.clone();
    tokio::task::spawn_blocking(move || render(&req, &drawn, limits))
        .await
        .map_err(|e| wms_err(v, "NoApplicableCode", "", format!("drawing failed: {e}")))?
}

/// An empty map of the request's size and background.
fn blank_map(req: &GetMap) -> Result<Map, WmsError> {
    Map::new(extent(req), background(req), 1.0, true)
        .map_err(|e| wms_err(req.version, "NoApplicableCode", "", e.to_string()))
}

fn extent(req: &GetMap) -> MapExtent {
    MapExtent {
        min_x: req.bbox[0],
        min_y: req.bbox[1],
        max_x: req.bbox[2],
        max_y: req.bbox[3],
        width: req.width,
        height: req.height,
    }
}

fn background(req: &GetMap) -> Option<meridian_render::Color> {
    (!req.transparent).then_some(req.bgcolor)
}

/// The encoded image.
fn image(req: &GetMap, map: Map) -> Result<Response, WmsError> {
    let bytes = match req.format {
        Format::Png => encode::png(map.pixmap()),
        Format::Png8 => encode::png8(map.pixmap()),
        // GeoServer's default JPEG quality setting (jpegCompression 25 → quality 75).
        Format::Jpeg => encode::jpeg(map.pixmap(), 75, req.bgcolor),
    }
    .map_err(|e| wms_err(req.version, "NoApplicableCode", "", e.to_string()))?;
    Ok(([("content-type", req.format.mime())], bytes).into_response())
}

/// Why drawing stopped.
enum Stop {
    Feature(FeatureError),
    Time,
}

/// Draw every layer.
fn render(req: &GetMap, drawn: &[Drawn], limits: Limits) -> Result<Map, WmsError> {
    let v = req.version;
    let geographic = meridian_sources::is_geographic(req.epsg);
    let scale = scale_denominator(req.bbox[2] - req.bbox[0], geographic, req.width, req.dpi);
    let mut map = Map::new(extent(req), background(req), scale, req.antialias)
        .map_err(|e| wms_err(v, "NoApplicableCode", "", e.to_string()))?;
    let deadline = limits.time.map(|t| Instant::now() + t);
    for d in drawn {
        let style = d.style.clone();
        map.set_style_dir(d.style_dir.clone());
        let layer = match &d.layer {
            WmsLayer::Features(l) => l,
            WmsLayer::Coverage(c) => {
                draw_coverage(&mut map, req, c, &style)?;
                continue;
            }
        };
        let source = open_source(&layer.store, &layer.native).map_err(|e| {
            wms_err(
                v,
                "NoApplicableCode",
                "layers",
                format!("{}: {e}", layer.qualified()),
            )
        })?;
        let to_map = Transformer::new(layer.epsg, req.epsg).map_err(|e| {
            wms_err(
                v,
                "InvalidCRS",
                "crs",
                format!("{}: {e}", layer.qualified()),
            )
        })?;
        // The map's box in the layer's CRS, larger by the request's BUFFER, else by how far
        // the style's symbols reach (at most wms.xml's maxBuffer), so that symbols straddling
        // the edge are drawn and tiles meet without seams.
        let pixels = match req.buffer {
            Some(b) => f64::from(b),
            None => d
                .style
                .symbol_reach()
                .map_or(limits.max_buffer, |r| r.ceil().min(limits.max_buffer))
                .max(2.0),
        };
        let pad_x = (req.bbox[2] - req.bbox[0]) / f64::from(req.width) * pixels;
        let pad_y = (req.bbox[3] - req.bbox[1]) / f64::from(req.height) * pixels;
        let padded = [
            req.bbox[0] - pad_x,
            req.bbox[1] - pad_y,
            req.bbox[2] + pad_x,
            req.bbox[3] + pad_y,
        ];
        let native_box = transform_bbox(padded, req.epsg, layer.epsg)
            .ok()
            .filter(|r| r.min().x.is_finite() && r.max().x.is_finite() && r.width() > 0.0);
        let mut timed_out = false;
        let prefix = layer.name.clone();
        // Attributes are read only when the style or a filter needs them.
        let geometries_only = d.filter.is_none() && !style.reads_properties();
        let result = map.draw(&style, &mut |each: &mut dyn FnMut(Feature) -> bool| {
            let scan = |b, p: &str, e: &mut dyn FnMut(Feature) -> bool| {
                if geometries_only {
                    source.scan_geometries(b, p, e)
                } else {
                    source.scan(b, p, e)
                }
            };
            scan(native_box, &prefix, &mut |mut f: Feature| {
                if deadline.is_some_and(|t| Instant::now() > t) {
                    timed_out = true;
                    return false;
                }
                if d.filter.as_ref().is_some_and(|flt| !flt.matches(&f)) {
                    return true;
                }
                if let Some(g) = f.geometry.as_mut() {
                    to_map.geometry(g);
                }
                each(f)
            })
            .map_err(Stop::Feature)?;
            if timed_out {
                return Err(Stop::Time);
            }
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(Stop::Time) => {
                return Err(wms_err(
                    v,
                    "NoApplicableCode",
                    "",
                    format!(
                        "drawing took longer than this server's limit of {} s (maxRenderingTime): ask for a smaller area or fewer layers",
                        limits.time.map(|t| t.as_secs()).unwrap_or(0)
                    ),
                ))
            }
            Err(Stop::Feature(e)) => {
                return Err(wms_err(
                    v,
                    "NoApplicableCode",
                    "layers",
                    format!("{}: {e}", layer.qualified()),
                ))
            }
        }
    }
    map.draw_labels();
    Ok(map)
}

/// One grid as the renderer reads it: positions are the grid's pixels (the common case, and
/// the fastest: no transform per sample).
struct GridSource(Arc<meridian_coverages::Grid>);

impl meridian_render::RasterSource for GridSource {
    fn bands(&self) -> usize {
        self.0.bands
    }
    fn colour(&self) -> bool {
        self.0.colour
    }
    fn sample(&self, col: f64, row: f64) -> Option<[f32; 4]> {
        let g = &self.0;
        if col < 0.0 || row < 0.0 {
            return None;
        }
        let (c, r) = (col as usize, row as usize);
        let mut v = [0f32; 4];
        for (b, slot) in v.iter_mut().enumerate().take(g.bands.min(4)) {
            *slot = g.value(c, r, b)?;
        }
        if !g.colour && g.is_nodata(v[0]) {
            return None;
        }
        Some(v)
    }
    fn range(&self) -> (f32, f32) {
        if self.0.colour {
            (0.0, 255.0)
        } else {
            value_range(&self.0)
        }
    }
}

/// Grids as the renderer reads them: positions are coordinates in the grids' CRS, each
/// looked up in the grid that holds it (one grid, or a mosaic's granules).
struct GridsSource {
    grids: Vec<Arc<meridian_coverages::Grid>>,
    /// Per grid, coordinates to pixels: col = i0 + i1·x + i2·y, row = i3 + i4·x + i5·y.
    inverse: Vec<[f64; 6]>,
    /// The grid the last position fell in (neighbouring pixels mostly share one).
    last: std::cell::Cell<usize>,
}

impl GridsSource {
    fn new(grids: Vec<Arc<meridian_coverages::Grid>>) -> GridsSource {
        let inverse = grids
            .iter()
            .map(|g| {
                let [a, b, c, d, e, f] = g.transform;
                let det = b * f - c * e;
                if det == 0.0 || !det.is_finite() {
                    // A degenerate grid holds no position.
                    return [f64::NAN; 6];
                }
                [
                    (c * d - f * a) / det,
                    f / det,
                    -c / det,
                    (e * a - b * d) / det,
                    -e / det,
                    b / det,
                ]
            })
            .collect();
        GridsSource {
            grids,
            inverse,
            last: std::cell::Cell::new(0),
        }
    }

    /// What grid `i` holds at `(x, y)`.
    #[inline(always)]
    fn lookup(&self, i: usize, x: f64, y: f64) -> Lookup {
        let (Some(g), Some(t)) = (self.grids.get(i), self.inverse.get(i)) else {
            return Lookup::Outside;
        };
        let col = t[0] + t[1] * x + t[2] * y;
        let row = t[3] + t[4] * x + t[5] * y;
        if !(col >= 0.0 && row >= 0.0 && col < g.width as f64 && row < g.height as f64) {
            return Lookup::Outside;
        }
        let bands = g.bands.min(4);
        let at = ((row as usize) * g.width + col as usize) * g.bands;
        let Some(px) = g.data.get(at..at + bands) else {
            return Lookup::Outside;
        };
        let mut v = [0f32; 4];
        v[..bands].copy_from_slice(px);
        // Inside this grid: no data here is an answer (not a reason to look elsewhere).
        if !g.colour && g.is_nodata(v[0]) {
            Lookup::NoData
        } else {
            Lookup::Value(v)
        }
    }
}

/// What one grid holds at a position.
enum Lookup {
    Outside,
    NoData,
    Value([f32; 4]),
}

impl meridian_render::RasterSource for GridsSource {
    fn bands(&self) -> usize {
        self.grids.first().map_or(1, |g| g.bands)
    }
    fn colour(&self) -> bool {
        self.grids.first().is_some_and(|g| g.colour)
    }
    fn sample(&self, x: f64, y: f64) -> Option<[f32; 4]> {
        let last = self.last.get();
        match self.lookup(last, x, y) {
            Lookup::Value(v) => return Some(v),
            Lookup::NoData => return None,
            Lookup::Outside if self.grids.len() == 1 => return None,
            Lookup::Outside => {}
        }
        for i in (0..self.grids.len()).filter(|i| *i != last) {
            match self.lookup(i, x, y) {
                Lookup::Value(v) => {
                    self.last.set(i);
                    return Some(v);
                }
                Lookup::NoData => return None,
                Lookup::Outside => {}
            }
        }
        None
    }
    fn range(&self) -> (f32, f32) {
        if self.colour() {
            return (0.0, 255.0);
        }
        self.grids
            .iter()
            .map(|g| value_range(g))
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
            .unwrap_or((0.0, 255.0))
    }
}

/// Band 1's smallest and largest values (no data left out).
fn value_range(g: &meridian_coverages::Grid) -> (f32, f32) {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    for v in g.data.iter().step_by(g.bands.max(1)) {
        if !g.is_nodata(*v) {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
    }
    if lo > hi {
        (0.0, 255.0)
    } else {
        (lo, hi)
    }
}

/// Draw a coverage: its grid read (kept in memory while the file is unchanged), or the
/// granules of a mosaic that meet the map, each map pixel looked up through the transform from
/// the map's CRS to the coverage's.
fn draw_coverage(
    map: &mut Map,
    req: &GetMap,
    c: &CoverageLayer,
    style: &Style,
) -> Result<(), WmsError> {
    let v = req.version;
    let failed = |e: meridian_coverages::CoverageError| {
        wms_err(
            v,
            "NoApplicableCode",
            "layers",
            format!("{}: {e}", c.qualified()),
        )
    };
    let coverage = meridian_coverages::open_coverage(&c.store_type, &c.path).map_err(failed)?;
    let to_grid = Transformer::new(req.epsg, coverage.epsg().unwrap_or(c.epsg))
        .map_err(|e| wms_err(v, "InvalidCRS", "crs", format!("{}: {e}", c.qualified())))?;
    // The map's box in the coverage's CRS, and how wide a map pixel is there.
    let b = box_in(&to_grid, req.bbox);
    let resolution =
        ((b[2] - b[0]) / f64::from(req.width)).min((b[3] - b[1]) / f64::from(req.height));
    let resolution = if resolution.is_finite() {
        resolution
    } else {
        0.0
    };
    let grids = coverage.grids_in(b, resolution).map_err(failed)?;
    if grids.is_empty() {
        return Ok(());
    }
    let to_crs = |x: f64, y: f64| -> Option<(f64, f64)> {
        let p = to_grid.coord(geo_types::coord! { x: x, y: y });
        (p.x.is_finite() && p.y.is_finite()).then_some((p.x, p.y))
    };
    if let [grid] = &grids[..] {
        let grid = grid.clone();
        let locate = |x: f64, y: f64| to_crs(x, y).and_then(|(x, y)| grid.pixel_of(x, y));
        map.draw_raster(style, &GridSource(grid.clone()), &locate);
    } else {
        map.draw_raster(style, &GridsSource::new(grids), &to_crs);
    }
    Ok(())
}

/// The box `bbox` covers in another CRS: its corners and edge points carried over (all of
/// the other CRS's plane when none carries over).
fn box_in(t: &Transformer, bbox: [f64; 4]) -> [f64; 4] {
    let mut out = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for i in 0..=8 {
        for j in 0..=8 {
            let x = bbox[0] + (bbox[2] - bbox[0]) * f64::from(i) / 8.0;
            let y = bbox[1] + (bbox[3] - bbox[1]) * f64::from(j) / 8.0;
            let p = t.coord(geo_types::coord! { x: x, y: y });
            if p.x.is_finite() && p.y.is_finite() {
                out = [
                    out[0].min(p.x),
                    out[1].min(p.y),
                    out[2].max(p.x),
                    out[3].max(p.y),
                ];
            }
        }
    }
    if out[0] > out[2] {
        [
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::INFINITY,
        ]
    } else {
        out
    }
}
