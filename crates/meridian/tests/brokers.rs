//! Clusters on real external brokers (ActiveMQ, Mosquitto, RabbitMQ, NATS), started from
//! Debian's packages by the scripts in `scripts/brokers/`, and the fault matrix: restarts,
//! kill -9, failover between independent brokers, ActiveMQ primary/standby pairs on a shared
//! KahaDB directory and on a shared PostgreSQL database (JDBC store, lease locker).
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, same_digest, status, wait_for, Node};
use meridian_testkit::broker::run;
use meridian_testkit::{free_port, Broker, Cluster};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Broker tests run one at a time: JVM and Erlang brokers are heavy for two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn start_node(dir: &Path, instance: &str, group: &str, broker_url: &str, primary: bool) -> Node {
    // RabbitMQ checks every login against its own users (the others here accept any): the
    // nodes log in as its guest user instead of with the credentials derived from the secret.
    let login = if group.starts_with("rabbitmq") {
        "guest"
    } else {
        ""
    };
    Cluster::on_broker(group, broker_url)
        .member(instance)
        .primary(primary)
        .env("MERIDIAN_CLUSTER_BROKER_USERNAME", login)
        .env("MERIDIAN_CLUSTER_BROKER_PASSWORD", login)
        .env("MERIDIAN_CLUSTER_CONNECTION_MAXWAIT", "1000")
        .start(dir)
}

