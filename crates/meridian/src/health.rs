//! `/geoserver/health/ready`: 200 when the node may take traffic, else 503 with the reasons
//! as JSON (`/geoserver/health/live` answers 200 while the process serves).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use meridian_cluster::Cluster;

/// The readiness answer of a node.
pub fn ready(c: &Cluster) -> Response {
    let (status, body) = match c.readiness() {
        Ok(()) => (StatusCode::OK, serde_json::json!({"status": "ready"})),
        Err(n) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "not ready", "reasons": n.reasons}),
        ),
    };
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}
