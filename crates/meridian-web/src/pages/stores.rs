//! Stores: the data and coverage stores of every workspace; a new shapefile, GeoPackage or
//! PostGIS store with a "test connection" that opens it (through the same feature sources as
//! the services, the filesystem sandbox applying) and names the feature types it offers; a
//! store's page with its parameters and the feature types it offers, each published as a layer
//! with one button. Every change is a REST request for the signed-in user.

use crate::refusal::{above, blame, described, invalid, under};
use crate::{
    enc, get_json, html, layout, names, posted, refused_writes, require, send_xml, WebState,
};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use meridian_rest::execute_as;
use meridian_xml::escape;
use std::collections::HashMap;
use std::sync::Arc;

const HERE: &str = "/geoserver/web/stores";

/// The kinds of store the form makes: value, label, GeoServer's store type.
const KINDS: &[(&str, &str, &str)] = &[
    ("shapefile", "Shapefile (or a folder of them)", "Shapefile"),
    ("geopackage", "GeoPackage", "GeoPackage"),
    ("postgis", "PostGIS", "PostGIS"),
];

/// The form's fields for each kind: field, label, connection parameter.
fn fields(kind: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match kind {
        "geopackage" => &[(
            "database",
            "GeoPackage file (data directory relative, file:...)",
            "database",
        )],
        "postgis" => &[
            ("host", "Host", "host"),
            ("port", "Port", "port"),
            ("database", "Database", "database"),
            ("schema", "Schema", "schema"),
            ("user", "User", "user"),
            ("passwd", "Password", "passwd"),
        ],
        _ => &[(
            "url",
            "Shapefile or folder (data directory relative, file:...)",
            "url",
        )],
    }
}

/// The connection parameters the form gives.
fn params(f: &HashMap<String, String>) -> (String, Vec<(String, String)>) {
    let kind = f.get("kind").map(String::as_str).unwrap_or("shapefile");
    let mut p: Vec<(String, String)> = fields(kind)
        .iter()
        .filter_map(|(field, _, key)| {
            let v = f.get(&format!("{kind}_{field}"))?.trim().to_string();
            (!v.is_empty()).then(|| (key.to_string(), v))
        })
        .collect();
    match kind {
        "geopackage" => p.push(("dbtype".into(), "geopkg".into())),
        "postgis" => p.push(("dbtype".into(), "postgis".into())),
        _ => {}
    }
    let t = KINDS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map_or("Shapefile", |(_, _, t)| t);
    (t.to_string(), p)
}

/// What a form's "test connection" found.
enum Tested {
    Offers(Vec<String>),
    Failed(String),
}

