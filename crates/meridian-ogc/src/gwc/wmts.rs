//! WMTS 1.0.0 at GeoServer's path, `/geoserver/gwc/service/wmts`: GetCapabilities and GetTile,
//! KVP and RESTful (`/rest/{layer}/{style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}`),
//! rows counted from the top as WMTS has them; GetFeatureInfo (KVP: the features under a
//! tile's pixel, as WMS's GetFeatureInfo finds them on the map the tile is a piece of).

use super::render::{tile, TileRequest};
use super::{kvp, tile_response, TileAnswer};
use crate::OgcState;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use meridian_catalog::tile_layers::{all_tiled, TileConfig, Tiled};
use meridian_security::LayerAccess;
use meridian_tiles::{java_double, GridSet};
use meridian_xml::escape;
use std::collections::BTreeSet;
use std::sync::Arc;

/// An exception report of WMTS (OWS 1.1).
pub(super) fn wmts_err(code: &'static str, locator: &str, text: impl Into<String>) -> Response {
    crate::ows::err(code, locator, text).report_for("2.0.0")
}

/// `/geoserver/gwc/service/wmts` (KVP).
pub(super) async fn kvp_request(
    st: Arc<OgcState>,
    q: Option<String>,
    headers: &HeaderMap,
    access: LayerAccess,
) -> Response {
    // The path decides the service, as GeoWebCache's dispatcher: QGIS asks this endpoint
    // with SERVICE=WMS and reads the WMTS answer.
    let p = kvp(q.as_deref());
    let request = p.get("REQUEST").map(|r| r.to_ascii_lowercase());
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    match request.as_deref() {
        Some("getcapabilities") => capabilities(&st, headers, &access),
        Some("gettile") => {
            if let Some(missing) = missing(&get, &["FORMAT"], "GetTile") {
                return missing;
            }
            get_tile(&st, headers, &access, tile_params(&get)).await
        }
        Some("getfeatureinfo") => {
            if let Some(missing) = missing(&get, &["I", "J", "INFOFORMAT"], "GetFeatureInfo") {
                return missing;
            }
            feature_info(
                &st,
                &access,
                tile_params(&get),
                (get("I"), get("J")),
                get("INFOFORMAT"),
            )
            .await
        }
        Some(other) => wmts_err(
            "OperationNotSupported",
            "request",
            format!("WMTS here answers GetCapabilities, GetTile and GetFeatureInfo, not '{other}'"),
        ),
        None => wmts_err(
            "MissingParameterValue",
            "request",
            "the request needs REQUEST",
        ),
    }
}

/// `/geoserver/gwc/service/wmts/rest/...`.
pub(super) async fn rest_request(
    st: Arc<OgcState>,
    path: &str,
    q: Option<String>,
    headers: &HeaderMap,
    access: LayerAccess,
) -> Response {
    let p = kvp(q.as_deref());
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let format = p.get("FORMAT").map(String::as_str).unwrap_or("image/png");
    let (layer, style, rest) = match segs.as_slice() {
        ["WMTSCapabilities.xml"] => return capabilities(&st, headers, &access),
        [layer, style, a, b, c, d] => (*layer, *style, [*a, *b, *c, *d]),
        [layer, a, b, c, d] => (*layer, "", [*a, *b, *c, *d]),
        _ => {
            return wmts_err(
                "InvalidParameterValue",
                "path",
                "a RESTful tile is /rest/{layer}[/{style}]/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}?format=…",
            )
        }
    };
    get_tile(
        &st,
        headers,
        &access,
        TileParams {
            layer,
            style,
            matrix_set: rest[0],
            matrix: rest[1],
            row: rest[2],
            col: rest[3],
            format,
        },
    )
    .await
}

/// The parameters naming a tile (GetTile, GetFeatureInfo).
struct TileParams<'a> {
    layer: &'a str,
    style: &'a str,
    matrix_set: &'a str,
    matrix: &'a str,
    row: &'a str,
    col: &'a str,
    format: &'a str,
}

/// The KVP parameters naming a tile.
fn tile_params<'a>(get: &impl Fn(&str) -> &'a str) -> TileParams<'a> {
    TileParams {
        layer: get("LAYER"),
        style: get("STYLE"),
        matrix_set: get("TILEMATRIXSET"),
        matrix: get("TILEMATRIX"),
        row: get("TILEROW"),
        col: get("TILECOL"),
        format: get("FORMAT"),
    }
}

