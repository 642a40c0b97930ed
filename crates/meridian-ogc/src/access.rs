//! Who is asking, and what they may see: every OGC request is answered for its caller (HTTP
//! Basic, or an `authkey=` parameter as GeoServer's authkey module takes it, checked against
//! the users; a wrong password or key is refused, never read as anonymous)
//! under the layer rules of `layers.properties` and the service rules of
//! `services.properties`. Tree layer groups guard the layers and groups they hold
//! ([`meridian_security::Containers`], answered from the catalog of the request).
//!
//! A layer the caller may not read is, by the catalog mode: left out of listings and unknown
//! by name (HIDE, the default); left out of listings and asking for a login by name (MIXED);
//! listed, its data asking for a login (CHALLENGE). A caller who is logged in and still lacks
//! the role is refused (403) where an anonymous one is asked to log in (401).

use crate::OgcState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use meridian_catalog::{Catalog, Kind};
use meridian_security::{CatalogMode, Containers, LayerAccess, Mode};
use std::net::IpAddr;

/// What the caller may do, from the request's credentials; or the answer refusing wrong
/// credentials (401, or 429 for an address that failed too often).
pub(crate) fn caller(
    st: &OgcState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
    query: Option<&str>,
) -> Result<LayerAccess, Box<Response>> {
    // Tree layer groups guard what they hold, as the catalog has them now.
    let groups = std::sync::Arc::new(CatalogGroups(st.catalog.snapshot()));
    identify(st, headers, client, query).map(|a| a.with_containers(groups))
}

/// The catalog's layer groups as the layer rules see them.
#[derive(Debug)]
struct CatalogGroups(std::sync::Arc<Catalog>);

impl Containers for CatalogGroups {
    fn containing(&self, workspace: &str, name: &str) -> (bool, Vec<(String, String)>) {
        let cat = &self.0;
        let ws_id = if workspace.is_empty() {
            None
        } else {
            match cat.find(Kind::Workspace, None, workspace) {
                Some(w) => Some(w.id()),
                None => return (false, Vec::new()),
            }
        };
        // A layer before a group of the same name, as GetMap reads names.
        let (group, object) = match ws_id.and_then(|w| cat.find(Kind::Layer, Some(w), name)) {
            Some(l) => (false, l),
            None => match cat.find(Kind::LayerGroup, ws_id, name) {
                Some(g) => (true, g),
                None => return (false, Vec::new()),
            },
        };
        let holders = cat
            .groups_containing(object.id())
            .into_iter()
            .filter(|g| matches!(g.group_mode(), "NAMED" | "CONTAINER" | "EO"))
            .map(|g| {
                let ws = g
                    .workspace()
                    .and_then(|w| cat.get(w))
                    .map(|w| w.name().to_string())
                    .unwrap_or_default();
                (ws, g.name().to_string())
            })
            .collect();
        (group, holders)
    }
}

/// The caller's rules, from the request's credentials.
fn identify(
    st: &OgcState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
    query: Option<&str>,
) -> Result<LayerAccess, Box<Response>> {
    // A user a trusted proxy names (its header from anyone else is ignored).
    if let Some(user) = st.proxy_auth.as_ref().and_then(|p| p.user(headers, client)) {
        let Ok(sec) = st.security.read() else {
            return Err(Box::new(challenge("the server's users cannot be read")));
        };
        return Ok(sec.access_for(Some(user)));
    }
    let credentials = meridian_rest::basic_credentials(headers);
    let key = if credentials.is_none() {
        authkey(query)
    } else {
        None
    };
    if let (Some(ip), true) = (client, credentials.is_some() || key.is_some()) {
        if let Err(wait) = st.logins.check(ip) {
            return Err(Box::new(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", wait.to_string())],
                    "too many failed logins from this address; try again later",
                )
                    .into_response(),
            ));
        }
    }
    let Ok(sec) = st.security.read() else {
        return Err(Box::new(challenge("the server's users cannot be read")));
    };
    if let Some(k) = key {
        return match sec.identify_key(&k) {
            Some(user) => Ok(sec.access_for(Some(&user))),
            None => {
                if let Some(ip) = client {
                    st.logins.failed(ip);
                }
                Err(Box::new(challenge("unknown authentication key")))
            }
        };
    }
    match sec.identify(credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))) {
        Ok(user) => Ok(sec.access_for(user.as_deref())),
        Err(()) => {
            if let Some(ip) = client {
                st.logins.failed(ip);
            }
            Err(Box::new(challenge("wrong user name or password")))
        }
    }
}

/// The `authkey` parameter of a query string (GeoServer's authkey module), if any.
pub(crate) fn authkey(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("authkey"))
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// The base of the links an answer gives: `endpoint`, carrying the request's `authkey` so a
/// client that follows them stays authenticated (as GeoServer's authkey module writes them).
pub(crate) fn endpoint_with_key(endpoint: String, query: Option<&str>) -> String {
    match authkey(query) {
        Some(k) => format!(
            "{endpoint}?authkey={}",
            form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>()
        ),
        None => endpoint,
    }
}

