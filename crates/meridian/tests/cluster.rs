//! Several real `meridian` processes replicating through the embedded broker of one of them.
#![allow(clippy::unwrap_used)]

mod common;
use common::cluster::{free_port, inject, tmpdir, Cluster};
use common::{expect, fixture, status, wait_for, Node};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn names(n: &Node, path: &str, root: &str, item: &str) -> Vec<String> {
    let v = n.json(path);
    match v[root][item].as_array() {
        Some(a) => a
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_string())
            .collect(),
        None => Vec::new(),
    }
}

/// The configuration as stored on disk, object by object (global settings without the
/// per-node update sequence).
fn disk_state(dir: &Path) -> BTreeMap<String, String> {
    let l = meridian_datadir::load(dir).unwrap();
    assert!(l.problems.is_empty(), "{:#?}", l.problems);
    let mut m = BTreeMap::new();
    for o in l.catalog.objects() {
        m.insert(
            o.id().to_string(),
            format!(
                "{}{}",
                o.xml_without_update_sequence(),
                o.body.clone().unwrap_or_default()
            ),
        );
    }
    m.insert(
        "default".into(),
        l.catalog
            .default_workspace()
            .map(|w| w.id().to_string())
            .unwrap_or_default(),
    );
    m
}

/// Wait until no node has files left to write behind its journal (a replica serves a batch
/// once journaled; its data directory follows), so the directories can be compared.
fn files_written(nodes: &[&Node]) {
    wait_for("files written", nodes, Duration::from_secs(30), || {
        nodes.iter().all(|n| status(n)["filesPending"] == 0)
    });
}

fn same_digest(nodes: &[&Node]) -> bool {
    let d: Vec<String> = nodes
        .iter()
        .map(|n| status(n)["digest"].as_str().unwrap().to_string())
        .collect();
    d.windows(2).all(|w| w[0] == w[1])
}

const SLD: &str = "<StyledLayerDescriptor version=\"1.0.0\" xmlns=\"http://www.opengis.net/sld\"><NamedLayer><Name>s</Name><UserStyle><Name>s</Name><FeatureTypeStyle><Rule><LineSymbolizer/></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>";