fn workspaces(n: &Node) -> BTreeSet<String> {
    let v = n.json("/workspaces.json");
    v["workspaces"]["workspace"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| w["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A writer creating workspaces on `rest` until stopped; returns the acknowledged names.
fn writer(
    rest: String,
    prefix: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let cl = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut acked = Vec::new();
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) && i < 3000 {
            let name = format!("{prefix}{i}");
            let r = cl
                .post(format!("{rest}/workspaces"))
                .basic_auth("admin", Some("geoserver"))
                .header("Content-Type", "text/xml")
                .body(format!("<workspace><name>{name}</name></workspace>"))
                .send();
            if let Ok(r) = r {
                if r.status() == 201 {
                    acked.push(name);
                }
            }
            i += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        acked
    })
}

/// Writes on a primary while `fault` runs; afterwards every node holds every acknowledged write.
fn fault_case(nodes: &[&Node], primary: &Node, prefix: &'static str, fault: impl FnOnce()) {
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(primary.rest(), prefix, stop.clone());
    std::thread::sleep(Duration::from_millis(600));
    fault();
    std::thread::sleep(Duration::from_millis(600));
    stop.store(true, Ordering::Relaxed);
    let acked = w.join().unwrap();
    assert!(acked.len() > 5, "too few writes: {}", acked.len());
    let acked: BTreeSet<String> = acked.into_iter().collect();
    wait_for(
        "every acknowledged write everywhere",
        nodes,
        Duration::from_secs(90),
        || nodes.iter().all(|n| acked.is_subset(&workspaces(n))) && same_digest(nodes),
    );
}

/// The standard matrix on one broker kind: replication, broker restart and kill -9 during
/// writes, a replica down while the primary writes.
fn matrix(kind: &'static str) {
    let _serial = serial();
    let broker = Broker::start(kind);
    let group = format!("{kind}-{}", std::process::id());
    let (ta, tb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (da, db) = (ta.path().join("a"), tb.path().join("b"));
    let a = start_node(&da, "node-a", &group, &broker.url(), true);
    let mut b = start_node(&db, "node-b", &group, &broker.url(), false);
    wait_for(
        "nodes connected",
        &[&a, &b],
        Duration::from_secs(30),
        || status(&a)["broker"]["connected"] == true && status(&b)["broker"]["connected"] == true,
    );
    expect(
        a.post_xml("/workspaces", "<workspace><name>hello</name></workspace>"),
        201,
    );
    wait_for(
        "replicated through the broker",
        &[&a, &b],
        Duration::from_secs(30),
        || b.get("/workspaces/hello.json").status() == 200,
    );
    fault_case(&[&a, &b], &a, "restart", || {
        broker.stop();
        std::thread::sleep(Duration::from_millis(500));
        broker.up("start");
    });
    fault_case(&[&a, &b], &a, "kill", || {
        broker.kill();
        std::thread::sleep(Duration::from_millis(500));
        broker.up("start");
    });
    // A replica down while the primary writes.
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    for i in 0..10 {
        expect(
            a.post_xml(
                "/workspaces",
                &format!("<workspace><name>down{i}</name></workspace>"),
            ),
            201,
        );
    }
    let b = start_node(&db, "node-b", &group, &broker.url(), false);
    wait_for(
        "restarted replica caught up",
        &[&a, &b],
        Duration::from_secs(60),
        || workspaces(&b).contains("down9") && same_digest(&[&a, &b]),
    );
}

#[test]
fn activemq_fault_matrix() {
    matrix("activemq");
}

#[test]
fn mosquitto_fault_matrix() {
    matrix("mosquitto");
}

#[test]
fn nats_fault_matrix() {
    matrix("nats");
}

#[test]
fn rabbitmq_fault_matrix() {
    matrix("rabbitmq");
}

#[test]
fn failover_between_two_independent_brokers() {
    let _serial = serial();
    let m1 = Broker::start("mosquitto");
    let m2 = Broker::start("mosquitto");
    let url = format!(
        "failover:({},{})?randomize=false&initialReconnectDelay=100&maxReconnectDelay=1000",
        m1.url(),
        m2.url()
    );
    let group = format!("fo-{}", std::process::id());
    let (ta, tb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_node(&ta.path().join("a"), "node-a", &group, &url, true);
    let b = start_node(&tb.path().join("b"), "node-b", &group, &url, false);
    wait_for(
        "on the first broker",
        &[&a, &b],
        Duration::from_secs(30),
        || status(&a)["broker"]["url"] == m1.url() && status(&b)["broker"]["connected"] == true,
    );
    let m1 = Mutex::new(Some(m1));
    fault_case(&[&a, &b], &a, "fo", || {
        // The first broker dies for good; what it held never reaches the second.
        if let Some(m) = m1.lock().unwrap().take() {
            m.kill();
        }
    });
    assert_eq!(status(&a)["broker"]["url"], m2.url());
    assert_eq!(status(&b)["broker"]["url"], m2.url());
}

#[test]
fn activemq_shared_store_pair_fails_over_to_the_standby() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("kahadb");
    std::fs::create_dir_all(&store).unwrap();
    let s = store.to_str().unwrap().to_string();
    let (p1, p2) = (free_port(), free_port());
    let active = Broker::start_in("activemq", tmp.path().join("b1"), p1, vec![s.clone()], None);
    let standby = Broker::not_started("activemq", tmp.path().join("b2"), p2, vec![s.clone()]);
    standby.up("standby");
    assert!(
        run("activemq", &["active", standby.dir.to_str().unwrap()]).is_err(),
        "the standby must wait for the lock"
    );
    let url = format!(
        "failover:({},{})?randomize=false&initialReconnectDelay=100&maxReconnectDelay=1000",
        active.url(),
        standby.url()
    );
    let group = format!("pair-{}", std::process::id());
    let (ta, tb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_node(&ta.path().join("a"), "node-a", &group, &url, true);
    let b = start_node(&tb.path().join("b"), "node-b", &group, &url, false);
    wait_for(
        "nodes on the active broker",
        &[&a, &b],
        Duration::from_secs(30),
        || status(&a)["broker"]["connected"] == true && status(&b)["broker"]["connected"] == true,
    );
    fault_case(&[&a, &b], &a, "pair", || {
        active.kill();
    });
    wait_for(
        "the standby took over and the nodes moved to it",
        &[&a, &b],
        Duration::from_secs(60),
        || {
            run("activemq", &["active", standby.dir.to_str().unwrap()]).is_ok()
                && status(&a)["broker"]["url"] == standby.url()
                && status(&a)["broker"]["connected"] == true
                && status(&b)["broker"]["connected"] == true
        },
    );
    // Replication runs through the standby now.
    expect(
        a.post_xml(
            "/workspaces",
            "<workspace><name>on-standby</name></workspace>",
        ),
        201,
    );
    wait_for(
        "replicated through the standby",
        &[&a, &b],
        Duration::from_secs(30),
        || b.get("/workspaces/on-standby.json").status() == 200,
    );
}

/// A primary/standby ActiveMQ pair started by `scripts/brokers/activemq-pair.sh`, stopped
/// (brokers and PostgreSQL) when dropped.
struct Pair {
    dir: std::path::PathBuf,
    url: String,
    _tmp: tempfile::TempDir,
}

impl Pair {
    /// The pair on ActiveMQ's JDBC store in a PostgreSQL of its own, with a lease locker.
    fn jdbc() -> Pair {
        let tmp = tempfile::tempdir().unwrap();
        // PostgreSQL runs as its own user, which must reach its directory.
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let dir = tmp.path().join("pair");
        let ports = [free_port(), free_port(), free_port()].map(|p| p.to_string());
        let out = run(
            "activemq-pair",
            &[
                "start",
                dir.to_str().unwrap(),
                &ports[0],
                &ports[1],
                "jdbc",
                &ports[2],
            ],
        )
        .unwrap_or_else(|e| panic!("the ActiveMQ JDBC pair did not start: {e}"));
        let url = out.lines().last().unwrap_or_default().trim().to_string();
        assert!(url.starts_with("failover:("), "{out}");
        Pair {
            dir,
            url,
            _tmp: tmp,
        }
    }

    /// Which broker serves: 1, 2, or none.
    fn active(&self) -> Option<String> {
        run("activemq-pair", &["active", self.dir.to_str().unwrap()])
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// The URL of broker `n` (as the nodes' status gives it).
    fn broker_url(&self, n: usize) -> String {
        let inner = &self.url["failover:(".len()..self.url.find(')').unwrap()];
        inner.split(',').nth(n - 1).unwrap().to_string()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = run("activemq-pair", &["stop", self.dir.to_str().unwrap()]);
    }
}

/// ActiveMQ's JDBC store on PostgreSQL with a lease locker, as the clustering module's
/// documentation describes a broker pair on a shared database: the serving broker is killed
/// with kill -9 during a stream of writes; the standby takes the lease, the nodes fail over
/// to it, every acknowledged write reaches every node, and replication goes on through it.
#[test]
fn activemq_jdbc_pair_on_postgresql_fails_over_and_loses_nothing() {
    let _serial = serial();
    let pair = Pair::jdbc();
    assert_eq!(
        pair.active().as_deref(),
        Some("1"),
        "the first broker serves"
    );
    let group = format!("jdbc-pair-{}", std::process::id());
    let (ta, tb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_node(&ta.path().join("a"), "node-a", &group, &pair.url, true);
    let b = start_node(&tb.path().join("b"), "node-b", &group, &pair.url, false);
    wait_for(
        "nodes on the first broker",
        &[&a, &b],
        Duration::from_secs(30),
        || {
            [&a, &b].iter().all(|n| {
                let s = status(n);
                s["broker"]["connected"] == true && s["broker"]["url"] == pair.broker_url(1)
            })
        },
    );
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(a.rest(), "jdbc", stop.clone());
    std::thread::sleep(Duration::from_millis(800));
    run("activemq-pair", &["kill", pair.dir.to_str().unwrap(), "1"]).unwrap();
    wait_for(
        "the standby took the lease and the nodes moved to it",
        &[&a, &b],
        Duration::from_secs(30),
        || {
            pair.active().as_deref() == Some("2")
                && [&a, &b].iter().all(|n| {
                    let s = status(n);
                    s["broker"]["connected"] == true && s["broker"]["url"] == pair.broker_url(2)
                })
        },
    );
    // Writes go on through the standby for a while.
    std::thread::sleep(Duration::from_millis(800));
    stop.store(true, Ordering::Relaxed);
    let acked: BTreeSet<String> = w.join().unwrap().into_iter().collect();
    assert!(acked.len() > 20, "too few writes: {}", acked.len());
    wait_for(
        "every acknowledged write on both nodes",
        &[&a, &b],
        Duration::from_secs(60),
        || acked.is_subset(&workspaces(&b)) && same_digest(&[&a, &b]),
    );
    expect(
        a.post_xml("/workspaces", "<workspace><name>after</name></workspace>"),
        201,
    );
    wait_for(
        "replicated through the standby",
        &[&a, &b],
        Duration::from_secs(10),
        || b.get("/workspaces/after.json").status() == 200,
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
fn make_certs(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let script = r#"set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=meridian-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > san.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=meridian-node 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext 2>/dev/null
chmod 644 *.pem *.key
"#;
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tls_broker_with_a_client_certificate() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let bdir = tmp.path().join("mosquitto");
    let certs = bdir.join("certs");
    make_certs(&certs);
    let c = |f: &str| certs.join(f).to_str().unwrap().to_string();
    let port = free_port();
    let broker = Broker::start_in(
        "mosquitto",
        bdir.clone(),
        port,
        vec![c("ca.pem"), c("server.pem"), c("server.key")],
        None,
    );
    let url = format!("ssl://127.0.0.1:{}", broker.port);
    let group = format!("tls-{}", std::process::id());
    let (ta, tb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ca, cert, key) = (c("ca.pem"), c("client.pem"), c("client.key"));
    let node = |dir: &Path, name: &str, primary: &str| {
        Node::start_env(
            dir.to_path_buf(),
            None,
            &[
                ("instanceName", name),
                ("group", &group),
                ("secret", "tls-secret"),
                ("brokerURL", &url),
                ("embeddedBroker", "disabled"),
                ("toggleMaster", primary),
                ("MERIDIAN_CLUSTER_BROKER_TLS_CA", &ca),
                ("MERIDIAN_CLUSTER_BROKER_TLS_CERT", &cert),
                ("MERIDIAN_CLUSTER_BROKER_TLS_KEY", &key),
                ("MERIDIAN_CLUSTER_HEARTBEAT_INTERVAL", "300"),
            ],
        )
    };
    let a = node(&ta.path().join("a"), "node-a", "true");
    let b = node(&tb.path().join("b"), "node-b", "false");
    wait_for(
        "connected over TLS",
        &[&a, &b],
        Duration::from_secs(30),
        || status(&a)["broker"]["connected"] == true && status(&b)["broker"]["connected"] == true,
    );
    expect(
        a.post_xml("/workspaces", "<workspace><name>secure</name></workspace>"),
        201,
    );
    wait_for(
        "replicated over TLS",
        &[&a, &b],
        Duration::from_secs(30),
        || b.get("/workspaces/secure.json").status() == 200,
    );
    // Without a client certificate the broker refuses the node; it still serves.
    let tc = tempfile::tempdir().unwrap();
    let lone = Node::start_env(
        tc.path().join("c"),
        None,
        &[
            ("instanceName", "node-c"),
            ("group", &group),
            ("brokerURL", &url),
            ("embeddedBroker", "disabled"),
            ("MERIDIAN_CLUSTER_BROKER_TLS_CA", &ca),
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(status(&lone)["broker"]["connected"], false);
    expect(lone.get("/workspaces.json"), 200);
}

#[test]
fn replicas_sync_from_each_other_while_the_primary_is_down() {
    let _serial = serial();
    let broker = Broker::start("mosquitto");
    let group = format!("pdown-{}", std::process::id());
    let (ta, tb, tc) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut a = start_node(&ta.path().join("a"), "node-a", &group, &broker.url(), true);
    let b = start_node(&tb.path().join("b"), "node-b", &group, &broker.url(), false);
    let c = start_node(&tc.path().join("c"), "node-c", &group, &broker.url(), false);
    wait_for("connected", &[&a, &b, &c], Duration::from_secs(30), || {
        [&a, &b, &c]
            .iter()
            .all(|n| status(n)["broker"]["connected"] == true)
    });
    expect(
        c.post_xml(
            "/cluster",
            "<properties><property name=\"connection\" value=\"disabled\"/></properties>",
        ),
        201,
    );
    wait_for("C off the broker", &[&c], Duration::from_secs(20), || {
        status(&c)["broker"]["connected"] == false
    });
    for i in 0..10 {
        expect(
            a.post_xml(
                "/workspaces",
                &format!("<workspace><name>pd{i}</name></workspace>"),
            ),
            201,
        );
    }
    wait_for(
        "B has everything",
        &[&a, &b],
        Duration::from_secs(30),
        || workspaces(&b).contains("pd9"),
    );
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    // The primary is gone; C comes back and gets A's changes from B.
    expect(
        c.post_xml(
            "/cluster",
            "<properties><property name=\"connection\" value=\"enabled\"/></properties>",
        ),
        201,
    );
    wait_for(
        "C synced from B",
        &[&b, &c],
        Duration::from_secs(40),
        || workspaces(&c).contains("pd9") && same_digest(&[&b, &c]),
    );
}
