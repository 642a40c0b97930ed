//! `/rest/cluster` (GeoServer's endpoint: the properties), `/rest/cluster/status`,
//! `/rest/cluster/wait` (read your writes on any node), and the peer endpoints
//! `/rest/cluster/events` and `/rest/cluster/snapshot`.

use crate::node::Cluster;
use meridian_rest::{render, Req, Resp, RestError, RestExtension, RestResult};
use meridian_xml::Element;
use serde_json::json;
use std::sync::Arc;

/// How long `/rest/cluster/wait` waits when not told, and at most.
const WAIT_DEFAULT_MS: u64 = 5_000;
const WAIT_MAX_MS: u64 = 60_000;

/// What the properties endpoint shows instead of a secret.
const MASK: &str = "*****";

/// Keys whose values are never shown.
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k == "secret"
}

/// The REST endpoints of a clustered node.
pub struct ClusterRest(pub Arc<Cluster>);

fn json_resp(v: &serde_json::Value) -> Resp {
    Resp {
        status: 200,
        content_type: "application/json".into(),
        body: v.to_string().into_bytes(),
        location: None,
        stream: None,
    }
}

/// The chunks of a JSON array of records (see [`meridian_rest::chunked`]; a record is never
/// split).
fn record_chunks(
    records: Arc<[Arc<meridian_store::Record>]>,
) -> impl Iterator<Item = Vec<u8>> + Send {
    let items = (0..records.len()).map(move |i| {
        let mut piece = if i > 0 { b",".to_vec() } else { Vec::new() };
        // A record is strings and numbers: writing it into memory cannot fail. Were it to,
        // the peer reads `null`, refuses the page and asks again.
        if let Some(r) = records.get(i) {
            if serde_json::to_writer(&mut piece, &**r).is_err() {
                piece.truncate(usize::from(i > 0));
                piece.extend_from_slice(b"null");
            }
        }
        piece
    });
    meridian_rest::chunked(b"[".to_vec(), items, b"]".to_vec())
}

/// A JSON answer from serialized bytes.
fn json_body(body: Result<Vec<u8>, serde_json::Error>) -> RestResult<Resp> {
    body.map(|body| Resp {
        status: 200,
        content_type: "application/json".into(),
        body,
        location: None,
        stream: None,
    })
    .map_err(|e| RestError::Internal(e.to_string()))
}

/// The origin, sequence and timeout a `/rest/cluster/wait` request asks for.
fn wait_request(req: &Req) -> RestResult<(String, u64, std::time::Duration)> {
    let position = req.q("position").ok_or_else(|| {
        RestError::BadRequest("position is required (<origin>:<sequence>)".into())
    })?;
    let (origin, seq) = position
        .rsplit_once(':')
        .and_then(|(o, s)| Some((o, s.parse::<u64>().ok()?)))
        .filter(|(o, _)| !o.is_empty())
        .ok_or_else(|| {
            RestError::BadRequest(format!("position '{position}' is not <origin>:<sequence>"))
        })?;
    let timeout: u64 = match req.q("timeout") {
        None => WAIT_DEFAULT_MS,
        Some(t) => t.parse().map_err(|_| {
            RestError::BadRequest(format!("timeout '{t}' is not a number of milliseconds"))
        })?,
    };
    Ok((
        origin.to_string(),
        seq,
        std::time::Duration::from_millis(timeout.min(WAIT_MAX_MS)),
    ))
}

impl ClusterRest {
    fn properties(&self, req: &Req) -> RestResult<Resp> {
        let cfg = meridian_catalog::sync::read(self.0.config());
        let mut e = Element::new("properties");
        for (k, v) in cfg.all() {
            let value = if is_secret(k) && !v.is_empty() {
                MASK.to_string()
            } else {
                v.clone()
            };
            e.children.push(
                Element::new("property")
                    .attr("name", k.clone())
                    .attr("value", value),
            );
        }
        Ok(render(req, &e, &["property"]))
    }

    fn update(&self, req: &Req) -> RestResult<Resp> {
        let body = req.body_as("properties")?;
        let mut pairs = Vec::new();
        for p in body.all("property") {
            let (Some(k), Some(v)) = (p.attr_value("name"), p.attr_value("value")) else {
                return Err(RestError::BadRequest(
                    "each <property> needs name and value".into(),
                ));
            };
            pairs.push((k.to_string(), v.to_string()));
        }
        {
            let mut guard = meridian_catalog::sync::write(self.0.config());
            // Changed on a copy: a value the node could not start with changes nothing.
            let mut cfg = guard.clone();
            for (k, v) in &pairs {
                if is_secret(k) && v == MASK {
                    continue; // the masked value read back: unchanged
                }
                // The secret's keys are in use by the broker and every peer connection.
                let fixed = ["instanceName", "group", "CLUSTER_CONFIG_DIR", "secret"];
                if fixed.contains(&k.as_str()) && cfg.get(k) != v {
                    return Err(RestError::BadRequest(format!("{k} cannot be changed while the node runs; edit cluster.properties and restart")));
                }
                cfg.set(k, v);
            }
            crate::node::check_discovery(&cfg).map_err(|e| RestError::BadRequest(e.to_string()))?;
            // A broker address the node could not connect with is refused, not saved.
            let url = cfg.get("brokerURL").to_string();
            if !url.trim().is_empty() {
                crate::broker::parse_broker_spec(&url, 1000)
                    .map_err(|e| RestError::BadRequest(e.to_string()))?;
            }
            cfg.save().map_err(|e| RestError::Internal(e.to_string()))?;
            *guard = cfg;
        }
        // Roles and read-only take effect now.
        self.0.update_gate();
        Ok(Resp::created("", Some(format!("{}/cluster", req.rest()))))
    }