async fn list_page(
    st: &WebState,
    user: &str,
    csrf: &str,
    f: &HashMap<String, String>,
    error: Option<&str>,
    tested: Option<Tested>,
) -> Markup {
    let workspaces = names(
        &get_json(st, user, "/workspaces.json").await,
        "workspaces",
        "workspace",
    );
    let mut rows: Vec<(String, String, &str)> = Vec::new();
    for ws in &workspaces {
        for s in names(
            &get_json(
                st,
                user,
                &format!("/workspaces/{}/datastores.json", enc(ws)),
            )
            .await,
            "dataStores",
            "dataStore",
        ) {
            rows.push((ws.clone(), s, "vector"));
        }
        for s in names(
            &get_json(
                st,
                user,
                &format!("/workspaces/{}/coveragestores.json", enc(ws)),
            )
            .await,
            "coverageStores",
            "coverageStore",
        ) {
            rows.push((ws.clone(), s, "raster"));
        }
    }
    let refused = refused_writes(st, user).await;
    let kind = f.get("kind").map(String::as_str).unwrap_or("shapefile");
    let value = |k: &str| f.get(k).cloned().unwrap_or_default();
    // Which words name which field: the name, the workspace, the chosen kind's parameters.
    let ids: Vec<(String, [&str; 1])> = fields(kind)
        .iter()
        .map(|(field, _, key)| (format!("{kind}_{field}"), [*key]))
        .collect();
    let mut blamed: Vec<(&str, &[&str])> = vec![
        ("name", &["already exists", "name"]),
        ("workspace", &["workspace"]),
    ];
    blamed.extend(ids.iter().map(|(id, words)| (id.as_str(), &words[..])));
    let r = error.map(|e| blame(e, &blamed));
    let r = r.as_ref();
    let body = html! {
        h1 { "Stores" }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        table {
            thead { tr { th { "Workspace" } th { "Store" } th { "Data" } } }
            tbody {
                @for (ws, s, what) in &rows {
                    tr {
                        td { (ws) }
                        td {
                            @if *what == "vector" {
                                a href={ (HERE) "/" (enc(ws)) "/" (enc(s)) } { (s) }
                            } @else { (s) }
                        }
                        td { (what) }
                    }
                }
            }
        }
        form class="card" method="post" action=(HERE) id="new-store" {
            h2 { "New vector store" }
            input type="hidden" name="_csrf" value=(csrf);
            label for="workspace" { "Workspace" }
            select id="workspace" name="workspace" aria-describedby=[described(r, "workspace")] {
                @for ws in &workspaces {
                    @if value("workspace") == *ws { option selected { (ws) } } @else { option { (ws) } }
                }
            }
            (under(r, "workspace"))
            label for="name" { "Name" }
            input type="text" id="name" name="name" value=(value("name")) required
                aria-invalid=[invalid(r, "name").then_some("true")] aria-describedby=[described(r, "name")];
            (under(r, "name"))
            fieldset {
                legend { "Kind" }
                @for (k, label, _) in KINDS {
                    div class="check" {
                        @if *k == kind {
                            input type="radio" id={ "kind-" (k) } name="kind" value=(k) checked;
                        } @else {
                            input type="radio" id={ "kind-" (k) } name="kind" value=(k);
                        }
                        label for={ "kind-" (k) } { (label) }
                    }
                }
            }
            @for (k, label, _) in KINDS {
                fieldset class="kind-fields" {
                    legend { (label) }
                    @for (field, flabel, _) in fields(k) {
                        @let id = format!("{k}_{field}");
                        label for=(id) { (flabel) }
                        @if *field == "passwd" {
                            input type="password" id=(id) name=(id) autocomplete="new-password"
                                aria-invalid=[invalid(r, &id).then_some("true")] aria-describedby=[described(r, &id)];
                        } @else {
                            input type="text" id=(id) name=(id) value=(value(&id))
                                aria-invalid=[invalid(r, &id).then_some("true")] aria-describedby=[described(r, &id)];
                        }
                        (under(r, &id))
                    }
                }
            }
            (above(r, "store-error"))
            @match &tested {
                Some(Tested::Offers(types)) => {
                    p class="done" role="status" id="test-result" {
                        "Connected: the store offers " (types.len())
                        @if types.len() == 1 { " feature type" } @else { " feature types" }
                        @if !types.is_empty() { ": " (types.join(", ")) }
                        "."
                    }
                }
                Some(Tested::Failed(why)) => { p class="error" role="alert" id="test-result" { "Cannot connect: " (why) } }
                None => {}
            }
            button type="submit" name="test" value="1" { "Test connection" }
            " "
            @if refused.is_some() {
                button type="submit" name="save" value="1" disabled { "Save" }
            } @else {
                button type="submit" name="save" value="1" { "Save" }
            }
        }
    };
    layout::page("Stores", "stores", Some((user, csrf)), body)
}

/// `GET /web/stores`
pub async fn list(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let who = match require(&st, &headers, HERE) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    html(list_page(&st, &who.user, &who.csrf, &HashMap::new(), None, None).await)
}

