//! WMS 1.1.1 and 1.3.0: GetCapabilities, GetMap (PNG, PNG8, JPEG), GetFeatureInfo and
//! GetLegendGraphic, KVP.
//!
//! * [`request`]: reading a request and a GetMap request.
//! * [`capabilities`], [`get_map`], [`feature_info`], [`legend`]: one operation each; [`styles`]: the style a layer is drawn
//!   with; [`groups`]: layer groups as layers; [`error`]: service exception reports.

mod capabilities;
mod error;
mod feature_info;
mod get_map;
mod groups;
mod layer;
mod legend;
mod request;
mod sld_url;
mod styles;

pub(crate) use get_map::draw_for_tiles;
pub(crate) use groups::{find_group, group_layers};
pub(crate) use layer::{find_wms_layer, WmsLayer};
pub(crate) use request::{kvp, Params};

use crate::OgcState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use error::{wms_err, Version};
use meridian_catalog::Kind;
use std::sync::Arc;

/// The formats GetFeatureInfo answers in.
pub(crate) const INFO_FORMATS: &[&str] = feature_info::INFO_FORMATS;

/// A GetFeatureInfo request (WMS 1.1.1 parameters) answered on the global service: what
/// WMTS's GetFeatureInfo asks of the tile's map. An error is its code, locator and text.
pub(crate) async fn feature_info_for_tile(
    st: &Arc<OgcState>,
    p: &Params,
    access: &meridian_security::LayerAccess,
) -> Result<Response, (&'static str, String, String)> {
    feature_info::feature_info(st, None, p, access)
        .await
        .map_err(|e| (e.code, e.locator, e.text))
}

/// `/geoserver/wms` (and `/geoserver/ows` with `service=WMS`).
pub async fn global(
    State(st): State<Arc<OgcState>>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    handle(st, None, q, headers, client).await
}

/// `/geoserver/{ws}/wms`: the workspace's layers only.
pub async fn workspace(
    State(st): State<Arc<OgcState>>,
    Path(ws): Path<String>,
    client: crate::ClientAddr,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let p = request::kvp(q.as_deref());
    let version = Version::of(p.get("VERSION").map(String::as_str));
    if st
        .catalog
        .snapshot()
        .find(Kind::Workspace, None, &ws)
        .is_none()
    {
        return wms_err(
            version,
            "InvalidParameterValue",
            "workspace",
            format!("no workspace '{ws}'"),
        )
        .into_response();
    }
    handle(st, Some(ws), q, headers, client).await
}

/// Whether a query string asks for WMS (`service=WMS`), for the shared `/ows` endpoint.
pub fn asks_for_wms(q: Option<&str>) -> bool {
    request::kvp(q)
        .get("SERVICE")
        .is_some_and(|s| s.eq_ignore_ascii_case("WMS"))
}

async fn handle(
    st: Arc<OgcState>,
    ws: Option<String>,
    q: Option<String>,
    headers: HeaderMap,
    client: crate::ClientAddr,
) -> Response {
    let p = request::kvp(q.as_deref());
    let version = Version::of(
        p.get("VERSION")
            .or_else(|| p.get("WMTVER"))
            .map(String::as_str),
    );
    let host = crate::ows::host(&headers).to_string();
    let endpoint = match &ws {
        Some(w) => format!("http://{host}/geoserver/{w}/wms"),
        None => format!("http://{host}/geoserver/wms"),
    };
    let endpoint = crate::access::endpoint_with_key(endpoint, q.as_deref());
    if let Some(svc) = p.get("SERVICE") {
        if !svc.eq_ignore_ascii_case("WMS") {
            return wms_err(
                version,
                "InvalidParameterValue",
                "service",
                format!("this endpoint serves WMS, not '{svc}'"),
            )
            .into_response();
        }
    }
    let svc = crate::ows::service_settings(&st, ws.as_deref(), "wms").map(|o| o.element());
    if svc.as_ref().and_then(|s| s.child_text("enabled")) == Some("false") {
        return wms_err(
            version,
            "ServiceNotEnabled",
            "service",
            "the WMS service is disabled",
        )
        .into_response();
    }
    let request = p.get("REQUEST").cloned().unwrap_or_default();
    // Every request is answered for its caller, under the service rules.
    let access = match crate::access::caller(&st, &headers, client.0, q.as_deref()) {
        Ok(a) => a,
        Err(refusal) => return *refusal,
    };
    if !request.is_empty() {
        // The rules name operations by their standard names (aliases included).
        let operation = match request.to_ascii_lowercase().as_str() {
            "map" => "GetMap".to_string(),
            "feature_info" => "GetFeatureInfo".to_string(),
            "capabilities" => "GetCapabilities".to_string(),
            _ => request.clone(),
        };
        if let Err(r) = crate::access::call(&access, "wms", &operation) {
            return r.response(|| axum::http::StatusCode::NOT_FOUND.into_response());
        }
    }
    match request.to_ascii_lowercase().as_str() {
        "getcapabilities" | "capabilities" => capabilities::capabilities(
            &st,
            ws.as_deref(),
            version,
            svc.as_ref(),
            &endpoint,
            &access,
        ),
        "getmap" | "map" => {
            match get_map::get_map(&st, ws.as_deref(), &p, svc.as_ref(), &access).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        }
        "getlegendgraphic" => match legend::legend_graphic(&st, ws.as_deref(), &p, &access).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        },
        "getfeatureinfo" | "feature_info" => {
            match feature_info::feature_info(&st, ws.as_deref(), &p, &access).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        }
        "" => wms_err(
            version,
            "MissingParameterValue",
            "request",
            "the REQUEST parameter is missing",
        )
        .into_response(),
        other => wms_err(
            version,
            "OperationNotSupported",
            "request",
            format!("the operation '{other}' is not supported"),
        )
        .into_response(),
    }
}
