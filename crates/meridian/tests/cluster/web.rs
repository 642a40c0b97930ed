//! The web interface on a cluster: a session made on the primary holds on the replica; the
//! replica's catalog pages say it refuses changes and name the primary; a workspace made
//! through the primary's page shows on the replica's.

use super::*;

fn web_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn web_page(n: &Node, cookie: &str, path: &str) -> String {
    web_client()
        .get(format!("http://127.0.0.1:{}/geoserver/web{path}", n.port))
        .header("cookie", cookie)
        .send()
        .unwrap()
        .text()
        .unwrap()
}

#[test]
fn the_replicas_pages_name_the_primary_and_show_its_changes() {
    let c = Cluster::new("web");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("replica connected", &[&a, &b], &b);
    let r = web_client()
        .post(format!("http://127.0.0.1:{}/geoserver/web/login", a.port))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin&password=geoserver")
        .send()
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // The replica knows the primary once a heartbeat has come.
    wait_for(
        "the replica's page names the primary",
        &[&a, &b],
        Duration::from_secs(15),
        || web_page(&b, &cookie, "/workspaces").contains("node-a"),
    );
    let page = web_page(&b, &cookie, "/workspaces");
    assert!(page.contains("replica only"), "{page}");
    assert!(page.contains("<fieldset disabled>"), "{page}");
    // A workspace made through the primary's page shows on the replica's.
    let html = web_page(&a, &cookie, "/workspaces");
    assert!(
        !html.contains("read-only-note"),
        "the primary takes changes"
    );
    let token = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = web_client()
        .post(format!(
            "http://127.0.0.1:{}/geoserver/web/workspaces",
            a.port
        ))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("action=create&name=fromtheweb&_csrf={token}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    wait_for(
        "the replica lists it",
        &[&a, &b],
        Duration::from_secs(10),
        || web_page(&b, &cookie, "/workspaces").contains("fromtheweb"),
    );
    // The replica's cluster page shows the primary as a peer with its roles and how it was
    // found, the digests agreeing once both are at the same positions, the primary's origin
    // with no lag, and the batch it applied.
    wait_for(
        "the replica's live status agrees with the primary",
        &[&a, &b],
        Duration::from_secs(15),
        || {
            let s = web_page(&b, &cookie, "/cluster/status");
            s.contains("all 1 peers agree") && s.contains("agrees")
        },
    );
    let page = web_page(&b, &cookie, "/cluster");
    let table = |id: &str| {
        page.split(&format!("<table id=\"{id}\">"))
            .nth(1)
            .and_then(|t| t.split("</table>").next())
            .unwrap_or_else(|| panic!("no table {id} in {page}"))
            .to_string()
    };
    let peers = table("status-peers");
    assert!(peers.contains("node-a"), "{peers}");
    assert!(peers.contains("primary, replica"), "{peers}");
    assert!(peers.contains("heartbeat"), "{peers}");
    assert!(peers.contains(" s ago"), "{peers}");
    let origins = table("status-origins");
    assert!(origins.contains("node-a"), "{origins}");
    assert!(
        origins.contains("<td>0</td>") || origins.contains(">0<"),
        "lag 0: {origins}"
    );
    let counters = table("status-counters");
    let applied: u64 = counters
        .split("<tbody><tr>")
        .nth(1)
        .and_then(|r| r.split("<td>").nth(2))
        .and_then(|c| c.split('<').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("applied counter in {counters}"));
    assert!(applied >= 1, "{counters}");
    let node = table("status-node");
    assert!(
        node.contains("node-b") && node.contains("replica"),
        "{node}"
    );
    assert!(node.contains("Files pending"), "{node}");
}
