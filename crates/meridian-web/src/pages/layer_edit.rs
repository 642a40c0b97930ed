//! A layer's settings: title, abstract, keywords, SRS, bounding boxes (or computed from the
//! data), enabled, advertised, the layer's filter, and its default and alternate styles. Saved
//! as two REST requests for the signed-in user: the resource's (`PUT` on the feature type or
//! coverage, `?recalculate=` for "compute from data") and the layer's (styles).

use crate::refusal::{above, blame, described, invalid, under};
use crate::{
    enc, get_json, html, layout, names_at, posted, refused_writes, require, send_xml, text,
    WebState,
};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use meridian_xml::escape;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The layer's JSON, its resource's REST path and the resource's JSON object.
async fn load(st: &WebState, user: &str, layer: &str) -> Option<(Value, String, Value)> {
    let l = get_json(st, user, &format!("/layers/{}.json", enc(layer))).await;
    let href = l.pointer("/layer/resource/href")?.as_str()?;
    let path = href
        .split("/rest")
        .nth(1)?
        .trim_end_matches(".json")
        .to_string();
    let r = get_json(st, user, &format!("{path}.json")).await;
    let res = r.get("featureType").or_else(|| r.get("coverage"))?.clone();
    Some((l.get("layer")?.clone(), path, res))
}

