//! The admin web interface at `/geoserver/web/`: server-rendered pages (maud templates compiled
//! into the binary, one stylesheet embedded, no script needed), a form login checked against the
//! same users as REST, and a stateless signed session every node of the cluster accepts.
//! Every change a page makes is a REST request run for the signed-in user
//! ([`meridian_rest::execute_as`]): the same access rules, validation and apply path, so it
//! journals and replicates like any other write.

mod layout;
mod pages;
mod refusal;
pub mod session;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use meridian_rest::RestState;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// What the pages need.
pub struct WebState {
    /// The REST side: catalog, users, login throttle, cluster extension.
    pub rest: Arc<RestState>,
    /// The key sessions and form tokens are signed with (the same on every node).
    pub key: [u8; 32],
    /// When the node started.
    pub started: Instant,
}

/// The header through which [`proxy_user`] hands a page the user a trusted proxy named. Every
/// request's own copy is removed first, so only the check below can set it.
const PROXY_USER: &str = "x-meridian-web-proxy-user";

/// HTTP header pass-through for the pages (the REST and OGC services take it too): a user the
/// trusted proxy (`--auth-proxy-header`, `--auth-proxy-from`) names is signed in without the
/// login form, for this request. The header from any other client is ignored.
async fn proxy_user(
    State(st): State<Arc<WebState>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    req.headers_mut().remove(PROXY_USER);
    if let Some(proxy) = st.rest.proxy_auth.as_ref() {
        let client = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let named = proxy
            .user(req.headers(), client)
            .and_then(|u| HeaderValue::from_str(u).ok());
        if let Some(user) = named {
            req.headers_mut().insert(PROXY_USER, user);
        }
    }
    next.run(req).await
}

/// The interface's routes.
pub fn web_router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/geoserver/web", get(root))
        .route("/geoserver/web/", get(root))
        .route("/geoserver/web/assets/web.css", get(css))
        .route("/geoserver/web/assets/ol.js", get(ol_js))
        .route("/geoserver/web/assets/ol.css", get(ol_css))
        .route("/geoserver/web/assets/preview.js", get(preview_js))
        .route("/geoserver/web/assets/cluster.js", get(cluster_js))
        .route("/geoserver/web/assets/tiles.js", get(tiles_js))
        .route(
            "/geoserver/web/cluster/status",
            get(pages::cluster_status::fragment),
        )
        .route("/geoserver/web/layers", get(pages::layers::list))
        .route(
            "/geoserver/web/groups",
            get(pages::groups::list).post(pages::groups::create),
        )
        .route(
            "/geoserver/web/groups/{name}",
            get(pages::groups::edit).post(pages::groups::save),
        )
        .route(
            "/geoserver/web/layers/{layer}/edit",
            get(pages::layer_edit::edit).post(pages::layer_edit::save),
        )
        .route(
            "/geoserver/web/styles",
            get(pages::styles::list).post(pages::styles::upload),
        )
        .route(
            "/geoserver/web/styles/{name}",
            get(pages::styles::edit).post(pages::styles::save),
        )
        .route("/geoserver/web/preview", get(pages::layers::preview))
        .route("/geoserver/web/tiles", get(pages::layers::tiles))
        .route(
            "/geoserver/web/login",
            get(pages::login::form).post(pages::login::submit),
        )
        .route(
            "/geoserver/web/logout",
            axum::routing::post(pages::login::logout),
        )
        .route("/geoserver/web/status", get(pages::status::page))
        .route(
            "/geoserver/web/services",
            get(pages::services::show).post(pages::services::save),
        )
        .route(
            "/geoserver/web/cluster",
            get(pages::cluster::page).post(pages::cluster::save),
        )
        .route(
            "/geoserver/web/stores",
            get(pages::stores::list).post(pages::stores::create),
        )
        .route(
            "/geoserver/web/stores/{ws}/{store}",
            get(pages::stores::store).post(pages::stores::publish),
        )
        .route(
            "/geoserver/web/workspaces",
            get(pages::workspaces::list).post(pages::workspaces::create),
        )
        .route(
            "/geoserver/web/workspaces/{name}",
            get(pages::workspaces::edit).post(pages::workspaces::save),
        )
        .route(
            "/geoserver/web/workspaces/{name}/delete",
            get(pages::workspaces::confirm_delete).post(pages::workspaces::delete),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            proxy_user,
        ))
        .with_state(state)
}

async fn root(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    match signed_in(&st, &headers) {
        Some(_) => Redirect::to("/geoserver/web/status").into_response(),
        None => Redirect::to("/geoserver/web/login").into_response(),
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../assets/web.css"),
    )
        .into_response()
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        body,
    )
        .into_response()
}

async fn ol_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/ol-10.11.0/ol.js"),
    )
}

async fn ol_css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_bytes!("../assets/vendor/ol-10.11.0/ol.css"),
    )
}

async fn cluster_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/cluster.js"),
    )
}

async fn tiles_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/tiles.js"),
    )
}

async fn preview_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/preview.js"),
    )
}