/// What `n` knows of `peer` from its heartbeats, if it has heard one.
fn peer(n: &Node, name: &str) -> Option<serde_json::Value> {
    status(n)["peers"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
}

/// Whether `n` has heard a heartbeat of `name`.
fn knows(n: &Node, name: &str) -> bool {
    peer(n, name).is_some()
}

/// Set one cluster property of `n` through REST, as the cluster page of GeoServer does.
fn set_property(n: &Node, key: &str, value: &str) {
    expect(
        n.post_xml(
            "/cluster",
            &format!("<properties><property name=\"{key}\" value=\"{value}\"/></properties>"),
        ),
        201,
    );
}

fn write_config(a: &Node) {
    expect(
        a.post_xml("/workspaces", "<workspace><name>acme</name></workspace>"),
        201,
    );
    let sf = fixture().join("data/sf");
    let url = format!("file:{}", sf.display());
    expect(a.post_xml("/workspaces/acme/datastores", &format!("<dataStore><name>sf</name><connectionParameters><url>{url}</url></connectionParameters></dataStore>")), 201);
    expect(
        a.post_xml(
            "/workspaces/acme/datastores/sf/featuretypes",
            "<featureType><name>roads</name></featureType>",
        ),
        201,
    );
    expect(
        a.send(
            "POST",
            "/workspaces/acme/styles?name=red",
            "application/vnd.ogc.sld+xml",
            SLD,
        ),
        201,
    );
    expect(a.put_xml("/layers/acme:roads", "<layer><defaultStyle><name>red</name><workspace>acme</workspace></defaultStyle></layer>"), 200);
    expect(a.post_xml("/layergroups", "<layerGroup><name>grp</name><publishables><published type=\"layer\"><name>acme:roads</name></published></publishables></layerGroup>"), 201);
    expect(
        a.put_xml(
            "/settings/contact",
            "<contact><contactPerson>Ada</contactPerson></contact>",
        ),
        200,
    );
}

#[test]
fn changes_on_a_primary_reach_every_replica_and_replicas_refuse_writes() {
    let c = Cluster::new("prop");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let (_tc, dc) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    let cc = c.start(&dc, "node-c", false, false);
    wait_for(
        "replicas connected",
        &[&a, &b, &cc],
        Duration::from_secs(20),
        || status(&b)["broker"]["connected"] == true && status(&cc)["broker"]["connected"] == true,
    );
    write_config(&a);
    for n in [&b, &cc] {
        wait_for(
            "configuration replicated",
            &[&a, n],
            Duration::from_secs(30),
            || {
                n.get("/layergroups/grp.json").status() == 200
                    && n.json("/settings/contact.json")["contact"]["contactPerson"] == "Ada"
                    && same_digest(&[&a, n])
            },
        );
        assert_eq!(
            names(n, "/workspaces.json", "workspaces", "workspace"),
            ["acme"]
        );
        assert_eq!(
            n.json("/layers/acme:roads.json")["layer"]["defaultStyle"]["name"],
            "acme:red"
        );
        assert_eq!(n.text("/workspaces/acme/styles/red.sld"), SLD);
    }
    // A layer published on the primary is served by the replicas at once.
    for n in [&b, &cc] {
        let url = format!(
            "http://127.0.0.1:{}/geoserver/ogc/features/v1/collections/acme:roads/items?limit=1",
            n.port
        );
        let v: serde_json::Value = n.anon().get(url).send().unwrap().json().unwrap();
        assert_eq!(v["numberMatched"], 825);
    }
    // The data directories hold the same configuration.
    files_written(&[&a, &b, &cc]);
    let sa = disk_state(&da);
    assert_eq!(sa, disk_state(&db));
    assert_eq!(sa, disk_state(&dc));
    // A pure replica refuses writes, names the primary (once it heard of it), and changes
    // nothing.
    wait_for("B knows A", &[&a, &b], Duration::from_secs(20), || {
        knows(&b, "node-a")
    });
    let body = expect(
        b.post_xml("/workspaces", "<workspace><name>nope</name></workspace>"),
        403,
    );
    assert!(body.contains("node-a"), "{body}");
    expect(b.get("/workspaces/nope.json"), 404);
    // Deletes replicate too.
    expect(a.delete("/workspaces/acme?recurse=true"), 200);
    wait_for(
        "delete replicated",
        &[&a, &b],
        Duration::from_secs(30),
        || b.get("/workspaces/acme.json").status() == 404,
    );
    let st = status(&b);
    assert_eq!(st["origins"]["node-a"]["lag"], 0, "{st}");
    let c = &st["counters"];
    assert!(
        c["applied"].as_u64().unwrap() + c["snapshots"].as_u64().unwrap() >= 2,
        "{st}"
    );
    assert_eq!(st["roles"]["primary"], false);
}

/// Replicate one write to the replica `start` starts, kill it with SIGKILL, make 20 more writes
/// on `a`, start it again on its directory and wait until it holds all 21 workspaces and the
/// same digest as `a`; returns the restarted replica.
fn miss_twenty_writes(a: &Node, start: impl Fn() -> Node) -> Node {
    let mut b = start();
    wait_for(
        "replica connected",
        &[a, &b],
        Duration::from_secs(20),
        || status(&b)["broker"]["connected"] == true,
    );
    expect(
        a.post_xml("/workspaces", "<workspace><name>w0</name></workspace>"),
        201,
    );
    wait_for(
        "first write replicated",
        &[a, &b],
        Duration::from_secs(20),
        || b.get("/workspaces/w0.json").status() == 200,
    );
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    for i in 1..=20 {
        expect(
            a.post_xml(
                "/workspaces",
                &format!("<workspace><name>w{i}</name></workspace>"),
            ),
            201,
        );
    }
    let b = start();
    wait_for(
        "replica caught up",
        &[a, &b],
        Duration::from_secs(30),
        || {
            names(&b, "/workspaces.json", "workspaces", "workspace").len() == 21
                && same_digest(&[a, &b])
        },
    );
    b
}

#[test]
fn a_replica_killed_with_kill_9_catches_up_and_a_new_node_joins() {
    let c = Cluster::new("catchup");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let _b = miss_twenty_writes(&a, || c.start(&db, "node-b", false, false));
    // A brand-new node with an empty data directory joins and ends identical.
    let (_td, dd) = tmpdir();
    let d = c.start(&dd, "node-d", false, false);
    wait_for(
        "new node identical",
        &[&a, &d],
        Duration::from_secs(30),
        || {
            names(&d, "/workspaces.json", "workspaces", "workspace").len() == 21
                && same_digest(&[&a, &d])
        },
    );
    files_written(&[&a, &d]);
    assert_eq!(disk_state(&da), disk_state(&dd));
    assert!(status(&d)["counters"]["snapshots"].as_u64().unwrap() >= 1);
}

#[test]
fn a_replica_without_a_durable_session_gets_what_it_missed_from_its_peers() {
    let c = Cluster::new("nondurable");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = miss_twenty_writes(&a, || {
        c.start_with(&db, "node-b", false, false, &[("durable", "false")])
    });
    assert_eq!(status(&b)["broker"]["durableSession"], false);
    assert_eq!(status(&a)["broker"]["durableSession"], true);
    let counters = &status(&b)["counters"];
    assert!(counters["catchups"].as_u64().unwrap() >= 1, "{counters}");
    // A clean session: the broker kept nothing for the node while it was away, so nothing
    // it missed was delivered again on top of the catch-up.
    assert_eq!(counters["duplicates"], 0, "{counters}");
    // Replication goes on over the new session.
    expect(
        a.post_xml("/workspaces", "<workspace><name>after</name></workspace>"),
        201,
    );
    wait_for(
        "a later write replicated",
        &[&a, &b],
        Duration::from_secs(20),
        || b.get("/workspaces/after.json").status() == 200,
    );
}

#[test]
fn every_write_a_killed_primary_acknowledged_reaches_the_replica() {
    let c = Cluster::new("primarykill");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let mut a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_for(
        "replica connected",
        &[&a, &b],
        Duration::from_secs(20),
        || status(&b)["broker"]["connected"] == true,
    );
    let rest = a.rest();
    let writer = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let mut acked = Vec::new();
        for i in 0..5000 {
            let r = client
                .post(format!("{rest}/workspaces"))
                .basic_auth("admin", Some("geoserver"))
                .header("Content-Type", "text/xml")
                .body(format!("<workspace><name>b{i}</name></workspace>"))
                .send();
            match r {
                Ok(r) if r.status() == 201 => acked.push(format!("b{i}")),
                _ => break,
            }
        }
        acked
    });
    std::thread::sleep(Duration::from_millis(1500));
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let acked = writer.join().unwrap();
    assert!(acked.len() > 5, "{}", acked.len());
    // The primary comes back (its broker with it); the replica gets everything it answered 2xx.
    let a = c.start(&da, "node-a", true, true);
    wait_for(
        "replica has every acknowledged write",
        &[&a, &b],
        Duration::from_secs(60),
        || {
            let have = names(&b, "/workspaces.json", "workspaces", "workspace");
            acked.iter().all(|w| have.contains(w)) && same_digest(&[&a, &b])
        },
    );
}

