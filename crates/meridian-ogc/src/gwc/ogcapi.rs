//! OGC API - Tiles at GeoServer's path, `/geoserver/ogc/tiles/v1`: the landing page,
//! conformance, the tile matrix sets (the gridsets), the collections (the tiled layers the
//! caller may read), their tilesets, and tiles — map tiles
//! (`/collections/{id}/map/tiles/{tms}/{z}/{row}/{col}`) and vector tiles
//! (`/collections/{id}/tiles/...`), rows from the top, the format in `f`.

use super::render::{tile, TileRequest};
use super::{tile_response, TileAnswer};
use crate::OgcState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use meridian_catalog::tile_layers::{all_tiled, TileConfig, Tiled};
use meridian_security::LayerAccess;
use meridian_tiles::GridSet;
use serde_json::{json, Value};
use std::sync::Arc;

const MVT: &str = "application/vnd.mapbox-vector-tile";

fn base(headers: &HeaderMap) -> String {
    let host = crate::ows::host(headers);
    format!("http://{host}/geoserver/ogc/tiles/v1")
}

fn doc(v: Value) -> Response {
    (
        [
            ("content-type", "application/json"),
            ("cache-control", "no-cache"),
        ],
        v.to_string(),
    )
        .into_response()
}

fn problem(status: StatusCode, title: &str, detail: String) -> Response {
    (
        status,
        [("content-type", "application/problem+json")],
        json!({"type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail})
            .to_string(),
    )
        .into_response()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `/ogc/tiles/v1`.
pub async fn landing(headers: HeaderMap) -> Response {
    let b = base(&headers);
    doc(json!({
        "title": "Meridian OGC API - Tiles",
        "description": "Map and vector tiles of the layers cached by the tile cache",
        "links": [
            {"rel": "self", "type": "application/json", "href": b},
            {"rel": "conformance", "type": "application/json", "href": format!("{b}/conformance")},
            {"rel": "data", "type": "application/json", "href": format!("{b}/collections")},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", "type": "application/json", "href": format!("{b}/tileMatrixSets")}
        ]
    }))
}

/// `/ogc/tiles/v1/conformance`.
pub async fn conformance() -> Response {
    doc(json!({"conformsTo": [
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/jpeg",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt"
    ]}))
}

fn crs_uri(g: &GridSet) -> String {
    let code = super::render::draw_epsg(g);
    format!("http://www.opengis.net/def/crs/EPSG/0/{code}")
}

/// A gridset as a tile matrix set (rows from the top left corner).
fn matrix_set(g: &GridSet, b: &str) -> Value {
    let matrices: Vec<Value> = (0..g.levels())
        .map(|z| {
            let (x, y) = {
                let (a, c) = g.top_left_corner(z);
                if g.y_coordinate_first {
                    (c, a)
                } else {
                    (a, c)
                }
            };
            json!({
                "id": g.matrix_name(z),
                "scaleDenominator": g.scale_denominator(z),
                "cellSize": g.resolutions[z],
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [x, y],
                "tileWidth": g.tile_width,
                "tileHeight": g.tile_height,
                "matrixWidth": g.tiles_wide(z),
                "matrixHeight": g.tiles_high(z)
            })
        })
        .collect();
    json!({
        "id": g.name,
        "title": g.name,
        "crs": crs_uri(g),
        "links": [{"rel": "self", "type": "application/json", "href": format!("{b}/tileMatrixSets/{}", enc(&g.name))}],
        "tileMatrices": matrices
    })
}

/// `/ogc/tiles/v1/tileMatrixSets`.
pub async fn matrix_sets(State(st): State<Arc<OgcState>>, headers: HeaderMap) -> Response {
    let cfg = TileConfig::of(&st.catalog.snapshot());
    let b = base(&headers);
    let sets: Vec<Value> = cfg
        .gridsets
        .iter()
        .map(|g| {
            json!({"id": g.name, "title": g.name, "crs": crs_uri(g), "links": [
                {"rel": "self", "type": "application/json", "href": format!("{b}/tileMatrixSets/{}", enc(&g.name))}
            ]})
        })
        .collect();
    doc(json!({"tileMatrixSets": sets}))
}

/// `/ogc/tiles/v1/tileMatrixSets/{id}`.
pub async fn matrix_set_one(
    State(st): State<Arc<OgcState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let cfg = TileConfig::of(&st.catalog.snapshot());
    match cfg.gridset(&id) {
        Some(g) => doc(matrix_set(g, &base(&headers))),
        None => problem(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no tile matrix set '{id}'"),
        ),
    }
}

fn collection(t: &Tiled, b: &str) -> Value {
    let p = &t.published;
    let id = enc(&p.name);
    let mut links = vec![
        json!({"rel": "self", "type": "application/json", "href": format!("{b}/collections/{id}")}),
    ];
    let raster = t.layer.formats.iter().any(|f| f != MVT);
    if raster {
        links.push(json!({"rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map", "type": "application/json", "href": format!("{b}/collections/{id}/map/tiles")}));
    }
    if t.layer.formats.iter().any(|f| f == MVT) {
        links.push(json!({"rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "type": "application/json", "href": format!("{b}/collections/{id}/tiles")}));
    }
    let mut c = json!({"id": p.name, "title": p.title, "links": links});
    if let Some([w, s, e, n]) = p.lat_lon {
        c["extent"] = json!({"spatial": {"bbox": [[w, s, e, n]], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}});
    }
    c
}

fn readable_tiled(
    st: &OgcState,
    access: &LayerAccess,
) -> (Arc<meridian_catalog::Catalog>, Arc<TileConfig>, Vec<Tiled>) {
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    let all = all_tiled(&cat, &cfg)
        .into_iter()
        .filter(|t| crate::access::listed(access, &t.published.workspace, &t.published.local))
        .collect();
    (cat, cfg, all)
}

/// `/ogc/tiles/v1/collections`.
pub async fn collections(
    State(st): State<Arc<OgcState>>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let access = match crate::access::caller(&st, &headers, client.0, q.as_deref()) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let b = base(&headers);
    let (_, _, all) = readable_tiled(&st, &access);
    let list: Vec<Value> = all.iter().map(|t| collection(t, &b)).collect();
    doc(
        json!({"links": [{"rel": "self", "type": "application/json", "href": format!("{b}/collections")}], "collections": list}),
    )
}

/// The caller's access and the tiled layer `id` it may read; or the refusal, or the 404.
fn one(
    st: &OgcState,
    headers: &HeaderMap,
    client: crate::ClientAddr,
    q: Option<&str>,
    id: &str,
) -> Result<(LayerAccess, Arc<TileConfig>, Arc<Tiled>), Box<Response>> {
    let access = crate::access::caller(st, headers, client.0, q)?;
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    let unknown = || {
        problem(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no tiled collection '{id}'"),
        )
    };
    let t = super::tiled(&cat, &cfg, id)
        .filter(|t| t.layer.enabled)
        .ok_or_else(|| Box::new(unknown()))?;
    if crate::access::read(&access, &t.published.workspace, &t.published.local).is_err() {
        return Err(Box::new(unknown()));
    }
    Ok((access, cfg, t))
}

/// `/ogc/tiles/v1/collections/{id}`.
pub async fn collection_one(
    State(st): State<Arc<OgcState>>,
    Path(id): Path<String>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match one(&st, &headers, client, q.as_deref(), &id) {
        Ok((_, _, t)) => doc(collection(&t, &base(&headers))),
        Err(r) => *r,
    }
}

/// `/collections/{id}/map/tiles` (`vector` false) or `/collections/{id}/tiles` (true).
async fn tilesets(
    st: Arc<OgcState>,
    id: String,
    vector: bool,
    client: crate::ClientAddr,
    q: Option<String>,
    headers: HeaderMap,
) -> Response {
    let (_, cfg, t) = match one(&st, &headers, client, q.as_deref(), &id) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let b = base(&headers);
    let kind = if vector { "tiles" } else { "map/tiles" };
    let formats: Vec<&String> = t
        .layer
        .formats
        .iter()
        .filter(|f| (*f == MVT) == vector)
        .collect();
    let sets: Vec<Value> = t
        .layer
        .gridsets
        .iter()
        .filter_map(|s| cfg.gridset(&s.gridset))
        .map(|g| {
            let tms = enc(&g.name);
            let mut links = vec![
                json!({"rel": "self", "type": "application/json", "href": format!("{b}/collections/{}/{kind}/{tms}", enc(&id))}),
                json!({"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json", "href": format!("{b}/tileMatrixSets/{tms}")}),
            ];
            for f in &formats {
                links.push(json!({"rel": "item", "type": f, "templated": true,
                    "href": format!("{b}/collections/{}/{kind}/{tms}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f={}", enc(&id), enc(f))}));
            }
            json!({"title": format!("{} in {}", t.published.title, g.name), "dataType": if vector { "vector" } else { "map" },
                   "crs": crs_uri(g), "tileMatrixSetURI": format!("{b}/tileMatrixSets/{tms}"), "links": links})
        })
        .collect();
    doc(json!({"tilesets": sets}))
}

/// `/ogc/tiles/v1/collections/{id}/map/tiles`.
pub async fn map_tilesets(
    State(st): State<Arc<OgcState>>,
    Path(id): Path<String>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    tilesets(st, id, false, client, q, headers).await
}

/// `/ogc/tiles/v1/collections/{id}/tiles`.
pub async fn vector_tilesets(
    State(st): State<Arc<OgcState>>,
    Path(id): Path<String>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    tilesets(st, id, true, client, q, headers).await
}

/// A tile: `/collections/{id}/map/tiles/{tms}/{z}/{row}/{col}` or `/collections/{id}/tiles/…`.
async fn a_tile(
    st: Arc<OgcState>,
    (id, tms, matrix, row, col): (String, String, String, String, String),
    vector: bool,
    client: crate::ClientAddr,
    q: Option<String>,
    headers: HeaderMap,
) -> Response {
    let (access, cfg, t) = match one(&st, &headers, client, q.as_deref(), &id) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let bad = |d: String| problem(StatusCode::BAD_REQUEST, "Bad Request", d);
    let Some(grid) = cfg.gridset(&tms) else {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no tile matrix set '{tms}'"),
        );
    };
    let Some(z) = grid.level_of(&matrix) else {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("the tile matrix set {tms} has no tile matrix '{matrix}'"),
        );
    };
    let (Ok(row), Ok(col)) = (row.parse::<u64>(), col.parse::<u64>()) else {
        return bad("tileRow and tileCol are whole numbers".into());
    };
    let asked = super::kvp(q.as_deref()).get("F").cloned();
    let format = match asked {
        Some(f) => f,
        None if vector => MVT.into(),
        None => t
            .layer
            .formats
            .iter()
            .find(|f| *f != MVT)
            .cloned()
            .unwrap_or_else(|| "image/png".into()),
    };
    let format = match format.as_str() {
        "png" => "image/png".to_string(),
        "jpeg" | "jpg" => "image/jpeg".to_string(),
        "mvt" => MVT.to_string(),
        f => f.to_string(),
    };
    let Some(format) = meridian_tiles::FORMATS.iter().find(|f| **f == format) else {
        return bad(format!("'{format}' is not a tile format"));
    };
    if (*format == MVT) != vector {
        return bad(format!(
            "{format} tiles are at /collections/{{id}}/{}",
            if *format == MVT { "tiles" } else { "map/tiles" }
        ));
    }
    let Some(y) = grid.from_wmts_row(z, row) else {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("row {row} is outside tile matrix {matrix}"),
        );
    };
    let req = TileRequest {
        tiled: &t,
        grid,
        z,
        x: col,
        y,
        format,
        style: String::new(),
    };
    tile_response(
        tile(&st, req, &access).await,
        &headers,
        &t,
        grid,
        (col, y, z),
        TileAnswer::Plain,
    )
}

/// `/ogc/tiles/v1/collections/{id}/map/tiles/{tms}/{z}/{row}/{col}`.
pub async fn map_tile(
    State(st): State<Arc<OgcState>>,
    Path(p): Path<(String, String, String, String, String)>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    a_tile(st, p, false, client, q, headers).await
}

/// `/ogc/tiles/v1/collections/{id}/tiles/{tms}/{z}/{row}/{col}`.
pub async fn vector_tile(
    State(st): State<Arc<OgcState>>,
    Path(p): Path<(String, String, String, String, String)>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    a_tile(st, p, true, client, q, headers).await
}
