//! REST writes: workspace creations from concurrent clients.

use crate::rawpost::RawPost;
use crate::BenchError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A current-thread runtime for a thread's writes.
pub fn client_runtime() -> Result<tokio::runtime::Runtime, BenchError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::Http(format!("client runtime: {e}")))
}

/// POST a workspace named `name` over `conn`; the status must be 201. Returns the write's
/// position (`X-Meridian-Position`), when the node journaled it.
pub async fn post_workspace(conn: &mut RawPost, name: &str) -> Result<Option<String>, BenchError> {
    let xml = format!("<workspace><name>{name}</name></workspace>");
    let a = conn.post_xml("/rest/workspaces", &xml).await?;
    if a.status == 201 {
        Ok(a.position)
    } else {
        Err(BenchError::Http(format!(
            "POST workspace {name} answered {}: {}",
            a.status, a.body
        )))
    }
}

/// Create PostGIS store `s{i}`, with a password, in workspace `{prefix}w`.
async fn post_store(conn: &mut RawPost, prefix: &str, i: usize) -> Result<(), BenchError> {
    let xml = format!(
        "<dataStore><name>s{i}</name><enabled>false</enabled><connectionParameters><entry key=\"dbtype\">postgis</entry><entry key=\"host\">db.example</entry><entry key=\"port\">5432</entry><entry key=\"database\">gis</entry><entry key=\"user\">gis</entry><entry key=\"passwd\">password-{i}</entry></connectionParameters></dataStore>"
    );
    let a = conn
        .post_xml(&format!("/rest/workspaces/{prefix}w/datastores"), &xml)
        .await?;
    if a.status == 201 {
        Ok(())
    } else {
        Err(BenchError::Http(format!(
            "POST store s{i} answered {}: {}",
            a.status, a.body
        )))
    }
}

/// Create workspaces `{prefix}0` … `{prefix}{total-1}` from `clients` concurrent clients;
/// returns the wall time until the last 2xx. The clients are tasks on one thread, each with
/// a connection of its own (`rawpost`): on 2 shared cores what the clients cost is taken
/// from the nodes being measured (a blocking client per thread took a fifth of the machine
/// at 16 clients, `reqwest`'s async client 22 µs a write).
pub fn create_workspaces(
    base: &str,
    prefix: &str,
    total: usize,
    clients: usize,
) -> Result<Duration, BenchError> {
    let rt = client_runtime()?;
    // `MERIDIAN_BENCH_WRITE=store`: each write is a PostGIS store with a password (sealed on
    // the wire and in the journal) in one workspace, instead of a workspace.
    let stores = std::env::var("MERIDIAN_BENCH_WRITE").is_ok_and(|v| v == "store");
    rt.block_on(async {
        if stores {
            let mut conn = RawPost::new(base)?;
            post_workspace(&mut conn, &format!("{prefix}w")).await?;
        }
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
                    if stores {
                        post_store(&mut conn, &prefix, i).await?;
                    } else {
                        post_workspace(&mut conn, &format!("{prefix}{i}")).await?;
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