#[test]
fn forged_malformed_and_foreign_messages_are_rejected_and_replication_goes_on() {
    let c = Cluster::new("wire");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_for(
        "replica connected",
        &[&a, &b],
        Duration::from_secs(20),
        || status(&b)["broker"]["connected"] == true,
    );
    expect(
        a.post_xml("/workspaces", "<workspace><name>real</name></workspace>"),
        201,
    );
    wait_for("replicated", &[&a, &b], Duration::from_secs(20), || {
        b.get("/workspaces/real.json").status() == 200
    });
    let before = status(&b)["counters"]["rejected"].as_u64().unwrap();
    let topic = c.changes_topic();
    let forged_body = format!(
        r#"{{"type":"changes","group":"{}","origin":"node-a","seq":2,"hlc":1,"changes":[{{"op":"add","object":{{"kind":"Workspace","xml":{{"name":"workspace","children":[{{"name":"id","text":"WorkspaceInfoImpl-evil"}},{{"name":"name","text":"evil"}}]}}}}}}]}}"#,
        c.group
    );
    let heartbeat = |group: &str| meridian_cluster::envelope::Message::Heartbeat {
        group: group.into(),
        origin: "x".into(),
        url: "http://127.0.0.1:1/geoserver".into(),
        roles: Default::default(),
        heads: Default::default(),
        digest: String::new(),
    };
    let foreign = meridian_cluster::envelope::encode(&heartbeat("another-group"), &c.keys());
    let other_secret = meridian_cluster::keys::ClusterKeys::new("another secret").unwrap();
    let messages = vec![
        // Unsigned, as earlier versions sent without a secret; a made-up MAC; another
        // cluster's secret; garbage; a truncated body; another group's heartbeat.
        format!("MERIDIAN/1 -\n{forged_body}").into_bytes(),
        format!("MERIDIAN/1 {}\n{forged_body}", "0".repeat(64)).into_bytes(),
        format!(
            "MERIDIAN/1 {}\n{forged_body}",
            other_secret.message_mac(forged_body.as_bytes())
        )
        .into_bytes(),
        b"\x00\x01 not a message at all".to_vec(),
        b"MERIDIAN/1 -\n{\"type\":".to_vec(),
        foreign,
    ];
    // An outsider cannot even log in to the embedded broker, with no login or a guessed one.
    for login in [
        None,
        Some(("meridian", "meridian")),
        Some(("admin", "geoserver")),
    ] {
        let r = inject(c.broker_port, &topic, messages.clone(), "intruder", login);
        assert!(r.is_err(), "an outsider published with {login:?}");
    }
    expect(b.get("/workspaces/evil.json"), 404);
    // Whoever can publish (an open external broker, a broken member) gets nothing applied.
    let (user, password) = c.broker_login("member");
    inject(
        c.broker_port,
        &topic,
        messages,
        "member",
        Some((&user, &password)),
    )
    .unwrap();
    wait_for("messages rejected", &[&b], Duration::from_secs(20), || {
        status(&b)["counters"]["rejected"].as_u64().unwrap() >= before + 6
    });
    let reasons = &status(&b)["rejected"];
    assert!(
        reasons["unauthenticated"].as_u64().unwrap() >= 3,
        "{reasons}"
    );
    assert!(reasons["foreign_group"].as_u64().unwrap() >= 1, "{reasons}");
    expect(b.get("/workspaces/evil.json"), 404);
    // The refusals are explained in the log, with how to fix them.
    assert!(
        b.log_contains("put the same `secret` in cluster.properties on every node"),
        "no hint in the replica's log"
    );
    // Replication goes on after the garbage.
    expect(
        a.post_xml("/workspaces", "<workspace><name>after</name></workspace>"),
        201,
    );
    wait_for(
        "replication continues",
        &[&a, &b],
        Duration::from_secs(20),
        || b.get("/workspaces/after.json").status() == 200,
    );
    assert_eq!(status(&b)["authenticated"], true);
    // The intruders' logins were counted on the broker's node.
    assert!(status(&a)["rejected"]["broker_login"].as_u64().unwrap() >= 2);
}

