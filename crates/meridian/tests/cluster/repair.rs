//! Convergence and repair: two primaries editing the same objects, reload and drift, snapshots
//! beyond the journal, syncing off the broker, a new replica bootstrapping.

use super::*;

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
    wait_connected("connected", &[&a, &b], &b);
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
    wait_connected("connected", &[&a, &b], &b);
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
    replicate_workspace("first replicated", &a, &b, "first");
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
    replicate_workspace("stream followed", &a, &b, "after");
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
