//! Layer groups: the list, and a form per group (new or existing) whose members are written
//! one per line, in drawing order, each optionally followed by its style (`topp:states
//! population`): ordering is moving lines, with no script. Saved through `POST /rest/layergroups`
//! or `PUT /rest/layergroups/{name}` for the signed-in user.

use crate::refusal::{above, blame, described, invalid, under};
use crate::{enc, get_json, html, layout, posted, refused_writes, require, send_xml, WebState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use meridian_xml::escape;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

const HERE: &str = "/geoserver/web/groups";

/// The modes GeoServer offers.
const MODES: &[&str] = &["SINGLE", "OPAQUE_CONTAINER", "NAMED", "CONTAINER", "EO"];

/// A JSON list that GeoServer writes as an object when it has one item.
fn items(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

/// A group's members as the form's lines.
fn member_lines(g: &Value) -> String {
    let published = items(g.pointer("/publishables/published"));
    let styles = items(g.pointer("/styles/style"));
    published
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let name = p.get("name")?.as_str()?;
            let style = styles
                .get(i)
                .and_then(|s| s.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or("");
            Some(if style.is_empty() {
                name.to_string()
            } else {
                format!("{name} {style}")
            })
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The form: `name` empty for a new group.
async fn form(
    st: &WebState,
    user: &str,
    csrf: &str,
    name: &str,
    values: &HashMap<String, String>,
    error: Option<&str>,
    saved: bool,
) -> Markup {
    let refused = refused_writes(st, user).await;
    let all = items(
        get_json(st, user, "/layergroups.json")
            .await
            .pointer("/layerGroups/layerGroup"),
    );
    let names: Vec<String> = all
        .iter()
        .filter_map(|g| g.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect();
    let value = |k: &str| values.get(k).cloned().unwrap_or_default();
    // Which words name which field; a group being edited has no name field.
    let blamed: &[(&str, &[&str])] = if name.is_empty() {
        &[
            ("name", &["name", "already exists"]),
            ("title", &["title"]),
            ("members", &["layer", "style"]),
        ]
    } else {
        &[("title", &["title"]), ("members", &["layer", "style"])]
    };
    let r = error.map(|e| blame(e, blamed));
    let r = r.as_ref();
    let mode = values
        .get("mode")
        .cloned()
        .unwrap_or_else(|| "SINGLE".into());
    let action = if name.is_empty() {
        HERE.to_string()
    } else {
        format!("{HERE}/{}", enc(name))
    };
    html! {
        h1 { @if name.is_empty() { "Layer groups" } @else { "Layer group " (name) } }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        @if saved { p class="done" role="status" { "Saved." } }
        (above(r, "group-error"))
        @if name.is_empty() {
            table {
                thead { tr { th { "Group" } } }
                tbody { @for g in &names { tr { td { a href={ (HERE) "/" (enc(g)) } { (g) } } } } }
            }
        }
        form class="card" method="post" action=(action) {
            fieldset disabled[refused.is_some()] {
                h2 { @if name.is_empty() { "New layer group" } @else { "Settings" } }
                input type="hidden" name="_csrf" value=(csrf);
                @if name.is_empty() {
                    label for="name" { "Name" }
                    input type="text" id="name" name="name" value=(value("name")) required
                        aria-invalid=[invalid(r, "name").then_some("true")] aria-describedby=[described(r, "name")];
                    (under(r, "name"))
                }
                label for="title" { "Title" }
                input type="text" id="title" name="title" value=(value("title"))
                    aria-invalid=[invalid(r, "title").then_some("true")] aria-describedby=[described(r, "title")];
                (under(r, "title"))
                label for="mode" { "Mode" }
                select id="mode" name="mode" {
                    @for m in MODES { option selected[*m == mode] { (m) } }
                }
                label for="members" { "Layers, in drawing order (first drawn first): one per line, optionally followed by a style" }
                textarea id="members" name="members" rows="8" spellcheck="false"
                    aria-invalid=[invalid(r, "members").then_some("true")]
                    aria-describedby=[described(r, "members")] { (value("members")) }
                (under(r, "members"))
                button type="submit" { "Save" }
            }
        }
        @if !name.is_empty() {
            p { a href={ "/geoserver/web/preview?layer=" (enc(name)) } { "Preview" } " · " a href=(HERE) { "All groups" } }
        }
    }
}

fn page(markup: Markup, user: &str, csrf: &str) -> Response {
    html(layout::page(
        "Layer groups",
        "groups",
        Some((user, csrf)),
        markup,
    ))
}

/// `GET /web/groups`
pub async fn list(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let who = match require(&st, &headers, HERE) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let body = form(&st, &who.user, &who.csrf, "", &HashMap::new(), None, false).await;
    page(body, &who.user, &who.csrf)
}

/// `GET /web/groups/{name}`
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
    let g = get_json(&st, &who.user, &format!("/layergroups/{}.json", enc(&name))).await;
    let Some(g) = g.get("layerGroup") else {
        return crate::plain(StatusCode::NOT_FOUND, "No such layer group.");
    };
    let text = |k: &str| g.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let values = HashMap::from([
        ("title".to_string(), text("title")),
        ("mode".to_string(), text("mode")),
        ("members".to_string(), member_lines(g)),
    ]);
    let saved = q.contains_key("saved");
    let body = form(&st, &who.user, &who.csrf, &name, &values, None, saved).await;
    page(body, &who.user, &who.csrf)
}

/// The group's XML from the form.
fn group_xml(name: &str, f: &HashMap<String, String>) -> String {
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let (mut published, mut styles) = (String::new(), String::new());
    for line in get("members")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let mut parts = line.split_whitespace();
        let layer = parts.next().unwrap_or("");
        published.push_str(&format!(
            "<published type=\"layer\"><name>{}</name></published>",
            escape(layer)
        ));
        match parts.next() {
            Some(s) => styles.push_str(&format!("<style><name>{}</name></style>", escape(s))),
            None => styles.push_str("<style/>"),
        }
    }
    let mode = get("mode");
    let mode = if MODES.contains(&mode.as_str()) {
        mode
    } else {
        "SINGLE".into()
    };
    format!(
        "<layerGroup><name>{}</name><title>{}</title><mode>{mode}</mode><publishables>{published}</publishables><styles>{styles}</styles></layerGroup>",
        escape(name),
        escape(&get("title"))
    )
}

/// `POST /web/groups`: a new group.
pub async fn create(State(st): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match posted(&st, &headers, &body, HERE) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let name = f
        .get("name")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    match send_xml(&st, &who.user, "POST", "/layergroups", group_xml(&name, &f)).await {
        Ok(()) => Redirect::to(&format!("{HERE}/{}?saved=1", enc(&name))).into_response(),
        Err((status, msg)) => {
            let body = form(&st, &who.user, &who.csrf, "", &f, Some(&msg), false).await;
            let mut r = page(body, &who.user, &who.csrf);
            *r.status_mut() = status;
            r
        }
    }
}

/// `POST /web/groups/{name}`: the group changed.
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
    match send_xml(
        &st,
        &who.user,
        "PUT",
        &format!("/layergroups/{}", enc(&name)),
        group_xml(&name, &f),
    )
    .await
    {
        Ok(()) => Redirect::to(&format!("{here}?saved=1")).into_response(),
        Err((status, msg)) => {
            let body = form(&st, &who.user, &who.csrf, &name, &f, Some(&msg), false).await;
            let mut r = page(body, &who.user, &who.csrf);
            *r.status_mut() = status;
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_written_one_per_line_with_their_styles() {
        let f = HashMap::from([
            (
                "members".to_string(),
                "topp:states population\n\n  sf:roads  \n".to_string(),
            ),
            ("mode".to_string(), "BOGUS".to_string()),
            ("title".to_string(), "A & B".to_string()),
        ]);
        let x = group_xml("g", &f);
        assert!(x.contains("<mode>SINGLE</mode>"), "{x}");
        assert!(x.contains("<title>A &amp; B</title>"), "{x}");
        assert!(x.contains("<published type=\"layer\"><name>topp:states</name></published><published type=\"layer\"><name>sf:roads</name></published>"), "{x}");
        assert!(
            x.contains("<styles><style><name>population</name></style><style/></styles>"),
            "{x}"
        );
        let g: Value = serde_json::json!({
            "publishables": {"published": [{"name": "topp:states"}, {"name": "sf:roads"}]},
            "styles": {"style": [{"name": "population"}, ""]}
        });
        assert_eq!(member_lines(&g), "topp:states population\nsf:roads");
    }
}