/// `endpoint` ready for more parameters: followed by `?`, or `&` when it has a query.
pub(crate) fn query_base(endpoint: &str) -> String {
    if endpoint.contains('?') {
        format!("{endpoint}&")
    } else {
        format!("{endpoint}?")
    }
}

/// A 401 answer asking for Basic credentials.
pub(crate) fn challenge(text: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            ("www-authenticate", "Basic realm=\"GeoServer Realm\""),
            ("content-type", "text/plain"),
        ],
        text.to_string(),
    )
        .into_response()
}

/// Why a caller may not use something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Answer as if it did not exist.
    Hidden,
    /// Ask for a login (anonymous callers).
    LogIn(String),
    /// Refuse (a logged-in caller without the role).
    Forbidden(String),
}

impl Refusal {
    /// The refusal as an HTTP answer (`hidden` answers a hidden thing).
    pub(crate) fn response(self, hidden: impl FnOnce() -> Response) -> Response {
        match self {
            Refusal::Hidden => hidden(),
            Refusal::LogIn(why) => challenge(&why),
            Refusal::Forbidden(why) => {
                (StatusCode::FORBIDDEN, [("content-type", "text/plain")], why).into_response()
            }
        }
    }
}

/// A refusal as an OWS exception: `hidden` for a hidden thing, else the reason with 401 or
/// 403.
pub(crate) fn ows_refusal(r: Refusal, hidden: crate::ows::OwsError) -> crate::ows::OwsError {
    let (why, status) = match r {
        Refusal::Hidden => return hidden,
        Refusal::LogIn(why) => (why, 401),
        Refusal::Forbidden(why) => (why, 403),
    };
    crate::ows::OwsError {
        status: Some(status),
        ..crate::ows::err("NoApplicableCode", "", why)
    }
}

/// Refuse the caller as `what` needs: a login for anonymous callers, else a 403.
fn denied(access: &LayerAccess, what: String) -> Refusal {
    match access.user() {
        None => Refusal::LogIn(format!("{what} needs a user with a role the rules allow")),
        Some(u) => Refusal::Forbidden(format!("user '{u}' may not {what}")),
    }
}

/// Whether the caller may read the layer `prefix:name`, and if not, how to refuse.
pub(crate) fn read(access: &LayerAccess, prefix: &str, name: &str) -> Result<(), Refusal> {
    if access.can(prefix, name, Mode::Read) {
        return Ok(());
    }
    match access.catalog_mode() {
        CatalogMode::Hide => Err(Refusal::Hidden),
        CatalogMode::Mixed | CatalogMode::Challenge => {
            Err(denied(access, format!("read {prefix}:{name}")))
        }
    }
}

/// Whether listings show the layer `prefix:name` to the caller.
pub(crate) fn listed(access: &LayerAccess, prefix: &str, name: &str) -> bool {
    access.catalog_mode() == CatalogMode::Challenge || access.can(prefix, name, Mode::Read)
}

/// Whether the caller may write the layer `prefix:name`, and if not, how to refuse.
pub(crate) fn write(access: &LayerAccess, prefix: &str, name: &str) -> Result<(), Refusal> {
    if access.can(prefix, name, Mode::Write) {
        Ok(())
    } else {
        Err(denied(access, format!("write {prefix}:{name}")))
    }
}

/// Whether the caller may call `service`'s `operation`, and if not, how to refuse.
pub(crate) fn call(access: &LayerAccess, service: &str, operation: &str) -> Result<(), Refusal> {
    if access.may_call(service, operation) {
        Ok(())
    } else {
        Err(denied(access, format!("call {service} {operation}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_modes_hide_or_challenge() {
        let sec = |rules: &str| {
            let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let s = d.path().join("security");
            std::fs::create_dir_all(&s).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(s.join("layers.properties"), rules).unwrap_or_else(|e| panic!("{e}"));
            meridian_security::Security::load(d.path()).unwrap_or_else(|e| panic!("{e}"))
        };
        let hide = sec("*.*.r=*\ntopp.states.r=ROLE_X\n").access_for(None);
        assert_eq!(read(&hide, "topp", "states"), Err(Refusal::Hidden));
        assert!(!listed(&hide, "topp", "states"));
        assert_eq!(read(&hide, "topp", "roads"), Ok(()));
        let mixed = sec("topp.states.r=ROLE_X\nmode=MIXED\n").access_for(None);
        assert!(matches!(
            read(&mixed, "topp", "states"),
            Err(Refusal::LogIn(_))
        ));
        assert!(!listed(&mixed, "topp", "states"));
        let challenge = sec("topp.states.r=ROLE_X\nmode=CHALLENGE\n").access_for(None);
        assert!(listed(&challenge, "topp", "states"));
        assert!(matches!(
            read(&challenge, "topp", "states"),
            Err(Refusal::LogIn(_))
        ));
    }
}
