//! What the OGC services share: OWS exception reports, CRS names in requests, timestamps.

use axum::response::{IntoResponse, Response};
use meridian_xml::escape;

/// An OWS exception.
pub(crate) struct OwsError {
    /// The exception code (`InvalidParameterValue`, ...).
    pub(crate) code: &'static str,
    /// The parameter at fault.
    pub(crate) locator: String,
    /// What is wrong.
    pub(crate) text: String,
    /// The HTTP status, when not the one the code implies (401 asks for a login).
    pub(crate) status: Option<u16>,
}

/// An OWS exception with its code, locator and text.
pub(crate) fn err(code: &'static str, locator: &str, text: impl Into<String>) -> OwsError {
    OwsError {
        code,
        locator: locator.into(),
        text: text.into(),
        status: None,
    }
}

impl IntoResponse for OwsError {
    fn into_response(self) -> Response {
        self.report_for("2.0.0")
    }
}

impl OwsError {
    /// The exception report of the service version asked: WFS 1.0.0's
    /// `ServiceExceptionReport`, 1.1.0's OWS 1.0 report, else OWS 1.1 (2.0.0), as GeoServer
    /// answers each.
    pub(crate) fn report_for(self, version: &str) -> Response {
        let status = self.status.unwrap_or(match self.code {
            "OperationNotSupported" => 400,
            "NoApplicableCode" => 500,
            "NotFound" => 404,
            _ => 400,
        });
        let (code, locator, text) = (self.code, escape(&self.locator), escape(&self.text));
        let body = if version.starts_with("1.0") {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceExceptionReport version=\"1.2.0\" xmlns=\"http://www.opengis.net/ogc\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.opengis.net/ogc http://schemas.opengis.net/wfs/1.0.0/OGC-exception.xsd\"><ServiceException code=\"{code}\" locator=\"{locator}\">{text}</ServiceException></ServiceExceptionReport>"
            )
        } else if version.starts_with("1.1") {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ows:ExceptionReport xmlns:ows=\"http://www.opengis.net/ows\" version=\"1.0.0\"><ows:Exception exceptionCode=\"{code}\" locator=\"{locator}\"><ows:ExceptionText>{text}</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"
            )
        } else {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ows:ExceptionReport xmlns:ows=\"http://www.opengis.net/ows/1.1\" version=\"2.0.0\"><ows:Exception exceptionCode=\"{code}\" locator=\"{locator}\"><ows:ExceptionText>{text}</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"
            )
        };
        let mut r = (
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST),
            [("content-type", "application/xml")],
            body,
        )
            .into_response();
        if status == 401 {
            r.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Basic realm=\"GeoServer Realm\""),
            );
        }
        r
    }
}

/// The settings of service `name` (`wfs`, `wms`) for workspace `ws`, else the global ones.
pub(crate) fn service_settings(
    st: &crate::OgcState,
    ws: Option<&str>,
    name: &str,
) -> Option<std::sync::Arc<meridian_catalog::Object>> {
    let cat = st.catalog.snapshot();
    let ws_id = ws
        .and_then(|w| cat.find(meridian_catalog::Kind::Workspace, None, w))
        .map(|w| w.id().to_string());
    ws_id
        .and_then(|id| cat.service(name, Some(&id)).cloned())
        .or_else(|| cat.service(name, None).cloned())
}

/// The host a request was sent to (its `Host` header; `localhost` without one), for the
/// links an answer gives.
pub(crate) fn host(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
}

/// The year, month (1–12) and day of the month `days` days after 1970-01-01 (Howard
/// Hinnant's algorithm).
pub(crate) fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// UTC now as `YYYY-MM-DDThh:mm:ssZ`.
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A CRS named in a request: its EPSG code and whether coordinates come latitude first.
pub(crate) fn parse_crs(s: &str) -> Result<(u32, bool), OwsError> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    if upper.contains("CRS84") || upper == "CRS:84" {
        return Ok((4326, false));
    }
    // GML 2's `http://www.opengis.net/gml/srs/epsg.xml#4326` is x/y, as `EPSG:4326`.
    if let Some((_, code)) = t.split_once("epsg.xml#") {
        let code = code.trim().parse().map_err(|_| {
            err(
                "InvalidParameterValue",
                "srsName",
                format!("unknown CRS '{s}'"),
            )
        })?;
        return Ok((code, false));
    }
    let code: u32 = t
        .rsplit([':', '/'])
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            err(
                "InvalidParameterValue",
                "srsName",
                format!("unknown CRS '{s}'"),
            )
        })?;
    let urn = upper.starts_with("URN:") || upper.starts_with("HTTP");
    Ok((code, urn && meridian_sources::is_geographic(code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_names_and_axis_order() {
        assert_eq!(parse_crs("EPSG:4326").ok(), Some((4326, false)));
        assert_eq!(
            parse_crs("http://www.opengis.net/gml/srs/epsg.xml#4326").ok(),
            Some((4326, false))
        );
        assert_eq!(
            parse_crs("urn:ogc:def:crs:EPSG::4326").ok(),
            Some((4326, true))
        );
        assert_eq!(
            parse_crs("http://www.opengis.net/def/crs/EPSG/0/26713").ok(),
            Some((26713, false))
        );
        assert_eq!(
            parse_crs("urn:ogc:def:crs:OGC:1.3:CRS84").ok(),
            Some((4326, false))
        );
        assert!(parse_crs("nonsense").is_err());
        assert!(timestamp().ends_with('Z') && timestamp().len() == 20);
    }
}