#[test]
fn cluster_endpoint_roles_metrics_and_status_command() {
    let c = Cluster::new("admin");
    let (_ta, da) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    // GeoServer's /rest/cluster: the properties, XML and JSON.
    let xml = a.text("/cluster.xml");
    assert!(
        xml.contains("<property name=\"instanceName\" value=\"node-a\"/>"),
        "{xml}"
    );
    let j = a.json("/cluster.json");
    let props = j["properties"]["property"].as_array().unwrap();
    assert!(props
        .iter()
        .any(|p| p["@name"] == "toggleMaster" && p["@value"] == "true"));
    // Read-only through REST: effective at once and persisted.
    let r = a.post_xml(
        "/cluster",
        "<properties><property name=\"readOnly\" value=\"enabled\"/></properties>",
    );
    assert_eq!(r.status(), 201);
    let body = expect(
        a.post_xml("/workspaces", "<workspace><name>ro</name></workspace>"),
        403,
    );
    assert!(body.contains("read-only"), "{body}");
    let file = std::fs::read_to_string(da.join("cluster/cluster.properties")).unwrap();
    assert!(file.contains("readOnly=enabled"), "{file}");
    expect(
        a.post_xml(
            "/cluster",
            "<properties><property name=\"readOnly\" value=\"disabled\"/></properties>",
        ),
        201,
    );
    expect(
        a.post_xml("/workspaces", "<workspace><name>rw</name></workspace>"),
        201,
    );
    expect(
        a.post_xml(
            "/cluster",
            "<properties><property name=\"instanceName\" value=\"other\"/></properties>",
        ),
        400,
    );
    expect(
        a.post_xml(
            "/cluster",
            "<properties><property name=\"x\"/></properties>",
        ),
        400,
    );
    // Prometheus metrics.
    let m = a
        .anon()
        .get(format!("http://127.0.0.1:{}/geoserver/metrics", a.port))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(m.contains("meridian_cluster_published_total 1"), "{m}");
    assert!(
        m.contains("meridian_cluster_applied_seq{origin=\"node-a\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("meridian_catalog_objects{kind=\"workspace\"} 1"),
        "{m}"
    );
    // The status command.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args([
            "cluster",
            "status",
            "--url",
            &format!("http://127.0.0.1:{}/geoserver", a.port),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("instance  node-a")
            && text.contains("primary+replica")
            && text.contains("node-a"),
        "{text}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args([
            "cluster",
            "status",
            "--url",
            &format!("http://127.0.0.1:{}/geoserver", a.port),
            "--password",
            "wrong",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

fn heads_equal(a: &Node, b: &Node) -> bool {
    let (sa, sb) = (status(a), status(b));
    let ha: BTreeMap<String, u64> = sa["origins"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["applied"].as_u64().unwrap()))
        .collect();
    let hb: BTreeMap<String, u64> = sb["origins"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["applied"].as_u64().unwrap()))
        .collect();
    ha == hb
}

#[test]
fn two_primaries_editing_the_same_objects_converge() {
    let c = Cluster::new("multi");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, true);
    wait_for("connected", &[&a, &b], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == true
    });
    expect(
        a.post_xml("/workspaces", "<workspace><name>shared</name></workspace>"),
        201,
    );
    for s in ["s", "victim"] {
        expect(a.post_xml("/workspaces/shared/datastores", &format!("<dataStore><name>{s}</name><connectionParameters><url>file:data/x</url></connectionParameters></dataStore>")), 201);
    }
    wait_for(
        "base replicated",
        &[&a, &b],
        Duration::from_secs(20),
        || b.get("/workspaces/shared/datastores/victim.json").status() == 200,
    );
    let run = |rest: String, tag: &'static str, delete_victim: bool| {
        std::thread::spawn(move || {
            let cl = reqwest::blocking::Client::new();
            let send = |m: reqwest::Method, path: &str, body: String| {
                cl.request(m, format!("{rest}{path}"))
                    .basic_auth("admin", Some("geoserver"))
                    .header("Content-Type", "application/xml")
                    .body(body)
                    .send()
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            };
            for i in 0..25 {
                send(
                    reqwest::Method::PUT,
                    "/workspaces/shared/datastores/s",
                    format!("<dataStore><description>{tag}{i}</description></dataStore>"),
                );
                send(
                    reqwest::Method::POST,
                    "/workspaces",
                    format!("<workspace><name>{tag}-{i}</name></workspace>"),
                );
                if delete_victim && i == 5 {
                    assert_eq!(
                        send(
                            reqwest::Method::DELETE,
                            "/workspaces/shared/datastores/victim",
                            String::new()
                        ),
                        200
                    );
                } else if !delete_victim {
                    send(
                        reqwest::Method::PUT,
                        "/workspaces/shared/datastores/victim",
                        format!("<dataStore><description>{tag}{i}</description></dataStore>"),
                    );
                }
            }
        })
    };
    let ta = run(a.rest(), "a", true);
    let tb = run(b.rest(), "b", false);
    ta.join().unwrap();
    tb.join().unwrap();
    wait_for(
        "both primaries converge",
        &[&a, &b],
        Duration::from_secs(60),
        || heads_equal(&a, &b) && same_digest(&[&a, &b]),
    );
    files_written(&[&a, &b]);
    assert_eq!(disk_state(&da), disk_state(&db));
    // The removal was not undone by the other primary's late modifies.
    expect(a.get("/workspaces/shared/datastores/victim.json"), 404);
    expect(b.get("/workspaces/shared/datastores/victim.json"), 404);
    let da_desc =
        a.json("/workspaces/shared/datastores/s.json")["dataStore"]["description"].clone();
    assert_eq!(
        da_desc,
        b.json("/workspaces/shared/datastores/s.json")["dataStore"]["description"]
    );
    assert_eq!(
        names(&a, "/workspaces.json", "workspaces", "workspace").len(),
        51
    );
}

