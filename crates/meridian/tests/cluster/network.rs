//! Clusters across hosts of a network of the test's own (network namespaces on a bridge,
//! 198.18.0.0/15).

use super::*;
use meridian_testkit::netns::Network;

/// Nodes on two hosts replicate through the embedded broker of the first; with the first
/// host's link down, the second keeps serving its own catalog.
#[test]
fn nodes_on_two_hosts_replicate_through_the_first_ones_broker() {
    let net = Network::new(2);
    let mut c = Cluster::new("twohosts");
    c.broker_host = net.hosts[0].addr.to_string();
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c
        .member("node-a")
        .embedded()
        .primary(true)
        .on(&net.hosts[0])
        .env(
            "node.url",
            &format!("http://{}:8080/geoserver", net.hosts[0].addr),
        )
        .start(&da);
    let b = c
        .member("node-b")
        .on(&net.hosts[1])
        .env(
            "node.url",
            &format!("http://{}:8080/geoserver", net.hosts[1].addr),
        )
        .start(&db);
    assert_eq!(a.host, net.hosts[0].addr.to_string());
    wait_connected("replica connected across hosts", &[&a, &b], &b);
    replicate_workspace("replicated across hosts", &a, &b, "across");
    net.blackhole(0);
    assert_eq!(
        b.get("/workspaces/across.json").status(),
        200,
        "the replica serves what it holds while the primary's host is unreachable"
    );
    net.heal(0);
    replicate_workspace("replicated after the link came back", &a, &b, "healed");
}

/// Three nodes on three hosts, each with its own embedded broker and nothing shared but the
/// secret and `discovery=static:` naming the others, find each other and converge.
#[test]
fn nodes_named_to_each_other_find_each_other_and_converge() {
    let net = Network::new(3);
    let c = Cluster::new("static");
    let dirs: Vec<_> = (0..3).map(|_| tmpdir()).collect();
    let nodes = start_on_hosts(&net, &c, &dirs, &static_discovery(&net), |i| i == 0);
    let refs: Vec<&Node> = nodes.iter().collect();
    let t0 = std::time::Instant::now();
    wait_for(
        "every node knows the two others",
        &refs,
        Duration::from_secs(10),
        || {
            nodes
                .iter()
                .all(|n| status(n)["peers"].as_array().is_some_and(|p| p.len() == 2))
        },
    );
    for n in &nodes {
        for p in status(n)["peers"].as_array().unwrap() {
            assert_eq!(p["found"], "static", "{p}");
        }
    }
    for i in 0..5 {
        expect(
            nodes[0].post_xml(
                "/workspaces",
                &format!("<workspace><name>found{i}</name></workspace>"),
            ),
            201,
        );
    }
    wait_for("converged", &refs, Duration::from_secs(10), || {
        nodes[1..]
            .iter()
            .all(|n| n.get("/workspaces/found4.json").status() == 200)
            && same_digest(&refs)
    });
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "found and converged in {:?}",
        t0.elapsed()
    );
}

/// `discovery=static:` naming every host of `net`.
fn static_discovery(net: &Network) -> String {
    let urls: Vec<String> = net.hosts.iter().map(|h| host_url(h.addr)).collect();
    format!("static:{}", urls.join(","))
}

/// A node's `node.url` on the host at `addr`.
fn host_url(addr: std::net::Ipv4Addr) -> String {
    format!("http://{addr}:8080/geoserver")
}

/// One node per host of `net` with a directory in `dirs` (`node-<i>`, primary where `primary(i)`), finding the others by
/// `discovery`, each with its own embedded broker left to listen where discovery puts it.
fn start_on_hosts(
    net: &Network,
    c: &Cluster,
    dirs: &[(tempfile::TempDir, std::path::PathBuf)],
    discovery: &str,
    primary: impl Fn(usize) -> bool,
) -> Vec<Node> {
    net.hosts
        .iter()
        .take(dirs.len())
        .enumerate()
        .map(|(i, h)| {
            c.member(&format!("node-{i}"))
                .embedded()
                .primary(primary(i))
                .on(h)
                // No node.url: it is where HTTP binds. The default: with discovery on, the
                // broker listens where HTTP does. An empty `discovery` is the default,
                // multicast.
                .env("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:1883")
                .env("discovery", discovery)
                .start(&dirs[i].1)
        })
        .collect()
}

