//! Layers: every published layer with a link to its preview, and the preview itself (an
//! OpenLayers map, vendored, drawing the layer through this node's WMS), and the preview of
//! its cached tiles (raster through TMS, vector tiles when its tile layer caches them).

use crate::{enc, get_json, html, layout, require, WebState};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use std::collections::HashMap;
use std::sync::Arc;

const HERE: &str = "/geoserver/web/layers";

/// `GET /web/layers`
pub async fn list(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let who = match require(&st, &headers, HERE) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let all: Vec<String> = get_json(&st, &who.user, "/layers.json")
        .await
        .pointer("/layers/layer")
        .and_then(|a| a.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect();
    let body = html! {
        h1 { "Layers" }
        table {
            thead { tr { th { "Layer" } th { "" } th { "" } th { "" } } }
            tbody {
                @for l in &all {
                    tr {
                        td { (l) }
                        td { a href={ "/geoserver/web/preview?layer=" (enc(l)) } { "Preview" } }
                        td { a href={ "/geoserver/web/tiles?layer=" (enc(l)) } { "Tiles" } }
                        td { a href={ "/geoserver/web/layers/" (enc(l)) "/edit" } { "Edit" } }
                    }
                }
            }
        }
    };
    html(layout::page(
        "Layers",
        "layers",
        Some((&who.user, &who.csrf)),
        body,
    ))
}

/// The WGS84 box of a layer's resource (feature type or coverage).
async fn lat_lon_box(st: &WebState, user: &str, layer: &str) -> Option<[f64; 4]> {
    let l = get_json(st, user, &format!("/layers/{}.json", enc(layer))).await;
    if l.is_null() {
        // A layer group: its bounds when they are in WGS84, else the world.
        let g = get_json(st, user, &format!("/layergroups/{}.json", enc(layer))).await;
        let b = g.pointer("/layerGroup/bounds")?;
        let n = |k: &str| b.get(k).and_then(|v| v.as_f64());
        let wgs84 = b
            .get("crs")
            .and_then(|c| {
                c.as_str()
                    .map(str::to_string)
                    .or_else(|| c.get("$").and_then(|v| v.as_str()).map(str::to_string))
            })
            .is_some_and(|c| c.ends_with("4326"));
        return Some(if wgs84 {
            [n("minx")?, n("miny")?, n("maxx")?, n("maxy")?]
        } else {
            [-180.0, -85.0, 180.0, 85.0]
        });
    }
    let href = l.pointer("/layer/resource/href")?.as_str()?;
    let path = href.split("/rest").nth(1)?;
    let r = get_json(st, user, path).await;
    let res = r.get("featureType").or_else(|| r.get("coverage"))?;
    let b = res.get("latLonBoundingBox")?;
    let n = |k: &str| b.get(k).and_then(|v| v.as_f64());
    Some([n("minx")?, n("miny")?, n("maxx")?, n("maxy")?])
}

/// `GET /web/preview?layer=ws:name`
pub async fn preview(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let layer = q.get("layer").cloned().unwrap_or_default();
    let here = format!("/geoserver/web/preview?layer={}", enc(&layer));
    let who = match require(&st, &headers, &here) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let Some(b) = lat_lon_box(&st, &who.user, &layer).await else {
        return crate::plain(
            StatusCode::NOT_FOUND,
            "No such layer, or it has no bounding box.",
        );
    };
    let bbox = format!("{},{},{},{}", b[0], b[1].max(-85.0), b[2], b[3].min(85.0));
    let body = html! {
        link rel="stylesheet" href="/geoserver/web/assets/ol.css";
        h1 { "Preview of " (layer) }
        div id="map" class="map" data-layer=(layer) data-bbox=(bbox) data-wms="/geoserver/wms"
            role="img" aria-label={ "Map of " (layer) } {}
        p class="hint" { "Drag to pan, scroll to zoom. Drawn by this node's WMS." }
        script src="/geoserver/web/assets/ol.js" {}
        script src="/geoserver/web/assets/preview.js" {}
    };
    html(layout::page(
        "Preview",
        "layers",
        Some((&who.user, &who.csrf)),
        body,
    ))
}

/// `GET /web/tiles?layer=ws:name`: the layer's cached tiles in an OpenLayers map.
pub async fn tiles(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let layer = q.get("layer").cloned().unwrap_or_default();
    let here = format!("/geoserver/web/tiles?layer={}", enc(&layer));
    let who = match require(&st, &headers, &here) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let Some(b) = lat_lon_box(&st, &who.user, &layer).await else {
        return crate::plain(
            StatusCode::NOT_FOUND,
            "No such layer, or it has no bounding box.",
        );
    };
    // The tile layer: its formats and gridsets (the administrator's REST; others see the
    // raster tiles every layer has by default).
    let t = get_json(&st, &who.user, &format!("/gwc/layers/{}.json", enc(&layer))).await;
    let t = t.get("GeoServerLayer").cloned().unwrap_or_default();
    let strings = |ptr: &str| -> Vec<String> {
        match t.pointer(ptr) {
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    let formats = strings("/mimeFormats/string");
    let mvt = formats
        .iter()
        .any(|f| f == "application/vnd.mapbox-vector-tile");
    let raster = formats.is_empty() || formats.iter().any(|f| f == "image/png");
    let tms = format!(
        "/geoserver/gwc/service/tms/1.0.0/{}@EPSG%3A900913@",
        enc(&layer)
    );
    let raster_url = raster.then(|| format!("{tms}png/{{z}}/{{x}}/{{y}}.png?flipY=true"));
    let vector_url = mvt.then(|| format!("{tms}pbf/{{z}}/{{x}}/{{y}}.pbf?flipY=true"));
    let bbox = format!("{},{},{},{}", b[0], b[1].max(-85.0), b[2], b[3].min(85.0));
    let body = html! {
        link rel="stylesheet" href="/geoserver/web/assets/ol.css";
        h1 { "Tiles of " (layer) }
        div id="map" class="map" data-bbox=(bbox)
            data-raster-url=[raster_url.as_deref()] data-vector-url=[vector_url.as_deref()]
            role="img" aria-label={ "Tiles of " (layer) } {}
        p class="hint" {
            "Raster tiles of the EPSG:900913 gridset"
            @if mvt { ", with its vector tiles outlined in red" }
            ", from this node's tile cache (drawn on the first request)."
        }
        script src="/geoserver/web/assets/ol.js" {}
        script src="/geoserver/web/assets/tiles.js" {}
    };
    html(layout::page(
        "Tiles",
        "layers",
        Some((&who.user, &who.csrf)),
        body,
    ))
}