#[test]
fn reload_publishes_only_differences_and_a_replica_repairs_drift() {
    let c = Cluster::new("reload");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_for("connected", &[&a, &b], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == true
    });
    for i in 0..10 {
        expect(
            a.post_xml(
                "/workspaces",
                &format!("<workspace><name>r{i}</name></workspace>"),
            ),
            201,
        );
    }
    wait_for("replicated", &[&a, &b], Duration::from_secs(20), || {
        same_digest(&[&a, &b]) && b.get("/workspaces/r9.json").status() == 200
    });
    // Edit one file on the primary and reload: one batch is published, not the catalog.
    let published = status(&a)["counters"]["published"].as_u64().unwrap();
    let f = da.join("workspaces/r3/workspace.xml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replace("<isolated>false</isolated>", "<isolated>true</isolated>"),
    )
    .unwrap();
    expect(a.send("POST", "/reload", "text/plain", ""), 200);
    assert_eq!(
        status(&a)["counters"]["published"].as_u64().unwrap(),
        published + 1
    );
    wait_for(
        "reloaded change replicated",
        &[&a, &b],
        Duration::from_secs(20),
        || b.json("/workspaces/r3.json")["workspace"]["isolated"] == true && same_digest(&[&a, &b]),
    );
    // A replica whose files were edited by hand drifts; it is detected and repaired.
    files_written(&[&b]);
    let f = db.join("workspaces/r5/workspace.xml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replace("<isolated>false</isolated>", "<isolated>true</isolated>"),
    )
    .unwrap();
    expect(b.send("POST", "/reload", "text/plain", ""), 200);
    wait_for("drift repaired", &[&a, &b], Duration::from_secs(30), || {
        b.json("/workspaces/r5.json")["workspace"]["isolated"] == false && same_digest(&[&a, &b])
    });
    files_written(&[&a, &b]);
    assert_eq!(disk_state(&da), disk_state(&db));
    assert!(status(&b)["counters"]["snapshots"].as_u64().unwrap() >= 1);
}

#[test]
fn a_replica_behind_the_journal_retention_takes_a_snapshot() {
    let c = Cluster::new("retention");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let start_a = || {
        c.start_with(
            &da,
            "node-a",
            true,
            true,
            &[("MERIDIAN_CLUSTER_JOURNAL_RETENTION", "3")],
        )
    };
    let a = start_a();
    let mut b = c.start(&db, "node-b", false, false);
    expect(
        a.post_xml("/workspaces", "<workspace><name>first</name></workspace>"),
        201,
    );
    wait_for(
        "first replicated",
        &[&a, &b],
        Duration::from_secs(20),
        || b.get("/workspaces/first.json").status() == 200,
    );
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    for i in 0..20 {
        expect(
            a.post_xml(
                "/workspaces",
                &format!("<workspace><name>x{i}</name></workspace>"),
            ),
            201,
        );
    }
    let journal = std::fs::read_to_string(da.join("cluster/journal.log")).unwrap();
    assert!(
        journal.lines().count() < 10,
        "the journal was compacted: {} lines",
        journal.lines().count()
    );
    // Restart the primary, and its embedded broker with it: the replica's queued messages are
    // gone, so only the journal, compacted past it, could help: it must take a snapshot.
    let mut a = a;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let a = start_a();
    let b = c.start(&db, "node-b", false, false);
    wait_for(
        "replica restored from a snapshot",
        &[&a, &b],
        Duration::from_secs(30),
        || {
            names(&b, "/workspaces.json", "workspaces", "workspace").len() == 21
                && same_digest(&[&a, &b])
        },
    );
    assert!(status(&b)["counters"]["snapshots"].as_u64().unwrap() >= 1);
    // And it follows the stream afterwards.
    expect(
        a.post_xml("/workspaces", "<workspace><name>after</name></workspace>"),
        201,
    );
    wait_for(
        "stream followed",
        &[&a, &b],
        Duration::from_secs(20),
        || b.get("/workspaces/after.json").status() == 200,
    );
}

