//! GeoServer's direct WMS integration: with `directWMSIntegrationEnabled` in `gwc-gs.xml`, a
//! WMS GetMap that is exactly one tile of a cached layer (one layer, its gridset's CRS and
//! tile size, a box on the grid, a cached format and style, `TILED=true` unless
//! `requireTiledParameter` is false, no parameter that changes the drawing) is answered from
//! the tile cache. Any other GetMap is drawn, and says why it missed.

use super::render::{tile, TileRequest};
use crate::OgcState;
use meridian_catalog::tile_layers::TileConfig;
use meridian_security::LayerAccess;
use std::collections::HashMap;
use std::sync::Arc;

/// Parameters that change a map beyond what a tile is cached by.
const VENDOR: &[&str] = &[
    "ENV",
    "FORMAT_OPTIONS",
    "ANGLE",
    "BGCOLOR",
    "BUFFER",
    "CQL_FILTER",
    "ELEVATION",
    "FEATUREID",
    "FILTER",
    "SORTBY",
    "PALETTE",
    "STARTINDEX",
    "MAXFEATURES",
    "TIME",
    "VIEWPARAMS",
    "FEATUREVERSION",
    "SLD",
    "SLD_BODY",
];

/// What a GetMap asks, read already.
pub(crate) struct MapAsk<'a> {
    pub layers: &'a [String],
    pub styles: &'a [String],
    pub epsg: u32,
    /// x/y (east, north).
    pub bbox: [f64; 4],
    pub width: u32,
    pub height: u32,
    /// `image/png`, `image/jpeg`, `image/png8`.
    pub format: &'static str,
}

/// The outcome of looking for the map in the tile cache.
pub(crate) enum Direct {
    /// Direct integration is off, or the request does not ask for it.
    Off,
    /// Answered from the cache (or drawn as its tile and cached).
    Tile(axum::response::Response),
    /// Drawn as WMS draws it, for this reason.
    Miss(String),
}

/// Answer a GetMap from the tile cache when it is a tile.
pub(crate) async fn get_map(
    st: &Arc<OgcState>,
    ws: Option<&str>,
    p: &HashMap<String, String>,
    ask: MapAsk<'_>,
    access: &LayerAccess,
) -> Direct {
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    if !cfg.settings.direct_wms {
        return Direct::Off;
    }
    let tiled_param = p
        .get("TILED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if cfg.settings.require_tiled && !tiled_param {
        return Direct::Off;
    }
    let miss = |why: String| Direct::Miss(why);
    if let Some(v) = VENDOR.iter().find(|k| p.contains_key(**k)) {
        return miss(format!(
            "the request has {v}, which tiles are not cached by"
        ));
    }
    let [layer] = ask.layers else {
        return miss("more than one layer".into());
    };
    let name = match (ws, layer.contains(':')) {
        (Some(w), false) => format!("{w}:{layer}"),
        _ => layer.clone(),
    };
    let Some(tiled) = super::tiled(&cat, &cfg, &name).filter(|t| t.layer.enabled) else {
        return miss(format!("'{name}' has no tile layer"));
    };
    let format = match ask.format {
        "image/png; mode=8bit" => "image/png8",
        f => f,
    };
    let Some(format) = meridian_tiles::FORMATS.iter().find(|f| **f == format) else {
        return miss(format!("{format} is not a tile format"));
    };
    let same_crs =
        |g: u32| g == ask.epsg || (matches!(g, 900913 | 3857) && matches!(ask.epsg, 900913 | 3857));
    let found = tiled.layer.gridsets.iter().find_map(|sub| {
        let g = cfg.gridset(&sub.gridset)?;
        if !same_crs(g.epsg) {
            return None;
        }
        let (z, x, y) = g.tile_at(ask.bbox, ask.width, ask.height)?;
        Some((g.clone(), z, x, y))
    });
    let Some((grid, z, x, y)) = found else {
        return miss(format!(
            "request does not align to grid(s) {}",
            tiled
                .layer
                .gridsets
                .iter()
                .map(|g| format!("'{}'", g.gridset))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let r = TileRequest {
        tiled: &tiled,
        grid: &grid,
        z,
        x,
        y,
        format,
        style: ask.styles.first().cloned().unwrap_or_default(),
    };
    let result = tile(st, r, access).await;
    match &result {
        Err(super::render::TileError::Invalid { text, .. }) => return miss(text.clone()),
        // WMS refuses in its own words.
        Err(super::render::TileError::Refused(_)) => return miss("not readable".into()),
        _ => {}
    }
    Direct::Tile(super::tile_response(
        result,
        &axum::http::HeaderMap::new(),
        &tiled,
        &grid,
        (x, y, z),
        super::TileAnswer::Plain,
    ))
}
