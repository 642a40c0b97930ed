//! Server status: version, data directory, uptime, memory, object counts.

use crate::{html, layout, require, WebState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;
use std::sync::Arc;

/// The process's resident memory, from `/proc/self/status`.
fn resident_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d} d {h} h {m} min")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min {s} s")
    }
}

/// `GET /web/status`
pub async fn page(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let who = match require(&st, &headers, "/geoserver/web/status") {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let counts = st.rest.catalog.snapshot().summary();
    let body = html! {
        h1 { "Server status" }
        table {
            tbody {
                tr { th scope="row" { "Meridian" } td { (env!("CARGO_PKG_VERSION")) } }
                tr { th scope="row" { "GeoServer API version" } td { (meridian_rest::GEOSERVER_VERSION) } }
                tr { th scope="row" { "Data directory" } td { code { (st.rest.data_dir.display()) } } }
                tr { th scope="row" { "Uptime" } td { (uptime(st.started.elapsed().as_secs())) } }
                tr { th scope="row" { "Memory (resident)" } td {
                    @match resident_mb() { Some(m) => { (format!("{m:.0} MB")) } None => { "unknown" } }
                } }
            }
        }
        h2 { "Catalog" }
        table {
            thead { tr { th { "Kind" } th { "Objects" } } }
            tbody {
                @for (kind, n) in &counts {
                    tr { td { (format!("{kind:?}")) } td { (n) } }
                }
            }
        }
    };
    html(layout::page(
        "Server status",
        "status",
        Some((&who.user, &who.csrf)),
        body,
    ))
}
