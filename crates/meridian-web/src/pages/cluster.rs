//! The cluster page: the settings of GeoServer's cluster page field for field (broker URL,
//! instance name, group, topic; primary, replica, connection, read-only and embedded broker
//! toggles with what each one stops), saved through `POST /rest/cluster`; and the node's live
//! status.

use crate::refusal::{above, blame, described, invalid, under};
use crate::{body_text, html, layout, posted, require, WebState};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use meridian_rest::execute_as;
use meridian_xml::escape;
use std::collections::HashMap;
use std::sync::Arc;

const HERE: &str = "/geoserver/web/cluster";

/// The toggles: key, label, the value when on and off, and what turning it off (or, for
/// read-only, on) does.
const TOGGLES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "toggleMaster",
        "Primary: publish this node's changes",
        "true",
        "false",
        "Off: changes made here stay on this node; the other nodes do not get them.",
    ),
    (
        "toggleSlave",
        "Replica: apply the changes other nodes publish",
        "true",
        "false",
        "Off: this node no longer follows the cluster; its catalog drifts from the others'.",
    ),
    (
        "connection",
        "Connected to the broker",
        "enabled",
        "disabled",
        "Off: the node neither publishes nor receives until it is connected again.",
    ),
    (
        "readOnly",
        "Read-only: refuse catalog changes",
        "enabled",
        "disabled",
        "On: REST and these pages refuse every change on this node.",
    ),
    (
        "embeddedBroker",
        "Run the embedded broker",
        "enabled",
        "disabled",
        "Off: nodes that use this node's broker lose it.",
    ),
];

/// Text fields: key, label, whether the running node can change it.
const FIELDS: &[(&str, &str, bool)] = &[
    ("brokerURL", "Broker URL", true),
    ("instanceName", "Instance name", false),
    ("group", "Group", false),
    ("topicName", "Topic", true),
];

async fn properties(st: &WebState, user: &str) -> HashMap<String, String> {
    let Ok(r) = execute_as(&st.rest, user, "GET", "/cluster.xml", "", Vec::new()).await else {
        return HashMap::new();
    };
    let Ok(e) = meridian_xml::parse(&body_text(&r)) else {
        return HashMap::new();
    };
    e.all("property")
        .filter_map(|p| {
            Some((
                p.attr_value("name")?.to_string(),
                p.attr_value("value")?.to_string(),
            ))
        })
        .collect()
}

/// Which words of a refusal name which field.
const BLAME: &[(&str, &[&str])] = &[
    ("brokerURL", &["brokerURL", "broker URL"]),
    ("topicName", &["topicName", "topic"]),
    ("embeddedBroker", &["embeddedBroker", "embedded broker"]),
    ("toggleMaster", &["toggleMaster"]),
    ("toggleSlave", &["toggleSlave"]),
    ("readOnly", &["readOnly"]),
    ("connection", &["connection"]),
];

/// The page; after a refusal, `sent` is the form as posted (shown again, not the saved file).
async fn page_markup(
    st: &WebState,
    user: &str,
    csrf: &str,
    refused: Option<(&str, &HashMap<String, String>)>,
    saved: bool,
) -> Markup {
    let p = properties(st, user).await;
    let status = super::cluster_status::fetch(st, user).await;
    let sent = refused.map(|(_, f)| f);
    let get = |k: &str| match sent {
        Some(f)
            if FIELDS
                .iter()
                .any(|(key, _, editable)| *key == k && *editable) =>
        {
            f.get(k).cloned().unwrap_or_default()
        }
        _ => p.get(k).cloned().unwrap_or_default(),
    };
    let on = |k: &str, value: &str| match sent {
        Some(f) => f.contains_key(k),
        None => p.get(k).is_some_and(|v| v == value),
    };
    let r = refused.map(|(msg, _)| blame(msg, BLAME));
    let r = r.as_ref();
    let body = html! {
        h1 { "Cluster" }
        @if saved { p class="done" role="status" { "Saved to cluster.properties." } }
        (above(r, "cluster-error"))
        form class="card" method="post" action=(HERE) {
            input type="hidden" name="_csrf" value=(csrf);
            @for (key, label, editable) in FIELDS {
                label for=(key) { (label) }
                @if *key == "brokerURL" {
                    input type="text" id=(key) name=(key) value=(get(key))
                        aria-invalid=[invalid(r, key).then_some("true")]
                        aria-describedby={ "brokerURL-hint" @if invalid(r, key) { " brokerURL-error" } };
                    (under(r, key))
                    p class="hint" id="brokerURL-hint" { "Empty: the embedded broker. tcp://host:port, ssl://host:port, or failover:(tcp://a:61616,tcp://b:61616) to fail over in turn." }
                } @else if *editable {
                    input type="text" id=(key) name=(key) value=(get(key))
                        aria-invalid=[invalid(r, key).then_some("true")]
                        aria-describedby=[described(r, key)];
                    (under(r, key))
                } @else {
                    input type="text" id=(key) value=(get(key)) readonly aria-describedby={ (key) "-hint" };
                    p class="hint" id={ (key) "-hint" } { "Fixed while the node runs: edit cluster.properties and restart." }
                }
            }
            @for (key, label, value, _off, warning) in TOGGLES {
                div class="check" {
                    input type="checkbox" id=(key) name=(key) value=(value) checked[on(key, value)]
                        aria-describedby={ (key) "-warn" };
                    label for=(key) { (label) }
                    div class="warn" id={ (key) "-warn" } { (warning) }
                    (under(r, key))
                }
            }
            button type="submit" { "Save" }
        }
        (super::cluster_status::section(status.as_ref()))
        script src="/geoserver/web/assets/cluster.js" defer {}
    };
    layout::page("Cluster", "cluster", Some((user, csrf)), body)
}

/// `GET /web/cluster`
pub async fn page(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let who = match require(&st, &headers, HERE) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let saved = q.contains_key("saved");
    html(page_markup(&st, &who.user, &who.csrf, None, saved).await)
}

/// `POST /web/cluster`: the form as `POST /rest/cluster` properties.
pub async fn save(State(st): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match posted(&st, &headers, &body, HERE) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut xml = String::from("<properties>");
    for (key, _, editable) in FIELDS {
        if *editable {
            let v = f.get(*key).map(|s| s.trim()).unwrap_or("");
            xml.push_str(&format!(
                "<property name=\"{}\" value=\"{}\"/>",
                escape(key),
                escape(v)
            ));
        }
    }
    for (key, _, on, off, _) in TOGGLES {
        let v = if f.contains_key(*key) { on } else { off };
        xml.push_str(&format!("<property name=\"{key}\" value=\"{v}\"/>"));
    }
    xml.push_str("</properties>");
    match crate::send_xml(&st, &who.user, "POST", "/cluster", xml).await {
        Ok(()) => Redirect::to(&format!("{HERE}?saved=1")).into_response(),
        Err((status, msg)) => {
            let mut resp =
                html(page_markup(&st, &who.user, &who.csrf, Some((&msg, &f)), false).await);
            *resp.status_mut() = status;
            resp
        }
    }
}
