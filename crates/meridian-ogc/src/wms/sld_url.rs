//! `SLD=<url>`: a style document fetched by the server. A server that fetches whatever URL a
//! request names can be steered at hosts only it reaches (its own admin endpoints, a cloud's
//! metadata service), so Meridian fetches only from the URL prefixes the administrator lists in
//! `wms.xml`'s metadata entry `sldUrlPrefixes` (spaces or commas between them; none by
//! default). The fetch follows no redirect, gives up after a few seconds, and reads at most
//! 1 MiB.

use super::error::{wms_err, Version, WmsError};
use meridian_xml::Element;
use reqwest::Url;
use std::time::Duration;

/// The `wms.xml` metadata entry listing the URL prefixes styles may be fetched from.
pub(super) const PREFIXES_KEY: &str = "sldUrlPrefixes";

/// The largest style document fetched.
const MAX_BYTES: usize = 1 << 20;

/// The prefixes `wms.xml` allows (unreadable ones left out).
pub(super) fn allowed(svc: Option<&Element>) -> Vec<Url> {
    let Some(meta) = svc.and_then(|s| s.get("metadata")) else {
        return Vec::new();
    };
    meta.all("entry")
        .filter(|e| e.attr_value("key") == Some(PREFIXES_KEY))
        .filter_map(Element::text_trim)
        .flat_map(|t| t.split([',', ' ', '\n', '\t']))
        .filter(|s| !s.is_empty())
        .filter_map(|s| Url::parse(s).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .collect()
}

/// Whether `url` lies under `prefix`: the same scheme, host and port, no credentials, and a
/// path that continues the prefix's (compared on parsed URLs, so `http://allowed@evil/` or
/// `http://allowed.evil/` do not pass for `http://allowed/`).
fn under(url: &Url, prefix: &Url) -> bool {
    url.scheme() == prefix.scheme()
        && url.host_str() == prefix.host_str()
        && url.port_or_known_default() == prefix.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path().starts_with(prefix.path())
        && (prefix.path().ends_with('/') || url.path().len() == prefix.path().len())
}

/// Fetch the style document at `raw` when `prefixes` allow it.
pub(super) async fn fetch(raw: &str, prefixes: &[Url], v: Version) -> Result<String, WmsError> {
    let refuse = |why: String| wms_err(v, "InvalidParameterValue", "sld", why);
    let url = Url::parse(raw.trim()).map_err(|e| refuse(format!("SLD: not a URL ({e})")))?;
    if !prefixes.iter().any(|p| under(&url, p)) {
        return Err(refuse(format!(
            "styles by URL (SLD) are fetched only from the prefixes this server's administrator lists in wms.xml (metadata entry '{PREFIXES_KEY}'), and this URL is under none: send the document in SLD_BODY"
        )));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| refuse(format!("SLD: {e}")))?;
    let failed = |e: reqwest::Error| {
        wms_err(
            v,
            "InvalidParameterValue",
            "sld",
            format!("SLD: the style could not be fetched ({})", e.without_url()),
        )
    };
    let mut resp = client.get(url).send().await.map_err(failed)?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(refuse(format!(
            "SLD: the style's server answered {}",
            resp.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(refuse(format!(
                "SLD: the style is larger than {} KiB",
                MAX_BYTES / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| refuse("SLD: the style is not UTF-8 text".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_urls_under_an_allowed_prefix_pass() {
        let p = Url::parse("http://styles.example.org/sld/").unwrap();
        let ok = |s: &str| under(&Url::parse(s).unwrap(), &p);
        assert!(ok("http://styles.example.org/sld/roads.sld"));
        assert!(ok("http://styles.example.org:80/sld/a/b.sld"));
        assert!(!ok("http://styles.example.org/other.sld"));
        assert!(!ok("http://styles.example.org/sld/../admin"));
        assert!(!ok("https://styles.example.org/sld/roads.sld"));
        assert!(!ok("http://styles.example.org:8080/sld/roads.sld"));
        assert!(!ok("http://styles.example.org@169.254.169.254/sld/x"));
        assert!(!ok("http://user:pw@styles.example.org/sld/x"));
        assert!(!ok("http://styles.example.org.evil.net/sld/x"));
        let exact = Url::parse("http://h/one.sld").unwrap();
        assert!(under(&Url::parse("http://h/one.sld").unwrap(), &exact));
        assert!(!under(&Url::parse("http://h/one.sldx").unwrap(), &exact));
    }
}