/// The exception for the first of the tile's parameters, then `more`, that is missing or
/// empty in a `request`.
fn missing<'a>(get: &impl Fn(&str) -> &'a str, more: &[&str], request: &str) -> Option<Response> {
    ["LAYER", "TILEMATRIXSET", "TILEMATRIX", "TILEROW", "TILECOL"]
        .iter()
        .chain(more)
        .find(|k| get(k).is_empty())
        .map(|k| {
            wmts_err(
                "MissingParameterValue",
                &k.to_ascii_lowercase(),
                format!("{request} needs {k}"),
            )
        })
}

/// The level, column and internal row a tile's matrix, row and column name in `grid`
/// (the column's range is the caller's to check).
fn matrix_tile(grid: &GridSet, t: &TileParams<'_>) -> Result<(usize, u64, u64), Box<Response>> {
    let Some(z) = grid.level_of(t.matrix) else {
        return Err(Box::new(wmts_err(
            "InvalidParameterValue",
            "tilematrix",
            format!("the gridset {} has no matrix '{}'", grid.name, t.matrix),
        )));
    };
    let (Ok(row), Ok(col)) = (t.row.trim().parse::<u64>(), t.col.trim().parse::<u64>()) else {
        return Err(Box::new(wmts_err(
            "InvalidParameterValue",
            "tilerow",
            "TILEROW and TILECOL are whole numbers",
        )));
    };
    let Some(y) = grid.from_wmts_row(z, row) else {
        return Err(Box::new(wmts_err(
            "TileOutOfRange",
            "tilerow",
            format!(
                "row {row} is outside matrix {} ({} rows)",
                t.matrix,
                grid.tiles_high(z)
            ),
        )));
    };
    Ok((z, col, y))
}

async fn get_tile(
    st: &Arc<OgcState>,
    headers: &HeaderMap,
    access: &LayerAccess,
    t: TileParams<'_>,
) -> Response {
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    let unknown = || {
        wmts_err(
            "InvalidParameterValue",
            "layer",
            format!("no tile layer named '{}'", t.layer),
        )
    };
    let Some(tiled) = super::tiled(&cat, &cfg, t.layer) else {
        return unknown();
    };
    let Some(grid) = cfg.gridset(t.matrix_set) else {
        return wmts_err(
            "InvalidParameterValue",
            "tilematrixset",
            format!("no gridset named '{}'", t.matrix_set),
        );
    };
    let Some(format) = meridian_tiles::FORMATS.iter().find(|f| **f == t.format) else {
        return wmts_err(
            "InvalidParameterValue",
            "format",
            format!(
                "'{}' is not a tile format ({})",
                t.format,
                meridian_tiles::FORMATS.join(", ")
            ),
        );
    };
    let (z, col, y) = match matrix_tile(grid, &t) {
        Ok(at) => at,
        Err(r) => return *r,
    };
    let req = TileRequest {
        tiled: &tiled,
        grid,
        z,
        x: col,
        y,
        format,
        style: t.style.to_string(),
    };
    tile_response(
        tile(st, req, access).await,
        headers,
        &tiled,
        grid,
        (col, y, z),
        TileAnswer::Wmts,
    )
}