/// Wait until every node is subscribed to every other's broker.
fn wait_linked(nodes: &[&Node]) {
    wait_for(
        "every node subscribed to the others' brokers",
        nodes,
        Duration::from_secs(10),
        || {
            nodes.iter().all(|x| {
                status(x)["broker"]["links"]
                    .as_object()
                    .is_some_and(|l| l.len() == nodes.len() - 1)
            })
        },
    );
}

/// One node per host of `net`, all primaries, with the defaults: they find each other by
/// multicast and each run their own broker where HTTP listens; returns when each is
/// subscribed to every other's broker.
fn mesh(net: &Network, c: &Cluster, dirs: &[(tempfile::TempDir, std::path::PathBuf)]) -> Vec<Node> {
    let nodes = start_on_hosts(net, c, dirs, "", |_| true);
    for (x, h) in nodes.iter().zip(&net.hosts) {
        let s = status(x);
        assert_eq!(s["broker"]["listen"], format!("{}:1883", h.addr), "{s}");
    }
    wait_linked(&nodes.iter().collect::<Vec<_>>());
    nodes
}

/// Write workspace `name` on `from` and wait until `to` serves it: how long that took (it
/// must be within a second).
fn served_within_a_second(from: &Node, to: &Node, name: &str) -> Duration {
    expect(
        from.post_xml(
            "/workspaces",
            &format!("<workspace><name>{name}</name></workspace>"),
        ),
        201,
    );
    let t0 = std::time::Instant::now();
    while to.get(&format!("/workspaces/{name}.json")).status() != 200 {
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "{name} not served by the other node within a second"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    t0.elapsed()
}

/// The first host blackholed (its link down: packets to it vanish, nothing is refused) while
/// the second writes: the third serves each write within a second, all through the
/// partition; when the link comes back, the first catches up.
#[test]
fn a_blackholed_node_holds_up_none_of_the_others() {
    let net = Network::new(3);
    let c = Cluster::new("blackhole");
    let dirs: Vec<_> = (0..3).map(|_| tmpdir()).collect();
    let nodes = mesh(&net, &c, &dirs);
    net.blackhole(0);
    let t0 = std::time::Instant::now();
    let mut i = 0;
    // Writes for longer than a peer request's longest wait and the broker's keep-alive.
    while t0.elapsed() < Duration::from_secs(8) {
        served_within_a_second(&nodes[1], &nodes[2], &format!("dark{i}"));
        i += 1;
    }
    net.heal(0);
    let refs: Vec<&Node> = nodes.iter().collect();
    wait_for(
        "the first node caught up",
        &refs,
        Duration::from_secs(10),
        || {
            nodes[0]
                .get(&format!("/workspaces/dark{}.json", i - 1))
                .status()
                == 200
                && same_digest(&refs)
        },
    );
}

/// One node cut off the others while both sides write; once healed, every node converges
/// within 3 s (several primaries: each change is kept, as the documented rule says).
#[test]
fn a_partition_heals_and_every_node_converges_within_three_seconds() {
    let net = Network::new(3);
    let c = Cluster::new("heal");
    let dirs: Vec<_> = (0..3).map(|_| tmpdir()).collect();
    let nodes = mesh(&net, &c, &dirs);
    net.cut(2);
    for i in 0..5 {
        served_within_a_second(&nodes[0], &nodes[1], &format!("main{i}"));
        expect(
            nodes[2].post_xml(
                "/workspaces",
                &format!("<workspace><name>island{i}</name></workspace>"),
            ),
            201,
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        nodes[0].get("/workspaces/island4.json").status(),
        404,
        "the cut let a change through"
    );
    net.uncut(2);
    let healed = std::time::Instant::now();
    let refs: Vec<&Node> = nodes.iter().collect();
    wait_for(
        "converged after the heal",
        &refs,
        Duration::from_secs(3),
        || {
            refs.iter().all(|n| {
                n.get("/workspaces/main4.json").status() == 200
                    && n.get("/workspaces/island4.json").status() == 200
            }) && same_digest(&refs)
        },
    );
    assert!(healed.elapsed() < Duration::from_secs(3));
}

/// After a long partition the links to peers' brokers wait out a long back-off; a peer that
/// answers over HTTP again ends it: within 2 s of the heal every link is connected again.
#[test]
fn after_a_heal_the_links_to_peers_brokers_reconnect_at_once() {
    let net = Network::new(3);
    let mut c = Cluster::new("relink");
    c.reconnect_max_ms = 10_000;
    let dirs: Vec<_> = (0..3).map(|_| tmpdir()).collect();
    let nodes = mesh(&net, &c, &dirs);
    let links_up = |n: &Node| {
        status(n)["broker"]["links"]
            .as_object()
            .is_some_and(|l| l.values().all(|v| v["connected"] == true))
    };
    net.cut(2);
    let refs: Vec<&Node> = nodes.iter().collect();
    wait_for("links cut", &refs, Duration::from_secs(10), || {
        !links_up(&nodes[2])
    });
    // Long enough for the back-off to reach several seconds.
    std::thread::sleep(Duration::from_secs(8));
    net.uncut(2);
    wait_for(
        "every link connected again within 2 s of the heal",
        &refs,
        Duration::from_secs(2),
        || nodes.iter().all(&links_up),
    );
}

/// Three nodes on three hosts that find each other (`discovery=static:`) each run their own
/// broker and subscribe to the others'. Killing the first with kill -9 leaves the other two
/// replicating live: each write on the second is served by the third within a second, most
/// within milliseconds (no waiting for a poll or a catch-up).
#[test]
fn with_a_broker_on_every_node_the_first_one_killed_stops_nothing() {
    let net = Network::new(3);
    let c = Cluster::new("mesh");
    let dirs: Vec<_> = (0..3).map(|_| tmpdir()).collect();
    let mut nodes = mesh(&net, &c, &dirs);
    let s = status(&nodes[2]);
    assert_eq!(
        s["broker"]["advertised"],
        format!("{}:1883", net.hosts[2].addr),
        "{s}"
    );
    replicate_workspace("first write", &nodes[0], &nodes[2], "before");
    // The first node dies, its broker with it.
    drop(nodes.remove(0));
    let mut took: Vec<Duration> = (0..20)
        .map(|i| served_within_a_second(&nodes[0], &nodes[1], &format!("after{i}")))
        .collect();
    took.sort();
    let p95 = took[took.len() * 95 / 100 - 1];
    assert!(
        p95 < Duration::from_millis(100),
        "writes reached the third node live? p95 {p95:?} ({took:?})"
    );
}

/// `discovery=dns:<name>`: every address of the name (a DNS server of the test's own, as a
/// Kubernetes headless service would answer) is a peer; the nodes find each other, subscribe to
/// each other's brokers and converge.
#[test]
fn nodes_found_through_a_dns_name_find_each_other_and_converge() {
    let net = Network::new(3);
    let addrs: Vec<std::net::Ipv4Addr> = net.hosts.iter().map(|h| h.addr).collect();
    let _dns = meridian_testkit::dns::DnsServer::start(
        (net.gateway, 53).into(),
        "meridian.test",
        addrs.clone(),
    );
    net.use_dns(net.gateway);
    let c = Cluster::new("dns");
    let dirs: Vec<_> = (0..3).map(|_| tmpdir()).collect();
    let nodes = start_on_hosts(&net, &c, &dirs, "dns:meridian.test", |i| i == 0);
    let refs: Vec<&Node> = nodes.iter().collect();
    wait_for(
        "every node found the two others by DNS and linked to their brokers",
        &refs,
        Duration::from_secs(10),
        || {
            nodes.iter().all(|n| {
                let s = status(n);
                s["peers"]
                    .as_array()
                    .is_some_and(|p| p.len() == 2 && p.iter().all(|x| x["found"] == "dns"))
                    && s["broker"]["links"]
                        .as_object()
                        .is_some_and(|l| l.len() == 2)
            })
        },
    );
    replicate_workspace("replicated", &nodes[0], &nodes[2], "resolved");
    wait_for("converged", &refs, Duration::from_secs(10), || {
        same_digest(&refs)
    });
}

/// The default, multicast: three nodes with empty data directories and nothing but the secret
/// find each other and converge within 10 s. A fourth node on the same network, of the same
/// group but another secret, is found by none of them (its announcements are dropped) and
/// finds none.
#[test]
fn nodes_with_only_a_shared_secret_find_each_other_by_multicast() {
    let net = Network::new(4);
    let c = Cluster::new("multicast");
    let dirs: Vec<_> = (0..4).map(|_| tmpdir()).collect();
    let t0 = std::time::Instant::now();
    let nodes = start_on_hosts(&net, &c, &dirs[..3], "", |i| i == 0);
    let stranger = c
        .member("stranger")
        .embedded()
        .on(&net.hosts[3])
        .env("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:1883")
        .env("discovery", "")
        .env("secret", "another-secret-altogether")
        .start(&dirs[3].1);
    let refs: Vec<&Node> = nodes.iter().collect();
    wait_for(
        "every node found the two others by multicast and linked to their brokers",
        &refs,
        Duration::from_secs(10),
        || {
            nodes.iter().all(|n| {
                let s = status(n);
                s["peers"]
                    .as_array()
                    .is_some_and(|p| p.len() == 2 && p.iter().all(|x| x["found"] == "multicast"))
                    && s["broker"]["links"]
                        .as_object()
                        .is_some_and(|l| l.len() == 2)
            })
        },
    );
    for i in 0..5 {
        expect(
            nodes[0].post_xml(
                "/workspaces",
                &format!("<workspace><name>mc{i}</name></workspace>"),
            ),
            201,
        );
    }
    wait_for("converged", &refs, Duration::from_secs(10), || {
        nodes[1..]
            .iter()
            .all(|n| n.get("/workspaces/mc4.json").status() == 200)
            && same_digest(&refs)
    });
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "found each other and converged in {:?}",
        t0.elapsed()
    );
    for n in &nodes {
        let s = status(n);
        assert_eq!(s["peers"].as_array().map(Vec::len), Some(2), "{s}");
        assert!(
            n.log_contains("multicast discovery: announcing"),
            "the log says where it announces"
        );
    }
    // Several announcement intervals later, the stranger has still found nobody.
    std::thread::sleep(Duration::from_millis(1500));
    let s = status(&stranger);
    assert_eq!(
        s["peers"].as_array().map(Vec::len),
        Some(0),
        "a node of another secret finds nobody: {s}"
    );
    assert_eq!(stranger.get("/workspaces/mc4.json").status(), 404);
}

/// With a broker on every node, `meridian cluster leave` of a stopped node goes through its
/// peers' brokers (its own is down with it): the others forget it at once, well before
/// `peer.expiry`, and drop their links to its broker.
#[test]
fn a_node_that_leaves_is_forgotten_at_once_with_a_broker_on_every_node() {
    let net = Network::new(3);
    let c = Cluster::new("meshleave");
    let dirs: Vec<_> = (0..3).map(|_| tmpdir()).collect();
    let mut nodes = mesh(&net, &c, &dirs);
    let gone = nodes.pop().unwrap();
    let names = |n: &Node| -> Vec<String> {
        status(n)["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    unsafe { libc::kill(gone.child.id() as libc::pid_t, libc::SIGTERM) };
    let mut gone = gone;
    gone.wait_exit(Duration::from_secs(20)).unwrap();
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &net.hosts[2].netns])
        .arg(env!("CARGO_BIN_EXE_meridian"))
        .args([
            "cluster",
            "leave",
            "--data-dir",
            dirs[2].1.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("node-2 left group"), "{said}");
    for h in &net.hosts[..2] {
        assert!(
            said.contains(&format!("{}:1883", h.addr)),
            "told through every peer's broker: {said}"
        );
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    wait_for(
        "the others forgot node-2",
        &refs,
        Duration::from_secs(3),
        || {
            nodes.iter().all(|n| {
                let s = status(n);
                names(n).iter().all(|p| p != "node-2")
                    && s["broker"]["links"]
                        .as_object()
                        .is_some_and(|l| !l.contains_key("node-2"))
            })
        },
    );
}
