//! Workspaces: the list with the default marked, creation (with a namespace URI), setting the
//! default, and deletion after a page that shows what a recursive delete removes. Every change
//! is a REST request for the signed-in user.

use crate::{get_json, html, layout, names, posted, require, send_xml, Name, WebState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use meridian_xml::escape;
use std::sync::Arc;

const HERE: &str = "/geoserver/web/workspaces";

async fn list_page(
    st: &WebState,
    user: &str,
    csrf: &str,
    error: Option<&str>,
    done: Option<&str>,
    entered: (&str, &str),
) -> Markup {
    let all = names(
        &get_json(st, user, "/workspaces.json").await,
        "workspaces",
        "workspace",
    );
    let refused = crate::refused_writes(st, user).await;
    let locked = refused.is_some();
    let default = get_json(st, user, "/workspaces/default.json").await;
    let default = default
        .get("workspace")
        .and_then(|w| w.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let body = html! {
        h1 { "Workspaces" }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        @if let Some(d) = done { p class="done" role="status" { (d) } }
        table {
            thead { tr { th { "Name" } th { "Default" } th { "" } } }
            tbody {
                @for name in &all {
                    tr {
                        td { (name) }
                        td {
                            @if *name == default { "default" } @else {
                                form method="post" action=(HERE) {
                                    fieldset disabled[locked] {
                                        input type="hidden" name="_csrf" value=(csrf);
                                        input type="hidden" name="action" value="default";
                                        input type="hidden" name="name" value=(name);
                                        button type="submit" { "Make default" }
                                    }
                                }
                            }
                        }
                        td {
                            a href={ (HERE) "/" (name) } { "Edit…" } " · "
                            a href={ (HERE) "/" (name) "/delete" } { "Delete…" }
                        }
                    }
                }
            }
        }
        form class="card" method="post" action=(HERE) {
            fieldset disabled[locked] {
            h2 { "New workspace" }
            input type="hidden" name="_csrf" value=(csrf);
            input type="hidden" name="action" value="create";
            label for="name" { "Name" }
            input type="text" id="name" name="name" value=(entered.0) required
                aria-describedby=[error.map(|_| "name-error")];
            @if let Some(e) = error { p class="error" id="name-error" role="alert" { (e) } }
            label for="uri" { "Namespace URI" }
            input type="url" id="uri" name="uri" value=(entered.1) placeholder="http://example.com/ns";
            p class="hint" { "Left empty, the namespace URI is made from the name, as GeoServer does." }
            div class="check" {
                input type="checkbox" id="default" name="default" value="true";
                label for="default" { "Make it the default workspace" }
            }
            button type="submit" { "Create" }
            }
        }
    };
    layout::page("Workspaces", "workspaces", Some((user, csrf)), body)
}

/// `GET /web/workspaces`
pub async fn list(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let who = match require(&st, &headers, HERE) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    html(list_page(&st, &who.user, &who.csrf, None, None, ("", "")).await)
}

/// `POST /web/workspaces`: create one, or make one the default.
pub async fn create(State(st): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match posted(&st, &headers, &body, HERE) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let name = f.get("name").map(|s| s.trim()).unwrap_or("").to_string();
    let uri = f.get("uri").map(|s| s.trim()).unwrap_or("").to_string();
    let workspace = |n: &str| format!("<workspace><name>{}</name></workspace>", escape(n));
    let user = who.user.as_str();
    let result = match f.get("action").map(String::as_str) {
        Some("default") => {
            send_xml(&st, user, "PUT", "/workspaces/default", workspace(&name)).await
        }
        _ => {
            let created = if uri.is_empty() {
                send_xml(&st, user, "POST", "/workspaces", workspace(&name)).await
            } else {
                // A namespace with its URI: GeoServer makes the workspace with it.
                let ns = format!(
                    "<namespace><prefix>{}</prefix><uri>{}</uri></namespace>",
                    escape(&name),
                    escape(&uri)
                );
                send_xml(&st, user, "POST", "/namespaces", ns).await
            };
            match created {
                Ok(()) if f.get("default").is_some_and(|v| v == "true") => {
                    send_xml(&st, user, "PUT", "/workspaces/default", workspace(&name)).await
                }
                other => other,
            }
        }
    };
    match result {
        Ok(()) => Redirect::to(HERE).into_response(),
        Err((status, msg)) => {
            let mut resp =
                html(list_page(&st, user, &who.csrf, Some(&msg), None, (&name, &uri)).await);
            *resp.status_mut() = status;
            resp
        }
    }
}

/// `GET /web/workspaces/{name}/delete`: what a recursive delete removes, and the button.
pub async fn confirm_delete(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::extract::Path(name): Name,
) -> Response {
    let here = format!("{HERE}/{name}/delete");
    let who = match require(&st, &headers, &here) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let enc: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let base = format!("/workspaces/{enc}");
    if get_json(&st, &who.user, &format!("{base}.json"))
        .await
        .is_null()
    {
        return crate::plain(StatusCode::NOT_FOUND, "No such workspace.");
    }
    let data = names(
        &get_json(&st, &who.user, &format!("{base}/datastores.json")).await,
        "dataStores",
        "dataStore",
    );
    let cov = names(
        &get_json(&st, &who.user, &format!("{base}/coveragestores.json")).await,
        "coverageStores",
        "coverageStore",
    );
    let styles = names(
        &get_json(&st, &who.user, &format!("{base}/styles.json")).await,
        "styles",
        "style",
    );
    let groups = names(
        &get_json(&st, &who.user, &format!("{base}/layergroups.json")).await,
        "layerGroups",
        "layerGroup",
    );
    let mut layers = Vec::new();
    for s in &data {
        let s_enc: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
        layers.extend(names(
            &get_json(
                &st,
                &who.user,
                &format!("{base}/datastores/{s_enc}/featuretypes.json"),
            )
            .await,
            "featureTypes",
            "featureType",
        ));
    }
    for s in &cov {
        let s_enc: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
        layers.extend(names(
            &get_json(
                &st,
                &who.user,
                &format!("{base}/coveragestores/{s_enc}/coverages.json"),
            )
            .await,
            "coverages",
            "coverage",
        ));
    }
    let listing = |title: &str, items: &[String]| {
        html! {
            @if !items.is_empty() {
                h2 { (title) " (" (items.len()) ")" }
                ul { @for i in items { li { (i) } } }
            }
        }
    };
    let refused = crate::refused_writes(&st, &who.user).await;
    let body = html! {
        h1 { "Delete workspace " (name) }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        @if data.is_empty() && cov.is_empty() && styles.is_empty() && groups.is_empty() {
            p { "The workspace is empty: only it and its namespace are removed." }
        } @else {
            p class="notice" { "Deleting it also removes everything below, on every node of the cluster:" }
            (listing("Stores", &[data.clone(), cov.clone()].concat()))
            (listing("Layers", &layers))
            (listing("Styles", &styles))
            (listing("Layer groups", &groups))
        }
        form method="post" action=(here) {
            fieldset disabled[refused.is_some()] {
                input type="hidden" name="_csrf" value=(who.csrf);
                button class="danger" type="submit" { "Delete " (name) " and all it holds" }
            }
        }
        p { a href=(HERE) { "Keep it" } }
    };
    html(layout::page(
        "Delete workspace",
        "workspaces",
        Some((&who.user, &who.csrf)),
        body,
    ))
}

/// `POST /web/workspaces/{name}/delete`
pub async fn delete(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::extract::Path(name): Name,
    body: Bytes,
) -> Response {
    let here = format!("{HERE}/{name}/delete");
    let (who, _) = match posted(&st, &headers, &body, &here) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let enc: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let path = format!("/workspaces/{enc}?recurse=true");
    match crate::send(&st, &who.user, "DELETE", &path, "", Vec::new()).await {
        Ok(()) => Redirect::to(HERE).into_response(),
        Err((status, msg)) => crate::plain(status, &msg),
    }
}

/// `GET /web/workspaces/{name}`: its namespace URI.
pub async fn edit(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::extract::Path(name): Name,
) -> Response {
    let here = format!("{HERE}/{}", crate::enc(&name));
    let who = match require(&st, &headers, &here) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    match edit_page(&st, &who.user, &who.csrf, &name, None, None).await {
        Some(body) => html(layout::page(
            "Workspace",
            "workspaces",
            Some((&who.user, &who.csrf)),
            body,
        )),
        None => crate::plain(StatusCode::NOT_FOUND, "No such workspace."),
    }
}

async fn edit_page(
    st: &WebState,
    user: &str,
    csrf: &str,
    name: &str,
    uri: Option<&str>,
    error: Option<&str>,
) -> Option<Markup> {
    let ns = get_json(st, user, &format!("/namespaces/{}.json", crate::enc(name))).await;
    let stored = ns.pointer("/namespace/uri")?.as_str()?.to_string();
    let refused = crate::refused_writes(st, user).await;
    Some(html! {
        h1 { "Workspace " (name) }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        form class="card" method="post" action={ (HERE) "/" (crate::enc(name)) } {
            fieldset disabled[refused.is_some()] {
                input type="hidden" name="_csrf" value=(csrf);
                label for="uri" { "Namespace URI" }
                input type="url" id="uri" name="uri" value=(uri.unwrap_or(&stored)) required
                    aria-describedby=[error.map(|_| "uri-error")];
                @if let Some(e) = error { p class="error" role="alert" id="uri-error" { (e) } }
                button type="submit" { "Save" }
            }
        }
        p { a href=(HERE) { "All workspaces" } }
    })
}

/// `POST /web/workspaces/{name}`: a new namespace URI (`PUT /rest/namespaces/{name}`).
pub async fn save(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::extract::Path(name): Name,
    body: Bytes,
) -> Response {
    let here = format!("{HERE}/{}", crate::enc(&name));
    let (who, f) = match posted(&st, &headers, &body, &here) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let uri = f
        .get("uri")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let xml = format!("<namespace><uri>{}</uri></namespace>", escape(&uri));
    match send_xml(
        &st,
        &who.user,
        "PUT",
        &format!("/namespaces/{}", crate::enc(&name)),
        xml,
    )
    .await
    {
        Ok(()) => Redirect::to(HERE).into_response(),
        Err((status, msg)) => {
            match edit_page(&st, &who.user, &who.csrf, &name, Some(&uri), Some(&msg)).await {
                Some(body) => {
                    let mut r = html(layout::page(
                        "Workspace",
                        "workspaces",
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