#[test]
fn connection_toggles_through_rest_and_big_styles_travel_by_reference() {
    let c = Cluster::new("toggle");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_for("connected", &[&a, &b], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == true
    });
    // B must know A (from its heartbeat) to catch up over HTTP while disconnected.
    wait_for("B knows A", &[&a, &b], Duration::from_secs(20), || {
        knows(&b, "node-a")
    });
    set_property(&b, "connection", "disabled");
    wait_for("disconnected", &[&b], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == false
    });
    assert!(
        std::fs::read_to_string(db.join("cluster/cluster.properties"))
            .unwrap()
            .contains("connection=disabled")
    );
    // A style body far larger than a broker message should carry.
    let padding = format!("<!-- {} -->", "x".repeat(400 * 1024));
    let sld = SLD.replace("<NamedLayer>", &format!("{padding}<NamedLayer>"));
    expect(
        a.send(
            "POST",
            "/styles?name=big",
            "application/vnd.ogc.sld+xml",
            sld.clone(),
        ),
        201,
    );
    // Off the broker, the replica still gets it from its peer over HTTP.
    wait_for(
        "synced over HTTP while off the broker",
        &[&a, &b],
        Duration::from_secs(30),
        || b.get("/styles/big.json").status() == 200,
    );
    assert_eq!(status(&b)["broker"]["connected"], false);
    set_property(&b, "connection", "enabled");
    wait_for(
        "reconnected and caught up",
        &[&a, &b],
        Duration::from_secs(30),
        || status(&b)["broker"]["connected"] == true && b.get("/styles/big.json").status() == 200,
    );
    assert_eq!(b.text("/styles/big.sld"), sld);
    // Another big one while connected goes by reference and is fetched over HTTP.
    let sld2 = sld.replace("<Name>s</Name>", "<Name>s2</Name>");
    expect(
        a.send(
            "POST",
            "/styles?name=big2",
            "application/vnd.ogc.sld+xml",
            sld2.clone(),
        ),
        201,
    );
    wait_for(
        "big style replicated",
        &[&a, &b],
        Duration::from_secs(20),
        || b.get("/styles/big2.json").status() == 200,
    );
    assert_eq!(b.text("/styles/big2.sld"), sld2);
}

/// A node with `toggleSlave=false` is sent no changes by the broker, its own included; a
/// replica switched to it at runtime stops receiving them, and switched back catches up.
#[test]
fn a_node_that_applies_no_remote_changes_receives_none_and_a_replica_switched_back_catches_up() {
    let c = Cluster::new("noslave");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start_with(&da, "node-a", true, true, &[("toggleSlave", "false")]);
    let b = c.start(&db, "node-b", false, false);
    wait_for("B connected", &[&a, &b], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == true
    });
    let create = |name: &str| {
        expect(
            a.post_xml(
                "/workspaces",
                &format!("<workspace><name>{name}</name></workspace>"),
            ),
            201,
        );
    };
    for i in 0..5 {
        create(&format!("w{i}"));
    }
    wait_for("replicated", &[&a, &b], Duration::from_secs(20), || {
        b.get("/workspaces/w4.json").status() == 200
    });
    let st = status(&a);
    assert_eq!(
        st["counters"]["ignored"], 0,
        "A was sent its own changes: {st}"
    );
    assert_eq!(st["counters"]["published"], 5, "{st}");
    assert_eq!(st["broker"]["durableSession"], false, "{st}");
    // B stops applying remote changes: it connects again, subscribed to presence only.
    set_property(&b, "toggleSlave", "false");
    wait_for(
        "B off the changes",
        &[&a, &b],
        Duration::from_secs(20),
        || {
            let st = status(&b);
            // Connected again: on a clean session now.
            st["broker"]["durableSession"] == false && st["broker"]["connected"] == true
        },
    );
    create("w5");
    // A heartbeat of A naming w5 has reached B; the change itself was not sent to it.
    let head = status(&a)["origins"]["node-a"]["applied"].as_u64().unwrap();
    wait_for(
        "A's heartbeat at B",
        &[&a, &b],
        Duration::from_secs(20),
        || peer(&b, "node-a").is_some_and(|p| p["heads"]["node-a"].as_u64() >= Some(head)),
    );
    expect(b.get("/workspaces/w5.json"), 404);
    let st = status(&b);
    assert_eq!(st["counters"]["ignored"], 0, "B was sent changes: {st}");
    // A replica again: it catches up on what it was not sent.
    set_property(&b, "toggleSlave", "true");
    wait_for("B caught up", &[&a, &b], Duration::from_secs(30), || {
        b.get("/workspaces/w5.json").status() == 200 && same_digest(&[&a, &b])
    });
    create("w6");
    wait_for(
        "B replicates again",
        &[&a, &b],
        Duration::from_secs(20),
        || b.get("/workspaces/w6.json").status() == 200,
    );
    assert_eq!(status(&b)["broker"]["durableSession"], true);
}

#[test]
fn a_change_referring_to_an_object_not_yet_received_waits_for_it() {
    let c = Cluster::new("waits");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let (_tc, dc) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, true);
    let r = c.start(&dc, "node-r", false, false);
    wait_for("connected", &[&a, &b, &r], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == true && status(&r)["broker"]["connected"] == true
    });
    // The replica stops listening; A creates a workspace, B (a second primary) a store in it.
    expect(
        r.post_xml(
            "/cluster",
            "<properties><property name=\"connection\" value=\"disabled\"/></properties>",
        ),
        201,
    );
    wait_for(
        "replica off the broker",
        &[&r],
        Duration::from_secs(20),
        || status(&r)["broker"]["connected"] == false,
    );
    expect(
        a.post_xml("/workspaces", "<workspace><name>late</name></workspace>"),
        201,
    );
    wait_for(
        "B has A's workspace",
        &[&a, &b],
        Duration::from_secs(20),
        || b.get("/workspaces/late.json").status() == 200,
    );
    for i in 0..5 {
        expect(b.post_xml("/workspaces/late/datastores", &format!("<dataStore><name>s{i}</name><connectionParameters><url>file:data/x</url></connectionParameters></dataStore>")), 201);
    }
    // Back on the broker, the replica may meet B's stores before A's workspace: they wait.
    expect(
        r.post_xml(
            "/cluster",
            "<properties><property name=\"connection\" value=\"enabled\"/></properties>",
        ),
        201,
    );
    wait_for(
        "everything arrived",
        &[&a, &b, &r],
        Duration::from_secs(40),
        || {
            r.get("/workspaces/late/datastores/s4.json").status() == 200
                && same_digest(&[&a, &b, &r])
        },
    );
    assert_eq!(
        names(
            &r,
            "/workspaces/late/datastores.json",
            "dataStores",
            "dataStore"
        )
        .len(),
        5
    );
}

