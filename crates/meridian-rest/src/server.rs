//! The axum side: authentication, body limits, and handing requests to the dispatcher on a
//! blocking thread (the apply path fsyncs), or in place for reads of one object.

use crate::ctx::{Ctx, Position, RestExtension, RestState};
use crate::error::RestError;
use crate::req::{Req, Resp, Streamed};
use crate::router::{dispatch, reads_one_object, split_path};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use meridian_security::Access;
use std::collections::HashMap;
use std::sync::Arc;

/// The REST API routes, under `/geoserver/rest`.
pub fn rest_router(state: Arc<RestState>) -> Router {
    Router::new()
        .route("/geoserver/rest", any(handle))
        .route("/geoserver/rest/", any(handle))
        .route("/geoserver/rest/{*path}", any(handle))
        // GeoWebCache's REST API, answered as `/rest/gwc/...` (the same login and rules).
        .route("/geoserver/gwc/rest", any(handle))
        .route("/geoserver/gwc/rest/{*path}", any(handle))
        .with_state(state)
}

/// The user and password of a request's `Authorization: Basic` header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// HTTP header pass-through: a proxy in front of the node (an OpenID Connect proxy, a single
/// sign-on gateway) has authenticated the user and names them in a header. Only requests
/// from the proxy's own addresses are believed; the header of any other client is ignored.
#[derive(Debug, Clone)]
pub struct ProxyAuth {
    /// The header naming the user (`x-forwarded-user`), lower case.
    pub header: String,
    /// The addresses the proxy connects from.
    pub from: Vec<std::net::IpAddr>,
}

impl ProxyAuth {
    /// The user the trusted proxy names in this request, if it is the proxy's and names one.
    pub fn user<'a>(
        &self,
        headers: &'a HeaderMap,
        client: Option<std::net::IpAddr>,
    ) -> Option<&'a str> {
        let user = headers
            .get(self.header.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|u| !u.is_empty())?;
        if client.is_some_and(|ip| self.from.contains(&ip)) {
            Some(user)
        } else {
            tracing::debug!(header = %self.header, ?client, "a user header from a client that is not the trusted proxy: ignored");
            None
        }
    }
}

/// Whether a path under `/rest` is the full administrator's only: security (but one's own
/// password), the cluster, reload, reset and the tile cache (`/gwc/rest`).
fn admin_only(sub: &str) -> bool {
    let p = sub.trim_start_matches('/').to_ascii_lowercase();
    let first = p.split('/').next().unwrap_or("");
    let first = first.split('.').next().unwrap_or("");
    match first {
        "security" => !p.starts_with("security/self/"),
        "cluster" | "reload" | "reset" | "gwc" => true,
        _ => false,
    }
}

/// The user a request from a cluster peer runs as.
pub const PEER_USER: &str = "cluster-peer";

/// The response header signing an answer to a cluster peer.
pub const PEER_SIGNATURE_HEADER: &str = "x-meridian-signature";

/// The response header naming a write's position: `<origin>:<sequence>`.
pub const POSITION_HEADER: &str = "x-meridian-position";

/// Answers at least this large call [`RestState::after_large_answer`] once written.
const LARGE_ANSWER: usize = 1 << 20;

