//! A cluster of real `meridian` processes for the multi-node benchmarks: one primary and
//! replicas, replicating through the primary's embedded broker, an external ActiveMQ started
//! by `scripts/brokers/activemq.sh` on loopback, or a broker on every node (each node's own
//! embedded broker, the others subscribed to it: the default with discovery on).

use crate::node::{client, free_port, repo_script, run_script, Node};
use crate::BenchError;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which broker carries the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// The primary's embedded MQTT broker; replicas connect to it.
    Embedded,
    /// ActiveMQ Classic (Debian package) as a plain process, MQTT connector on a free port.
    ActiveMq,
    /// Every node's own embedded broker; every node subscribes to every other's (the nodes
    /// name each other with `discovery=static:`, as multicast would find them on a LAN).
    Mesh,
}

impl BrokerKind {
    /// Parse `embedded`, `activemq` or `mesh`.
    pub fn parse(s: &str) -> Result<BrokerKind, BenchError> {
        match s {
            "embedded" => Ok(BrokerKind::Embedded),
            "activemq" => Ok(BrokerKind::ActiveMq),
            "mesh" => Ok(BrokerKind::Mesh),
            other => Err(BenchError::Node(format!(
                "unknown broker {other:?}; use embedded, activemq or mesh"
            ))),
        }
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            BrokerKind::Embedded => "embedded",
            BrokerKind::ActiveMq => "activemq",
            BrokerKind::Mesh => "mesh",
        }
    }
}

/// An external broker run by its script, stopped by PID when dropped.
pub struct ExternalBroker {
    script: PathBuf,
    dir: PathBuf,
    /// Its MQTT port on 127.0.0.1.
    pub port: u16,
}

impl ExternalBroker {
    /// Start ActiveMQ in `dir` (waits until it accepts MQTT).
    pub fn activemq(dir: &Path) -> Result<ExternalBroker, BenchError> {
        let port = free_port()?;
        let script = repo_script("brokers/activemq.sh");
        let d = dir.display().to_string();
        run_script(&script, &["start", &d, &port.to_string()])?;
        // How it stores messages decides its latency to persistent sessions: say which.
        let conf = std::fs::read_to_string(dir.join("conf/activemq.xml")).unwrap_or_default();
        if let Some(store) = conf.lines().find(|l| l.contains("<kahaDB")) {
            println!("activemq store: {}", store.trim());
        }
        Ok(ExternalBroker {
            script,
            dir: dir.to_path_buf(),
            port,
        })
    }
}

impl Drop for ExternalBroker {
    fn drop(&mut self) {
        let _ = run_script(&self.script, &["stop", &self.dir.display().to_string()]);
    }
}

