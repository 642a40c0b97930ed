//! OGC API - Features, Part 1 (Core, GeoJSON, OpenAPI 3.0) at `/geoserver/ogc/features/v1`.

use crate::document::Document;
use crate::layers::{find_layer, published_iter, FeatureLayer};
use crate::ClientAddr;
use crate::OgcState;
use axum::extract::{Path, Query as Q, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use meridian_features::FilterError;
use meridian_features::{
    query, transform_bbox, Compare, Feature, FeatureCollectionJson, FeatureError, FeatureJson,
    Filter, Query, SortKey, Transformer,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const MAX_LIMIT: usize = 10_000;

fn base(headers: &HeaderMap) -> String {
    let host = crate::ows::host(headers);
    format!("http://{host}/geoserver/ogc/features/v1")
}

fn json_response(status: StatusCode, ct: &'static str, v: Value) -> Response {
    (status, [("content-type", ct)], v.to_string()).into_response()
}

fn problem(status: StatusCode, code: &str, msg: impl Into<String>) -> Response {
    json_response(
        status,
        "application/json",
        json!({"code": code, "description": msg.into()}),
    )
}

/// `GET /` — the landing page.
pub async fn landing(headers: HeaderMap) -> Response {
    let b = base(&headers);
    json_response(
        StatusCode::OK,
        "application/json",
        json!({
            "title": "Meridian OGC API - Features",
            "description": "Features of the layers published in this node's catalog",
            "links": [
                {"href": b, "rel": "self", "type": "application/json", "title": "This document"},
                {"href": format!("{b}/api"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "API definition"},
                {"href": format!("{b}/conformance"), "rel": "conformance", "type": "application/json", "title": "Conformance"},
                {"href": format!("{b}/collections"), "rel": "data", "type": "application/json", "title": "Collections"}
            ]
        }),
    )
}

/// `GET /conformance`.
pub async fn conformance() -> Response {
    json_response(
        StatusCode::OK,
        "application/json",
        json!({"conformsTo": [
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
            "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
            "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
            "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
            "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
            "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
            "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting"
        ]}),
    )
}

/// `GET /api` — the OpenAPI 3.0 definition.
pub async fn api(headers: HeaderMap) -> Response {
    let b = base(&headers);
    let p = |summary: &str, params: Value| json!({"get": {"summary": summary, "parameters": params, "responses": {"200": {"description": "OK"}, "400": {"description": "Bad request"}, "404": {"description": "Not found"}}}});
    json_response(
        StatusCode::OK,
        "application/vnd.oai.openapi+json;version=3.0",
        json!({
            "openapi": "3.0.3",
            "info": {"title": "Meridian OGC API - Features", "version": "1.0.0"},
            "servers": [{"url": b}],
            "paths": {
                "/": p("Landing page", json!([])),
                "/conformance": p("Conformance classes", json!([])),
                "/collections": p("Feature collections", json!([])),
                "/collections/{collectionId}": p("A collection", json!([{"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string"}}])),
                "/collections/{collectionId}/items": p("Features", json!([
                    {"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "bbox", "in": "query", "style": "form", "explode": false, "schema": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}},
                    {"name": "sortby", "in": "query", "style": "form", "explode": false, "schema": {"type": "array", "items": {"type": "string", "pattern": "[+|-]?[A-Za-z_].*"}}},
                    {"name": "crs", "in": "query", "schema": {"type": "string", "format": "uri"}},
                    {"name": "bbox-crs", "in": "query", "schema": {"type": "string", "format": "uri"}},
                    {"name": "filter", "in": "query", "schema": {"type": "string"}},
                    {"name": "filter-lang", "in": "query", "schema": {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}},
                    {"name": "filter-crs", "in": "query", "schema": {"type": "string", "format": "uri"}}
                ])),
                "/collections/{collectionId}/queryables": p("Queryables", json!([{"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string"}}])),
                "/collections/{collectionId}/items/{featureId}": p("A feature", json!([
                    {"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}}
                ]))
            }
        }),
    )
}

fn collection_json(l: &FeatureLayer, b: &str) -> Value {
    let id = l.qualified();
    let mut c = json!({
        "id": id,
        "title": l.title,
        "description": l.abstract_,
        "keywords": l.keywords,
        "crs": offered_crs(l),
        "storageCrs": epsg_uri(l.epsg),
        "itemType": "feature",
        "links": [
            {"href": format!("{b}/collections/{id}"), "rel": "self", "type": "application/json"},
            {"href": format!("{b}/collections/{id}/items"), "rel": "items", "type": "application/geo+json"},
            {"href": format!("{b}/collections/{id}/queryables"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json"}
        ]
    });
    if let Some(bb) = l.lat_lon {
        c["extent"] = json!({"spatial": {"bbox": [[bb.minx, bb.miny, bb.maxx, bb.maxy]], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}});
    }
    c
}

/// `GET /collections`.
pub async fn collections(
    State(st): State<Arc<OgcState>>,
    client: ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let access = match crate::access::caller(&st, &headers, client.0, q.as_deref()) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if let Err(r) = crate::access::call(&access, "features", "collections") {
        return r.response(|| StatusCode::NOT_FOUND.into_response());
    }
    let b = base(&headers);
    let cat = st.catalog.snapshot();
    let order = st.order.of(&cat);
    let links =
        json!([{"href": format!("{b}/collections"), "rel": "self", "type": "application/json"}]);
    // Each collection is written when its turn comes.
    let items = published_iter(cat, order, st.data_dir.clone(), None)
        .filter(move |l| l.advertised && crate::access::listed(&access, &l.prefix, &l.name))
        .enumerate()
        .map(move |(i, l)| {
            let c = collection_json(&l, &b).to_string();
            if i == 0 {
                c
            } else {
                format!(",{c}")
            }
        });
    Document {
        head: format!("{{\"links\":{links},\"collections\":["),
        items: Box::new(items),
        tail: "]}".into(),
    }
    .response(&st, "application/json")
}

/// The collection `id` as the request's caller may see it, or the answer refusing them (a
/// collection they may not see is not found, or asks for a login, by the catalog mode).
fn layer(
    st: &OgcState,
    id: &str,
    headers: &HeaderMap,
    client: ClientAddr,
    query: Option<&str>,
    operation: &str,
) -> Result<FeatureLayer, Box<Response>> {
    let access = crate::access::caller(st, headers, client.0, query)?;
    crate::access::call(&access, "features", operation)
        .map_err(|r| Box::new(r.response(|| no_collection(id))))?;
    let cat = st.catalog.snapshot();
    let l = find_layer(&cat, &st.data_dir, None, id).ok_or_else(|| Box::new(no_collection(id)))?;
    crate::access::read(&access, &l.prefix, &l.name)
        .map_err(|r| Box::new(r.response(|| no_collection(id))))?;
    Ok(l)
}

fn no_collection(id: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("no collection '{id}'"),
    )
}

/// `GET /collections/{id}`.
pub async fn collection(
    State(st): State<Arc<OgcState>>,
    Path(id): Path<String>,
    client: ClientAddr,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match layer(
        &st,
        &id,
        &headers,
        client,
        raw_query.as_deref(),
        "collection",
    ) {
        Ok(l) => json_response(
            StatusCode::OK,
            "application/json",
            collection_json(&l, &base(&headers)),
        ),
        Err(r) => *r,
    }
}

/// OGC's name of WGS 84 longitude first, the default of every answer.
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// The URI of an EPSG code.
fn epsg_uri(code: u32) -> String {
    format!("http://www.opengis.net/def/crs/EPSG/0/{code}")
}

/// The CRSs a collection's features are offered in (Part 2): CRS84, its storage CRS, EPSG:4326
/// (latitude first) and Web Mercator.
fn offered_crs(l: &FeatureLayer) -> Vec<String> {
    let mut v = vec![CRS84.to_string()];
    for code in [l.epsg, 4326, 3857] {
        let uri = epsg_uri(code);
        if !v.contains(&uri) {
            v.push(uri);
        }
    }
    v
}

/// A CRS URI the collection offers: its EPSG code and whether its first axis is latitude.
fn offered(l: &FeatureLayer, uri: &str) -> Option<(u32, bool)> {
    if !offered_crs(l).iter().any(|c| c == uri) {
        return None;
    }
    if uri == CRS84 {
        return Some((4326, false));
    }
    let code: u32 = uri.rsplit('/').next()?.parse().ok()?;
    Some((code, meridian_sources::is_geographic(code)))
}

/// The `crs` (or `bbox-crs`) parameter read, CRS84 when absent; a 400 when not offered.
fn crs_param(
    l: &FeatureLayer,
    params: &HashMap<String, String>,
    key: &str,
) -> Result<(String, u32, bool), Box<Response>> {
    let uri = params.get(key).map(String::as_str).unwrap_or(CRS84).trim();
    match offered(l, uri) {
        Some((code, lat_first)) => Ok((uri.to_string(), code, lat_first)),
        None => Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            format!(
                "{key} '{uri}' is not offered for {}; it offers {}",
                l.qualified(),
                offered_crs(l).join(", ")
            ),
        ))),
    }
}

/// Features reprojected to `code`, latitude first when `lat_first`.
fn to_crs(
    l: &FeatureLayer,
    features: &mut [Feature],
    code: u32,
    lat_first: bool,
) -> Result<(), FeatureError> {
    let t = Transformer::new(l.epsg, code)?;
    for f in features.iter_mut() {
        if let Some(g) = f.geometry.as_mut() {
            if !t.is_identity() {
                t.geometry(g);
            }
            if lat_first {
                use geo::MapCoordsInPlace;
                g.map_coords_in_place(|c| geo_types::Coord { x: c.y, y: c.x });
            }
        }
    }
    Ok(())
}

/// The `Content-Crs` header of an answer in `uri`.
fn with_content_crs(mut r: Response, uri: &str) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("<{uri}>")) {
        r.headers_mut().insert("content-crs", v);
    }
    r
}

