#![allow(clippy::unwrap_used)]
//! Starting real `meridian` processes for tests, and a small HTTP client for them.
#![allow(dead_code)]

pub mod cluster;

use reqwest::blocking::{Client, Response};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// GeoServer's release data directory (shared/ beside the repository).
pub fn fixture() -> PathBuf {
    meridian_testkit::fixture_datadir()
}

/// A zip of the given files, as a client uploads them.
pub fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for (name, bytes) in files {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// The fixture's `sf/roads` shapefile (.shp, .shx, .dbf, .prj), each named `{prefix}roads.*`.
pub fn roads_files(prefix: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fixture().join("data/sf");
    ["shp", "shx", "dbf", "prj"]
        .iter()
        .map(|e| {
            (
                format!("{prefix}roads.{e}"),
                std::fs::read(dir.join(format!("roads.{e}"))).unwrap(),
            )
        })
        .collect()
}

/// [`roads_files`] zipped.
pub fn roads_zip(prefix: &str) -> Vec<u8> {
    let files = roads_files(prefix);
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    zip_of(&refs)
}

/// Copy a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    meridian_testkit::copy_dir(from, to).unwrap();
}

/// A running node on a free loopback port, killed on drop.
pub struct Node {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub log: Arc<Mutex<Vec<String>>>,
    _tmp: Option<tempfile::TempDir>,
    client: Client,
}

impl Node {
    /// A node on a fresh, empty data directory.
    pub fn empty() -> Node {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        Node::start(dir, Some(tmp))
    }

    /// A node on a copy of GeoServer's release data directory.
    pub fn with_fixture() -> Node {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        copy_dir(&fixture(), &dir);
        Node::start(dir, Some(tmp))
    }

    /// Start on an existing directory.
    pub fn start(dir: PathBuf, tmp: Option<tempfile::TempDir>) -> Node {
        // Each stand-alone test node gets its own embedded broker on a free port.
        Node::start_env(
            dir,
            tmp,
            &[("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0")],
        )
    }

    /// Start on a directory with extra environment (cluster settings).
    pub fn start_env(dir: PathBuf, tmp: Option<tempfile::TempDir>, env: &[(&str, &str)]) -> Node {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_meridian"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .env("RUST_LOG", "info,rumqttd=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start meridian");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(p) = line.find("listening on http://127.0.0.1:") {
                    let rest = &line[p + "listening on http://127.0.0.1:".len()..];
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().unwrap_or(0));
                }
                log2.lock().unwrap().push(line);
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("meridian did not start: {:#?}", log.lock().unwrap());
            }
        };
        Node {
            child,
            port,
            dir,
            log,
            _tmp: tmp,
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    /// Whether any line the node logged so far contains `text`.
    pub fn log_contains(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// `http://127.0.0.1:port/geoserver/rest`
    pub fn rest(&self) -> String {
        format!("http://127.0.0.1:{}/geoserver/rest", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.rest(), path)
    }

    pub fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .basic_auth("admin", Some("geoserver"))
            .send()
            .unwrap()
    }

    pub fn get_accept(&self, path: &str, accept: &str) -> Response {
        self.client
            .get(self.url(path))
            .basic_auth("admin", Some("geoserver"))
            .header("Accept", accept)
            .send()
            .unwrap()
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().unwrap()
    }

    pub fn text(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().unwrap()
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        ctype: &str,
        body: impl Into<Vec<u8>>,
    ) -> Response {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client
            .request(m, self.url(path))
            .basic_auth("admin", Some("geoserver"))
            .header("Content-Type", ctype)
            .body(body.into())
            .send()
            .unwrap()
    }

    pub fn post_xml(&self, path: &str, body: &str) -> Response {
        self.send("POST", path, "text/xml", body)
    }

    pub fn put_xml(&self, path: &str, body: &str) -> Response {
        self.send("PUT", path, "application/xml", body)
    }

    pub fn post_json(&self, path: &str, body: &str) -> Response {
        self.send("POST", path, "application/json", body)
    }

    pub fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .basic_auth("admin", Some("geoserver"))
            .send()
            .unwrap()
    }

    pub fn anon(&self) -> &Client {
        &self.client
    }

    /// Wait for the process to exit (after a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Assert a status with the body in the message.
#[track_caller]
pub fn expect(r: Response, status: u16) -> String {
    let s = r.status().as_u16();
    let body = r.text().unwrap_or_default();
    assert_eq!(s, status, "unexpected status; body: {body}");
    body
}

/// The node's cluster status.
pub fn status(n: &Node) -> serde_json::Value {
    n.json("/cluster/status.json")
}

/// Wait until `f` holds, or fail with the nodes' logs.
pub fn wait_for(what: &str, nodes: &[&Node], timeout: Duration, f: impl Fn() -> bool) {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut msg = format!("timed out waiting for: {what}\n");
    for n in nodes {
        msg.push_str(&format!(
            "--- node on port {}: status {}\n",
            n.port,
            status(n)
        ));
        for l in n
            .log
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            msg.push_str(l);
            msg.push('\n');
        }
    }
    panic!("{msg}");
}