/// A streamed answer's chunks; once it ends or is dropped after [`LARGE_ANSWER`] bytes, the
/// hook runs.
struct Written {
    stream: Streamed,
    bytes: usize,
    hook: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Iterator for Written {
    type Item = Result<bytes::Bytes, std::convert::Infallible>;

    fn next(&mut self) -> Option<Self::Item> {
        let c = self.stream.next_chunk()?;
        self.bytes += c.len();
        Some(Ok(bytes::Bytes::from(c)))
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        if self.bytes >= LARGE_ANSWER {
            if let Some(h) = self.hook.take() {
                h();
            }
        }
    }
}

fn to_response(r: Resp) -> Response {
    to_response_with(r, None)
}

/// An answer to a peer with its signature. A replayable streamed body is signed from a replay
/// of its chunks (on a blocking thread: a snapshot is large) and then sent as produced; any
/// other is signed whole.
async fn sign_for_peer(
    r: Resp,
    e: Arc<dyn RestExtension>,
    token: String,
) -> (Resp, Option<String>) {
    match r.stream.as_ref().and_then(|s| s.replay()) {
        Some(mut chunks) => {
            let prefix = r.body.clone();
            let signed = tokio::task::spawn_blocking(move || {
                let mut all = std::iter::once(prefix).chain(&mut chunks);
                e.peer_answer_signature(&token, &mut all)
            })
            .await
            .ok()
            .flatten();
            (r, signed)
        }
        None => {
            let r = r.collected();
            let signed = e.peer_answer_signature(&token, &mut std::iter::once(r.body.clone()));
            (r, signed)
        }
    }
}

/// A body written as it is produced: each chunk made when the connection has taken the last;
/// `hook` runs once a large one has been written (or dropped).
pub fn streamed_body(
    first: Vec<u8>,
    stream: Streamed,
    hook: Option<Arc<dyn Fn() + Send + Sync>>,
) -> Body {
    let first = (!first.is_empty()).then(|| Ok(bytes::Bytes::from(first)));
    let chunks = first.into_iter().chain(Written {
        stream,
        bytes: 0,
        hook,
    });
    Body::from_stream(futures_util::stream::iter(chunks))
}

fn to_response_with(r: Resp, hook: Option<Arc<dyn Fn() + Send + Sync>>) -> Response {
    let body = match r.stream {
        Some(stream) => streamed_body(r.body, stream, hook),
        None => {
            if r.body.len() >= LARGE_ANSWER {
                if let Some(h) = hook {
                    h();
                }
            }
            Body::from(r.body)
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(&r.content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Some(loc) = r.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

fn error_response(e: &RestError) -> Response {
    let body = match e {
        RestError::QuietNotFound => String::new(),
        other => other.to_string(),
    };
    let mut resp = to_response(Resp::text(e.status(), &body));
    if matches!(e, RestError::TooLarge(_)) {
        // The rest of the body was not read: the connection cannot carry another request.
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let RestError::TooManyLogins(wait) = e {
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if matches!(e, RestError::Unauthorized) {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"GeoServer Realm\""),
        );
    }
    resp
}

/// Dispatch a request on a blocking thread (handlers take the writer lock and fsync), or in
/// place when it only reads one object (see [`reads_one_object`]); the handler's answer and
/// the position of the write it made, if any.
async fn run_handler(
    st: Arc<RestState>,
    req: Req,
) -> Result<(crate::RestResult<Resp>, Option<(String, u64)>), tokio::task::JoinError> {
    if reads_one_object(&req) {
        return Ok(run_dispatch(&st, &req));
    }
    tokio::task::spawn_blocking(move || run_dispatch(&st, &req)).await
}

/// Run the dispatcher on the current thread against the catalog's current snapshot.
fn run_dispatch(st: &RestState, req: &Req) -> (crate::RestResult<Resp>, Option<(String, u64)>) {
    let position = Position::default();
    let c = Ctx::for_request(st, &position, req);
    let r = dispatch(&c, req).map_err(|e| match e {
        RestError::NotFound(_) if c.quiet_global() => RestError::QuietNotFound,
        e => e,
    });
    (r, position.take())
}

/// Run a REST request on behalf of `user`, already authenticated by other means (the web
/// interface's signed session): the same access rules, handlers and apply path as a request
/// over HTTP, so a change made there validates, journals and replicates alike. `path` is the
/// part after `/rest` (`/workspaces.json`), with its query.
pub async fn execute_as(
    st: &Arc<RestState>,
    user: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> crate::RestResult<Resp> {
    let (sub, q) = path.split_once('?').unwrap_or((path, ""));
    let access = match st.security.read() {
        Ok(sec) => sec.check_rest_as(method, &format!("/rest{sub}"), user),
        Err(_) => Access::Unauthenticated,
    };
    match access {
        Access::Allowed(_) => {}
        Access::Unauthenticated => return Err(RestError::Unauthorized),
        Access::Forbidden(msg) => return Err(RestError::Forbidden(msg)),
    }
    if admin_only(sub)
        && !st
            .security
            .read()
            .map(|s| s.access_for(Some(user)).is_administrator())
            .unwrap_or(false)
    {
        return Err(RestError::Forbidden(format!(
            "user '{user}' may not use /rest{sub}: it is the administrator's"
        )));
    }
    let (segs, ext) = split_path(sub)?;
    let req = Req {
        method: method.to_uppercase(),
        segs,
        ext,
        query: form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        accept: "application/json".into(),
        content_type: content_type.to_ascii_lowercase(),
        body,
        base: "http://localhost/geoserver".into(),
        user: Some(user.to_string()),
        peer: false,
    };
    let pending = st.extensions.iter().find_map(|e| e.handle_async(&req));
    let result = match pending {
        Some(answer) => answer.await,
        None => match run_handler(st.clone(), req).await {
            Ok((r, _)) => r,
            Err(e) => Err(RestError::Internal(format!("request handler failed: {e}"))),
        },
    };
    tracing::info!(%method, path = %sub, user, status = result.as_ref().map_or_else(|e| e.status(), |r| r.status), "web");
    // Callers in the process read the body whole.
    result.map(Resp::collected)
}

/// How much of a body beyond its limit is read and dropped before the refusal, so that a
/// client still sending it reads the 413 instead of a reset connection.
const DRAIN: usize = 8 * 1024 * 1024;

/// A request body of at most `limit` bytes; a larger one is refused with 413 once read (up to
/// [`DRAIN`] bytes more, dropped; beyond that the connection closes).
async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, RestError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| RestError::BadRequest(format!("reading the request body: {e}")))?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit.saturating_add(DRAIN) {
            break;
        }
        if seen <= limit {
            out.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        return Err(RestError::TooLarge(limit));
    }
    Ok(out)
}

async fn handle(State(st): State<Arc<RestState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_uppercase();
    let full_path = parts.uri.path().to_string();
    let sub = match full_path.strip_prefix("/geoserver/gwc/rest") {
        Some(gwc) => format!("/gwc{gwc}"),
        None => full_path
            .strip_prefix("/geoserver/rest")
            .unwrap_or("")
            .to_string(),
    };
    let sub = sub.as_str();
    let creds = basic_credentials(&parts.headers);
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let token = parts
        .headers
        .get("x-meridian-token")
        .and_then(|v| v.to_str().ok());
    // The extension that vouched for the peer signs its answer.
    let peer = token.and_then(|t| {
        st.extensions
            .iter()
            .find(|e| e.peer_allowed(&method, path_and_query, t))
            .map(|e| (e.clone(), t.to_string()))
    });
    // A client that failed too many logins lately is not let near the password check.
    let client = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let (Some(ip), Some(_), None) = (client, &creds, &peer) {
        if let Err(wait) = st.logins.check(ip) {
            return error_response(&RestError::TooManyLogins(wait));
        }
    }
    let proxied = st
        .proxy_auth
        .as_ref()
        .and_then(|p| p.user(&parts.headers, client));
    let access = match st.security.read() {
        _ if peer.is_some() => Access::Allowed(Some(PEER_USER.into())),
        // A user the trusted proxy authenticated (a name the user/group services do not
        // hold has the roles the role service gives it).
        Ok(sec) if proxied.is_some() => sec.check_rest_proxied(
            &method,
            &format!("/rest{}", if sub.is_empty() { "" } else { sub }),
            proxied.unwrap_or_default(),
        ),
        Ok(sec) => sec.check_rest(
            &method,
            &format!("/rest{}", if sub.is_empty() { "" } else { sub }),
            creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
        ),
        Err(_) => Access::Unauthenticated,
    };
    let user = match access {
        Access::Allowed(u) => u,
        Access::Unauthenticated => {
            if let (Some(ip), Some(_)) = (client, &creds) {
                st.logins.failed(ip);
            }
            tracing::info!(%method, path = %full_path, "401 authentication required");
            return error_response(&RestError::Unauthorized);
        }
        Access::Forbidden(msg) => {
            tracing::info!(%method, path = %full_path, "403 {msg}");
            return error_response(&RestError::Forbidden(msg));
        }
    };
    // The server's own settings (security, cluster, reload) are the full administrator's,
    // whatever rest.properties lets others do; a user's own password excepted.
    if peer.is_none() && admin_only(sub) {
        let admin = st
            .security
            .read()
            .map(|s| s.access_for(user.as_deref()).is_administrator())
            .unwrap_or(false);
        if !admin {
            let who = user.as_deref().unwrap_or("anonymous");
            let msg = format!("user '{who}' may not use /rest{sub}: it is the administrator's");
            tracing::info!(%method, path = %full_path, "403 {msg}");
            return error_response(&RestError::Forbidden(msg));
        }
    }
    let is_upload = sub.rsplit('/').next().is_some_and(|last| {
        ["file.", "url.", "external."]
            .iter()
            .any(|p| last.starts_with(p))
    });
    let limit = if is_upload {
        st.max_upload
    } else {
        st.max_body
    };
    let bytes = match read_body(body, limit).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let (segs, ext) = match split_path(sub) {
        Ok(x) => x,
        Err(e) => return error_response(&e),
    };
    let header_str = |h: header::HeaderName| {
        parts
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let host = match header_str(header::HOST) {
        h if h.is_empty() => "localhost".to_string(),
        h => h,
    };
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let content_type = header_str(header::CONTENT_TYPE)
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let req = Req {
        method: method.clone(),
        segs,
        ext,
        query,
        accept: header_str(header::ACCEPT),
        content_type,
        body: bytes.to_vec(),
        base: format!("http://{host}/geoserver"),
        // A peer is known by its token, never by a user's name.
        user: user.clone().filter(|_| peer.is_none()),
        peer: peer.is_some(),
    };
    // A long poll is answered on the runtime, without a blocking thread per waiting client.
    let pending = st.extensions.iter().find_map(|e| e.handle_async(&req));
    let result = match pending {
        Some(answer) => Ok((answer.await, None)),
        None => run_handler(st.clone(), req).await,
    };
    let (result, position) = match result {
        Ok((r, p)) => (r, p),
        Err(e) => (
            Err(RestError::Internal(format!("request handler failed: {e}"))),
            None,
        ),
    };
    match result {
        Ok(r) => {
            tracing::info!(%method, path = %full_path, status = r.status, user = user.as_deref().unwrap_or("anonymous"), "rest");
            let (r, signature) = match peer {
                Some((e, t)) => sign_for_peer(r, e, t).await,
                None => (r, None),
            };
            let signature = signature.and_then(|s| HeaderValue::from_str(&s).ok());
            let mut resp = to_response_with(r, st.after_large_answer.clone());
            if let Some(s) = signature {
                resp.headers_mut().insert(PEER_SIGNATURE_HEADER, s);
            }
            // Where the write stands in its origin's stream: another node can be asked to
            // wait for it (`/rest/cluster/wait`), so a client reads its own writes anywhere.
            let value = position
                .and_then(|(origin, seq)| HeaderValue::from_str(&format!("{origin}:{seq}")).ok());
            if let Some(v) = value {
                resp.headers_mut().insert(POSITION_HEADER, v);
            }
            resp
        }
        Err(e) => {
            tracing::info!(%method, path = %full_path, status = e.status(), user = user.as_deref().unwrap_or("anonymous"), error = %e, "rest");
            error_response(&e).into_response()
        }
    }
}
