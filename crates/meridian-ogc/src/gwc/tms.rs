//! TMS 1.0.0 at GeoServer's path, `/geoserver/gwc/service/tms/1.0.0`: the service document,
//! a tile map per layer, gridset and format (`topp:states@EPSG:900913@png`), and tiles at
//! `{z}/{x}/{y}.{ext}`, rows from the bottom (`flipY=true`: from the top, the XYZ order of
//! web maps). Also GeoWebCache's Google Maps service (`/gwc/service/gmaps`: `zoom`, `x`, `y`
//! on EPSG:900913, rows from the top).

use super::render::{tile, TileRequest};
use super::{kvp, tile_response, TileAnswer};
use crate::OgcState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use meridian_catalog::tile_layers::{all_tiled, TileConfig};
use meridian_security::LayerAccess;
use meridian_xml::escape;
use std::sync::Arc;

fn not_found(text: impl Into<String>) -> Response {
    (
        StatusCode::NOT_FOUND,
        [("content-type", "text/plain")],
        text.into(),
    )
        .into_response()
}

fn bad(text: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "text/plain")],
        text.into(),
    )
        .into_response()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn xml(body: String) -> Response {
    (
        [("content-type", "text/xml"), ("cache-control", "no-cache")],
        body,
    )
        .into_response()
}

fn profile(g: &meridian_tiles::GridSet) -> &'static str {
    match (g.epsg, g.align_top_left) {
        (4326, false) => "global-geodetic",
        (900913 | 3857, false) => "global-mercator",
        _ => "local",
    }
}

fn base(headers: &HeaderMap) -> String {
    let host = crate::ows::host(headers);
    format!("http://{}/geoserver/gwc/service/tms/1.0.0", escape(host))
}

/// `/tms/1.0.0[/…]`.
pub(super) async fn request(
    st: Arc<OgcState>,
    path: &str,
    q: Option<String>,
    headers: &HeaderMap,
    access: LayerAccess,
) -> Response {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    let base = base(headers);
    match segs.as_slice() {
        [] => {
            let mut maps = String::new();
            for t in all_tiled(&cat, &cfg) {
                let p = &t.published;
                if !crate::access::listed(&access, &p.workspace, &p.local) {
                    continue;
                }
                for sub in &t.layer.gridsets {
                    let Some(g) = cfg.gridset(&sub.gridset) else {
                        continue;
                    };
                    for f in &t.layer.formats {
                        let ext = meridian_tiles::extension(f).unwrap_or("png");
                        maps.push_str(&format!(
                            "<TileMap title=\"{}\" srs=\"EPSG:{}\" profile=\"{}\" href=\"{base}/{}@{}@{ext}\"/>",
                            escape(&p.title),
                            g.epsg,
                            profile(g),
                            enc(&p.name),
                            enc(&g.name)
                        ));
                    }
                }
            }
            xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TileMapService version=\"1.0.0\" services=\"{}\"><Title>Tile Map Service</Title><Abstract>A Tile Map Service served by Meridian</Abstract><TileMaps>{maps}</TileMaps></TileMapService>",
                base.trim_end_matches("/tms/1.0.0")
            ))
        }
        [map] => tile_map(&cat, &cfg, &access, &base, map),
        [map, z, x, file] => {
            let (y, ext) = file.rsplit_once('.').unwrap_or((file, ""));
            let flip = kvp(q.as_deref())
                .get("FLIPY")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let (Ok(z), Ok(x), Ok(y)) = (z.parse::<usize>(), x.parse::<u64>(), y.parse::<u64>())
            else {
                return bad("a TMS tile is {z}/{x}/{y}.{ext}, whole numbers");
            };
            let Some((name, gridset, map_ext)) = split_map(map) else {
                return bad(format!("'{map}' is not a tile map (layer@gridset@format)"));
            };
            if !ext.is_empty() && !map_ext.eq_ignore_ascii_case(ext) {
                return bad(format!("the tile map {map} serves .{map_ext}, not .{ext}"));
            }
            let Some(tiled) = super::tiled(&cat, &cfg, &name) else {
                return not_found(format!("no tile layer named '{name}'"));
            };
            let gridset =
                gridset.or_else(|| tiled.layer.gridsets.first().map(|g| g.gridset.clone()));
            let Some(grid) = gridset.as_deref().and_then(|g| cfg.gridset(g)) else {
                return bad(format!(
                    "no gridset named '{}'",
                    gridset.unwrap_or_default()
                ));
            };
            let Some(format) = meridian_tiles::format_of_extension(&map_ext) else {
                return bad(format!("'.{map_ext}' is not a tile format Meridian serves"));
            };
            if z >= grid.levels() {
                return not_found(format!("the gridset {} has no level {z}", grid.name));
            }
            let y = if flip {
                match grid.from_wmts_row(z, y) {
                    Some(y) => y,
                    None => return not_found("the row is outside the grid"),
                }
            } else {
                y
            };
            serve(&st, headers, &access, &tiled, grid, (z, x, y), format).await
        }
        _ => not_found("no such TMS resource"),
    }
}