    /// Wait until this node serves the write at `position` (`<origin>:<sequence>`, the
    /// `X-Meridian-Position` header of the write's answer), at most `timeout` ms: answered on
    /// the runtime (see [`RestExtension::handle_async`]), so waiting clients hold no thread.
    fn wait(&self, req: &Req) -> meridian_rest::AsyncResp {
        let asked = wait_request(req);
        let service = self.0.service().clone();
        let moved = self.0.positions_moved();
        Box::pin(async move {
            let (origin, seq, timeout) = asked?;
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                // Registered before the position is read, so a move in between is not missed.
                let notified = moved.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let at = service.position(&origin);
                if at >= seq || tokio::time::Instant::now() >= deadline {
                    return Ok(json_resp(&json!({
                        "origin": origin,
                        "sequence": seq,
                        "applied": at,
                        "reached": at >= seq,
                    })));
                }
                let _ = tokio::time::timeout_at(deadline, notified).await;
            }
        })
    }

    fn events(&self, req: &Req) -> RestResult<Resp> {
        let origin = req
            .q("origin")
            .ok_or_else(|| RestError::BadRequest("origin is required".into()))?;
        let after: u64 = req
            .q("after")
            .unwrap_or("0")
            .parse()
            .map_err(|_| RestError::BadRequest("after must be a number".into()))?;
        let limit: usize = req
            .q("limit")
            .unwrap_or("500")
            .parse()
            .map_err(|_| RestError::BadRequest("limit must be a number".into()))?;
        let records = self.0.store().since(origin, after, limit.min(5000));
        match records {
            // Written a record at a time (signed from a replay when a peer asks): a page of
            // large batches is never built whole.
            Some(r) => {
                let records: Arc<[Arc<meridian_store::Record>]> = r.into();
                Ok(Resp {
                    status: 200,
                    content_type: "application/json".into(),
                    body: Vec::new(),
                    location: None,
                    stream: Some(meridian_rest::Streamed::replayable(Arc::new(move || {
                        Box::new(record_chunks(records.clone())) as meridian_rest::Chunks
                    }))),
                })
            }
            None => Ok(Resp::text(
                410,
                "this node no longer holds those records; take a snapshot",
            )),
        }
    }
}

impl RestExtension for ClusterRest {
    fn handle(&self, req: &Req) -> Option<RestResult<Resp>> {
        let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
        let r = match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["cluster"]) => self.properties(req),
            ("POST" | "PUT", ["cluster"]) => self.update(req),
            // JSON whatever the format asked for: the status has no XML form.
            ("GET", ["cluster", "status"]) => json_body(serde_json::to_vec(&self.0.status())),
            ("GET", ["cluster", "events"]) => self.events(req),
            // Written as it is produced, never whole: a snapshot is the size of the catalog.
            ("GET", ["cluster", "snapshot"]) => Ok(Resp {
                status: 200,
                content_type: "application/json".into(),
                body: Vec::new(),
                location: None,
                stream: Some(meridian_rest::Streamed::replayable(
                    self.0.snapshot_chunks(),
                )),
            }),
            (_, ["cluster", ..]) => Err(RestError::MethodNotAllowed(format!(
                "{} is not allowed here",
                req.method
            ))),
            _ => return None,
        };
        Some(r)
    }

    fn handle_async(&self, req: &Req) -> Option<meridian_rest::AsyncResp> {
        let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
        (req.method == "GET" && segs == ["cluster", "wait"]).then(|| self.wait(req))
    }

    fn peer_allowed(&self, method: &str, path_and_query: &str, token: &str) -> bool {
        method == "GET"
            && [
                "/geoserver/rest/cluster/events",
                "/geoserver/rest/cluster/snapshot",
                "/geoserver/rest/cluster/status",
            ]
            .iter()
            .any(|p| path_and_query.starts_with(p))
            && self.0.token_ok(method, path_and_query, token)
    }

    fn peer_answer_signature(
        &self,
        token: &str,
        body: &mut dyn Iterator<Item = Vec<u8>>,
    ) -> Option<String> {
        Some(self.0.keys().answer_signature_of(token, body))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use meridian_store::Record;

    #[test]
    fn an_events_page_written_in_chunks_is_the_json_array_of_its_records() {
        for n in [0, 1, 3, 5000] {
            let records: Vec<Arc<Record>> = (0..n)
                .map(|i| {
                    Arc::new(Record::from_fields(
                        format!("node-{i}"),
                        i,
                        i * 7,
                        Vec::new(),
                    ))
                })
                .collect();
            let chunks: Vec<Vec<u8>> = record_chunks(records.clone().into()).collect();
            assert!(
                chunks.iter().all(|c| c.len() < 2 * 64 * 1024),
                "{n} records"
            );
            if n == 5000 {
                assert!(chunks.len() > 1, "a large page comes in several chunks");
            }
            let whole: Vec<u8> = chunks.concat();
            let plain: Vec<&Record> = records.iter().map(|r| &**r).collect();
            assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&whole).unwrap(),
                serde_json::to_value(plain).unwrap(),
                "{n} records"
            );
        }
    }
}