/// The `filter` parameter read in its `filter-lang` (CQL2 text, the default, which also
/// takes GeoServer's ECQL; or CQL2 JSON), its geometries in `filter-crs` (CRS84 unless
/// named) brought to the layer's CRS.
fn read_filter(
    l: &FeatureLayer,
    params: &HashMap<String, String>,
    text: &str,
) -> Result<Filter, Box<Response>> {
    let bad = |msg: String| {
        Box::new(problem(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            msg,
        ))
    };
    let (_, code, lat_first) = crs_param(l, params, "filter-crs")?;
    let epsg = l.epsg;
    let parsed = match params.get("filter-lang").map(String::as_str) {
        None | Some("cql2-text") | Some("cql-text") | Some("ecql-text") => {
            // Box corners in the filter CRS's axis order.
            let env = move |b: [f64; 4],
                            crs: Option<&str>|
                  -> Result<geo_types::Rect<f64>, FilterError> {
                let named = crs
                    .and_then(|c| c.rsplit([':', '/']).next())
                    .and_then(|c| c.parse().ok());
                let (code, b) = match named {
                    Some(n) => (n, b),
                    None if lat_first => (code, [b[1], b[0], b[3], b[2]]),
                    None => (code, b),
                };
                transform_bbox(b, code, epsg).map_err(|e| FilterError::Geometry(e.to_string()))
            };
            meridian_features::filter::cql::parse_cql(text, &env)
        }
        Some("cql2-json") => meridian_features::filter::cql2_json::parse_cql2_json(text),
        Some(other) => {
            return Err(bad(format!(
                "filter-lang '{other}' is not supported (cql2-text or cql2-json)"
            )))
        }
    };
    let f = parsed.map_err(|e| bad(format!("bad filter: {e}")))?;
    let t = meridian_features::Transformer::new(code, epsg).map_err(|e| bad(e.to_string()))?;
    f.map_geometries(&|mut g| {
        if lat_first {
            use geo::MapCoords;
            g = g.map_coords(|c| geo_types::Coord { x: c.y, y: c.x });
        }
        t.geometry(&mut g);
        Ok(g)
    })
    .map_err(|e| bad(format!("bad filter: {e}")))
}

