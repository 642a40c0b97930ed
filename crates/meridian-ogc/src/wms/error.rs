//! WMS service exceptions, in the report format of the request's version.

use axum::response::{IntoResponse, Response};
use meridian_xml::escape;

/// A WMS service exception.
#[derive(Debug)]
pub(crate) struct WmsError {
    /// The exception code (`LayerNotDefined`, `InvalidCRS`, ...); empty for none.
    pub code: &'static str,
    /// The parameter at fault.
    pub locator: String,
    /// What is wrong.
    pub text: String,
    /// `1.1.1` or `1.3.0` report.
    pub version: Version,
    /// The HTTP status, when not the one the code implies (401 asks for a login).
    pub status: Option<u16>,
}

/// The WMS version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// 1.1.1: x/y axis order everywhere, `SRS`.
    V111,
    /// 1.3.0: the CRS's axis order (EPSG:4326 is latitude first), `CRS`.
    V130,
}

impl Version {
    /// The version a request names (`VERSION`, or 1.0's `WMTVER`); 1.3.0 when it names none.
    pub(crate) fn of(v: Option<&str>) -> Version {
        match v.map(str::trim) {
            Some("1.1.1") | Some("1.1.0") | Some("1.0.0") => Version::V111,
            _ => Version::V130,
        }
    }
}

/// A WMS exception of `version`.
pub(crate) fn wms_err(
    version: Version,
    code: &'static str,
    locator: &str,
    text: impl Into<String>,
) -> WmsError {
    WmsError {
        code,
        locator: locator.to_string(),
        text: text.into(),
        version,
        status: None,
    }
}

/// A refusal of the caller as a WMS exception: `hidden` for a hidden layer, else the reason
/// with 401 or 403.
pub(crate) fn wms_refusal(
    version: Version,
    r: crate::access::Refusal,
    hidden: WmsError,
) -> WmsError {
    let (why, status) = match r {
        crate::access::Refusal::Hidden => return hidden,
        crate::access::Refusal::LogIn(why) => (why, 401),
        crate::access::Refusal::Forbidden(why) => (why, 403),
    };
    WmsError {
        status: Some(status),
        ..wms_err(version, "", "", why)
    }
}

impl IntoResponse for WmsError {
    fn into_response(self) -> Response {
        let code = if self.code.is_empty() {
            String::new()
        } else {
            format!(" code=\"{}\"", self.code)
        };
        let locator = if self.locator.is_empty() {
            String::new()
        } else {
            format!(" locator=\"{}\"", escape(&self.locator))
        };
        let (content_type, body) = match self.version {
            Version::V111 => (
                "application/vnd.ogc.se_xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceExceptionReport version=\"1.1.1\"><ServiceException{code}{locator}>{}</ServiceException></ServiceExceptionReport>",
                    escape(&self.text)
                ),
            ),
            Version::V130 => (
                "text/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceExceptionReport version=\"1.3.0\" xmlns=\"http://www.opengis.net/ogc\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.opengis.net/ogc http://schemas.opengis.net/wms/1.3.0/exceptions_1_3_0.xsd\"><ServiceException{code}{locator}>{}</ServiceException></ServiceExceptionReport>",
                    escape(&self.text)
                ),
            ),
        };
        // The caller's mistakes are 400; what the server could not do is 500.
        let status = match (self.status, self.code) {
            (Some(s), _) => {
                axum::http::StatusCode::from_u16(s).unwrap_or(axum::http::StatusCode::BAD_REQUEST)
            }
            (None, "" | "NoApplicableCode") => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            (None, _) => axum::http::StatusCode::BAD_REQUEST,
        };
        let mut r = (status, [("content-type", content_type)], body).into_response();
        if status == axum::http::StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Basic realm=\"GeoServer Realm\""),
            );
        }
        r
    }
}
