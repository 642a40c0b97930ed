//! WFS 2.0.0, 1.1.0 and 1.0.0: KVP and POST XML; GetFeature as GeoJSON, CSV, GML 3.2, GML 3.1.1
//! (1.1.0's default) or GML 2 (1.0.0's, x/y); exceptions in each version's report.
//!
//! * [`request`]: reading a request and a GetFeature query.
//! * [`capabilities`], [`describe`], [`get_feature`], [`get_property_value`],
//!   [`stored_query`], [`transaction`], [`lock_feature`]: one operation each; [`locks`] holds
//!   the feature locks.

mod capabilities;
mod describe;
mod get_feature;
mod get_property_value;
mod lock_feature;
mod locks;
mod request;
mod stored_query;
mod transaction;

pub use locks::Locks;

use crate::ows::err;
use crate::ClientAddr;
use crate::OgcState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use meridian_catalog::Kind;
use request::read_request;
use std::sync::Arc;

/// Largest page a request may ask for.
const MAX_COUNT: usize = 100_000;

/// `/geoserver/wfs`, `/geoserver/ows`.
pub async fn global(
    State(st): State<Arc<OgcState>>,
    client: ClientAddr,
    method: Method,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = client.0;
    handle(st, None, method, q, headers, body, ip).await
}

/// `/geoserver/{ws}/wfs`, `/geoserver/{ws}/ows`.
pub async fn workspace(
    State(st): State<Arc<OgcState>>,
    Path(ws): Path<String>,
    client: ClientAddr,
    method: Method,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cat = st.catalog.snapshot();
    if cat.find(Kind::Workspace, None, &ws).is_none() {
        return err(
            "InvalidParameterValue",
            "workspace",
            format!("no workspace '{ws}'"),
        )
        .into_response();
    }
    let ip = client.0;
    handle(st, Some(ws), method, q, headers, body, ip).await
}

/// Answer one WFS request.
async fn handle(
    st: Arc<OgcState>,
    ws: Option<String>,
    method: Method,
    q: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    client: Option<std::net::IpAddr>,
) -> Response {
    let host = crate::ows::host(&headers).to_string();
    let endpoint = match &ws {
        Some(w) => format!("http://{host}/geoserver/{w}/wfs"),
        None => format!("http://{host}/geoserver/wfs"),
    };
    let raw_query = q.clone();
    let endpoint = crate::access::endpoint_with_key(endpoint, raw_query.as_deref());
    let (p, post_query) = match read_request(q, &method, &body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if let Some(svc) = p.get("SERVICE") {
        if !svc.eq_ignore_ascii_case("WFS") {
            return err(
                "InvalidParameterValue",
                "service",
                format!("this endpoint serves WFS, not '{svc}'"),
            )
            .into_response();
        }
    }
    let svc = crate::ows::service_settings(&st, ws.as_deref(), "wfs");
    if svc.as_ref().and_then(|s| s.xml().child_text("enabled")) == Some("false") {
        return err(
            "ServiceNotEnabled",
            "service",
            "the WFS service is disabled",
        )
        .into_response();
    }
    let request = p.get("REQUEST").cloned().unwrap_or_default();
    let level = transaction::ServiceLevel::of(svc.as_ref().map(|o| o.element()).as_ref());
    let lower = request.to_ascii_lowercase();
    // Every request is answered for its caller, under the service rules.
    let access = match crate::access::caller(&st, &headers, client, raw_query.as_deref()) {
        Ok(a) => a,
        Err(refusal) => return *refusal,
    };
    if !request.is_empty() {
        if let Err(r) = crate::access::call(&access, "wfs", &request) {
            return r.response(|| axum::http::StatusCode::NOT_FOUND.into_response());
        }
    }
    if matches!(lower.as_str(), "lockfeature" | "getfeaturewithlock")
        && level < transaction::ServiceLevel::Complete
    {
        return err(
            "OperationNotSupported",
            "request",
            format!("{request} needs the WFS service level COMPLETE"),
        )
        .report_for(p.get("VERSION").map(String::as_str).unwrap_or("2.0.0"));
    }
    let result = match lower.as_str() {
        "getcapabilities" => {
            let svc = svc.map(|o| o.element());
            capabilities::capabilities(&st, ws.as_deref(), &p, svc.as_ref(), &endpoint, &access)
        }
        "describefeaturetype" => {
            tokio::task::block_in_place(|| describe::describe(&st, ws.as_deref(), &p, &access))
        }
        "getfeature" => match stored_query::as_ad_hoc(&p) {
            Ok(Some(by_id)) => {
                get_feature::get_feature(
                    &st,
                    ws.as_deref(),
                    &by_id,
                    None,
                    &endpoint,
                    get_feature::Variant::ById,
                    &access,
                )
                .await
            }
            Ok(None) => {
                get_feature::get_feature(
                    &st,
                    ws.as_deref(),
                    &p,
                    post_query.as_ref(),
                    &endpoint,
                    get_feature::Variant::Plain,
                    &access,
                )
                .await
            }
            Err(e) => Err(e),
        },
        "getfeaturewithlock" => match request::type_names(&p).and_then(|n| {
            request::layer_of(
                &st,
                ws.as_deref(),
                n.first().map(String::as_str).unwrap_or(""),
                &access,
            )
        }) {
            Ok(l) if crate::access::write(&access, &l.prefix, &l.name).is_err() => Err(err(
                "OperationNotSupported",
                "typeNames",
                format!("locking {} needs a user who may write it", l.qualified()),
            )),
            Ok(_) => {
                get_feature::get_feature(
                    &st,
                    ws.as_deref(),
                    &p,
                    post_query.as_ref(),
                    &endpoint,
                    get_feature::Variant::WithLock,
                    &access,
                )
                .await
            }
            Err(e) => Err(e),
        },
        "lockfeature" => {
            lock_feature::lock_feature(&st, ws.as_deref(), &p, post_query.as_ref(), &access).await
        }
        "transaction" => match meridian_xml::parse_bytes(&body) {
            Ok(doc) if method == Method::POST => {
                transaction::transaction(&st, ws.as_deref(), &doc, &access, level).await
            }
            _ => Err(err(
                "InvalidRequest",
                "request",
                "a Transaction is a POST of its XML document",
            )),
        },
        "getpropertyvalue" => {
            get_property_value::get_property_value(&st, ws.as_deref(), &p, &access).await
        }
        "liststoredqueries" => stored_query::list(&st, ws.as_deref(), &access),
        "describestoredqueries" => stored_query::describe(&st, &p),
        "" => Err(err(
            "MissingParameterValue",
            "request",
            "the REQUEST parameter is missing",
        )),
        other => Err(err(
            "OperationNotSupported",
            "request",
            format!("the operation '{other}' is not supported"),
        )),
    };
    match result {
        Ok(r) => r,
        // In the dialect of the version asked (for GetCapabilities, the first it accepts).
        Err(e) => {
            let version = p
                .get("VERSION")
                .or_else(|| p.get("ACCEPTVERSIONS"))
                .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
                .unwrap_or_default();
            e.report_for(&version)
        }
    }
}