/// `GET /collections/{id}/items`.
pub async fn items(
    State(st): State<Arc<OgcState>>,
    Path(id): Path<String>,
    Q(params): Q<HashMap<String, String>>,
    client: ClientAddr,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let l = match layer(&st, &id, &headers, client, raw_query.as_deref(), "items") {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let limit = match params.get("limit").map(|v| v.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue",
                "limit must be a positive integer",
            )
        }
    };
    let limit = if l.max_features > 0 {
        limit.min(l.max_features)
    } else {
        limit
    };
    let offset = match params.get("offset").map(|v| v.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue",
                "offset must be a non-negative integer",
            )
        }
    };
    let (crs_uri, out_code, out_lat_first) = match crs_param(&l, &params, "crs") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let (_, bbox_code, bbox_lat_first) = match crs_param(&l, &params, "bbox-crs") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut filters = Vec::new();
    if let Some(b) = params.get("bbox") {
        let v: Result<Vec<f64>, _> = b.split(',').map(|x| x.trim().parse::<f64>()).collect();
        let v = match v {
            Ok(v)
                if v.len() == 4
                    && v.iter().all(|x| x.is_finite())
                    && v[0] <= v[2]
                    && v[1] <= v[3] =>
            {
                v
            }
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValue",
                    "bbox must be minLon,minLat,maxLon,maxLat",
                )
            }
        };
        // In the bbox-crs's axis order.
        let corners = if bbox_lat_first {
            [v[1], v[0], v[3], v[2]]
        } else {
            [v[0], v[1], v[2], v[3]]
        };
        match transform_bbox(corners, bbox_code, l.epsg) {
            Ok(r) => filters.push(Filter::BBox(r)),
            Err(e) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValue",
                    e.to_string(),
                )
            }
        }
    }
    // Reading a schema may block (PostGIS): off the async workers.
    let (_, attrs) = tokio::task::block_in_place(|| l.attributes());
    for (k, v) in &params {
        if [
            "limit",
            "offset",
            "bbox",
            "f",
            "crs",
            "bbox-crs",
            "datetime",
            "filter-lang",
            "filter-crs",
            "sortby",
            // GeoServer's authkey module: the caller, read before.
            "authkey",
        ]
        .contains(&k.as_str())
        {
            continue;
        }
        if k == "filter" {
            match read_filter(&l, &params, v) {
                Ok(f) => filters.push(f),
                Err(r) => return *r,
            }
            continue;
        }
        if attrs.iter().any(|(a, _)| a == k) {
            filters.push(Filter::Cmp(k.clone(), Compare::Eq, v.clone()));
        } else {
            return problem(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue",
                format!("unknown parameter '{k}'"),
            );
        }
    }
    // The collection's own filter: only what it selects is served.
    match l.own_filter() {
        Ok(Some(f)) => filters.push(f),
        Ok(None) => {}
        Err(e) => return own_filter_problem(&l, e),
    }
    // `sortby=+NAME,-POP` (Part 8): each a queryable, ascending unless `-`.
    let mut sort = Vec::new();
    for key in params
        .get("sortby")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    {
        let (descending, name) = match key.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, key.strip_prefix('+').unwrap_or(key)),
        };
        if !attrs.iter().any(|(a, _)| a == name) {
            return problem(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue",
                format!("sortby: '{name}' is not a queryable of {}", l.qualified()),
            );
        }
        sort.push(SortKey {
            property: name.to_string(),
            descending,
        });
    }
    let filter = Filter::all_of(filters);
    let q = Query {
        filter,
        offset,
        limit,
        sort,
        ..Default::default()
    };
    let (store, native, prefix) = (l.store.clone(), l.native.clone(), l.name.clone());
    let res = tokio::task::spawn_blocking(move || query(&store, &native, &prefix, &q)).await;
    let mut r = match res {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "NoApplicableCode",
                e.to_string(),
            )
        }
        Err(e) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "NoApplicableCode",
                e.to_string(),
            )
        }
    };
    if let Err(e) = to_crs(&l, &mut r.features, out_code, out_lat_first) {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "NoApplicableCode",
            e.to_string(),
        );
    }
    let b = base(&headers);
    let self_url = format!("{b}/collections/{id}/items");
    let q = |o: usize| {
        let mut p: Vec<String> = params
            .iter()
            .filter(|(k, _)| k.as_str() != "offset" && k.as_str() != "limit")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        p.sort();
        p.push(format!("limit={limit}"));
        p.push(format!("offset={o}"));
        format!("{self_url}?{}", p.join("&"))
    };
    let mut links = vec![json!({"href": q(offset), "rel": "self", "type": "application/geo+json"})];
    if offset + r.features.len() < r.matched {
        links.push(
            json!({"href": q(offset + limit), "rel": "next", "type": "application/geo+json"}),
        );
    }
    if offset > 0 {
        links.push(json!({"href": q(offset.saturating_sub(limit)), "rel": "prev", "type": "application/geo+json"}));
    }
    let meta = FeatureCollectionJson {
        features: &[],
        decimals: l.num_decimals,
        matched: r.matched,
        time_stamp: crate::ows::timestamp(),
        crs: None,
        links: Some(&links),
    };
    // Written a feature at a time; the page goes as it is written.
    match Document::geojson(&meta, r.features) {
        Ok(doc) => with_content_crs(doc.response(&st, "application/geo+json"), &crs_uri),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerError",
            e.to_string(),
        ),
    }
}

