//! Real `meridian` processes for tests, and a small HTTP client for them.

use reqwest::blocking::{Client, Response};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `meridian` binary under test: `MERIDIAN_BIN`, else the one cargo built next to the
/// test executable (`target/<profile>/meridian`).
pub fn meridian_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MERIDIAN_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test>-<hash>
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("meridian"))
        .unwrap();
    assert!(
        bin.is_file(),
        "the meridian binary is missing at {} (build it, or set MERIDIAN_BIN)",
        bin.display()
    );
    bin
}

/// How to start a node: on which data directory, with what environment.
#[derive(Default)]
pub struct NodeBuilder {
    dir: Option<PathBuf>,
    fixture: bool,
    env: Vec<(String, String)>,
    host: Option<crate::netns::Host>,
}

impl NodeBuilder {
    /// On this data directory (default: a new temporary one, removed with the node).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Filled with a copy of GeoServer's release data directory first.
    pub fn fixture(mut self) -> Self {
        self.fixture = true;
        self
    }

    /// On a host of a test network (its namespace; HTTP on its address, port 8080).
    pub fn on(mut self, host: &crate::netns::Host) -> Self {
        self.host = Some(host.clone());
        self
    }

    /// One more environment variable (a later one overrides an earlier one).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Several more environment variables.
    pub fn envs<K: AsRef<str>, V: AsRef<str>>(mut self, vars: &[(K, V)]) -> Self {
        for (k, v) in vars {
            self.env
                .push((k.as_ref().to_string(), v.as_ref().to_string()));
        }
        self
    }

    /// Start the node and wait until it listens.
    pub fn start(self) -> Node {
        let (tmp, dir) = match self.dir {
            Some(d) => (None, d),
            None => {
                let t = tempfile::tempdir().unwrap();
                let d = t.path().join("data");
                (Some(t), d)
            }
        };
        if self.fixture {
            crate::copy_dir(&crate::fixture_datadir(), &dir).unwrap();
        }
        let (mut cmd, bind) = match &self.host {
            Some(h) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &h.netns]).arg(meridian_binary());
                (c, format!("{}:8080", h.addr))
            }
            None => (Command::new(meridian_binary()), "127.0.0.1:0".to_string()),
        };
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .args(["serve", "--bind", &bind, "--data-dir"])
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
                if let Some(p) = line.find("listening on http://") {
                    let rest = &line[p + "listening on http://".len()..];
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    if let Some((host, port)) = addr.rsplit_once(':') {
                        let _ = tx.send((host.to_string(), port.parse::<u16>().unwrap_or(0)));
                    }
                }
                log2.lock().unwrap().push(line);
            }
        });
        let (host, port) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("meridian did not start: {:#?}", log.lock().unwrap());
            }
        };
        Node {
            child,
            host,
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
}

/// A running node on a free loopback port, killed on drop.
pub struct Node {
    /// The process.
    pub child: Child,
    /// Its HTTP address.
    pub host: String,
    /// Its HTTP port.
    pub port: u16,
    /// Its data directory.
    pub dir: PathBuf,
    /// What it logged so far, line by line.
    pub log: Arc<Mutex<Vec<String>>>,
    _tmp: Option<tempfile::TempDir>,
    client: Client,
}

impl Node {
    /// How to start a node.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::default()
    }

    /// A stand-alone node on a fresh, empty data directory.
    pub fn empty() -> Node {
        Node::builder().stand_alone().start()
    }

    /// A stand-alone node on a copy of GeoServer's release data directory.
    pub fn with_fixture() -> Node {
        Node::builder().fixture().stand_alone().start()
    }

    /// A stand-alone node on an existing directory (`tmp` kept alive with the node).
    pub fn start(dir: PathBuf, tmp: Option<tempfile::TempDir>) -> Node {
        let mut n = Node::builder().dir(dir).stand_alone().start();
        n._tmp = tmp;
        n
    }

    /// A node on a directory with extra environment (cluster settings).
    pub fn start_env(dir: PathBuf, tmp: Option<tempfile::TempDir>, env: &[(&str, &str)]) -> Node {
        let mut n = Node::builder().dir(dir).envs(env).start();
        n._tmp = tmp;
        n
    }

    /// Whether any line the node logged so far contains `text`.
    pub fn log_contains(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// `http://host:port/geoserver`
    pub fn base(&self) -> String {
        format!("http://{}:{}/geoserver", self.host, self.port)
    }

    /// `http://host:port/geoserver/rest`
    pub fn rest(&self) -> String {
        format!("{}/rest", self.base())
    }

    /// A REST URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.rest(), path)
    }

    /// GET a REST path as admin.
    pub fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .basic_auth("admin", Some("geoserver"))
            .send()
            .unwrap()
    }

    /// GET a REST path as admin with an `Accept` header.
    pub fn get_accept(&self, path: &str, accept: &str) -> Response {
        self.client
            .get(self.url(path))
            .basic_auth("admin", Some("geoserver"))
            .header("Accept", accept)
            .send()
            .unwrap()
    }

    /// GET a REST path as JSON, which must answer 200.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().unwrap()
    }

    /// GET a REST path as text, which must answer 200.
    pub fn text(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().unwrap()
    }

    /// Send a body to a REST path as admin.
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

    /// POST XML.
    pub fn post_xml(&self, path: &str, body: &str) -> Response {
        self.send("POST", path, "text/xml", body)
    }

    /// PUT XML.
    pub fn put_xml(&self, path: &str, body: &str) -> Response {
        self.send("PUT", path, "application/xml", body)
    }

    /// POST JSON.
    pub fn post_json(&self, path: &str, body: &str) -> Response {
        self.send("POST", path, "application/json", body)
    }

    /// DELETE a REST path as admin.
    pub fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .basic_auth("admin", Some("geoserver"))
            .send()
            .unwrap()
    }

    /// The client, for requests without credentials.
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

impl NodeBuilder {
    /// Its own embedded broker on a free port, so stand-alone test nodes never meet.
    fn stand_alone(self) -> Self {
        self.env("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0")
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

/// Whether the nodes' catalogs have the same digest.
pub fn same_digest(nodes: &[&Node]) -> bool {
    let d: Vec<String> = nodes
        .iter()
        .map(|n| status(n)["digest"].as_str().unwrap().to_string())
        .collect();
    d.windows(2).all(|w| w[0] == w[1])
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

/// Whether the node is connected to its broker.
pub fn connected(n: &Node) -> bool {
    status(n)["broker"]["connected"] == true
}

/// Wait (20 s at most) until `node` is connected to its broker; a failure shows the logs of
/// `logs`.
pub fn wait_connected(what: &str, logs: &[&Node], node: &Node) {
    wait_for(what, logs, Duration::from_secs(20), || connected(node));
}

/// Create workspace `name` on `from` (201) and wait (20 s at most) until `to` serves it.
pub fn replicate_workspace(what: &str, from: &Node, to: &Node, name: &str) {
    expect(
        from.post_xml(
            "/workspaces",
            &format!("<workspace><name>{name}</name></workspace>"),
        ),
        201,
    );
    wait_for(what, &[from, to], Duration::from_secs(20), || {
        to.get(&format!("/workspaces/{name}.json")).status() == 200
    });
}