#[test]
fn a_geoserver_cluster_properties_file_works_as_it_is() {
    let (_t, d) = tmpdir();
    std::fs::create_dir_all(d.join("cluster")).unwrap();
    let port = free_port();
    // Every key GeoServer writes, as kartoza's images write them, with a failover broker URL.
    std::fs::write(
        d.join("cluster/cluster.properties"),
        format!(
            "#Sun Nov 22 2026\nCLUSTER_CONFIG_DIR=/ignored\nbrokerURL=failover\\://(tcp\\://127.0.0.1\\:{port})?jms.useAsyncSend\\=true\nconnection=enabled\nconnection.maxwait=500\nconnection.retry=10\ndurable=false\nembeddedBroker=disabled\nembeddedBrokerProperties=embedded-broker.properties\ngroup=gs-group\ninstance.name=gs-node-1\nreadOnly=disabled\ntoggleMaster=true\ntoggleSlave=true\ntopicName=VirtualTopic.geoserver\nxbeanURL=./broker.xml\n"
        ),
    )
    .unwrap();
    let n = Node::start_env(d.clone(), None, &[]);
    let st = status(&n);
    assert_eq!(st["instanceName"], "gs-node-1");
    assert_eq!(st["group"], "gs-group");
    assert_eq!(st["broker"]["url"], format!("tcp://127.0.0.1:{port}"));
    assert_eq!(st["broker"]["embedded"], false);
    // No broker there: the node still serves and writes its configuration.
    expect(
        n.post_xml("/workspaces", "<workspace><name>up</name></workspace>"),
        201,
    );
    let text = std::fs::read_to_string(d.join("cluster/cluster.properties")).unwrap();
    assert!(
        text.contains("instanceName=gs-node-1") && text.contains("connection=enabled"),
        "{text}"
    );
}

#[test]
fn a_replica_off_the_broker_syncs_from_peers_and_one_cut_from_peers_from_the_broker() {
    let c = Cluster::new("partition");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let (_tc, dc) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    // node-c advertises a URL nobody can reach: peers cannot serve it catch-ups, nor it them.
    let cc = c.start_with(
        &dc,
        "node-c",
        false,
        false,
        &[("MERIDIAN_CLUSTER_NODE_URL", "http://127.0.0.1:9/geoserver")],
    );
    wait_for("connected", &[&a, &b, &cc], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == true && status(&cc)["broker"]["connected"] == true
    });
    expect(
        a.post_xml("/workspaces", "<workspace><name>p0</name></workspace>"),
        201,
    );
    wait_for(
        "everyone has p0",
        &[&a, &b, &cc],
        Duration::from_secs(20),
        || {
            b.get("/workspaces/p0.json").status() == 200
                && cc.get("/workspaces/p0.json").status() == 200
        },
    );
    // B loses the broker but still reaches its peers over HTTP (those it heard of).
    wait_for("B knows A", &[&a, &b], Duration::from_secs(20), || {
        knows(&b, "node-a")
    });
    set_property(&b, "connection", "disabled");
    wait_for("B off the broker", &[&b], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == false
    });
    for i in 1..=5 {
        expect(
            a.post_xml(
                "/workspaces",
                &format!("<workspace><name>p{i}</name></workspace>"),
            ),
            201,
        );
    }
    wait_for(
        "B synced from peers",
        &[&a, &b],
        Duration::from_secs(30),
        || b.get("/workspaces/p5.json").status() == 200 && same_digest(&[&a, &b]),
    );
    // C, which no peer can reach, got everything through the broker.
    wait_for(
        "C synced through the broker",
        &[&a, &cc],
        Duration::from_secs(30),
        || same_digest(&[&a, &cc]),
    );
    // Secrets never show.
    let props = a.text("/cluster.xml");
    assert!(props.contains("name=\"secret\" value=\"*****\""), "{props}");
}