/// `layer@gridset@ext` (gridset and format may be left out: the layer's first gridset, png).
fn split_map(map: &str) -> Option<(String, Option<String>, String)> {
    let decoded: String = form_urlencoded::parse(format!("m={map}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let mut parts = decoded.split('@');
    let name = parts.next().filter(|n| !n.is_empty())?.to_string();
    let gridset = parts.next().map(str::to_string);
    let ext = parts.next().unwrap_or("png").to_string();
    parts.next().is_none().then_some((name, gridset, ext))
}

/// A tile map document: the levels of one layer's gridset.
fn tile_map(
    cat: &Arc<meridian_catalog::Catalog>,
    cfg: &TileConfig,
    access: &LayerAccess,
    base: &str,
    map: &str,
) -> Response {
    let Some((name, gridset, ext)) = split_map(map) else {
        return bad(format!("'{map}' is not a tile map (layer@gridset@format)"));
    };
    let Some(t) = super::tiled(cat, cfg, &name)
        .filter(|t| crate::access::listed(access, &t.published.workspace, &t.published.local))
    else {
        return not_found(format!("no tile layer named '{name}'"));
    };
    let gridset = gridset.or_else(|| t.layer.gridsets.first().map(|g| g.gridset.clone()));
    let Some(g) = gridset.as_deref().and_then(|g| cfg.gridset(g)) else {
        return bad("no such gridset");
    };
    let Some(format) = meridian_tiles::format_of_extension(&ext) else {
        return bad(format!("'.{ext}' is not a tile format Meridian serves"));
    };
    let [minx, miny, maxx, maxy] = g.extent;
    let mut sets = String::new();
    for z in 0..g.levels() {
        sets.push_str(&format!(
            "<TileSet href=\"{base}/{}@{}@{ext}/{z}\" units-per-pixel=\"{}\" order=\"{z}\"/>",
            enc(&t.published.name),
            enc(&g.name),
            g.resolutions[z]
        ));
    }
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TileMap version=\"1.0.0\" tilemapservice=\"{base}\"><Title>{}</Title><Abstract/><SRS>EPSG:{}</SRS><BoundingBox minx=\"{minx}\" miny=\"{miny}\" maxx=\"{maxx}\" maxy=\"{maxy}\"/><Origin x=\"{minx}\" y=\"{miny}\"/><TileFormat width=\"{}\" height=\"{}\" mime-type=\"{format}\" extension=\"{ext}\"/><TileSets profile=\"{}\">{sets}</TileSets></TileMap>",
        escape(&t.published.title),
        g.epsg,
        g.tile_width,
        g.tile_height,
        profile(g)
    ))
}

async fn serve(
    st: &Arc<OgcState>,
    headers: &HeaderMap,
    access: &LayerAccess,
    tiled: &meridian_catalog::tile_layers::Tiled,
    grid: &meridian_tiles::GridSet,
    (z, x, y): (usize, u64, u64),
    format: &'static str,
) -> Response {
    let req = TileRequest {
        tiled,
        grid,
        z,
        x,
        y,
        format,
        style: String::new(),
    };
    tile_response(
        tile(st, req, access).await,
        headers,
        tiled,
        grid,
        (x, y, z),
        TileAnswer::Plain,
    )
}

/// `/gwc/service/gmaps?layers=…&zoom=…&x=…&y=…[&format=…]`.
pub(super) async fn gmaps(
    st: Arc<OgcState>,
    q: Option<String>,
    headers: &HeaderMap,
    access: LayerAccess,
) -> Response {
    let p = kvp(q.as_deref());
    let Some(name) = p.get("LAYERS").or_else(|| p.get("LAYER")) else {
        return bad("gmaps needs layers=");
    };
    let num = |k: &str| p.get(k).and_then(|v| v.trim().parse::<u64>().ok());
    let (Some(z), Some(x), Some(y)) = (num("ZOOM"), num("X"), num("Y")) else {
        return bad("gmaps needs zoom, x and y, whole numbers");
    };
    let format = p.get("FORMAT").map(String::as_str).unwrap_or("image/png");
    let Some(format) = meridian_tiles::FORMATS.iter().find(|f| **f == format) else {
        return bad(format!("'{format}' is not a tile format Meridian serves"));
    };
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    let Some(tiled) = super::tiled(&cat, &cfg, name) else {
        return not_found(format!("no tile layer named '{name}'"));
    };
    let Some(grid) = cfg.gridset("EPSG:900913") else {
        return bad("the gridset EPSG:900913 is missing");
    };
    let z = z as usize;
    if z >= grid.levels() || x >= grid.tiles_wide(z) {
        return bad("the tile is outside the grid");
    }
    let Some(y) = grid.from_wmts_row(z, y) else {
        return bad("the tile is outside the grid");
    };
    serve(&st, headers, &access, &tiled, grid, (z, x, y), format).await
}