/// `POST /web/stores`: test the connection, or save the store.
pub async fn create(State(st): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match posted(&st, &headers, &body, HERE) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let ws = f
        .get("workspace")
        .map(|s| s.trim())
        .unwrap_or("")
        .to_string();
    let name = f.get("name").map(|s| s.trim()).unwrap_or("").to_string();
    let (store_type, p) = params(&f);
    let path = format!("/workspaces/{}/datastores", enc(&ws));
    if f.contains_key("test") {
        // Only a user who may make the store may have the server connect for them.
        let may = st
            .rest
            .security
            .read()
            .map(|s| s.check_rest_as("POST", &format!("/rest{path}"), &who.user))
            .is_ok_and(|a| matches!(a, meridian_security::Access::Allowed(_)));
        let tested = if !may {
            Tested::Failed("you may not make stores in this workspace".into())
        } else {
            let store = meridian_sources::StoreParams {
                params: p.clone(),
                store_type: Some(store_type.clone()),
                data_dir: st.rest.data_dir.clone(),
                view: None,
            };
            match tokio::task::spawn_blocking(move || meridian_features::list_types(&store)).await {
                Ok(Ok(types)) => Tested::Offers(types),
                Ok(Err(e)) => Tested::Failed(e.to_string()),
                Err(e) => Tested::Failed(e.to_string()),
            }
        };
        return html(list_page(&st, &who.user, &who.csrf, &f, None, Some(tested)).await);
    }
    let entries: String = p
        .iter()
        .map(|(k, v)| format!("<entry key=\"{}\">{}</entry>", escape(k), escape(v)))
        .collect();
    let xml = format!(
        "<dataStore><name>{}</name><type>{}</type><enabled>true</enabled><connectionParameters>{entries}</connectionParameters></dataStore>",
        escape(&name),
        escape(&store_type)
    );
    match send_xml(&st, &who.user, "POST", &path, xml).await {
        Ok(()) => Redirect::to(&format!("{HERE}/{}/{}", enc(&ws), enc(&name))).into_response(),
        Err((status, msg)) => {
            let mut r = html(list_page(&st, &who.user, &who.csrf, &f, Some(&msg), None).await);
            *r.status_mut() = status;
            r
        }
    }
}

/// `GET /web/stores/{ws}/{store}`: its parameters and the feature types it offers.
pub async fn store(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Path((ws, name)): Path<(String, String)>,
) -> Response {
    let here = format!("{HERE}/{}/{}", enc(&ws), enc(&name));
    let who = match require(&st, &headers, &here) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    html(store_page(&st, &who.user, &who.csrf, &ws, &name, None).await)
}

