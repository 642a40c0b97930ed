//! Health endpoints: `/geoserver/health/live` and `/geoserver/health/ready`, anonymous.

use super::*;

/// GET a health endpoint without credentials: its status and body.
fn health(n: &Node, what: &str) -> (u16, serde_json::Value) {
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/health/{what}",
            n.port
        ))
        .send()
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(serde_json::Value::Null))
}

/// A restarted replica answers 503 until it holds what was written while it was down (here:
/// until the primary it knew is back and it has caught up), then 200; liveness answers 200
/// all along.
#[test]
fn a_restarted_node_is_ready_only_once_it_holds_what_it_missed() {
    let c = Cluster::new("ready");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("replica connected", &[&a, &b], &b);
    replicate_workspace("first write replicated", &a, &b, "first");
    wait_for("B knows A", &[&a, &b], Duration::from_secs(20), || {
        knows(&b, "node-a")
    });
    wait_for("B ready", &[&a, &b], Duration::from_secs(20), || {
        health(&b, "ready").0 == 200
    });
    assert_eq!(health(&a, "ready").0, 200);
    // B goes down; A takes 30 writes; then A goes down too.
    drop(b);
    for i in 0..30 {
        expect(
            a.post_xml(
                "/workspaces",
                &format!("<workspace><name>missed{i}</name></workspace>"),
            ),
            201,
        );
    }
    drop(a);
    // B comes back alone: it knew A, has not heard from it, and is behind.
    let b = c.start_with(
        &db,
        "node-b",
        false,
        false,
        &[("MERIDIAN_CLUSTER_READY_WAIT", "600000")],
    );
    let (s, body) = health(&b, "ready");
    assert_eq!(s, 503, "{body}");
    assert!(
        body["reasons"].as_array().unwrap().iter().any(|r| r
            .as_str()
            .unwrap()
            .contains("not heard yet from the peer node-a")),
        "{body}"
    );
    assert_eq!(health(&b, "live").0, 200);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(health(&b, "ready").0, 503, "ready with its primary away");
    // A is back: B catches up, and is ready only with every missed write.
    let a = c.start(&da, "node-a", true, true);
    wait_for("B ready again", &[&a, &b], Duration::from_secs(30), || {
        let (s, _) = health(&b, "ready");
        if s == 200 {
            // Whenever it says ready, it holds what it missed.
            assert_eq!(
                names(&b, "/workspaces.json", "workspaces", "workspace").len(),
                31,
                "ready before holding every missed write"
            );
        }
        s == 200
    });
}
