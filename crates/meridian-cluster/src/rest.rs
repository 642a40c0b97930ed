//! `/rest/cluster` (GeoServer's endpoint: the properties), `/rest/cluster/status`,
//! `/rest/cluster/wait` (read your writes on any node), and the peer endpoints
//! `/rest/cluster/events` and `/rest/cluster/snapshot`.

use crate::node::Cluster;
use meridian_rest::{render, Format, Req, Resp, RestError, RestExtension, RestResult};
use meridian_xml::Element;
use serde_json::json;
use std::sync::atomic::Ordering;
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
    }
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
        let cfg = self
            .0
            .config
            .read()
            .map_err(|_| RestError::Internal("configuration lock poisoned".into()))?;
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
            let mut cfg = self
                .0
                .config
                .write()
                .map_err(|_| RestError::Internal("configuration lock poisoned".into()))?;
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
            cfg.save().map_err(|e| RestError::Internal(e.to_string()))?;
        }
        // Roles and read-only take effect now.
        self.0.update_gate();
        Ok(Resp::created("", Some(format!("{}/cluster", req.rest()))))
    }

    fn status(&self) -> serde_json::Value {
        let c = &self.0;
        let (heads, digest) = c.heads_and_digest();
        let peers: Vec<serde_json::Value> = c
            .peers
            .lock()
            .map(|p| {
                p.values()
                    .map(|p| {
                        json!({
                            "name": p.name, "url": p.url, "roles": p.roles, "digest": p.digest,
                            "heads": p.heads,
                            "lastSeenMs": p.seen.map(|s| s.elapsed().as_millis() as u64),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Lag per origin: the highest head any peer reports minus ours.
        let mut origins: std::collections::BTreeMap<String, serde_json::Value> =
            std::collections::BTreeMap::new();
        let best = c
            .peers
            .lock()
            .map(|p| {
                let mut m: std::collections::BTreeMap<String, u64> =
                    std::collections::BTreeMap::new();
                for peer in p.values() {
                    for (o, s) in &peer.heads {
                        let e = m.entry(o.clone()).or_insert(0);
                        *e = (*e).max(*s);
                    }
                }
                m
            })
            .unwrap_or_default();
        for o in heads.keys().chain(best.keys()) {
            let mine = heads.get(o).copied().unwrap_or(0);
            let top = best.get(o).copied().unwrap_or(0).max(mine);
            origins.insert(o.clone(), json!({"applied": mine, "lag": top - mine}));
        }
        let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let cfg = c.config.read().map(|g| g.clone()).ok();
        json!({
            "instanceName": c.me,
            "group": c.group,
            "url": c.url,
            "roles": c.roles(),
            "readOnly": c.roles().read_only,
            "broker": {
                "url": c.broker.lock().map(|b| b.clone()).unwrap_or_default(),
                "connected": c.connected.load(Ordering::Relaxed),
                "durableSession": c.durable_session.load(Ordering::Relaxed),
                "embedded": cfg.as_ref().map(|c| c.embedded_broker() && c.get("brokerURL").is_empty()).unwrap_or(false),
            },
            "authenticated": cfg.as_ref().map(|c| !c.secret().is_empty()).unwrap_or(false),
            "rejected": c.rejections(),
            "digest": digest,
            "origins": origins,
            "peers": peers,
            "drift": c.drift.lock().map(|d| d.clone()).unwrap_or_default(),
            "filesPending": c.store.files().pending(),
            "filesFailed": c.store.files().failed(),
            "counters": {
                "published": n(&c.counters.published),
                "applied": n(&c.counters.applied),
                "duplicates": n(&c.counters.duplicates),
                "deferred": n(&c.counters.deferred),
                "rejected": n(&c.counters.rejected),
                "ignored": n(&c.counters.ignored),
                "catchups": n(&c.counters.catchups),
                "snapshots": n(&c.counters.snapshots),
            },
        })
    }

    /// Wait until this node serves the write at `position` (`<origin>:<sequence>`, the
    /// `X-Meridian-Position` header of the write's answer), at most `timeout` ms: answered on
    /// the runtime (see [`RestExtension::handle_async`]), so waiting clients hold no thread.
    fn wait(&self, req: &Req) -> meridian_rest::AsyncResp {
        let asked = wait_request(req);
        let service = self.0.service.clone();
        let moved = self.0.positions_moved.clone();
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
        let records = self.0.store.since(origin, after, limit.min(5000));
        match records {
            Some(r) => {
                let v: Vec<&meridian_store::Record> = r.iter().map(|a| a.as_ref()).collect();
                Ok(json_resp(
                    &serde_json::to_value(v).map_err(|e| RestError::Internal(e.to_string()))?,
                ))
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
            ("GET", ["cluster", "status"]) => {
                let v = self.status();
                if req.out_format() == Format::Xml {
                    Ok(Resp {
                        status: 200,
                        content_type: "application/json".into(),
                        body: v.to_string().into_bytes(),
                        location: None,
                    })
                } else {
                    Ok(json_resp(&v))
                }
            }
            ("GET", ["cluster", "events"]) => self.events(req),
            ("GET", ["cluster", "snapshot"]) => self
                .0
                .snapshot_json()
                .map(|body| Resp {
                    status: 200,
                    content_type: "application/json".into(),
                    body,
                    location: None,
                })
                .map_err(|e| RestError::Internal(e.to_string())),
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

    fn peer_answer_signature(&self, token: &str, body: &[u8]) -> Option<String> {
        Some(self.0.keys().answer_signature(token, body))
    }
}
