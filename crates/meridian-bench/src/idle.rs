//! An administrator's GET while thousands of connections sit on the node with an unfinished
//! request head (a slow-loris crowd), and the node's memory before, during and after.
//!
//! The connections are held by child processes of this benchmark (`meridian-bench hold`),
//! 5,000 each, so that no process needs more descriptors than a usual limit.

use crate::node::{client, meridian_binary, work_dir, Node};
use crate::{percentile, BenchError};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Run the measurement with `connections` held, timing `gets` authenticated GETs.
pub fn run(binary: Option<&Path>, connections: usize, gets: usize) -> Result<String, BenchError> {
    let binary = meridian_binary(binary)?;
    let tmp = work_dir()?;
    let dir = tmp.path().join("data");
    let mut node = Node::start(
        &binary,
        &dir,
        &[("MERIDIAN_HEADER_READ_TIMEOUT", "10".to_string())],
        &tmp.path().join("node.log"),
    )?;
    node.wait_ready(Duration::from_secs(60))?;
    let pid = node.child.id();
    let http = client()?;
    let url = format!("{}/rest/workspaces.json", node.base);
    let time_gets = |n: usize| -> Result<Vec<f64>, BenchError> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let r = http
                .get(&url)
                .basic_auth("admin", Some("geoserver"))
                .send()
                .map_err(|e| BenchError::Http(e.to_string()))?;
            if !r.status().is_success() {
                return Err(BenchError::Http(format!(
                    "admin GET answered {}",
                    r.status()
                )));
            }
            v.push(t.elapsed().as_secs_f64() * 1e3);
            std::thread::sleep(Duration::from_millis(20));
        }
        v.sort_by(f64::total_cmp);
        Ok(v)
    };
    let idle = time_gets(gets)?;
    let (rss_before, _) = node.memory_mb();
    let addr = node
        .base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let t0 = Instant::now();
    let held = Holders::spawn(&addr, connections)?;
    let opened = t0.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds(pid) < connections * 95 / 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let node_fds = open_fds(pid);
    let loaded = time_gets(gets)?;
    let (rss_during, _) = node.memory_mb();
    // The header-read timeout (10 s here) closes them; the memory should go back.
    let deadline = Instant::now() + Duration::from_secs(30);
    while open_fds(pid) > 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let (rss_after, hwm) = node.memory_mb();
    drop(held);
    Ok(format!(
        "admin GET, idle node: p50 {:.2} ms, max {:.2} ms ({gets} GETs)\n\
         {connections} unfinished requests opened in {:.1} s; the node holds {node_fds} descriptors\n\
         admin GET under them: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({gets} GETs)\n\
         RSS {rss_before:.0} MB before, {rss_during:.0} MB with them held, {rss_after:.0} MB after the header-read timeout closed them (peak {hwm:.0} MB)\n",
        percentile(&idle, 50.0),
        idle.last().copied().unwrap_or(f64::NAN),
        opened.as_secs_f64(),
        percentile(&loaded, 50.0),
        percentile(&loaded, 99.0),
        loaded.last().copied().unwrap_or(f64::NAN),
    ))
}

/// Connections per holder process.
const PER_HOLDER: usize = 5_000;

/// Child processes holding unfinished requests; they let go when dropped.
struct Holders(Vec<Child>);

impl Holders {
    fn spawn(addr: &str, connections: usize) -> Result<Holders, BenchError> {
        let me = std::env::current_exe().map_err(|e| BenchError::Node(e.to_string()))?;
        let mut v = Vec::new();
        let mut left = connections;
        while left > 0 {
            let n = left.min(PER_HOLDER);
            left -= n;
            let child = Command::new(&me)
                .args(["hold", "--addr", addr, "--connections", &n.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| BenchError::Node(format!("holder: {e}")))?;
            v.push(child);
        }
        let mut h = Holders(v);
        for c in &mut h.0 {
            let Some(out) = c.stdout.take() else { continue };
            let mut line = String::new();
            BufReader::new(out)
                .read_line(&mut line)
                .map_err(|e| BenchError::Node(format!("holder: {e}")))?;
            if !line.starts_with("ready") {
                return Err(BenchError::Http(format!("holder: {}", line.trim())));
            }
        }
        Ok(h)
    }
}

impl Drop for Holders {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `meridian-bench hold`: open `connections` connections to `addr`, each with an unfinished
/// request head, say `ready`, and hold them until standard input closes.
pub fn hold(addr: &str, connections: usize) -> Result<(), BenchError> {
    let mut held = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut s = TcpStream::connect(addr)
            .map_err(|e| BenchError::Http(format!("connection {}: {e}", held.len())))?;
        s.write_all(b"GET /geoserver/rest/about/version.json HTTP/1.1\r\nHost: x\r\n")
            .map_err(|e| BenchError::Http(e.to_string()))?;
        held.push(s);
    }
    println!("ready {}", held.len());
    let _ = std::io::stdout().flush();
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink);
    Ok(())
}
