//! Logging in and out. The login form checks the same users as REST, behind the same
//! failed-login throttle; a good login sets the signed session cookie.

use crate::{html, layout, posted, session, WebState};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where a login may send the browser: a page of this interface only (never another site).
fn safe_next(next: Option<&String>) -> String {
    next.filter(|n| n.starts_with("/geoserver/web/") && !n.starts_with("//") && !n.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/geoserver/web/status".into())
}

fn login_page(next: &str, error: Option<&str>) -> maud::Markup {
    layout::page(
        "Log in",
        "",
        None,
        html! {
            h1 { "Log in" }
            form class="card" method="post" action="/geoserver/web/login" {
                input type="hidden" name="next" value=(next);
                @if let Some(e) = error {
                    p class="error" role="alert" id="login-error" { (e) }
                }
                label for="username" { "User name" }
                input type="text" id="username" name="username" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input type="password" id="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
            p class="hint" { "The same users as the REST API (security/usergroup)." }
        },
    )
}

/// `GET /web/login`
pub async fn form(Query(q): Query<HashMap<String, String>>) -> Response {
    html(login_page(&safe_next(q.get("next")), None))
}

/// `POST /web/login`
pub async fn submit(State(st): State<Arc<WebState>>, request: axum::extract::Request) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Ok(body) = axum::body::to_bytes(request.into_body(), 64 * 1024).await else {
        return crate::plain(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    };
    let fields: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let next = safe_next(fields.get("next"));
    if let Some(ip) = ip {
        if let Err(wait) = st.rest.logins.check(ip) {
            let mut r = html(login_page(
                &next,
                Some(&format!(
                    "Too many failed logins from this address: try again in {wait} s."
                )),
            ));
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return r;
        }
    }
    let (user, password) = (
        fields.get("username").map(|s| s.trim()).unwrap_or(""),
        fields.get("password").map(String::as_str).unwrap_or(""),
    );
    let ok = !user.is_empty()
        && st
            .rest
            .security
            .read()
            .is_ok_and(|s| s.authenticate(user, password));
    if !ok {
        if let Some(ip) = ip {
            st.rest.logins.failed(ip);
        }
        tracing::info!(user, "web login failed");
        let mut r = html(login_page(&next, Some("Wrong user name or password.")));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return r;
    }
    tracing::info!(user, "web login");
    let value = session::issue(&st.key, user);
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}={value}; Path=/geoserver/web; HttpOnly; SameSite=Lax; Max-Age={}",
        session::COOKIE,
        session::LIFETIME_SECS
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /web/logout`
pub async fn logout(State(st): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = posted(&st, &headers, &body, "/geoserver/web/status") {
        return *r;
    }
    let mut r = Redirect::to("/geoserver/web/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "meridian_session=; Path=/geoserver/web; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    r
}