#[test]
fn leaving_nodes_are_forgotten() {
    let c = Cluster::new("leave");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let (_tc, dc) = tmpdir();
    let a = c.start_with(
        &da,
        "node-a",
        true,
        true,
        &[("MERIDIAN_CLUSTER_PEER_EXPIRY", "6000")],
    );
    let mut b = c.start(&db, "node-b", false, false);
    let mut cc = c.start(&dc, "node-c", false, false);
    let peers = |n: &Node| -> Vec<String> {
        status(n)["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    wait_for("A sees both", &[&a], Duration::from_secs(20), || {
        peers(&a).len() == 2
    });
    // B leaves properly: stopped, then `meridian cluster leave`.
    unsafe { libc::kill(b.child.id() as libc::pid_t, libc::SIGTERM) };
    b.wait_exit(Duration::from_secs(20)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["cluster", "leave", "--data-dir", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("node-b left group"));
    // Forgotten at once (well before the expiry), while C is kept.
    wait_for("A forgot B", &[&a], Duration::from_secs(3), || {
        peers(&a) == ["node-c"]
    });
    // C just vanishes: forgotten after peer.expiry.
    cc.child.kill().unwrap();
    cc.child.wait().unwrap();
    wait_for("A forgot both", &[&a], Duration::from_secs(20), || {
        peers(&a).is_empty()
    });
}

/// A primary serving a data directory it loaded from disk has journaled nothing yet. A new,
/// empty replica must take the primary's catalog, and the primary must never "repair" itself
/// from the replica's empty one (whatever their names).
#[test]
fn a_new_replica_takes_a_catalog_the_primary_loaded_from_disk_and_never_the_reverse() {
    let c = Cluster::new("bootstrap");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    common::copy_dir(&fixture(), &da);
    // The replica's name sorts before the primary's, as in the case that went wrong.
    let a = c.start(&da, "zz-primary", true, true);
    let before = names(&a, "/layers.json", "layers", "layer");
    assert!(before.len() > 15, "{before:?}");
    let b = c.start(&db, "aa-replica", false, false);
    wait_for(
        "replica took the primary's catalog",
        &[&a, &b],
        Duration::from_secs(30),
        || names(&b, "/layers.json", "layers", "layer") == before && same_digest(&[&a, &b]),
    );
    // A few heartbeats later the primary still has everything.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(names(&a, "/layers.json", "layers", "layer"), before);
    assert_eq!(status(&a)["counters"]["snapshots"], 0);
}

#[test]
fn a_client_reads_its_own_write_on_a_replica_by_waiting_for_its_position() {
    let c = Cluster::new("wait");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_for("connected", &[&a, &b], Duration::from_secs(20), || {
        status(&b)["broker"]["connected"] == true
            && status(&b)["peers"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
    });
    for i in 0..20 {
        let r = a.post_xml(
            "/workspaces",
            &format!("<workspace><name>w{i}</name></workspace>"),
        );
        let position = r
            .headers()
            .get("x-meridian-position")
            .expect("a journaled write names its position")
            .to_str()
            .unwrap()
            .to_string();
        expect(r, 201);
        assert!(position.starts_with("node-a:"), "{position}");
        // Asked right after the primary's answer, the replica answers once it serves it.
        let waited = b.json(&format!(
            "/cluster/wait.json?position={position}&timeout=10000"
        ));
        assert_eq!(waited["reached"], true, "{waited}");
        expect(b.get(&format!("/workspaces/w{i}.json")), 200);
    }
    // Many clients waiting at once hold no thread: 600 waits for the next write (more than
    // the 512 blocking threads of the node's runtime) and the replica still serves reads;
    // then one write answers them all.
    let next = format!(
        "node-a:{}",
        status(&a)["origins"]["node-a"]["applied"].as_u64().unwrap() + 1
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let waits: Vec<_> = (0..600)
        .map(|_| {
            let req = client
                .get(b.url(&format!("/cluster/wait.json?position={next}&timeout=30000")))
                .basic_auth("admin", Some("geoserver"));
            rt.spawn(async move { req.send().await?.json::<serde_json::Value>().await })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let read_started = std::time::Instant::now();
    expect(b.get("/workspaces.json"), 200);
    assert!(
        read_started.elapsed() < Duration::from_secs(5),
        "a read waited {:?} behind the parked waits",
        read_started.elapsed()
    );
    expect(
        a.post_xml("/workspaces", "<workspace><name>many</name></workspace>"),
        201,
    );
    let answers = rt.block_on(async {
        let mut v = Vec::new();
        for w in waits {
            v.push(w.await.unwrap().unwrap());
        }
        v
    });
    assert!(
        answers.iter().all(|w| w["reached"] == true),
        "{:?}",
        answers.first()
    );
    // A position not reached: the answer says so once the timeout has passed.
    let started = std::time::Instant::now();
    let waited = b.json("/cluster/wait.json?position=node-a:1000000&timeout=200");
    assert_eq!(waited["reached"], false);
    assert!(waited["applied"].as_u64().unwrap() >= 20);
    assert!(started.elapsed() >= Duration::from_millis(200));
    // Reads and refused writes name no position; a malformed position is a 400.
    assert!(a
        .get("/workspaces.json")
        .headers()
        .get("x-meridian-position")
        .is_none());
    let refused = a.post_xml("/workspaces", "<workspace><name>w1</name></workspace>");
    assert!(refused.headers().get("x-meridian-position").is_none());
    assert!(refused.status().is_client_error());
    let body = expect(b.get("/cluster/wait.json?position=nope"), 400);
    assert!(body.contains("<origin>:<sequence>"), "{body}");
    expect(b.get("/cluster/wait.json"), 400);
    expect(
        b.get("/cluster/wait.json?position=node-a:1&timeout=soon"),
        400,
    );
}