/// One primary (`nodes[0]`) and replicas.
pub struct Cluster {
    /// Running nodes; the first is the primary.
    pub nodes: Vec<Node>,
    /// Their instance names, in the same order.
    pub names: Vec<String>,
    /// Where the nodes' data directories and logs live.
    pub scratch: PathBuf,
    /// The broker the nodes use.
    pub kind: BrokerKind,
    /// The broker's MQTT port on 127.0.0.1 (with a broker on every node: the primary's).
    pub broker_port: u16,
    group: String,
    binary: PathBuf,
    extra_env: Vec<(&'static str, String)>,
    /// With a broker on every node: the HTTP port of each node, chosen before any starts (each
    /// names all the others).
    mesh_ports: Vec<u16>,
    /// Directories made on the filesystems of `MERIDIAN_BENCH_NODE_DIRS`, removed on drop.
    _own_filesystems: Vec<tempfile::TempDir>,
    _external: Option<ExternalBroker>,
}

impl Cluster {
    /// Start a primary (on `primary_dir`, or an empty directory) and `replicas` replicas on empty
    /// directories, and wait until every replica is connected and has heard the primary.
    pub fn start(
        binary: &Path,
        scratch: &Path,
        kind: BrokerKind,
        replicas: usize,
        primary_dir: Option<&Path>,
        extra_env: Vec<(&'static str, String)>,
    ) -> Result<Cluster, BenchError> {
        std::fs::create_dir_all(scratch)
            .map_err(|e| BenchError::Io(scratch.display().to_string(), e))?;
        let (external, broker_port) = match kind {
            BrokerKind::Embedded | BrokerKind::Mesh => (None, free_port()?),
            BrokerKind::ActiveMq => {
                let b = ExternalBroker::activemq(&scratch.join("activemq"))?;
                let p = b.port;
                (Some(b), p)
            }
        };
        let mut c = Cluster {
            nodes: Vec::new(),
            names: Vec::new(),
            scratch: scratch.to_path_buf(),
            kind,
            broker_port,
            group: format!("bench-{}", std::process::id()),
            binary: binary.to_path_buf(),
            extra_env,
            mesh_ports: match kind {
                BrokerKind::Mesh => (0..=replicas)
                    .map(|_| free_port())
                    .collect::<Result<_, _>>()?,
                _ => Vec::new(),
            },
            _own_filesystems: Vec::new(),
            _external: external,
        };
        let pdir = match primary_dir {
            Some(d) => d.to_path_buf(),
            None => c.node_dir(0, "primary")?,
        };
        c.add("primary", &pdir, true)?;
        if kind == BrokerKind::Mesh {
            // The primary's own broker carries its changes (the raw round trip is measured on it).
            c.broker_port = c.nodes[0].broker_port;
        }
        for i in 0..replicas {
            let name = format!("replica{i}");
            let dir = c.node_dir(i + 1, &name)?;
            c.add(&name, &dir, false)?;
        }
        c.wait_connected(Duration::from_secs(120))?;
        if kind == BrokerKind::Mesh {
            let mut links = 0;
            for n in &c.nodes {
                links += status(n)?["broker"]["links"]
                    .as_object()
                    .map_or(0, |l| l.len());
            }
            println!(
                "a broker on every node: {} nodes, {links} links connected (each node subscribed to every other's broker)",
                c.nodes.len()
            );
        }
        Ok(c)
    }

    /// The data directory of the `k`th node: under the scratch directory, or, when
    /// `MERIDIAN_BENCH_NODE_DIRS` lists directories (`:`-separated, e.g. one mounted filesystem
    /// per node, as nodes are deployed), in the `k`th of them (round robin).
    fn node_dir(&mut self, k: usize, name: &str) -> Result<PathBuf, BenchError> {
        let roots = std::env::var("MERIDIAN_BENCH_NODE_DIRS").unwrap_or_default();
        let roots: Vec<&str> = roots.split(':').filter(|r| !r.is_empty()).collect();
        if roots.is_empty() {
            return Ok(self.scratch.join(name));
        }
        let root = roots[k % roots.len()];
        let dir = tempfile::tempdir_in(root).map_err(|e| BenchError::Io(root.to_string(), e))?;
        let path = dir.path().join(name);
        self._own_filesystems.push(dir);
        Ok(path)
    }

    /// The secret the nodes of this cluster share.
    pub fn secret(&self) -> String {
        format!("secret-of-{}", self.group)
    }

    /// Environment of a node of this cluster.
    pub fn env(&self, name: &str, primary: bool) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("instanceName", name.to_string()),
            ("group", self.group.clone()),
            ("toggleMaster", primary.to_string()),
            ("MERIDIAN_CLUSTER_HEARTBEAT_INTERVAL", "500".to_string()),
        ];
        // The nodes of a cluster share a secret. `MERIDIAN_BENCH_NO_SECRET=1` gives none, to
        // measure builds from before the authenticated default (3f83753 and earlier) as they
        // ran by default; builds since then would not replicate without one.
        if !std::env::var("MERIDIAN_BENCH_NO_SECRET").is_ok_and(|v| v == "1") {
            env.push(("secret", self.secret()));
        }
        // `MERIDIAN_BENCH_PRIMARY_ONLY=1`: the primary applies no remote changes
        // (`toggleSlave=false`, as GeoServer recommends for a primary with replicas).
        if primary && std::env::var("MERIDIAN_BENCH_PRIMARY_ONLY").is_ok_and(|v| v == "1") {
            env.push(("toggleSlave", "false".to_string()));
        }
        if self.kind == BrokerKind::Mesh {
            // Its own broker (on the free port the node is given), and the others named.
            let urls: Vec<String> = self
                .mesh_ports
                .iter()
                .map(|p| format!("http://127.0.0.1:{p}/geoserver"))
                .collect();
            env.push(("embeddedBroker", "enabled".into()));
            env.push(("brokerURL", String::new()));
            env.push(("discovery", format!("static:{}", urls.join(","))));
            env.extend(self.extra_env.iter().cloned());
            return env;
        }
        // One broker for all.
        env.push(("discovery", "none".into()));
        let embedded_here = self.kind == BrokerKind::Embedded && primary;
        if embedded_here {
            env.push(("embeddedBroker", "enabled".into()));
            env.push(("brokerURL", String::new()));
            env.push((
                "MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN",
                format!("127.0.0.1:{}", self.broker_port),
            ));
        } else {
            env.push(("embeddedBroker", "disabled".into()));
            env.push(("brokerURL", format!("tcp://127.0.0.1:{}", self.broker_port)));
        }
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// Start one more node and wait until it serves REST; returns its index.
    pub fn add(&mut self, name: &str, dir: &Path, primary: bool) -> Result<usize, BenchError> {
        let env = self.env(name, primary);
        let log = self.scratch.join(format!("{name}.log"));
        let mut node = match self.mesh_ports.get(self.nodes.len()) {
            Some(port) => Node::start_on(&self.binary, dir, &env, &log, *port)?,
            None => Node::start(&self.binary, dir, &env, &log)?,
        };
        node.wait_ready(Duration::from_secs(600)).map_err(|e| {
            BenchError::Node(format!(
                "{name}: {e}; log: {}",
                std::fs::read_to_string(&log).unwrap_or_default().trim()
            ))
        })?;
        self.nodes.push(node);
        self.names.push(name.to_string());
        Ok(self.nodes.len() - 1)
    }