fn keywords(res: &Value) -> String {
    match res.pointer("/keywords/string") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

const BOX: [&str; 4] = ["minx", "miny", "maxx", "maxy"];

/// Which words of a refusal name which field (the filter first: its text may hold any word).
const BLAME: &[(&str, &[&str])] = &[
    ("cqlFilter", &["cqlFilter"]),
    ("native", &["nativeBoundingBox", "native "]),
    ("latlon", &["latLonBoundingBox", "latlon "]),
    ("srs", &["srs", "SRS", "CRS"]),
    ("title", &["title"]),
    ("defaultStyle", &["style"]),
];

/// The resource as the form was posted, so that a refused form shows what was typed.
fn as_sent(mut res: Value, f: &HashMap<String, String>) -> Value {
    let Some(o) = res.as_object_mut() else {
        return res;
    };
    for k in ["title", "abstract", "srs", "cqlFilter"] {
        o.insert(
            k.into(),
            Value::String(f.get(k).cloned().unwrap_or_default()),
        );
    }
    o.insert(
        "keywords".into(),
        serde_json::json!({ "string": f.get("keywords").cloned().unwrap_or_default() }),
    );
    for (prefix, which) in [
        ("native", "nativeBoundingBox"),
        ("latlon", "latLonBoundingBox"),
    ] {
        let b: serde_json::Map<String, Value> = BOX
            .iter()
            .map(|k| {
                let v = f.get(&format!("{prefix}_{k}")).cloned().unwrap_or_default();
                (k.to_string(), Value::String(v))
            })
            .collect();
        o.insert(which.into(), Value::Object(b));
    }
    for k in ["enabled", "advertised"] {
        o.insert(k.into(), Value::Bool(f.contains_key(k)));
    }
    res
}

async fn page(
    st: &WebState,
    user: &str,
    csrf: &str,
    layer: &str,
    refused_with: Option<(&str, &HashMap<String, String>)>,
    saved: bool,
) -> Option<Markup> {
    let (l, _, res) = load(st, user, layer).await?;
    let res = match refused_with {
        Some((_, f)) => as_sent(res, f),
        None => res,
    };
    let r = refused_with.map(|(msg, _)| blame(msg, BLAME));
    let r = r.as_ref();
    let ws = layer.split(':').next().unwrap_or("");
    let mut all_styles = names_at(&get_json(st, user, "/styles.json").await, "/styles/style");
    all_styles.extend(
        names_at(
            &get_json(st, user, &format!("/workspaces/{}/styles.json", enc(ws))).await,
            "/styles/style",
        )
        .into_iter()
        .map(|s| format!("{ws}:{s}")),
    );
    let default = l
        .pointer("/defaultStyle/name")
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let alternates = names_at(&l, "/styles/style");
    let refused = refused_writes(st, user).await;
    let enabled = res.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    let advertised = res
        .get("advertised")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let bbox = |which: &str| {
        let b = res.get(which).cloned().unwrap_or_default();
        BOX.map(|k| text(&b, k))
    };
    let (native, latlon) = (bbox("nativeBoundingBox"), bbox("latLonBoundingBox"));
    let action = format!("/geoserver/web/layers/{}/edit", enc(layer));
    Some(html! {
        h1 { "Layer " (layer) }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        @if saved { p class="done" role="status" { "Saved." } }
        (above(r, "layer-error"))
        form class="card" method="post" action=(action) {
            fieldset disabled[refused.is_some()] {
                input type="hidden" name="_csrf" value=(csrf);
                label for="title" { "Title" }
                input type="text" id="title" name="title" value=(text(&res, "title"))
                    aria-invalid=[invalid(r, "title").then_some("true")] aria-describedby=[described(r, "title")];
                (under(r, "title"))
                label for="abstract" { "Abstract" }
                textarea id="abstract" name="abstract" rows="3" { (text(&res, "abstract")) }
                label for="keywords" { "Keywords (comma separated)" }
                input type="text" id="keywords" name="keywords" value=(keywords(&res));
                label for="srs" { "SRS" }
                input type="text" id="srs" name="srs" value=(text(&res, "srs"))
                    aria-invalid=[invalid(r, "srs").then_some("true")] aria-describedby=[described(r, "srs")];
                (under(r, "srs"))
                @for (title, prefix, values) in [("Native bounding box", "native", &native), ("Lat/lon bounding box", "latlon", &latlon)] {
                    fieldset class="kind-fields" {
                        legend { (title) }
                        @for (i, k) in BOX.iter().enumerate() {
                            label for={ (prefix) "_" (k) } { (k) }
                            input type="text" id={ (prefix) "_" (k) } name={ (prefix) "_" (k) } value=(values[i]) inputmode="decimal"
                                aria-invalid=[invalid(r, prefix).then_some("true")] aria-describedby=[described(r, prefix)];
                        }
                        (under(r, prefix))
                    }
                }
                button type="submit" name="compute" value="1" { "Compute from data" }
                div class="check" {
                    input type="checkbox" id="enabled" name="enabled" value="true" checked[enabled];
                    label for="enabled" { "Enabled" }
                }
                div class="check" {
                    input type="checkbox" id="advertised" name="advertised" value="true" checked[advertised];
                    label for="advertised" { "Advertised (listed in capabilities)" }
                }
                label for="cqlFilter" { "Filter (CQL: only the features it takes are served)" }
                input type="text" id="cqlFilter" name="cqlFilter" value=(text(&res, "cqlFilter"))
                    aria-invalid=[invalid(r, "cqlFilter").then_some("true")] aria-describedby=[described(r, "cqlFilter")];
                (under(r, "cqlFilter"))
                label for="defaultStyle" { "Default style" }
                select id="defaultStyle" name="defaultStyle" aria-describedby=[described(r, "defaultStyle")] {
                    @for s in &all_styles { option selected[*s == default] { (s) } }
                }
                (under(r, "defaultStyle"))
                fieldset class="kind-fields" {
                    legend { "Alternate styles" }
                    @for (i, s) in all_styles.iter().enumerate() {
                        div class="check" {
                            input type="checkbox" id={ "alt-" (i) } name="styles" value=(s) checked[alternates.contains(s)];
                            label for={ "alt-" (i) } { (s) }
                        }
                    }
                }
                button type="submit" { "Save" }
            }
        }
        p { a href={ "/geoserver/web/preview?layer=" (enc(layer)) } { "Preview" } }
    })
}

/// `GET /web/layers/{layer}/edit`
pub async fn edit(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Path(layer): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/geoserver/web/layers/{}/edit", enc(&layer));
    let who = match require(&st, &headers, &here) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    match page(
        &st,
        &who.user,
        &who.csrf,
        &layer,
        None,
        q.contains_key("saved"),
    )
    .await
    {
        Some(body) => html(layout::page(
            "Layer",
            "layers",
            Some((&who.user, &who.csrf)),
            body,
        )),
        None => crate::plain(StatusCode::NOT_FOUND, "No such layer."),
    }
}

/// `POST /web/layers/{layer}/edit`
pub async fn save(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Path(layer): Path<String>,
    body: Bytes,
) -> Response {
    let here = format!("/geoserver/web/layers/{}/edit", enc(&layer));
    // Checkboxes repeat a name: read every pair, not a map.
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let (who, f) = match posted(&st, &headers, &body, &here) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some((_, res_path, res)) = load(&st, &who.user, &layer).await else {
        return crate::plain(StatusCode::NOT_FOUND, "No such layer.");
    };
    let root = if res.get("nativeCoverageName").is_some() || res_path.contains("/coverages/") {
        "coverage"
    } else {
        "featureType"
    };
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let result = if f.contains_key("compute") {
        let xml = format!(
            "<{root}><enabled>{}</enabled></{root}>",
            text(&res, "enabled").parse::<bool>().unwrap_or(true)
        );
        send_xml(
            &st,
            &who.user,
            "PUT",
            &format!("{res_path}?recalculate=nativebbox,latlonbbox"),
            xml,
        )
        .await
    } else {
        let kw: String = get("keywords")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| format!("<string>{}</string>", escape(k)))
            .collect();
        let bbox = |prefix: &str, crs: &str| -> Result<String, String> {
            let mut out = String::new();
            for k in BOX {
                let v = get(&format!("{prefix}_{k}"));
                let n: f64 = v
                    .parse()
                    .map_err(|_| format!("{prefix} {k}: '{v}' is not a number"))?;
                out.push_str(&format!("<{k}>{n}</{k}>"));
            }
            Ok(format!("{out}<crs>{}</crs>", escape(crs)))
        };
        let boxes = bbox("native", &get("srs")).and_then(|n| Ok((n, bbox("latlon", "EPSG:4326")?)));
        match boxes {
            Err(e) => Err((StatusCode::BAD_REQUEST, e)),
            Ok((native, latlon)) => {
                let xml = format!(
                    "<{root}><title>{}</title><abstract>{}</abstract><keywords>{kw}</keywords><srs>{}</srs><nativeBoundingBox>{native}</nativeBoundingBox><latLonBoundingBox>{latlon}</latLonBoundingBox><enabled>{}</enabled><advertised>{}</advertised><cqlFilter>{}</cqlFilter></{root}>",
                    escape(&get("title")),
                    escape(&get("abstract")),
                    escape(&get("srs")),
                    f.contains_key("enabled"),
                    f.contains_key("advertised"),
                    escape(&get("cqlFilter")),
                );
                match send_xml(&st, &who.user, "PUT", &res_path, xml).await {
                    Ok(()) => {
                        let styles: String = pairs
                            .iter()
                            .filter(|(k, _)| k == "styles")
                            .map(|(_, v)| format!("<style><name>{}</name></style>", escape(v)))
                            .collect();
                        let xml = format!(
                            "<layer><defaultStyle><name>{}</name></defaultStyle><styles>{styles}</styles></layer>",
                            escape(&get("defaultStyle"))
                        );
                        send_xml(
                            &st,
                            &who.user,
                            "PUT",
                            &format!("/layers/{}", enc(&layer)),
                            xml,
                        )
                        .await
                    }
                    e => e,
                }
            }
        }
    };
    match result {
        Ok(()) => Redirect::to(&format!("{here}?saved=1")).into_response(),
        Err((status, msg)) => {
            match page(&st, &who.user, &who.csrf, &layer, Some((&msg, &f)), false).await {
                Some(body) => {
                    let mut r = html(layout::page(
                        "Layer",
                        "layers",
                        Some((&who.user, &who.csrf)),
                        body,
                    ));
                    *r.status_mut() = status;
                    r
                }
                None => crate::plain(status, &msg),
            }
        }
    }
}