/// The `name`s of the objects at `pointer` in a REST answer: an array of them, or one object
/// (GeoServer's JSON gives a lone item without its array).
pub(crate) fn names_at(v: &serde_json::Value, pointer: &str) -> Vec<String> {
    let name = |o: &serde_json::Value| o.get("name").and_then(|n| n.as_str()).map(str::to_string);
    match v.pointer(pointer) {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(name).collect(),
        Some(o @ serde_json::Value::Object(_)) => name(o).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// The names of a GeoServer listing (`{"workspaces":{"workspace":[...]}}`, or an empty string
/// when there are none).
pub(crate) fn names(json: &serde_json::Value, outer: &str, inner: &str) -> Vec<String> {
    names_at(json, &format!("/{outer}/{inner}"))
}

/// A JSON field as form text (strings, numbers and booleans; anything else empty).
pub(crate) fn text(v: &serde_json::Value, k: &str) -> String {
    match v.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// The signed-in user and the session value, from the request's cookie.
pub(crate) struct Signed {
    pub user: String,
    pub session: String,
    pub csrf: String,
}

pub(crate) fn signed_in(st: &WebState, headers: &HeaderMap) -> Option<Signed> {
    // A user the trusted proxy named (one the user/group services hold: the pages act as a
    // signed-in user does): their form tokens are signed for them alone.
    let proxied = headers.get(PROXY_USER).and_then(|v| v.to_str().ok());
    let known = |u: &str| st.rest.security.read().is_ok_and(|s| s.knows(u));
    if let Some(user) = proxied.filter(|u| known(u)) {
        let session = format!("proxy:{user}");
        return Some(Signed {
            user: user.to_string(),
            csrf: session::csrf(&st.key, &session),
            session,
        });
    }
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let value = session::from_cookies(cookies)?;
    let user = session::verify(&st.key, value)?;
    Some(Signed {
        user,
        session: value.to_string(),
        csrf: session::csrf(&st.key, value),
    })
}

/// The user of a page request, or the login page to go to.
pub(crate) fn require(
    st: &WebState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Signed, Box<Response>> {
    signed_in(st, headers).ok_or_else(|| {
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Box::new(Redirect::to(&format!("/geoserver/web/login?next={next}")).into_response())
    })
}

/// A posted form's fields, once its token is checked against the session.
pub(crate) fn posted(
    st: &WebState,
    headers: &HeaderMap,
    body: &Bytes,
    here: &str,
) -> Result<(Signed, HashMap<String, String>), Box<Response>> {
    let who = require(st, headers, here)?;
    let fields: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let token = fields.get("_csrf").map(String::as_str).unwrap_or("");
    if !session::csrf_ok(&st.key, &who.session, token) {
        tracing::info!(user = %who.user, path = here, "web form refused: missing or stale token");
        return Err(Box::new(plain(
            StatusCode::FORBIDDEN,
            "This form's security token is missing or stale: reload the page and try again.",
        )));
    }
    Ok((who, fields))
}

pub(crate) fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

pub(crate) fn html(markup: maud::Markup) -> Response {
    let mut r = Html(markup.into_string()).into_response();
    // Pages hold per-session tokens: never cached, never framed by another site.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    r
}

/// Send a REST request for `user`: `Ok` on success, else the status and message to show.
pub(crate) async fn send(
    st: &WebState,
    user: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), (StatusCode, String)> {
    match meridian_rest::execute_as(&st.rest, user, method, path, content_type, body).await {
        Ok(r) if r.status < 300 => Ok(()),
        Ok(r) => Err((
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            body_text(&r),
        )),
        Err(e) => Err((
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            e.to_string(),
        )),
    }
}

/// [`send`] with an XML body.
pub(crate) async fn send_xml(
    st: &WebState,
    user: &str,
    method: &str,
    path: &str,
    body: String,
) -> Result<(), (StatusCode, String)> {
    send(st, user, method, path, "application/xml", body.into_bytes()).await
}

/// Why this node refuses catalog changes, naming where to make them, or `None` when it takes
/// them (from the cluster status: read-only, or not a primary).
pub(crate) async fn refused_writes(st: &WebState, user: &str) -> Option<String> {
    let r = meridian_rest::execute_as(&st.rest, user, "GET", "/cluster/status", "", Vec::new())
        .await
        .ok()?;
    let s: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    let flag = |v: &serde_json::Value, k: &str| v.get(k).and_then(|b| b.as_bool()).unwrap_or(false);
    let roles = s.get("roles").cloned().unwrap_or_default();
    let read_only = flag(&s, "readOnly") || flag(&roles, "read_only");
    let primary = flag(&roles, "primary");
    if primary && !read_only {
        return None;
    }
    let primaries: Vec<String> = s
        .get("peers")
        .and_then(|p| p.as_array())
        .map(|peers| {
            peers
                .iter()
                .filter(|p| {
                    let r = p.get("roles").cloned().unwrap_or_default();
                    flag(&r, "primary") && !flag(&r, "read_only")
                })
                .filter_map(|p| {
                    let name = p.get("name")?.as_str()?;
                    let url = p.get("url").and_then(|u| u.as_str()).unwrap_or("");
                    Some(format!("{name} ({url})"))
                })
                .collect()
        })
        .unwrap_or_default();
    let why = if read_only {
        "This node is read-only"
    } else {
        "This node is a replica only"
    };
    Some(if primaries.is_empty() {
        format!("{why}: it refuses catalog changes, and no primary is known to it right now.")
    } else {
        format!(
            "{why}: it refuses catalog changes. Make them on a primary: {}.",
            primaries.join(", ")
        )
    })
}

/// A path segment or query value, percent-encoded.
pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A REST resource as JSON for `user` (`null` when it is not there or not readable).
pub(crate) async fn get_json(st: &WebState, user: &str, path: &str) -> serde_json::Value {
    match meridian_rest::execute_as(&st.rest, user, "GET", path, "", Vec::new()).await {
        Ok(r) if r.status == 200 => serde_json::from_slice(&r.body).unwrap_or_default(),
        _ => serde_json::Value::Null,
    }
}

/// A REST answer's body as text.
pub(crate) fn body_text(r: &meridian_rest::Resp) -> String {
    String::from_utf8_lossy(&r.body).to_string()
}

pub(crate) type Name = Path<String>;