    /// Stop node `i` with SIGKILL and forget it.
    pub fn kill(&mut self, i: usize) {
        let mut n = self.nodes.remove(i);
        let _ = n.child.kill();
        let _ = n.child.wait();
        self.names.remove(i);
    }

    /// Wait until every node is connected to the broker and every replica knows the primary.
    pub fn wait_connected(&self, limit: Duration) -> Result<(), BenchError> {
        let t0 = Instant::now();
        loop {
            let mut ok = true;
            for (i, n) in self.nodes.iter().enumerate() {
                let s = status(n)?;
                let connected = s["broker"]["connected"].as_bool().unwrap_or(false);
                let knows = i == 0
                    || s["peers"]
                        .as_array()
                        .map(|p| p.iter().any(|p| p["name"] == self.names[0].as_str()))
                        .unwrap_or(false);
                // With a broker on every node: subscribed to every other's.
                let linked = self.kind != BrokerKind::Mesh
                    || s["broker"]["links"].as_object().is_some_and(|l| {
                        l.len() + 1 == self.mesh_ports.len()
                            && l.values().all(|x| x["connected"] == true)
                    });
                ok &= connected && knows && linked;
            }
            if ok {
                return Ok(());
            }
            if t0.elapsed() > limit {
                return Err(BenchError::Node(format!(
                    "cluster not connected after {limit:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many changes of the primary node `i` has applied.
    pub fn applied(&self, i: usize) -> Result<u64, BenchError> {
        Ok(self.applied_in(&status(&self.nodes[i])?))
    }

    /// The catalog changes (objects added, modified, removed) in the primary's journal records
    /// after `after`, read back from its events endpoint; `None` when the journal no longer
    /// holds them all (beyond its retention).
    pub fn object_changes(&self, after: u64) -> Result<Option<u64>, BenchError> {
        let c = client()?;
        let (mut at, mut count) = (after, 0u64);
        loop {
            let r = c
                .get(format!(
                    "{}/rest/cluster/events.json?origin={}&after={at}&limit=5000",
                    self.nodes[0].base, self.names[0]
                ))
                .basic_auth("admin", Some("geoserver"))
                .send()
                .map_err(|e| BenchError::Http(e.to_string()))?;
            if r.status().as_u16() == 410 {
                return Ok(None);
            }
            let records: Vec<serde_json::Value> =
                r.json().map_err(|e| BenchError::Http(e.to_string()))?;
            let Some(last) = records.last() else {
                return Ok(Some(count));
            };
            at = last["seq"].as_u64().unwrap_or(u64::MAX);
            count += records
                .iter()
                .map(|r| r["changes"].as_array().map_or(0, |c| c.len() as u64))
                .sum::<u64>();
        }
    }

    /// The primary's changes applied, from a node's status.
    fn applied_in(&self, status: &serde_json::Value) -> u64 {
        status["origins"][self.names[0].as_str()]["applied"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Wait until every node has applied everything the primary wrote and all digests agree.
    /// Each replica is first asked to answer once it serves the primary's head
    /// (`/rest/cluster/wait`, no polling load on the nodes), then the digests are compared.
    pub fn wait_converged(&self, limit: Duration) -> Result<(), BenchError> {
        let t0 = Instant::now();
        let head = self.applied(0)?;
        let c = client()?;
        for n in &self.nodes[1..] {
            let left = limit.saturating_sub(t0.elapsed()).as_millis().min(60_000);
            let url = format!(
                "{}/rest/cluster/wait.json?position={}:{head}&timeout={left}",
                n.base, self.names[0]
            );
            // A node that cannot answer it (or not yet) is polled below like the others.
            let _ = c.get(url).basic_auth("admin", Some("geoserver")).send();
        }
        loop {
            if self.converged()? {
                return Ok(());
            }
            if t0.elapsed() > limit {
                let applied: Vec<String> = (0..self.nodes.len())
                    .map(|i| {
                        self.applied(i)
                            .map(|a| a.to_string())
                            .unwrap_or_else(|e| e.to_string())
                    })
                    .collect();
                return Err(BenchError::Node(format!(
                    "not converged after {limit:?}; applied per node: {}",
                    applied.join(", ")
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until no node has files left to write behind its journal.
    pub fn wait_files_written(&self, limit: Duration) -> Result<(), BenchError> {
        let t0 = Instant::now();
        loop {
            let mut pending = 0;
            for n in &self.nodes {
                pending += status(n)?["filesPending"].as_u64().unwrap_or(0);
            }
            if pending == 0 {
                return Ok(());
            }
            if t0.elapsed() > limit {
                return Err(BenchError::Node(format!(
                    "files of {pending} batches still pending after {limit:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every node has the primary's head and the same digest.
    pub fn converged(&self) -> Result<bool, BenchError> {
        let head = self.applied(0)?;
        let digest = status(&self.nodes[0])?["digest"].clone();
        for n in &self.nodes[1..] {
            let s = status(n)?;
            if self.applied_in(&s) < head || s["digest"] != digest {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// A node's `/rest/cluster/status.json`.
pub fn status(n: &Node) -> Result<serde_json::Value, BenchError> {
    thread_local! {
        static CLIENT: std::cell::OnceCell<reqwest::blocking::Client> = const { std::cell::OnceCell::new() };
    }
    let c = CLIENT.with(|cell| match cell.get() {
        Some(c) => Ok(c.clone()),
        None => client().map(|c| cell.get_or_init(|| c).clone()),
    })?;
    let r = c
        .get(format!("{}/rest/cluster/status.json", n.base))
        .basic_auth("admin", Some("geoserver"))
        .send()
        .map_err(|e| BenchError::Http(e.to_string()))?;
    if !r.status().is_success() {
        return Err(BenchError::Http(format!(
            "cluster status answered {}",
            r.status()
        )));
    }
    r.json().map_err(|e| BenchError::Http(e.to_string()))
}