/// A 200 GeoJSON answer (a problem response if serialization fails).
fn geojson(value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            StatusCode::OK,
            [("content-type", "application/geo+json")],
            body,
        )
            .into_response(),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerError",
            e.to_string(),
        ),
    }
}

/// The JSON Schema of a binding (Part 3's queryables).
fn queryable_schema(binding: &str) -> Value {
    let short = binding.rsplit('.').next().unwrap_or(binding);
    if binding.starts_with("org.locationtech.jts.geom.") {
        let format = match short {
            "Point" => "geometry-point",
            "MultiPoint" => "geometry-multipoint",
            "LineString" | "LinearRing" => "geometry-linestring",
            "MultiLineString" => "geometry-multilinestring",
            "Polygon" => "geometry-polygon",
            "MultiPolygon" => "geometry-multipolygon",
            _ => "geometry-any",
        };
        return json!({"format": format, "x-ogc-role": "primary-geometry"});
    }
    match short {
        "String" => json!({"type": "string"}),
        "Integer" | "Long" | "Short" | "Byte" | "BigInteger" => json!({"type": "integer"}),
        "Double" | "Float" | "BigDecimal" => json!({"type": "number"}),
        "Boolean" => json!({"type": "boolean"}),
        "Date" => json!({"type": "string", "format": "date"}),
        "Timestamp" | "Time" => json!({"type": "string", "format": "date-time"}),
        _ => json!({"type": "string"}),
    }
}

