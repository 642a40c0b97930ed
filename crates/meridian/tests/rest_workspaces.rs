//! Workspaces, namespaces, security and general REST behaviour, against a real node.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, Node};

#[test]
fn authentication_and_authorisation() {
    let n = Node::empty();
    let r = n.anon().get(n.url("/workspaces")).send().unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Basic realm=\"GeoServer Realm\""
    );
    let r = n
        .anon()
        .get(n.url("/workspaces"))
        .basic_auth("admin", Some("wrong"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // A user without the admin role is authenticated but forbidden.
    let users = n.dir.join("security/usergroup/default/users.xml");
    let text = std::fs::read_to_string(&users).unwrap();
    std::fs::write(
        &users,
        text.replace(
            "</users>",
            "<user enabled=\"true\" name=\"bob\" password=\"plain:pw\"/></users>",
        ),
    )
    .unwrap();
    expect(n.send("POST", "/reload", "text/plain", ""), 200);
    let r = n
        .anon()
        .get(n.url("/workspaces"))
        .basic_auth("bob", Some("pw"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(!n
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("geoserver") && l.contains("password")));
}

#[test]
fn workspace_lifecycle_in_xml_and_json() {
    let n = Node::empty();
    let r = n.post_xml("/workspaces", "<workspace><name>acme</name></workspace>");
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"],
        format!("{}/workspaces/acme", n.rest())
    );
    assert_eq!(r.text().unwrap(), "acme");
    // Duplicate: 409.
    let body = expect(
        n.post_xml("/workspaces", "<workspace><name>acme</name></workspace>"),
        409,
    );
    assert!(body.contains("already exists"));
    // JSON create, default flag.
    expect(
        n.post_json(
            "/workspaces?default=true",
            r#"{"workspace":{"name":"beta"}}"#,
        ),
        201,
    );
    // JSON is the default representation, lists are arrays even with one element.
    let list: serde_json::Value = n.get("/workspaces").json().unwrap();
    let names: Vec<&str> = list["workspaces"]["workspace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme", "beta"]);
    assert_eq!(
        list["workspaces"]["workspace"][0]["href"],
        format!("{}/workspaces/acme.json", n.rest())
    );
    let ws = n.json("/workspaces/default.json");
    assert_eq!(ws["workspace"]["name"], "beta");
    assert_eq!(
        ws["workspace"]["dataStores"],
        format!("{}/workspaces/beta/datastores.json", n.rest())
    );
    let xml = n.text("/workspaces/acme.xml");
    assert!(
        xml.contains("<name>acme</name>") && xml.contains("atom:link"),
        "{xml}"
    );
    let r = n.get_accept("/workspaces/acme", "application/xml");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("xml"));
    // Trailing slash works; namespace was created with it.
    assert_eq!(n.json("/workspaces/acme/")["workspace"]["name"], "acme");
    assert_eq!(
        n.json("/namespaces/acme.json")["namespace"]["uri"],
        "http://acme"
    );
    // Set the default with PUT /workspaces/default.
    expect(
        n.put_xml(
            "/workspaces/default",
            "<workspace><name>acme</name></workspace>",
        ),
        200,
    );
    assert_eq!(
        n.json("/workspaces/default.json")["workspace"]["name"],
        "acme"
    );
    // Rename: the namespace follows, and the directory moves.
    expect(
        n.put_xml(
            "/workspaces/beta",
            "<workspace><name>gamma</name></workspace>",
        ),
        200,
    );
    assert_eq!(n.get("/workspaces/beta").status(), 404);
    assert_eq!(
        n.json("/namespaces/gamma.json")["namespace"]["prefix"],
        "gamma"
    );
    assert!(n.dir.join("workspaces/gamma/workspace.xml").is_file());
    assert!(!n.dir.join("workspaces/beta").exists());
    // Delete.
    expect(n.delete("/workspaces/gamma"), 200);
    assert_eq!(n.get("/workspaces/gamma.json").status(), 404);
    assert!(!n.dir.join("workspaces/gamma").exists());
}