/// GetFeatureInfo: the features under pixel `(i, j)` of a tile, as WMS's GetFeatureInfo
/// finds them on the map the tile is a piece of.
async fn feature_info(
    st: &Arc<OgcState>,
    access: &LayerAccess,
    t: TileParams<'_>,
    (i, j): (&str, &str),
    info_format: &str,
) -> Response {
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    let unknown = || {
        wmts_err(
            "InvalidParameterValue",
            "layer",
            format!("no tile layer named '{}'", t.layer),
        )
    };
    let Some(tiled) = super::tiled(&cat, &cfg, t.layer).filter(|t| t.layer.enabled) else {
        return unknown();
    };
    let p = &tiled.published;
    if let Err(refusal) = crate::access::read(access, &p.workspace, &p.local) {
        return refusal.response(unknown);
    }
    let Some(grid) = cfg
        .gridset(t.matrix_set)
        .filter(|g| tiled.layer.subset(&g.name).is_some())
    else {
        return wmts_err(
            "InvalidParameterValue",
            "tilematrixset",
            format!("the layer {} has no tiles in '{}'", p.name, t.matrix_set),
        );
    };
    let (z, col, y) = match matrix_tile(grid, &t) {
        Ok(at) => at,
        Err(r) => return *r,
    };
    if col >= grid.tiles_wide(z) {
        return wmts_err(
            "TileOutOfRange",
            "tilecol",
            format!(
                "column {col} is outside matrix {} ({} columns)",
                t.matrix,
                grid.tiles_wide(z)
            ),
        );
    }
    let pixel = |v: &str, max: u32| v.trim().parse::<u32>().ok().filter(|n| *n < max);
    let out_of = |name: &str, max: u32| {
        wmts_err(
            "PointIJOutOfRange",
            name,
            format!(
                "{} must be a pixel of the tile, 0 to {}",
                name.to_ascii_uppercase(),
                max - 1
            ),
        )
    };
    let Some(i) = pixel(i, grid.tile_width) else {
        return out_of("i", grid.tile_width);
    };
    let Some(j) = pixel(j, grid.tile_height) else {
        return out_of("j", grid.tile_height);
    };
    let style = if t.style.is_empty() || p.styles.first().map(String::as_str) == Some(t.style) {
        String::new()
    } else {
        t.style.to_string()
    };
    let b = grid.tile_bbox(z, col, y);
    let mut params: crate::wms::Params = std::collections::HashMap::new();
    for (k, v) in [
        ("SERVICE", "WMS".to_string()),
        ("VERSION", "1.1.1".to_string()),
        ("REQUEST", "GetFeatureInfo".to_string()),
        ("LAYERS", p.name.clone()),
        ("QUERY_LAYERS", p.name.clone()),
        ("STYLES", style),
        ("SRS", format!("EPSG:{}", super::render::draw_epsg(grid))),
        ("BBOX", format!("{},{},{},{}", b[0], b[1], b[2], b[3])),
        ("WIDTH", grid.tile_width.to_string()),
        ("HEIGHT", grid.tile_height.to_string()),
        ("X", i.to_string()),
        ("Y", j.to_string()),
        ("INFO_FORMAT", info_format.to_string()),
        ("FORMAT", "image/png".to_string()),
    ] {
        params.insert(k.to_string(), v);
    }
    match crate::wms::feature_info_for_tile(st, &params, access).await {
        Ok(r) => r,
        Err((code, locator, text)) => {
            // WMS's parameter names as WMTS spells them.
            let locator = match locator.as_str() {
                "info_format" => "infoformat",
                "x" => "i",
                "y" => "j",
                "styles" => "style",
                l => l,
            };
            let code = if code.is_empty() {
                "NoApplicableCode"
            } else {
                code
            };
            wmts_err(code, locator, text)
        }
    }
}

/// The layers the caller may read, with their tiles.
fn readable(
    cat: &Arc<meridian_catalog::Catalog>,
    cfg: &TileConfig,
    access: &LayerAccess,
) -> Vec<Tiled> {
    all_tiled(cat, cfg)
        .into_iter()
        .filter(|t| crate::access::listed(access, &t.published.workspace, &t.published.local))
        .collect()
}

