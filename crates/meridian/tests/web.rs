//! The admin web interface over HTTP: login against the REST users (throttled like REST), a
//! signed session that any node of the same cluster accepts and no other, forms refused
//! without their token, and changes made through the pages landing in the catalog exactly as
//! REST writes do.
#![allow(clippy::unwrap_used)]

use meridian_testkit::node::Node;
use reqwest::blocking::{Client, Response};

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn web(n: &Node, path: &str) -> String {
    format!("{}/web{path}", n.base())
}

/// Log in; the session cookie (`name=value`).
fn login(n: &Node, user: &str, password: &str) -> Response {
    client()
        .post(web(n, "/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username={user}&password={password}&next=/geoserver/web/workspaces"
        ))
        .send()
        .unwrap()
}

fn cookie(r: &Response) -> String {
    let c = r.headers()["set-cookie"].to_str().unwrap();
    c.split(';').next().unwrap().to_string()
}

fn page(n: &Node, cookie: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(web(n, path))
        .header("cookie", cookie)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn csrf(html: &str) -> String {
    html.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string()
}

fn post(n: &Node, cookie: &str, path: &str, form: &[(&str, &str)]) -> Response {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    client()
        .post(web(n, path))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .unwrap()
}

#[test]
fn login_sessions_and_forms_follow_the_rest_rules() {
    let n = Node::with_fixture();
    // Not signed in: every page sends to the login form, which says where to come back.
    let r = client().get(web(&n, "/workspaces")).send().unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/geoserver/web/login?next="));
    let r = login(&n, "admin", "wrong");
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("Wrong user name or password"));
    let r = login(&n, "admin", "geoserver");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/geoserver/web/workspaces");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let c = cookie(&r);
    // A login never sends the browser to another site.
    let r = client()
        .post(web(&n, "/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin&password=geoserver&next=//evil.example/x")
        .send()
        .unwrap();
    assert_eq!(r.headers()["location"], "/geoserver/web/status");
    // Pages.
    let (status, html) = page(&n, &c, "/status");
    assert_eq!(status, 200);
    assert!(
        html.contains("Data directory") && html.contains("FeatureType"),
        "{html}"
    );
    let (status, html) = page(&n, &c, "/workspaces");
    assert_eq!(status, 200);
    assert!(html.contains("topp") && html.contains("Make default"));
    let token = csrf(&html);
    // A form without its token (or another session's) is refused, and changes nothing.
    let r = post(
        &n,
        &c,
        "/workspaces",
        &[("action", "create"), ("name", "webws")],
    );
    assert_eq!(r.status(), 403);
    let r = post(
        &n,
        &c,
        "/workspaces",
        &[
            ("action", "create"),
            ("name", "webws"),
            ("_csrf", "0badc0de"),
        ],
    );
    assert_eq!(r.status(), 403);
    assert_eq!(n.get("/workspaces/webws.json").status(), 404);
    // With it, the workspace is made through REST's path, with its namespace URI.
    let r = post(
        &n,
        &c,
        "/workspaces",
        &[
            ("action", "create"),
            ("name", "webws"),
            ("uri", "http://example.com/webws"),
            ("_csrf", &token),
        ],
    );
    assert_eq!(r.status(), 303, "{}", r.text().unwrap());
    assert_eq!(n.get("/workspaces/webws.json").status(), 200);
    let ns = n.json("/namespaces/webws.json");
    assert_eq!(ns["namespace"]["uri"], "http://example.com/webws");
    // A mistake is shown next to the field, with what REST said.
    let r = post(
        &n,
        &c,
        "/workspaces",
        &[("action", "create"), ("name", "webws"), ("_csrf", &token)],
    );
    assert!(r.status().is_client_error());
    let html = r.text().unwrap();
    assert!(html.contains("id=\"name-error\""), "{html}");
    // "Test connection" opens a store through the same sources as the services, and says
    // why one does not open.
    let r = post(
        &n,
        &c,
        "/stores",
        &[
            ("_csrf", &token),
            ("test", "1"),
            ("workspace", "webws"),
            ("name", "x"),
            ("kind", "shapefile"),
            ("shapefile_url", "file:data/nowhere/roads.shp"),
        ],
    );
    let html = r.text().unwrap();
    assert!(html.contains("Cannot connect"), "{html}");
    assert_eq!(n.get("/workspaces/webws/datastores/x.json").status(), 404);
    // A store name already taken is refused under the name field, with the form kept.
    let r = post(
        &n,
        &c,
        "/stores",
        &[
            ("_csrf", &token),
            ("save", "1"),
            ("workspace", "sf"),
            ("name", "sf"),
            ("kind", "shapefile"),
            ("shapefile_url", "file:data/sf/roads.shp"),
        ],
    );
    assert_eq!(r.status(), 409);
    let html = r.text().unwrap();
    assert!(html.contains(r#"id="name-error""#), "{html}");
    assert!(!html.contains(r#"id="store-error""#), "{html}");
    assert!(html.contains(r#"value="file:data/sf/roads.shp""#), "{html}");
    // The default, then the delete page lists what a recursive delete removes.
    let r = post(
        &n,
        &c,
        "/workspaces",
        &[("action", "default"), ("name", "webws"), ("_csrf", &token)],
    );
    assert_eq!(r.status(), 303);
    assert_eq!(
        n.json("/workspaces/default.json")["workspace"]["name"],
        "webws"
    );
    let (_, html) = page(&n, &c, "/workspaces/sf/delete");
    assert!(
        html.contains("sf") && html.contains("Stores") && html.contains("archsites"),
        "{html}"
    );
    let r = post(&n, &c, "/workspaces/topp/delete", &[("_csrf", &token)]);
    assert_eq!(r.status(), 303);
    assert_eq!(n.get("/workspaces/topp.json").status(), 404);
    // Logging out needs the token too; afterwards the old cookie still verifies (sessions
    // are stateless) but the browser no longer holds it.
    let r = post(&n, &c, "/logout", &[("_csrf", &token)]);
    assert_eq!(r.status(), 303);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

#[test]
fn the_cluster_page_saves_through_the_rest_path() {
    let n = Node::with_fixture();
    let c = cookie(&login(&n, "admin", "geoserver"));
    let (status, html) = page(&n, &c, "/cluster");
    assert_eq!(status, 200);
    for text in [
        "Broker URL",
        "Instance name",
        "Topic",
        "Read-only",
        "Live status",
    ] {
        assert!(html.contains(text), "{text}");
    }
    let token = csrf(&html);
    // Read-only on (every other toggle as it was): REST writes are then refused.
    let r = post(
        &n,
        &c,
        "/cluster",
        &[
            ("_csrf", &token),
            ("brokerURL", ""),
            ("topicName", "VirtualTopic.geoserver"),
            ("toggleMaster", "true"),
            ("toggleSlave", "true"),
            ("connection", "enabled"),
            ("embeddedBroker", "enabled"),
            ("readOnly", "enabled"),
        ],
    );
    assert_eq!(r.status(), 303, "{}", r.text().unwrap());
    let props = n.get("/cluster.xml").text().unwrap();
    assert!(
        props.contains(r#"name="readOnly" value="enabled""#),
        "{props}"
    );
    let r = n.send(
        "POST",
        "/workspaces",
        "application/xml",
        b"<workspace><name>nope</name></workspace>".to_vec(),
    );
    assert!(r.status().is_client_error() || r.status().is_server_error());
    let (_, html) = page(&n, &c, "/cluster");
    assert!(
        html.contains(r#"id="readOnly" name="readOnly" value="enabled" checked"#),
        "{html}"
    );
    // A value the node cannot take is shown, and nothing is saved.
    let r = post(
        &n,
        &c,
        "/cluster",
        &[
            ("_csrf", &token),
            ("connection", "enabled"),
            ("brokerURL", "tcp://[::1"),
        ],
    );
    assert!(r.status().is_client_error(), "{}", r.status());
    // The refusal is shown under the field that caused it, with what was typed kept.
    let html = r.text().unwrap();
    let field = html
        .split(r#"id="brokerURL""#)
        .nth(1)
        .and_then(|s| s.split("<label").next())
        .unwrap_or_else(|| panic!("{html}"));
    assert!(field.contains(r#"value="tcp://[::1""#), "{field}");
    assert!(field.contains(r#"aria-invalid="true""#), "{field}");
    assert!(field.contains(r#"id="brokerURL-error""#), "{field}");
    assert!(!html.contains(r#"id="cluster-error""#), "{html}");
    let props = n.get("/cluster.xml").text().unwrap();
    assert!(!props.contains("[::1"), "{props}");
}

#[test]
fn a_session_holds_on_every_node_of_the_cluster_and_no_other() {
    let secret = "web-test-shared-secret-0123456789";
    let start = |secret: &str| {
        Node::builder()
            .fixture()
            .env("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0")
            .env("MERIDIAN_CLUSTER_SECRET", secret)
            .start()
    };
    let (a, b, other) = (
        start(secret),
        start(secret),
        start("another-secret-entirely-000000"),
    );
    let c = cookie(&login(&a, "admin", "geoserver"));
    assert_eq!(page(&a, &c, "/status").0, 200);
    assert_eq!(page(&b, &c, "/status").0, 200, "the same cluster's node");
    assert_eq!(page(&other, &c, "/status").0, 303, "another cluster's node");
    // The form token is the session's, so it holds on the other node too.
    let (_, html) = page(&a, &c, "/workspaces");
    let r = post(
        &b,
        &c,
        "/workspaces",
        &[
            ("action", "create"),
            ("name", "fromb"),
            ("_csrf", &csrf(&html)),
        ],
    );
    assert_eq!(r.status(), 303);
    assert_eq!(b.get("/workspaces/fromb.json").status(), 200);
}

/// A layer filter that does not read as CQL is refused when it is given (REST, and so the
/// pages), and the feature type keeps the filter it had.
#[test]
fn a_layer_filter_that_does_not_read_is_refused() {
    let n = Node::with_fixture();
    let path = "/workspaces/sf/datastores/sf/featuretypes/bugsites";
    let r = n.send(
        "PUT",
        path,
        "application/xml",
        b"<featureType><cqlFilter>cat = = 1</cqlFilter></featureType>".to_vec(),
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("cqlFilter"));
    let r = n.send(
        "PUT",
        path,
        "application/xml",
        b"<featureType><cqlFilter>cat = 1</cqlFilter></featureType>".to_vec(),
    );
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    assert_eq!(
        n.json(&format!("{path}.json"))["featureType"]["cqlFilter"],
        "cat = 1"
    );
}

#[test]
fn bounding_boxes_and_namespace_uris_that_do_not_read_are_refused() {
    let n = Node::with_fixture();
    let path = "/workspaces/sf/datastores/sf/featuretypes/bugsites";
    for (body, words) in [
        (
            "<featureType><nativeBoundingBox><minx>a</minx><maxx>1</maxx><miny>0</miny><maxy>1</maxy></nativeBoundingBox></featureType>",
            "nativeBoundingBox minx 'a' is not a number",
        ),
        (
            "<featureType><latLonBoundingBox><minx>0</minx></latLonBoundingBox></featureType>",
            "maxx is missing",
        ),
    ] {
        let r = n.send("PUT", path, "application/xml", body.as_bytes().to_vec());
        assert_eq!(r.status(), 400, "{body}");
        let text = r.text().unwrap();
        assert!(text.contains(words), "{text}");
    }
    let bbox = n.json(&format!("{path}.json"))["featureType"]["nativeBoundingBox"]["minx"].clone();
    assert!(bbox.is_number(), "the box is unchanged: {bbox}");
    let r = n.send(
        "PUT",
        "/namespaces/sf",
        "application/xml",
        b"<namespace><uri>not a uri</uri></namespace>".to_vec(),
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("not a valid URI"));
    assert_eq!(
        n.json("/namespaces/sf.json")["namespace"]["uri"],
        "http://www.openplans.org/spearfish"
    );
}

#[test]
fn a_trusted_proxy_signs_its_user_in_to_the_pages() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&meridian_testkit::fixture_datadir(), &dir).unwrap();
    let n = Node::start_env(
        dir,
        Some(tmp),
        &[
            ("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0"),
            ("MERIDIAN_AUTH_PROXY_HEADER", "X-Remote-User"),
        ],
    );
    let as_proxy = |path: &str, user: &str| {
        client()
            .get(web(&n, path))
            .header("x-remote-user", user)
            .send()
            .unwrap()
    };
    // No login form: the proxy's user is signed in.
    let r = as_proxy("/workspaces", "admin");
    assert_eq!(r.status(), 200);
    let html = r.text().unwrap();
    assert!(html.contains("admin"), "{html}");
    // Its forms work with the token the page gave, for that user.
    let token = csrf(&html);
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("action", "create"),
            ("name", "proxied"),
            ("uri", "http://example.com/proxied"),
            ("_csrf", token.as_str()),
        ])
        .finish();
    let post_as = |user: &str, body: String| {
        client()
            .post(web(&n, "/workspaces"))
            .header("x-remote-user", user)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap()
    };
    let r = post_as("admin", body.clone());
    assert_eq!(r.status(), 303, "{}", r.text().unwrap());
    assert_eq!(n.get("/workspaces/proxied.json").status(), 200);
    // Another user's token does not pass for it.
    let r = n.post_xml(
        "/security/usergroup/users",
        "<user><userName>eve</userName><password>e</password><enabled>true</enabled></user>",
    );
    assert_eq!(r.status(), 201);
    let r = post_as("eve", body.replace("proxied", "other"));
    assert_eq!(r.status(), 403);
    // A name the user files do not hold gets the login form.
    let r = post_as("someone-else", body.replace("proxied", "other"));
    assert_eq!(r.status(), 303);
    // Without the header: the login form. A client cannot name the user through the
    // internal header either.
    let r = client().get(web(&n, "/workspaces")).send().unwrap();
    assert_eq!(r.status(), 303);
    let r = client()
        .get(web(&n, "/workspaces"))
        .header("x-meridian-web-proxy-user", "admin")
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[test]
fn the_proxy_header_from_another_address_signs_no_one_in() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&meridian_testkit::fixture_datadir(), &dir).unwrap();
    let n = Node::start_env(
        dir,
        Some(tmp),
        &[
            ("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0"),
            ("MERIDIAN_AUTH_PROXY_HEADER", "X-Remote-User"),
            ("MERIDIAN_AUTH_PROXY_FROM", "192.0.2.7"),
        ],
    );
    let r = client()
        .get(web(&n, "/workspaces"))
        .header("x-remote-user", "admin")
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
}
