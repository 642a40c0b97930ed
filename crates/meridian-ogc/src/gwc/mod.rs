//! The tile services at GeoServer's GeoWebCache paths, over one tile cache:
//!
//! * [`wmts`]: WMTS 1.0.0, KVP and RESTful (`/geoserver/gwc/service/wmts`);
//! * [`tms`]: TMS 1.0.0 (`/geoserver/gwc/service/tms/1.0.0`) and the Google Maps XYZ service
//!   (`/geoserver/gwc/service/gmaps`);
//! * [`render`]: a tile from the cache, or its metatile drawn through the WMS renderer;
//! * [`ogcapi`]: OGC API - Tiles (`/geoserver/ogc/tiles/v1`), map and vector tiles;
//! * [`direct`]: WMS GetMap requests that are tiles, answered from the cache;
//! * [`vector`]: Mapbox vector tiles from the feature sources;
//! * [`seed`]: seeding tasks (`/geoserver/gwc/rest/seed`), run on bounded workers;
//! * [`coherence`]: the tiles a catalog change makes stale, truncated on every node.
//!
//! Tiles are answered only to callers who may read the layer (the layer rules, as every
//! service), and carry an `ETag` (`If-None-Match` answers 304) and GeoWebCache's
//! `geowebcache-cache-result` header.

pub mod coherence;
pub(crate) mod direct;
pub mod hot;
pub mod ogcapi;
mod render;
pub mod seed;
mod tms;
mod vector;
mod wmts;

pub use hot::{HotTiles, Lookup};
pub use render::TileCache;
pub use seed::SeedRest;

use crate::wms::kvp;
use crate::OgcState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use meridian_catalog::tile_layers::{find_tiled, TileConfig, Tiled};
use meridian_catalog::Catalog;
use render::{Tile, TileError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Values made from one catalog state by name, kept while requests come with that same state
/// (every change makes a new one, and the first request under it starts afresh). Only found
/// values are kept, at most 10,000.
pub(crate) struct PerState<V> {
    kept: Mutex<Option<StateValues<V>>>,
}

/// A catalog state and the values made from it.
type StateValues<V> = (Arc<Catalog>, HashMap<String, V>);

impl<V: Clone> PerState<V> {
    pub(crate) const fn new() -> Self {
        PerState {
            kept: Mutex::new(None),
        }
    }

    /// The value kept for `name` under `cat`, else `make`'s (kept when found).
    pub(crate) fn get(
        &self,
        cat: &Arc<Catalog>,
        name: &str,
        make: impl FnOnce() -> Option<V>,
    ) -> Option<V> {
        if let Some(v) = self.peek(cat, name) {
            return Some(v);
        }
        let v = make()?;
        self.keep(cat, name, v.clone());
        Some(v)
    }

    /// The value kept for `name` under `cat`.
    pub(crate) fn peek(&self, cat: &Arc<Catalog>, name: &str) -> Option<V> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let (at, values) = kept.as_ref()?;
        Arc::ptr_eq(at, cat).then(|| values.get(name).cloned())?
    }

    /// Keep `v` for `name` under `cat` (the values of an older state are dropped).
    pub(crate) fn keep(&self, cat: &Arc<Catalog>, name: &str, v: V) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        match kept.as_mut() {
            Some((at, values)) if Arc::ptr_eq(at, cat) && values.len() < 10_000 => {
                values.insert(name.to_string(), v);
            }
            _ => *kept = Some((cat.clone(), HashMap::from([(name.to_string(), v)]))),
        }
    }
}

/// The tile layer `name` names in `cat` (kept per catalog state: a tile request reads it).
pub(crate) fn tiled(cat: &Arc<Catalog>, cfg: &TileConfig, name: &str) -> Option<Arc<Tiled>> {
    static KEPT: PerState<Arc<Tiled>> = PerState::new();
    KEPT.get(cat, name, || find_tiled(cat, cfg, name).map(Arc::new))
}

/// Which service answers, for its error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TileAnswer {
    /// OWS exception reports.
    Wmts,
    /// Plain text with the status.
    Plain,
}