async fn store_page(
    st: &WebState,
    user: &str,
    csrf: &str,
    ws: &str,
    name: &str,
    error: Option<&str>,
) -> Markup {
    let base = format!("/workspaces/{}/datastores/{}", enc(ws), enc(name));
    let info = get_json(st, user, &format!("{base}.json")).await;
    let entries: Vec<(String, String)> = info
        .pointer("/dataStore/connectionParameters/entry")
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        e.get("@key")?.as_str()?.to_string(),
                        e.get("$")
                            .and_then(|v| v.as_str())
                            .unwrap_or("")
                            .to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let enabled = info
        .pointer("/dataStore/enabled")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let description = info
        .pointer("/dataStore/description")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let published = names(
        &get_json(st, user, &format!("{base}/featuretypes.json")).await,
        "featureTypes",
        "featureType",
    );
    let available: Vec<String> = match execute_as(
        &st.rest,
        user,
        "GET",
        &format!("{base}/featuretypes.json?list=available"),
        "",
        Vec::new(),
    )
    .await
    {
        Ok(r) => serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|j| j.pointer("/list/string").cloned())
            .map(|v| match v {
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect(),
                serde_json::Value::String(s) => vec![s],
                _ => Vec::new(),
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let refused = refused_writes(st, user).await;
    let action = format!("{HERE}/{}/{}", enc(ws), enc(name));
    // A refusal naming a connection parameter goes under it; any other above the page.
    let ids: Vec<(String, [&str; 1])> = entries
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (format!("param-{i}"), [k.as_str()]))
        .collect();
    let mut blamed: Vec<(&str, &[&str])> = vec![("description", &["description"])];
    blamed.extend(ids.iter().map(|(id, words)| (id.as_str(), &words[..])));
    let r = error.map(|e| blame(e, &blamed));
    let r = r.as_ref();
    let body = html! {
        h1 { "Store " (ws) ":" (name) }
        @if let Some(why) = &refused { p class="notice" role="note" id="read-only-note" { (why) } }
        (above(r, "publish-error"))
        form class="card" method="post" action=(action) id="store-settings" {
            fieldset disabled[refused.is_some()] {
                h2 { "Connection" }
                input type="hidden" name="_csrf" value=(csrf);
                input type="hidden" name="action" value="save";
                div class="check" {
                    input type="checkbox" id="enabled" name="enabled" value="true" checked[enabled];
                    label for="enabled" { "Enabled" }
                }
                label for="description" { "Description" }
                input type="text" id="description" name="description" value=(description)
                    aria-describedby=[described(r, "description")];
                (under(r, "description"))
                @for (i, (k, v)) in entries.iter().enumerate() {
                    @let id = format!("param-{i}");
                    label for=(id) { (k) }
                    input type="hidden" name={ "key-" (i) } value=(k);
                    @if k.to_ascii_lowercase().contains("passw") {
                        // The server shows a mask; sent back unchanged, it keeps the secret.
                        input type="password" id=(id) name={ "value-" (i) } value=(v) autocomplete="new-password"
                            aria-invalid=[invalid(r, &id).then_some("true")] aria-describedby=[described(r, &id)];
                    } @else {
                        input type="text" id=(id) name={ "value-" (i) } value=(v)
                            aria-invalid=[invalid(r, &id).then_some("true")] aria-describedby=[described(r, &id)];
                    }
                    (under(r, &id))
                }
                button type="submit" { "Save connection" }
            }
        }
        h2 { "Published" }
        @if published.is_empty() { p { "None yet." } } @else {
            ul { @for p in &published { li { (p) } } }
        }
        h2 { "Offered, not yet published" }
        @if available.is_empty() { p { "None." } } @else {
            table {
                tbody {
                    @for t in &available {
                        tr {
                            td { (t) }
                            td {
                                form method="post" action=(action) {
                                    fieldset disabled[refused.is_some()] {
                                        input type="hidden" name="_csrf" value=(csrf);
                                        input type="hidden" name="publish" value=(t);
                                        button type="submit" { "Publish " (t) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(HERE) { "All stores" } }
    };
    layout::page("Store", "stores", Some((user, csrf)), body)
}

/// `POST /web/stores/{ws}/{store}`: publish one of the feature types it offers.
pub async fn publish(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Path((ws, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let here = format!("{HERE}/{}/{}", enc(&ws), enc(&name));
    let (who, f) = match posted(&st, &headers, &body, &here) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if f.get("action").is_some_and(|a| a == "save") {
        let mut entries = String::new();
        for i in 0.. {
            let Some(k) = f.get(&format!("key-{i}")) else {
                break;
            };
            let v = f
                .get(&format!("value-{i}"))
                .map(String::as_str)
                .unwrap_or("");
            entries.push_str(&format!(
                "<entry key=\"{}\">{}</entry>",
                escape(k),
                escape(v)
            ));
        }
        let xml = format!(
            "<dataStore><enabled>{}</enabled><description>{}</description><connectionParameters>{entries}</connectionParameters></dataStore>",
            f.contains_key("enabled"),
            escape(f.get("description").map(|s| s.trim()).unwrap_or(""))
        );
        let path = format!("/workspaces/{}/datastores/{}", enc(&ws), enc(&name));
        return match send_xml(&st, &who.user, "PUT", &path, xml).await {
            Ok(()) => Redirect::to(&here).into_response(),
            Err((status, msg)) => {
                let mut r =
                    html(store_page(&st, &who.user, &who.csrf, &ws, &name, Some(&msg)).await);
                *r.status_mut() = status;
                r
            }
        };
    }
    let t = f.get("publish").cloned().unwrap_or_default();
    let xml = format!(
        "<featureType><name>{}</name><nativeName>{}</nativeName></featureType>",
        escape(&t),
        escape(&t)
    );
    let path = format!(
        "/workspaces/{}/datastores/{}/featuretypes",
        enc(&ws),
        enc(&name)
    );
    match send_xml(&st, &who.user, "POST", &path, xml).await {
        Ok(()) => Redirect::to(&here).into_response(),
        Err((status, msg)) => {
            let mut r = html(store_page(&st, &who.user, &who.csrf, &ws, &name, Some(&msg)).await);
            *r.status_mut() = if status.is_success() {
                StatusCode::BAD_REQUEST
            } else {
                status
            };
            r
        }
    }
}
