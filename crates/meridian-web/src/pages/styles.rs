//! Styles: the list, and an SLD editor that saves through `PUT /rest/styles/{name}`, shows
//! what the server refused at the line it concerns, and previews the style on a layer.

use crate::{enc, get_json, html, layout, names_at, posted, refused_writes, require, WebState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use meridian_rest::execute_as;
use std::collections::HashMap;
use std::sync::Arc;

const HERE: &str = "/geoserver/web/styles";

/// Layers looked at for one that draws with a style (its preview).
const PREVIEW_SCAN: usize = 200;

async fn list_page(
    st: &WebState,
    user: &str,
    csrf: &str,
    error: Option<&str>,
    name: &str,
) -> Markup {
    let all = names_at(&get_json(st, user, "/styles.json").await, "/styles/style");
    let refused = refused_writes(st, user).await;
    let body = html! {
        h1 { "Styles" }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        table {
            thead { tr { th { "Style" } } }
            tbody { @for s in &all { tr { td { a href={ (HERE) "/" (enc(s)) } { (s) } } } } }
        }
        form class="card" method="post" action=(HERE) enctype="multipart/form-data" {
            fieldset disabled[refused.is_some()] {
                h2 { "Upload a style" }
                input type="hidden" name="_csrf" value=(csrf);
                label for="name" { "Name" }
                input type="text" id="name" name="name" value=(name) required;
                label for="file" { "SLD file" }
                input type="file" id="file" name="file" accept=".sld,.xml,application/vnd.ogc.sld+xml" required
                    aria-describedby=[error.map(|_| "upload-error")];
                @if let Some(e) = error { p class="error" role="alert" id="upload-error" { (e) } }
                button type="submit" { "Upload" }
            }
        }
    };
    layout::page("Styles", "styles", Some((user, csrf)), body)
}

/// `GET /web/styles`
pub async fn list(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let who = match require(&st, &headers, HERE) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    html(list_page(&st, &who.user, &who.csrf, None, "").await)
}

/// The largest style file taken.
const MAX_UPLOAD: usize = 4 << 20;

/// `POST /web/styles`: a new style from an uploaded SLD file (`POST /rest/styles?name=`).
pub async fn upload(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    mut form: axum::extract::Multipart,
) -> Response {
    let who = match require(&st, &headers, HERE) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let (mut token, mut name, mut sld) = (String::new(), String::new(), Vec::new());
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return crate::plain(
                    StatusCode::BAD_REQUEST,
                    &format!("The form does not read: {e}"),
                )
            }
        };
        let key = field.name().unwrap_or("").to_string();
        let Ok(bytes) = field.bytes().await else {
            return crate::plain(StatusCode::BAD_REQUEST, "The form does not read.");
        };
        if bytes.len() > MAX_UPLOAD {
            return crate::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The style file is larger than 4 MiB.",
            );
        }
        match key.as_str() {
            "_csrf" => token = String::from_utf8_lossy(&bytes).to_string(),
            "name" => name = String::from_utf8_lossy(&bytes).trim().to_string(),
            "file" => sld = bytes.to_vec(),
            _ => {}
        }
    }
    if !crate::session::csrf_ok(&st.key, &who.session, &token) {
        return crate::plain(
            StatusCode::FORBIDDEN,
            "This form's security token is missing or stale: reload the page and try again.",
        );
    }
    let result = crate::send(
        &st,
        &who.user,
        "POST",
        &format!("/styles?name={}", enc(&name)),
        "application/vnd.ogc.sld+xml",
        sld,
    )
    .await;
    let Err(error) = result else {
        return Redirect::to(&format!("{HERE}/{}", enc(&name))).into_response();
    };
    let mut r = html(list_page(&st, &who.user, &who.csrf, Some(&error.1), &name).await);
    *r.status_mut() = error.0;
    r
}

/// The line of `text` a refusal's "at byte N" points at, with that line.
fn line_of(text: &str, message: &str) -> Option<(usize, String)> {
    let after = message.split("at byte ").nth(1)?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    let byte: usize = digits.parse().ok()?;
    let upto = text.get(..byte.min(text.len()))?;
    let n = upto.matches('\n').count();
    let line = text.lines().nth(n).unwrap_or("").trim().to_string();
    Some((n + 1, line))
}

/// The first of the first layers that draws with `style`, for the preview.
async fn layer_using(st: &WebState, user: &str, style: &str) -> Option<String> {
    let layers = names_at(&get_json(st, user, "/layers.json").await, "/layers/layer");
    for l in layers.iter().take(PREVIEW_SCAN) {
        let j = get_json(st, user, &format!("/layers/{}.json", enc(l))).await;
        let default = j
            .pointer("/layer/defaultStyle/name")
            .and_then(|n| n.as_str());
        if default.is_some_and(|d| d == style || d.ends_with(&format!(":{style}"))) {
            return Some(l.clone());
        }
    }
    layers.first().cloned()
}

