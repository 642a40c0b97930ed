//! Replication: changes reach every replica, in order and exactly once, through kills, lost
//! sessions and a killed primary; a client reads its own write anywhere.

use super::*;

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
    replicate_workspace("a later write replicated", &a, &b, "after");
}

#[test]
fn every_write_a_killed_primary_acknowledged_reaches_the_replica() {
    let c = Cluster::new("primarykill");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let mut a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("replica connected", &[&a, &b], &b);
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
    replicate_workspace("B has A's workspace", &a, &b, "late");
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
