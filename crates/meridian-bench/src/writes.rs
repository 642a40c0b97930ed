//! REST writes: workspace creations from concurrent clients.

use crate::rawpost::RawPost;
use crate::BenchError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Create workspaces `{prefix}0` … `{prefix}{total-1}` from `clients` concurrent clients;
/// returns the wall time until the last 2xx. The clients are tasks on one thread, each with
/// a connection of its own (`rawpost`): on 2 shared cores what the clients cost is taken
/// from the nodes being measured (a blocking client per thread took a fifth of the machine
/// at 16 clients, `reqwest`'s async client 23 µs a write).
pub fn create_workspaces(
    base: &str,
    prefix: &str,
    total: usize,
    clients: usize,
) -> Result<Duration, BenchError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::Http(format!("client runtime: {e}")))?;
    rt.block_on(async {
        let next = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let mut writers = tokio::task::JoinSet::new();
        for _ in 0..clients.max(1) {
            let mut conn = RawPost::new(base)?;
            let (next, prefix) = (next.clone(), prefix.to_string());
            writers.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return Ok(());
                    }
                    let name = format!("{prefix}{i}");
                    let xml = format!("<workspace><name>{name}</name></workspace>");
                    let a = conn.post_xml("/rest/workspaces", &xml).await?;
                    if a.status != 201 {
                        return Err(BenchError::Http(format!(
                            "POST workspace {name} answered {}: {}",
                            a.status, a.body
                        )));
                    }
                }
            });
        }
        while let Some(done) = writers.join_next().await {
            done.map_err(|_| BenchError::Http("a writer task panicked".into()))??;
        }
        Ok(t0.elapsed())
    })
}