/// A tile (or why not) as an HTTP answer.
fn tile_response(
    r: Result<Tile, TileError>,
    headers: &HeaderMap,
    tiled: &Tiled,
    grid: &meridian_tiles::GridSet,
    (x, y, z): (u64, u64, usize),
    answer: TileAnswer,
) -> Response {
    let t = match r {
        Ok(t) => t,
        Err(TileError::Refused(refusal)) => {
            let name = tiled.published.name.clone();
            return refusal.response(move || match answer {
                TileAnswer::Wmts => wmts::wmts_err(
                    "InvalidParameterValue",
                    "layer",
                    format!("no tile layer named '{name}'"),
                ),
                TileAnswer::Plain => (
                    StatusCode::NOT_FOUND,
                    format!("no tile layer named '{name}'"),
                )
                    .into_response(),
            });
        }
        Err(TileError::Invalid {
            code,
            locator,
            text,
        }) => {
            return match answer {
                TileAnswer::Wmts => wmts::wmts_err(code, locator, text),
                TileAnswer::Plain if code == "TileOutOfRange" => {
                    (StatusCode::NOT_FOUND, text).into_response()
                }
                TileAnswer::Plain => (StatusCode::BAD_REQUEST, text).into_response(),
            };
        }
        Err(TileError::Draw(text)) => {
            tracing::warn!(layer = %tiled.published.name, error = %text, "a tile could not be drawn");
            return match answer {
                TileAnswer::Wmts => wmts::wmts_err("NoApplicableCode", "", text),
                TileAnswer::Plain => (StatusCode::INTERNAL_SERVER_ERROR, text).into_response(),
            };
        }
    };
    // As a static server's: the tile's size and when it was drawn (no pass over its bytes).
    let etag = {
        let drawn = t
            .modified
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("\"{:x}-{drawn:x}\"", t.bytes.len())
    };
    let mut r = if headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim() == etag || e.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let bytes = axum::body::Bytes::from(t.bytes);
        let mut r = ([("content-type", t.format)], bytes.clone()).into_response();
        // A hit can be kept and answered before the router next time.
        if let Some((path, len)) = t.file {
            r.extensions_mut().insert(hot::HotTile {
                bytes,
                path,
                len,
                modified: t.modified,
            });
        }
        r
    };
    let h = r.headers_mut();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set("etag", etag);
    set(
        "geowebcache-cache-result",
        if t.hit { "HIT" } else { "MISS" }.into(),
    );
    set("geowebcache-tile-index", format!("[{x}, {y}, {z}]"));
    set("geowebcache-gridset", grid.name.clone());
    let b = grid.tile_bbox(z, x, y);
    set(
        "geowebcache-tile-bounds",
        format!("{},{},{},{}", b[0], b[1], b[2], b[3]),
    );
    if let Ok(d) = t.modified.duration_since(std::time::UNIX_EPOCH) {
        set("last-modified", http_date(d.as_secs()));
    }
    set(
        "cache-control",
        if tiled.layer.expire_clients > 0 {
            format!("max-age={}", tiled.layer.expire_clients)
        } else {
            "no-cache".into()
        },
    );
    r
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let (year, month, d) = crate::ows::civil_date(days);
    let name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {d:02} {name} {year} {h:02}:{m:02}:{s:02} GMT")
}

/// `/geoserver/gwc/service/wmts`.
pub async fn wmts_kvp(
    State(st): State<Arc<OgcState>>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match crate::access::caller(&st, &headers, client.0, q.as_deref()) {
        Ok(a) => wmts::kvp_request(st, q, &headers, a).await,
        Err(r) => *r,
    }
}

/// `/geoserver/gwc/service/wmts/rest/{*path}`.
pub async fn wmts_rest(
    State(st): State<Arc<OgcState>>,
    Path(path): Path<String>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match crate::access::caller(&st, &headers, client.0, q.as_deref()) {
        Ok(a) => wmts::rest_request(st, &path, q, &headers, a).await,
        Err(r) => *r,
    }
}

/// `/geoserver/gwc/service/tms/1.0.0`.
pub async fn tms_root(
    State(st): State<Arc<OgcState>>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match crate::access::caller(&st, &headers, client.0, q.as_deref()) {
        Ok(a) => tms::request(st, "", q, &headers, a).await,
        Err(r) => *r,
    }
}

/// `/geoserver/gwc/service/tms/1.0.0/{*path}`.
pub async fn tms_path(
    State(st): State<Arc<OgcState>>,
    Path(path): Path<String>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match crate::access::caller(&st, &headers, client.0, q.as_deref()) {
        Ok(a) => tms::request(st, &path, q, &headers, a).await,
        Err(r) => *r,
    }
}

/// `/geoserver/gwc/service/gmaps`.
pub async fn gmaps(
    State(st): State<Arc<OgcState>>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match crate::access::caller(&st, &headers, client.0, q.as_deref()) {
        Ok(a) => tms::gmaps(st, q, &headers, a).await,
        Err(r) => *r,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates_are_rfc_1123() {
        assert_eq!(
            super::http_date(784_111_777),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }
}
