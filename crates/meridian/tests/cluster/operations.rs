//! Operating a cluster: its REST endpoint, roles, metrics and status command; the connection
//! toggled; roles switched at run time; GeoServer's own properties file; nodes leaving.

use super::*;

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
    // A discovery setting the node could not start with is refused, and nothing is saved.
    let r = a.post_xml(
        "/cluster",
        "<properties><property name=\"toggleSlave\" value=\"false\"/><property name=\"multicast.group\" value=\"10.1.2.3\"/></properties>",
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("multicast.group"));
    let saved = std::fs::read_to_string(da.join("cluster/cluster.properties")).unwrap();
    assert!(
        saved.contains("multicast.group=239.255.60.60") && saved.contains("toggleSlave=true"),
        "{saved}"
    );
    expect(
        a.post_xml(
            "/cluster",
            "<properties><property name=\"discovery\" value=\"carrier-pigeon\"/></properties>",
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

#[test]
fn connection_toggles_through_rest_and_big_styles_travel_by_reference() {
    let c = Cluster::new("toggle");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("connected", &[&a, &b], &b);
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
    wait_connected("B connected", &[&a, &b], &b);
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
