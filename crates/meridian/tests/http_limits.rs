//! The HTTP listener under abuse: connections that never finish their request, and password
//! guessing.
#![allow(clippy::unwrap_used)]

mod common;
use common::Node;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Open descriptors of a process.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Processes holding `per` connections each to `port`, every one with an unfinished request
/// head; they hold them until dropped.
struct Holders(Vec<std::process::Child>);

impl Holders {
    fn open(port: u16, processes: usize, per: usize) -> Holders {
        const SCRIPT: &str = r#"
import socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
held = []
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /geoserver/rest/about/version.json HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    except OSError as e:
        print("error", e, flush=True)
        break
print("ready", len(held), flush=True)
sys.stdin.read()
"#;
        let mut v: Vec<std::process::Child> = (0..processes)
            .map(|_| {
                Command::new("python3")
                    .args(["-c", SCRIPT, &per.to_string(), &port.to_string()])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("python3 is needed to hold connections")
            })
            .collect();
        for c in &mut v {
            let mut line = String::new();
            BufReader::new(c.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert!(line.starts_with("ready"), "holder: {line}");
        }
        Holders(v)
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

#[test]
fn twenty_thousand_unfinished_requests_do_not_starve_an_administrator_and_memory_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let n = Node::start_env(
        tmp.path().join("data"),
        None,
        &[
            ("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0"),
            ("MERIDIAN_HEADER_READ_TIMEOUT", "15"),
        ],
    );
    let pid = n.child.id();
    common::expect(n.get("/workspaces.json"), 200);
    let (rss_before, fds_before) = (rss_kib(pid), open_fds(pid));
    let t0 = Instant::now();
    let holders = Holders::open(n.port, 4, 5_000);
    let opened = t0.elapsed();
    // The node may still be taking connections from its listen queue.
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds(pid) < fds_before + 19_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let held = open_fds(pid);
    eprintln!("20000 connections opened in {opened:?}; the node holds {held} descriptors");
    let t0 = Instant::now();
    let r = n.get("/workspaces.json");
    let took = t0.elapsed();
    assert_eq!(r.status(), 200);
    eprintln!(
        "admin GET under {} held connections ({} descriptors open): {:?}; RSS {} -> {} KiB",
        20_000,
        held,
        took,
        rss_before,
        rss_kib(pid)
    );
    assert!(held > 10_000, "the node held only {held} descriptors");
    // A generous bound for a debug build on a busy 2-core machine; the figure is printed.
    assert!(took < Duration::from_secs(3), "admin GET took {took:?}");
    // The header-read timeout closes them all, and the memory their buffers took goes back.
    let deadline = Instant::now() + Duration::from_secs(30);
    while open_fds(pid) > fds_before + 50 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let fds_after = open_fds(pid);
    assert!(
        fds_after <= fds_before + 50,
        "{fds_after} descriptors still open"
    );
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = rss_kib(pid);
    eprintln!("after: {fds_after} descriptors, RSS {rss_after} KiB");
    assert!(
        rss_after < rss_before + 40 * 1024,
        "RSS {rss_before} -> {rss_after} KiB"
    );
    drop(holders);
    common::expect(n.get("/workspaces.json"), 200);
}

#[test]
fn failed_logins_are_throttled_per_address_and_other_users_are_not_slowed() {
    let tmp = tempfile::tempdir().unwrap();
    let n = Node::start_env(
        tmp.path().join("data"),
        None,
        &[
            ("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0"),
            ("MERIDIAN_MAX_FAILED_LOGINS", "5"),
        ],
    );
    let from = |ip: &str| {
        reqwest::blocking::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    };
    let url = n.url("/workspaces.json");
    let guesser = from("127.0.0.1");
    for i in 0..5 {
        let r = guesser
            .get(&url)
            .basic_auth("admin", Some(format!("guess{i}")))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = guesser
        .get(&url)
        .basic_auth("admin", Some("guess5"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // Even the right password, from that address, waits out the window.
    let r = guesser
        .get(&url)
        .basic_auth("admin", Some("geoserver"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    // From another address the administrator is let in at once.
    let t0 = Instant::now();
    let r = from("127.0.0.2")
        .get(&url)
        .basic_auth("admin", Some("geoserver"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t0.elapsed() < Duration::from_secs(2));
    // Anonymous reads of the OGC services are not affected.
    let r = guesser
        .get(format!(
            "http://127.0.0.1:{}/geoserver/ogc/features/v1/collections",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}
