//! Service settings (WMS and WFS: title, abstract, enabled and their limits) and the server's
//! contact information, saved through `PUT /rest/services/{svc}/settings` and
//! `PUT /rest/settings/contact` for the signed-in user.

use crate::{get_json, html, layout, posted, refused_writes, require, send_xml, text, WebState};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use meridian_xml::escape;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

const HERE: &str = "/geoserver/web/services";

/// Form fields: element and label.
type Fields = &'static [(&'static str, &'static str)];

/// Per service: its key, its title, and its numeric limits.
const SERVICES: &[(&str, &str, Fields)] = &[
    (
        "wms",
        "WMS",
        &[
            (
                "maxRequestMemory",
                "Largest map (KB of memory; 0 = no limit)",
            ),
            (
                "maxRenderingTime",
                "Longest drawing (seconds; 0 = no limit)",
            ),
            ("maxBuffer", "Largest margin read around a map (pixels)"),
        ],
    ),
    (
        "wfs",
        "WFS",
        &[("maxFeatures", "Most features in one answer")],
    ),
];

/// The contact fields.
const CONTACT: Fields = &[
    ("contactPerson", "Person"),
    ("contactOrganization", "Organisation"),
    ("contactPosition", "Position"),
    ("contactEmail", "Email"),
    ("contactVoice", "Telephone"),
    ("address", "Address"),
    ("addressCity", "City"),
    ("addressCountry", "Country"),
];

async fn page(
    st: &WebState,
    user: &str,
    csrf: &str,
    error: Option<(&str, &str)>,
    saved: bool,
) -> Markup {
    let refused = refused_writes(st, user).await;
    let mut services = Vec::new();
    for (key, title, limits) in SERVICES {
        let j = get_json(st, user, &format!("/services/{key}/settings.json")).await;
        if let Some(s) = j.get(*key) {
            services.push((*key, *title, *limits, s.clone()));
        }
    }
    let contact = get_json(st, user, "/settings/contact.json").await;
    let contact = contact.get("contact").cloned().unwrap_or_default();
    let err_for = |form: &str| {
        error
            .filter(|(f, _)| *f == form)
            .map(|(_, e)| e.to_string())
    };
    html! {
        h1 { "Services and contact" }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        @if saved { p class="done" role="status" { "Saved." } }
        @for (key, title, limits, s) in &services {
            form class="card" method="post" action=(HERE) id={ "form-" (key) } {
                fieldset disabled[refused.is_some()] {
                    h2 { (title) }
                    input type="hidden" name="_csrf" value=(csrf);
                    input type="hidden" name="service" value=(key);
                    @if let Some(e) = err_for(key) { p class="error" role="alert" id={ (key) "-error" } { (e) } }
                    div class="check" {
                        input type="checkbox" id={ (key) "-enabled" } name="enabled" value="true"
                            checked[s.get("enabled").and_then(Value::as_bool).unwrap_or(true)];
                        label for={ (key) "-enabled" } { "Enabled" }
                    }
                    label for={ (key) "-title" } { "Title" }
                    input type="text" id={ (key) "-title" } name="title" value=(text(s, "title"));
                    label for={ (key) "-abstrct" } { "Abstract" }
                    textarea id={ (key) "-abstrct" } name="abstrct" rows="3" { (text(s, "abstrct")) }
                    @for (el, label) in *limits {
                        label for={ (key) "-" (el) } { (label) }
                        input type="text" inputmode="numeric" id={ (key) "-" (el) } name=(el) value=(text(s, el));
                    }
                    button type="submit" { "Save " (title) }
                }
            }
        }
        form class="card" method="post" action=(HERE) id="form-contact" {
            fieldset disabled[refused.is_some()] {
                h2 { "Contact information" }
                input type="hidden" name="_csrf" value=(csrf);
                input type="hidden" name="service" value="contact";
                @if let Some(e) = err_for("contact") { p class="error" role="alert" id="contact-error" { (e) } }
                @for (el, label) in CONTACT {
                    label for={ "contact-" (el) } { (label) }
                    input type="text" id={ "contact-" (el) } name=(el) value=(text(&contact, el));
                }
                button type="submit" { "Save contact" }
            }
        }
    }
}

/// `GET /web/services`
pub async fn show(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let who = match require(&st, &headers, HERE) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let body = page(&st, &who.user, &who.csrf, None, q.contains_key("saved")).await;
    html(layout::page(
        "Services",
        "services",
        Some((&who.user, &who.csrf)),
        body,
    ))
}

/// `POST /web/services`: one service's settings, or the contact information.
pub async fn save(State(st): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match posted(&st, &headers, &body, HERE) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let which = get("service");
    let result = if which == "contact" {
        let fields: String = CONTACT
            .iter()
            .map(|(el, _)| format!("<{el}>{}</{el}>", escape(&get(el))))
            .collect();
        send_xml(
            &st,
            &who.user,
            "PUT",
            "/settings/contact",
            format!("<contact>{fields}</contact>"),
        )
        .await
    } else if let Some((key, _, limits)) = SERVICES.iter().find(|(k, _, _)| *k == which) {
        let mut xml = format!(
            "<{key}><enabled>{}</enabled><title>{}</title><abstrct>{}</abstrct>",
            f.contains_key("enabled"),
            escape(&get("title")),
            escape(&get("abstrct"))
        );
        let mut bad = None;
        for (el, label) in *limits {
            let v = get(el);
            match v.parse::<u64>() {
                Ok(n) => xml.push_str(&format!("<{el}>{n}</{el}>")),
                Err(_) => bad = Some(format!("{label}: '{v}' is not a whole number")),
            }
        }
        xml.push_str(&format!("</{key}>"));
        match bad {
            Some(e) => Err((axum::http::StatusCode::BAD_REQUEST, e)),
            None => {
                send_xml(
                    &st,
                    &who.user,
                    "PUT",
                    &format!("/services/{key}/settings"),
                    xml,
                )
                .await
            }
        }
    } else {
        Err((
            axum::http::StatusCode::BAD_REQUEST,
            "no such service".to_string(),
        ))
    };
    match result {
        Ok(()) => Redirect::to(&format!("{HERE}?saved=1")).into_response(),
        Err((status, msg)) => {
            let body = page(&st, &who.user, &who.csrf, Some((&which, &msg)), false).await;
            let mut r = html(layout::page(
                "Services",
                "services",
                Some((&who.user, &who.csrf)),
                body,
            ));
            *r.status_mut() = status;
            r
        }
    }
}
