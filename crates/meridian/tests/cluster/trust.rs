//! Trust: what is forged, malformed or of another group is refused, and replication goes on.

use super::*;

#[test]
fn forged_malformed_and_foreign_messages_are_rejected_and_replication_goes_on() {
    let c = Cluster::new("wire");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("replica connected", &[&a, &b], &b);
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
        broker: None,
        started: 0,
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
    replicate_workspace("replication continues", &a, &b, "after");
    assert_eq!(status(&b)["authenticated"], true);
    // The intruders' logins were counted on the broker's node.
    assert!(status(&a)["rejected"]["broker_login"].as_u64().unwrap() >= 2);
}