/// `GET /collections/{id}/queryables`: what `filter`, the attribute parameters and `sortby`
/// may name, as a JSON Schema.
pub async fn queryables(
    State(st): State<Arc<OgcState>>,
    Path(id): Path<String>,
    client: ClientAddr,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let l = match layer(
        &st,
        &id,
        &headers,
        client,
        raw_query.as_deref(),
        "queryables",
    ) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let (geometry, attrs) = tokio::task::block_in_place(|| l.attributes());
    let schema =
        tokio::task::block_in_place(|| meridian_features::describe(&l.store, &l.native).ok());
    let geometry_binding = schema
        .as_ref()
        .and_then(|s| s.attributes.iter().find(|a| a.name == geometry))
        .map(|a| a.binding.clone())
        .unwrap_or_else(|| "org.locationtech.jts.geom.Geometry".into());
    let mut properties = serde_json::Map::new();
    properties.insert(geometry.clone(), queryable_schema(&geometry_binding));
    for (name, binding) in &attrs {
        let mut p = queryable_schema(binding);
        p["title"] = Value::String(name.clone());
        properties.insert(name.clone(), p);
    }
    let b = base(&headers);
    json_response(
        StatusCode::OK,
        "application/schema+json",
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("{b}/collections/{id}/queryables"),
            "type": "object",
            "title": l.title,
            "properties": properties,
            "additionalProperties": false
        }),
    )
}

/// A collection whose own `cqlFilter` does not read (a server's configuration problem).
fn own_filter_problem(l: &FeatureLayer, e: FilterError) -> Response {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "NoApplicableCode",
        format!(
            "the collection {}'s own cqlFilter does not read: {e}",
            l.qualified()
        ),
    )
}

/// `GET /collections/{id}/items/{fid}`.
pub async fn item(
    State(st): State<Arc<OgcState>>,
    Path((id, fid)): Path<(String, String)>,
    Q(params): Q<HashMap<String, String>>,
    client: ClientAddr,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let l = match layer(&st, &id, &headers, client, raw_query.as_deref(), "item") {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let (crs_uri, out_code, out_lat_first) = match crs_param(&l, &params, "crs") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let own = match l.own_filter() {
        Ok(f) => f,
        Err(e) => return own_filter_problem(&l, e),
    };
    let q = Query {
        filter: Filter::all_of(
            std::iter::once(Filter::Ids(vec![fid.clone()]))
                .chain(own)
                .collect(),
        ),
        limit: 1,
        ..Default::default()
    };
    let (store, native, prefix) = (l.store.clone(), l.native.clone(), l.name.clone());
    let res = tokio::task::spawn_blocking(move || query(&store, &native, &prefix, &q)).await;
    match res {
        Ok(Ok(mut r)) if !r.features.is_empty() => {
            if let Err(e) = to_crs(&l, &mut r.features, out_code, out_lat_first) {
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "NoApplicableCode",
                    e.to_string(),
                );
            }
            let one = FeatureJson {
                feature: &r.features[0],
                decimals: l.num_decimals,
            };
            with_content_crs(geojson(&one), &crs_uri)
        }
        Ok(Ok(_)) => problem(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no feature '{fid}' in '{id}'"),
        ),
        Ok(Err(e)) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "NoApplicableCode",
            e.to_string(),
        ),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "NoApplicableCode",
            e.to_string(),
        ),
    }
}
