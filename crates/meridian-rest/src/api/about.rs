//! `/rest/about/version` and friends, `/rest/reload`, `/rest/reset`.

use crate::ctx::{method_not_allowed, Ctx};
use crate::error::{RestError, RestResult};
use crate::req::{render, Req, Resp};
use meridian_xml::Element;

/// The GeoServer version Meridian reports, so clients that compare versions pick modern paths.
pub const GEOSERVER_VERSION: &str = "2.27.0";

fn resource(name: &str, version: &str) -> Element {
    Element::new("resource")
        .attr("name", name)
        .child(Element::with_text(
            "Build-Timestamp",
            "2026-11-01 00:00 UTC",
        ))
        .child(Element::with_text("Version", version))
        .child(Element::with_text(
            "Git-Revision",
            env!("CARGO_PKG_VERSION"),
        ))
}

/// `/about/version`, `/about/manifest`, `/about/status`.
pub fn about(_c: &Ctx, req: &Req, what: &str) -> RestResult<Resp> {
    if req.method != "GET" {
        return Err(method_not_allowed(req));
    }
    let e = match what {
        "version" | "manifest" => Element::new("about")
            .child(resource("GeoServer", GEOSERVER_VERSION))
            .child(resource("GeoTools", "33.0"))
            .child(resource("GeoWebCache", "1.27.0"))
            .child(resource("Meridian", env!("CARGO_PKG_VERSION"))),
        "status" | "system-status" => Element::new("statuss").child(
            Element::new("status")
                .child(Element::with_text("module", "meridian"))
                .child(Element::with_text("name", "Meridian"))
                .child(Element::with_text("isAvailable", "true"))
                .child(Element::with_text("isEnabled", "true"))
                .child(Element::with_text("version", env!("CARGO_PKG_VERSION"))),
        ),
        other => {
            return Err(RestError::NotFound(format!(
                "No such about resource: {other}"
            )))
        }
    };
    Ok(render(req, &e, &["resource", "status"]))
}

/// `/reload`: re-read catalog and security from disk.
pub fn reload(c: &Ctx, req: &Req) -> RestResult<Resp> {
    match req.method.as_str() {
        "POST" | "PUT" => {
            (c.st.reload)().map_err(|e| RestError::Internal(e.to_string()))?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `/reset`: clear caches. Meridian reads stores on demand and holds no cache to clear.
pub fn reset(_c: &Ctx, req: &Req) -> RestResult<Resp> {
    match req.method.as_str() {
        "POST" | "PUT" => Ok(Resp::ok()),
        _ => Err(method_not_allowed(req)),
    }
}