/// GetCapabilities: the layers the caller may read, their styles, formats and gridsets, and
/// every gridset they use.
fn capabilities(st: &Arc<OgcState>, headers: &HeaderMap, access: &LayerAccess) -> Response {
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    let host = crate::ows::host(headers);
    let base = format!("http://{}/geoserver/gwc/service/wmts", escape(host));
    let mut used = BTreeSet::new();
    let mut layers = String::new();
    for t in readable(&cat, &cfg, access) {
        let p = &t.published;
        let [w, s, e, n] = p.lat_lon.unwrap_or([-180.0, -90.0, 180.0, 90.0]);
        layers.push_str(&format!(
            "<Layer><ows:Title>{}</ows:Title><ows:WGS84BoundingBox><ows:LowerCorner>{w} {s}</ows:LowerCorner><ows:UpperCorner>{e} {n}</ows:UpperCorner></ows:WGS84BoundingBox><ows:Identifier>{}</ows:Identifier>",
            escape(&p.title),
            escape(&p.name)
        ));
        let default = p.styles.first().cloned().unwrap_or_default();
        layers.push_str(&format!(
            "<Style isDefault=\"true\"><ows:Identifier>{}</ows:Identifier></Style>",
            escape(&default)
        ));
        for s in p.styles.iter().skip(1) {
            if t.layer.style_allowed(s, &p.styles) {
                layers.push_str(&format!(
                    "<Style><ows:Identifier>{}</ows:Identifier></Style>",
                    escape(s)
                ));
            }
        }
        for f in &t.layer.formats {
            layers.push_str(&format!("<Format>{}</Format>", escape(f)));
        }
        for f in crate::wms::INFO_FORMATS {
            layers.push_str(&format!("<InfoFormat>{}</InfoFormat>", escape(f)));
        }
        for sub in &t.layer.gridsets {
            let Some(g) = cfg.gridset(&sub.gridset) else {
                continue;
            };
            used.insert(g.name.clone());
            layers.push_str(&format!(
                "<TileMatrixSetLink><TileMatrixSet>{}</TileMatrixSet>",
                escape(&g.name)
            ));
            let start = sub.zoom_start.unwrap_or(0) as usize;
            let stop = sub
                .zoom_stop
                .map_or(g.levels() - 1, |z| (z as usize).min(g.levels() - 1));
            if start > 0 || stop < g.levels() - 1 {
                layers.push_str("<TileMatrixSetLimits>");
                for z in start..=stop {
                    layers.push_str(&format!(
                        "<TileMatrixLimits><TileMatrix>{}</TileMatrix><MinTileRow>0</MinTileRow><MaxTileRow>{}</MaxTileRow><MinTileCol>0</MinTileCol><MaxTileCol>{}</MaxTileCol></TileMatrixLimits>",
                        escape(&g.matrix_name(z)),
                        g.tiles_high(z) - 1,
                        g.tiles_wide(z) - 1
                    ));
                }
                layers.push_str("</TileMatrixSetLimits>");
            }
            layers.push_str("</TileMatrixSetLink>");
        }
        for f in &t.layer.formats {
            layers.push_str(&format!(
                "<ResourceURL format=\"{f}\" resourceType=\"tile\" template=\"{base}/rest/{}/{{style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}?format={}\"/>",
                escape(&p.name),
                escape(&form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>()),
                f = escape(f)
            ));
        }
        layers.push_str("</Layer>");
    }
    let mut sets = String::new();
    for name in used {
        if let Some(g) = cfg.gridset(&name) {
            sets.push_str(&matrix_set(g));
        }
    }
    let op = |name: &str| {
        format!(
            "<ows:Operation name=\"{name}\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{base}?\"><ows:Constraint name=\"GetEncoding\"><ows:AllowedValues><ows:Value>KVP</ows:Value></ows:AllowedValues></ows:Constraint></ows:Get></ows:HTTP></ows:DCP></ows:Operation>"
        )
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Capabilities xmlns=\"http://www.opengis.net/wmts/1.0\" xmlns:ows=\"http://www.opengis.net/ows/1.1\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:gml=\"http://www.opengis.net/gml\" xsi:schemaLocation=\"http://www.opengis.net/wmts/1.0 http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd\" version=\"1.0.0\"><ows:ServiceIdentification><ows:Title>Web Map Tile Service - GeoWebCache</ows:Title><ows:ServiceType>OGC WMTS</ows:ServiceType><ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion></ows:ServiceIdentification><ows:ServiceProvider><ows:ProviderName>Meridian</ows:ProviderName></ows:ServiceProvider><ows:OperationsMetadata>{}{}</ows:OperationsMetadata><Contents>{layers}{sets}</Contents><ServiceMetadataURL xlink:href=\"{base}?REQUEST=getcapabilities&amp;VERSION=1.0.0\"/><ServiceMetadataURL xlink:href=\"{base}/rest/WMTSCapabilities.xml\"/></Capabilities>",
        op("GetCapabilities"),
        op("GetTile") + &op("GetFeatureInfo"),
    );
    (
        [
            ("content-type", "application/vnd.ogc.wmts_xml"),
            ("cache-control", "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A gridset as a WMTS `TileMatrixSet`.
fn matrix_set(g: &GridSet) -> String {
    let mut s = format!(
        "<TileMatrixSet><ows:Identifier>{}</ows:Identifier><ows:SupportedCRS>urn:ogc:def:crs:EPSG::{}</ows:SupportedCRS>",
        escape(&g.name),
        g.epsg
    );
    for z in 0..g.levels() {
        let (a, b) = g.top_left_corner(z);
        s.push_str(&format!(
            "<TileMatrix><ows:Identifier>{}</ows:Identifier><ScaleDenominator>{}</ScaleDenominator><TopLeftCorner>{} {}</TopLeftCorner><TileWidth>{}</TileWidth><TileHeight>{}</TileHeight><MatrixWidth>{}</MatrixWidth><MatrixHeight>{}</MatrixHeight></TileMatrix>",
            escape(&g.matrix_name(z)),
            java_double(g.scale_denominator(z)),
            java_double(a),
            java_double(b),
            g.tile_width,
            g.tile_height,
            g.tiles_wide(z),
            g.tiles_high(z)
        ));
    }
    s.push_str("</TileMatrixSet>");
    s
}