#[test]
fn missing_objects_and_bad_input_get_clear_errors() {
    let n = Node::empty();
    let body = expect(n.get("/workspaces/nope.json"), 404);
    assert!(body.contains("nope"), "{body}");
    let body = expect(n.get("/workspaces/nope.json?quietOnNotFound=true"), 404);
    assert!(body.is_empty());
    let body = expect(n.post_xml("/workspaces", "<workspace><name>a</nam"), 400);
    assert!(body.contains("malformed XML"), "{body}");
    let body = expect(n.post_json("/workspaces", "{\"workspace\": "), 400);
    assert!(body.contains("JSON"), "{body}");
    let body = expect(
        n.post_xml("/workspaces", "<workspace><name>../etc</name></workspace>"),
        400,
    );
    assert!(
        body.contains("not allowed") || body.contains("dot"),
        "{body}"
    );
    expect(
        n.post_xml("/workspaces", "<workspace><name>a/b</name></workspace>"),
        400,
    );
    expect(
        n.post_xml("/workspaces", "<dataStore><name>x</name></dataStore>"),
        400,
    );
    expect(n.post_xml("/workspaces", ""), 400);
    expect(
        n.post_xml("/workspaces", "<workspace><name>default</name></workspace>"),
        400,
    );
    expect(n.get("/reload"), 405);
    expect(n.send("DELETE", "/workspaces", "text/xml", ""), 405);
    expect(n.get("/no/such/thing"), 404);
    // Nothing was half-created.
    let list = n.json("/workspaces.json");
    assert_eq!(list["workspaces"], "");
}

#[test]
fn gsconfig_creates_workspaces_through_namespaces() {
    let n = Node::empty();
    let r = n.send(
        "POST",
        "/namespaces/",
        "application/xml",
        "<namespace><prefix>gs</prefix><uri>http://example.com/gs</uri></namespace>",
    );
    assert_eq!(expect(r, 201), "gs");
    assert_eq!(n.json("/workspaces/gs.json")["workspace"]["name"], "gs");
    assert_eq!(
        n.json("/namespaces/gs.json")["namespace"]["uri"],
        "http://example.com/gs"
    );
    expect(
        n.put_xml(
            "/namespaces/gs",
            "<namespace><uri>http://example.com/other</uri></namespace>",
        ),
        200,
    );
    assert_eq!(
        n.json("/namespaces/gs.json")["namespace"]["uri"],
        "http://example.com/other"
    );
    let list = n.json("/namespaces.json");
    assert_eq!(list["namespaces"]["namespace"][0]["name"], "gs");
}

#[test]
fn about_version_reports_a_geoserver_version() {
    let n = Node::empty();
    let xml = n.text("/about/version.xml");
    assert!(
        xml.contains("<resource name=\"GeoServer\">") && xml.contains("<Version>2.27.0</Version>"),
        "{xml}"
    );
    let j = n.json("/about/version.json");
    assert_eq!(j["about"]["resource"][0]["@name"], "GeoServer");
    assert_eq!(j["about"]["resource"][0]["Version"], "2.27.0");
}

#[test]
fn sigterm_stops_the_node_gracefully() {
    let mut n = Node::empty();
    let pid = n.child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = n
        .wait_exit(std::time::Duration::from_secs(20))
        .expect("node did not stop on SIGTERM");
    assert!(status.success(), "{status:?}");
}

/// A namespace's new URI reaches the `namespace` parameter of its workspace's data stores that
/// named the old one (GeoServer keeps them consistent); other stores are left alone.
#[test]
fn a_new_namespace_uri_reaches_the_workspaces_stores() {
    let n = Node::with_fixture();
    let before = n.json("/workspaces/sf/datastores/sf.json");
    let old = before["dataStore"]["connectionParameters"]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["@key"] == "namespace")
        .map(|e| e["$"].clone());
    assert!(old.is_some(), "{before}");
    let r = n.send(
        "PUT",
        "/namespaces/sf",
        "application/xml",
        b"<namespace><uri>http://example.com/sf2</uri></namespace>".to_vec(),
    );
    assert!(r.status().is_success());
    let after = n.json("/workspaces/sf/datastores/sf.json");
    let now = after["dataStore"]["connectionParameters"]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["@key"] == "namespace")
        .map(|e| e["$"].clone())
        .unwrap();
    assert_eq!(now, "http://example.com/sf2");
    let topp = n.json("/workspaces/topp/datastores/states_shapefile.json");
    assert!(!topp.to_string().contains("example.com/sf2"));
}