async fn editor(
    st: &WebState,
    user: &str,
    csrf: &str,
    name: &str,
    text: Option<String>,
    error: Option<&str>,
    saved: bool,
) -> Markup {
    let text = match text {
        Some(t) => t,
        None => match execute_as(
            &st.rest,
            user,
            "GET",
            &format!("/styles/{}.sld", enc(name)),
            "",
            Vec::new(),
        )
        .await
        {
            Ok(r) => String::from_utf8_lossy(&r.body).to_string(),
            Err(e) => format!("<!-- {e} -->"),
        },
    };
    let at = error.and_then(|e| line_of(&text, e));
    let refused = refused_writes(st, user).await;
    let preview = layer_using(st, user, name).await;
    let body = html! {
        h1 { "Style " (name) }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        @if saved { p class="done" role="status" { "Saved." } }
        form class="card" method="post" action={ (HERE) "/" (enc(name)) } {
            fieldset disabled[refused.is_some()] {
                input type="hidden" name="_csrf" value=(csrf);
                label for="sld" { "SLD" }
                @if let Some(e) = error {
                    div class="error" role="alert" id="sld-error" {
                        @if let Some((n, line)) = &at {
                            "Line " (n) ": " (e)
                            pre { (line) }
                        } @else { (e) }
                    }
                }
                textarea id="sld" name="sld" rows="24" spellcheck="false"
                    aria-describedby=[error.map(|_| "sld-error")] { (text) }
                button type="submit" { "Save" }
            }
        }
        @if let Some(layer) = preview {
            @let b = bbox_of(st, user, &layer).await;
            // The image keeps the box's shape (512 pixels across).
            @let h = (512.0 * (b[3] - b[1]) / (b[2] - b[0]).max(1e-9)).clamp(64.0, 512.0).round();
            h2 { "Preview on " (layer) }
            img id="style-preview" alt={ "The style on " (layer) } width="512" height=(h)
                src={ "/geoserver/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&FORMAT=image/png&WIDTH=512&HEIGHT=" (h) "&SRS=EPSG:4326&LAYERS=" (enc(&layer)) "&STYLES=" (enc(name)) "&BBOX=" (b[0]) "," (b[1]) "," (b[2]) "," (b[3]) };
        }
    };
    layout::page("Style", "styles", Some((user, csrf)), body)
}

/// A layer's WGS84 box (the world when unknown).
async fn bbox_of(st: &WebState, user: &str, layer: &str) -> [f64; 4] {
    let l = get_json(st, user, &format!("/layers/{}.json", enc(layer))).await;
    let path = l
        .pointer("/layer/resource/href")
        .and_then(|h| h.as_str())
        .and_then(|h| h.split("/rest").nth(1).map(str::to_string));
    let Some(path) = path else {
        return [-180.0, -90.0, 180.0, 90.0];
    };
    let r = get_json(st, user, &path).await;
    let b = r
        .get("featureType")
        .or_else(|| r.get("coverage"))
        .and_then(|x| x.get("latLonBoundingBox"));
    let n = |k: &str| b.and_then(|b| b.get(k)).and_then(|v| v.as_f64());
    match (n("minx"), n("miny"), n("maxx"), n("maxy")) {
        (Some(a), Some(b), Some(c), Some(d)) if a < c && b < d => [a, b, c, d],
        _ => [-180.0, -90.0, 180.0, 90.0],
    }
}

/// `GET /web/styles/{name}`
pub async fn edit(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let who = match require(&st, &headers, &format!("{HERE}/{}", enc(&name))) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let saved = q.contains_key("saved");
    html(editor(&st, &who.user, &who.csrf, &name, None, None, saved).await)
}

/// `POST /web/styles/{name}`: save the SLD.
pub async fn save(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let here = format!("{HERE}/{}", enc(&name));
    let (who, f) = match posted(&st, &headers, &body, &here) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let text = f.get("sld").cloned().unwrap_or_default();
    let result = crate::send(
        &st,
        &who.user,
        "PUT",
        &format!("/styles/{}", enc(&name)),
        "application/vnd.ogc.sld+xml",
        text.clone().into_bytes(),
    )
    .await;
    let Err(refusal) = result else {
        return Redirect::to(&format!("{here}?saved=1")).into_response();
    };
    let mut r = html(
        editor(
            &st,
            &who.user,
            &who.csrf,
            &name,
            Some(text),
            Some(&refusal.1),
            false,
        )
        .await,
    );
    *r.status_mut() = refusal.0;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_points_at_its_line() {
        let text = "<a>\n  <b>\n  </c>\n</a>";
        let at = line_of(text, "Invalid style: malformed XML: at byte 14: mismatched");
        assert_eq!(at, Some((3, "</c>".to_string())));
        assert_eq!(line_of(text, "no position"), None);
        assert_eq!(
            line_of(text, "at byte 99999"),
            Some((4, "</a>".to_string()))
        );
    }
}
