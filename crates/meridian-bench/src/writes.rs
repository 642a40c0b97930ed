//! REST writes driven from several client threads.

use crate::node::client;
use crate::BenchError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// POST a workspace named `name` to the node at `base`; the status must be 201. Returns the
/// write's position (`X-Meridian-Position`), when the node journaled it.
pub fn post_workspace(
    c: &reqwest::blocking::Client,
    base: &str,
    name: &str,
) -> Result<Option<String>, BenchError> {
    let r = c
        .post(format!("{base}/rest/workspaces"))
        .basic_auth("admin", Some("geoserver"))
        .header("Content-Type", "text/xml")
        .body(format!("<workspace><name>{name}</name></workspace>"))
        .send()
        .map_err(|e| BenchError::Http(e.to_string()))?;
    if r.status().as_u16() == 201 {
        Ok(r.headers()
            .get("x-meridian-position")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string))
    } else {
        Err(BenchError::Http(format!(
            "POST workspace {name} answered {}: {}",
            r.status(),
            r.text().unwrap_or_default()
        )))
    }
}

/// Create workspaces `{prefix}0` … `{prefix}{total-1}` from `clients` threads; returns the
/// wall time until the last 2xx.
pub fn create_workspaces(
    base: &str,
    prefix: &str,
    total: usize,
    clients: usize,
) -> Result<Duration, BenchError> {
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..clients.max(1))
            .map(|_| {
                s.spawn(|| -> Result<(), BenchError> {
                    let c = client()?;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            return Ok(());
                        }
                        post_workspace(&c, base, &format!("{prefix}{i}"))?;
                    }
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| BenchError::Http("a writer thread panicked".into()))??;
        }
        Ok::<(), BenchError>(())
    })?;
    Ok(t0.elapsed())
}
