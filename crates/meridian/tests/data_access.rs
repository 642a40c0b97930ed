//! Layer and service access rules (`layers.properties`, `services.properties`) on WFS, OGC API
//! Features and WMS, against a real node: what anonymous callers, users with and without the
//! role, and the administrator see, in each catalog mode.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, Node};
use std::path::Path;

/// A node on a copy of the fixture with users `reader` (role `ROLE_STATES`) and `other` (no
/// role), and `rules` as `layers.properties`.
fn node_with_rules(rules: &str) -> (Node, std::path::PathBuf) {
    node_with_rules_env(rules, &[])
}

/// [`node_with_rules`] with more environment.
fn node_with_rules_env(rules: &str, env: &[(&str, &str)]) -> (Node, std::path::PathBuf) {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    common::add_user(&dir, "reader", "reader", &["ROLE_STATES"]);
    common::add_user(&dir, "other", "other", &[]);
    let sec = dir.join("security");
    std::fs::write(sec.join("layers.properties"), rules).unwrap();
    let env: Vec<(&str, &str)> = [("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0")]
        .into_iter()
        .chain(env.iter().copied())
        .collect();
    (Node::start_env(dir.clone(), Some(tmp), &env), dir)
}

/// GET a path under /geoserver as `who` (None: anonymous): status and body.
fn get(n: &Node, path: &str, who: Option<(&str, &str)>) -> (u16, String) {
    let mut r = n
        .anon()
        .get(format!("http://127.0.0.1:{}/geoserver{path}", n.port));
    if let Some((u, p)) = who {
        r = r.basic_auth(u, Some(p));
    }
    let r = r.send().unwrap();
    let status = r.status().as_u16();
    let challenge = r.headers().contains_key("www-authenticate");
    let body = r.text().unwrap();
    if status == 401 {
        assert!(challenge, "a 401 without a challenge: {path}");
    }
    (status, body)
}

const READER: Option<(&str, &str)> = Some(("reader", "reader"));
const OTHER: Option<(&str, &str)> = Some(("other", "other"));
const ADMIN: Option<(&str, &str)> = Some(("admin", "geoserver"));

const WFS_CAPS: &str = "/wfs?service=WFS&version=2.0.0&request=GetCapabilities";
const WFS_STATES: &str =
    "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&count=1";
const OAPIF_LIST: &str = "/ogc/features/v1/collections";
const OAPIF_STATES: &str = "/ogc/features/v1/collections/topp:states/items?limit=1";
const WMS_CAPS: &str = "/wms?service=WMS&version=1.3.0&request=GetCapabilities";
const WMS_STATES: &str = "/wms?service=WMS&version=1.1.1&request=GetMap&layers=topp:states&styles=&srs=EPSG:4326&bbox=-125,24,-66,50&width=100&height=50&format=image/png";

#[test]
fn hidden_layers_are_unknown_to_callers_without_the_role() {
    let (n, _) =
        node_with_rules("*.*.r=*\n*.*.w=ADMIN,GROUP_ADMIN\ntopp.states.r=ROLE_STATES\nmode=HIDE\n");
    // Anonymous and a user without the role: not listed, unknown by name.
    for who in [None, OTHER] {
        let (s, caps) = get(&n, WFS_CAPS, who);
        assert_eq!(s, 200);
        assert!(!caps.contains("topp:states") && caps.contains("topp:tasmania_roads"));
        let (s, body) = get(&n, WFS_STATES, who);
        assert_eq!(s, 400, "{body}");
        assert!(body.contains("unknown"), "{body}");
        let (_, list) = get(&n, OAPIF_LIST, who);
        assert!(!list.contains("topp:states") && list.contains("topp:tasmania_roads"));
        assert_eq!(get(&n, OAPIF_STATES, who).0, 404);
        let (_, caps) = get(&n, WMS_CAPS, who);
        assert!(!caps.contains("<Name>topp:states</Name>"));
        let (s, body) = get(&n, WMS_STATES, who);
        assert_eq!(s, 400);
        assert!(body.contains("LayerNotDefined"), "{body}");
    }
    // The reader and the administrator see and read it.
    for who in [READER, ADMIN] {
        assert!(get(&n, WFS_CAPS, who).1.contains("topp:states"));
        let (s, body) = get(&n, WFS_STATES, who);
        assert_eq!(s, 200, "{body}");
        assert!(body.contains("topp:states"));
        assert!(get(&n, OAPIF_LIST, who).1.contains("topp:states"));
        assert_eq!(get(&n, OAPIF_STATES, who).0, 200);
        assert!(get(&n, WMS_CAPS, who)
            .1
            .contains("<Name>topp:states</Name>"));
        assert_eq!(get(&n, WMS_STATES, who).0, 200);
    }
    // WFS 1.x capabilities mark what a caller may read but not write as query-only (QGIS
    // opens such layers read-only); the administrator's are editable.
    let caps11 = "/wfs?service=WFS&version=1.1.0&request=GetCapabilities";
    let only_query = "<Operations><Operation>Query</Operation></Operations><OutputFormats>";
    assert!(get(&n, caps11, None).1.contains(only_query));
    assert!(!get(&n, caps11, ADMIN).1.contains(only_query));
    let caps10 = "/wfs?service=WFS&version=1.0.0&request=GetCapabilities";
    assert!(get(&n, caps10, None)
        .1
        .contains("</SRS><Operations><Query/></Operations>"));
    assert!(!get(&n, caps10, ADMIN)
        .1
        .contains("</SRS><Operations><Query/></Operations>"));
    // A wrong password is refused, never taken as anonymous.
    assert_eq!(get(&n, WFS_CAPS, Some(("reader", "wrong"))).0, 401);
}

#[test]
fn challenge_mode_lists_layers_and_asks_for_a_login() {
    let (n, dir) = node_with_rules("*.*.r=*\ntopp.states.r=ROLE_STATES\nmode=CHALLENGE\n");
    assert!(get(&n, WFS_CAPS, None).1.contains("topp:states"));
    assert_eq!(get(&n, WFS_STATES, None).0, 401);
    assert_eq!(get(&n, WFS_STATES, OTHER).0, 403);
    assert_eq!(get(&n, WFS_STATES, READER).0, 200);
    assert_eq!(get(&n, OAPIF_STATES, None).0, 401);
    assert_eq!(get(&n, OAPIF_STATES, OTHER).0, 403);
    assert_eq!(get(&n, WMS_STATES, None).0, 401);
    assert_eq!(get(&n, WMS_STATES, READER).0, 200);
    // MIXED: not listed, but asked for by name, a login.
    rewrite(
        &n,
        &dir,
        "layers.properties",
        "topp.states.r=ROLE_STATES\nmode=MIXED\n",
    );
    assert!(!get(&n, WFS_CAPS, None).1.contains("topp:states"));
    assert_eq!(get(&n, WFS_STATES, None).0, 401);
    assert_eq!(get(&n, WFS_STATES, READER).0, 200);
}

#[test]
fn service_rules_guard_operations() {
    let (n, dir) = node_with_rules("*.*.r=*\n");
    rewrite(
        &n,
        &dir,
        "services.properties",
        "wfs.GetFeature=ROLE_STATES\nwms.*=ROLE_STATES\n",
    );
    assert_eq!(get(&n, WFS_CAPS, None).0, 200);
    assert_eq!(get(&n, WFS_STATES, None).0, 401);
    assert_eq!(get(&n, WFS_STATES, OTHER).0, 403);
    assert_eq!(get(&n, WFS_STATES, READER).0, 200);
    assert_eq!(get(&n, WMS_CAPS, None).0, 401);
    assert_eq!(get(&n, WMS_STATES, READER).0, 200);
    // Aliases of an operation are the operation.
    let map_alias = WMS_STATES.replace("request=GetMap", "request=map");
    assert_eq!(get(&n, &map_alias, None).0, 401);
    // OGC API Features is not WFS: its items stay open, under rules of their own.
    assert_eq!(get(&n, OAPIF_STATES, None).0, 200);
    rewrite(
        &n,
        &dir,
        "services.properties",
        "features.items=ROLE_STATES\n",
    );
    assert_eq!(get(&n, OAPIF_STATES, None).0, 401);
    assert_eq!(get(&n, OAPIF_STATES, READER).0, 200);
    assert_eq!(get(&n, OAPIF_LIST, None).0, 200);
}

/// Replace a security file and have the node read its directory again.
fn rewrite(n: &Node, dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join("security").join(file), text).unwrap();
    expect(n.post_xml("/reload", ""), 200);
}

#[test]
fn security_made_over_rest_survives_a_kill_in_geoservers_files() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    let n = Node::start(dir.clone(), None);
    expect(
        n.post_xml(
            "/security/usergroup/users",
            "<user><userName>dora</userName><password>d0ra</password><enabled>true</enabled></user>",
        ),
        201,
    );
    expect(
        n.send("POST", "/security/roles/role/ROLE_D", "text/xml", ""),
        201,
    );
    expect(
        n.send(
            "POST",
            "/security/roles/role/ROLE_D/user/dora",
            "text/xml",
            "",
        ),
        200,
    );
    expect(
        n.send(
            "POST",
            "/security/acl/layers",
            "application/json",
            r#"{"topp.states.r": "ROLE_D"}"#,
        ),
        200,
    );
    drop(n); // killed (SIGKILL): the journal has what the files may not
    let n = Node::start(dir.clone(), Some(tmp));
    assert_eq!(get(&n, WFS_STATES, Some(("dora", "d0ra"))).0, 200);
    assert_eq!(get(&n, WFS_STATES, None).0, 400);
    // The files are GeoServer's, laid out as GeoServer lays them out.
    let sec = dir.join("security");
    let users = meridian_xml::parse(
        &std::fs::read_to_string(sec.join("usergroup/default/users.xml")).unwrap(),
    )
    .unwrap();
    assert_eq!(users.name.as_str(), "userRegistry");
    let dora = users
        .get("users")
        .unwrap()
        .all("user")
        .find(|u| u.attr_value("name") == Some("dora"))
        .unwrap();
    assert!(dora.attr_value("password").unwrap().starts_with("digest1:"));
    let roles =
        meridian_xml::parse(&std::fs::read_to_string(sec.join("role/default/roles.xml")).unwrap())
            .unwrap();
    assert_eq!(roles.name.as_str(), "roleRegistry");
    let held = roles
        .get("userList")
        .unwrap()
        .all("userRoles")
        .find(|u| u.attr_value("username") == Some("dora"))
        .unwrap();
    assert_eq!(
        held.all("roleRef")
            .next()
            .and_then(|r| r.attr_value("roleID")),
        Some("ROLE_D")
    );
    let layers = std::fs::read_to_string(sec.join("layers.properties")).unwrap();
    assert!(
        layers.contains("topp.states.r=ROLE_D") && layers.contains("mode=HIDE"),
        "{layers}"
    );
}

#[test]
fn authentication_keys_stand_for_their_user_on_the_ogc_services() {
    let (n, dir) = node_with_rules("*.*.r=*\ntopp.states.r=ROLE_STATES\n");
    // A key in authkeys.properties, and one as a user's UUID property; both given to
    // ROLE_STATES holders.
    let sec = dir.join("security/usergroup/default");
    std::fs::write(sec.join("authkeys.properties"), "k-reader-1=reader\n").unwrap();
    let users = std::fs::read_to_string(sec.join("users.xml")).unwrap();
    std::fs::write(
        sec.join("users.xml"),
        users.replace(
            "<user enabled=\"true\" name=\"other\" password=\"plain:other\"/>",
            "<user enabled=\"true\" name=\"other\" password=\"plain:other\"><property name=\"UUID\">k-other-2</property></user>",
        ),
    )
    .unwrap();
    expect(n.post_xml("/reload", ""), 200);
    assert_eq!(
        get(&n, &format!("{WFS_STATES}&authkey=k-reader-1"), None).0,
        200
    );
    assert_eq!(
        get(&n, &format!("{OAPIF_STATES}&authkey=k-reader-1"), None).0,
        200
    );
    assert_eq!(
        get(&n, &format!("{WMS_STATES}&authkey=k-reader-1"), None).0,
        200
    );
    // The UUID key is "other"'s, who lacks the role; an unknown key is refused.
    assert_eq!(
        get(&n, &format!("{WFS_STATES}&authkey=k-other-2"), None).0,
        400
    );
    assert_eq!(get(&n, &format!("{WFS_STATES}&authkey=nope"), None).0, 401);
    // Links in the capabilities carry the key, and the documents still read.
    for caps in [
        "/wfs?service=WFS&version=1.0.0&request=GetCapabilities",
        "/wfs?service=WFS&version=2.0.0&request=GetCapabilities",
        "/wms?service=WMS&version=1.1.1&request=GetCapabilities",
    ] {
        let (s, body) = get(&n, &format!("{caps}&authkey=k-reader-1"), None);
        assert_eq!(s, 200);
        assert!(body.contains("authkey=k-reader-1"), "{caps}");
        assert!(body.contains("topp:states"), "{caps}");
        meridian_xml::parse(&body).unwrap_or_else(|e| panic!("{caps}: {e}"));
    }
}

/// GET as a request that carries `header: value` (no credentials).
fn get_with_header(n: &Node, path: &str, header: &str, value: &str) -> u16 {
    n.anon()
        .get(format!("http://127.0.0.1:{}/geoserver{path}", n.port))
        .header(header, value)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_trusted_proxy_names_the_user_in_a_header() {
    let rules = "*.*.r=*\ntopp.states.r=ROLE_STATES\n";
    let (n, _) = node_with_rules_env(rules, &[("MERIDIAN_AUTH_PROXY_HEADER", "X-Remote-User")]);
    assert_eq!(
        get_with_header(&n, WFS_STATES, "X-Remote-User", "reader"),
        200
    );
    assert_eq!(
        get_with_header(&n, WMS_STATES, "x-remote-user", "reader"),
        200
    );
    assert_eq!(
        get_with_header(&n, WFS_STATES, "X-Remote-User", "other"),
        400
    );
    assert_eq!(get(&n, WFS_STATES, None).0, 400);
    // REST takes the proxy's user too, under its own rules.
    let rest = "/rest/workspaces.json";
    assert_eq!(get_with_header(&n, rest, "X-Remote-User", "admin"), 200);
    assert_eq!(get_with_header(&n, rest, "X-Remote-User", "reader"), 403);
    // A name the user files do not hold is authenticated with the roles the role service
    // gives it (as GeoServer's header authentication): none yet, so 403; given a role, it
    // reads what the role reads.
    assert_eq!(
        get_with_header(&n, rest, "X-Remote-User", "oidc-alice"),
        403
    );
    assert_eq!(
        get_with_header(&n, WFS_STATES, "X-Remote-User", "oidc-alice"),
        400
    );
    expect(
        n.send("POST", "/security/roles/role/ROLE_STATES", "text/xml", ""),
        201,
    );
    expect(
        n.send(
            "POST",
            "/security/roles/role/ROLE_STATES/user/oidc-alice",
            "text/xml",
            "",
        ),
        200,
    );
    assert_eq!(
        get_with_header(&n, WFS_STATES, "X-Remote-User", "oidc-alice"),
        200
    );
    // A disabled user stays out, whoever names them.
    expect(
        n.send(
            "POST",
            "/security/usergroup/user/reader",
            "text/xml",
            "<user><enabled>false</enabled></user>",
        ),
        200,
    );
    assert_eq!(
        get_with_header(&n, WFS_STATES, "X-Remote-User", "reader"),
        400
    );
    assert_eq!(get_with_header(&n, rest, "X-Remote-User", "reader"), 401);
    drop(n);
    // From an address that is not the proxy's, the header is ignored.
    let (n, _) = node_with_rules_env(
        rules,
        &[
            ("MERIDIAN_AUTH_PROXY_HEADER", "X-Remote-User"),
            ("MERIDIAN_AUTH_PROXY_FROM", "192.0.2.7"),
        ],
    );
    assert_eq!(
        get_with_header(&n, WFS_STATES, "X-Remote-User", "reader"),
        400
    );
    assert_eq!(
        get_with_header(&n, "/rest/workspaces.json", "X-Remote-User", "admin"),
        401
    );
}

#[test]
fn a_global_layer_groups_rule_guards_it_on_wms() {
    let (n, _) = node_with_rules("*.*.r=*\ntasmania.r=ROLE_STATES\n");
    let map = "/wms?service=WMS&version=1.1.1&request=GetMap&layers=tasmania&styles=&srs=EPSG:4326&bbox=143,-44,149,-39&width=100&height=80&format=image/png";
    assert!(!get(&n, WMS_CAPS, None).1.contains("<Name>tasmania</Name>"));
    let (s, body) = get(&n, map, None);
    assert_eq!(s, 400);
    assert!(body.contains("LayerNotDefined"), "{body}");
    assert!(get(&n, WMS_CAPS, READER)
        .1
        .contains("<Name>tasmania</Name>"));
    assert_eq!(get(&n, map, READER).0, 200);
    let info = "/wms?service=WMS&version=1.1.1&request=GetFeatureInfo&layers=tasmania&query_layers=tasmania&styles=&srs=EPSG:4326&bbox=143,-44,149,-39&width=100&height=80&x=50&y=40&info_format=application/json";
    let (s, body) = get(&n, info, None);
    assert_eq!(s, 400, "{body}");
    assert_eq!(get(&n, info, READER).0, 200);
    // Its layers stay readable on their own (their own rules allow them).
    assert!(get(&n, WMS_CAPS, None)
        .1
        .contains("<Name>topp:tasmania_roads</Name>"));
}

#[test]
fn rest_listings_show_a_reader_only_the_layers_they_may_read() {
    let (n, dir) = node_with_rules("*.*.r=*\ntopp.states.r=ROLE_STATES\n");
    // REST opened for reading to any logged-in user.
    rewrite(
        &n,
        &dir,
        "rest.properties",
        "/**;GET,HEAD=ROLE_AUTHENTICATED\n/**;POST,DELETE,PUT=ROLE_ADMINISTRATOR\n",
    );
    let rest = |path: &str, who: (&str, &str)| {
        let r = n
            .anon()
            .get(format!("http://127.0.0.1:{}/geoserver/rest{path}", n.port))
            .basic_auth(who.0, Some(who.1))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (s, list) = rest("/layers.json", ("other", "other"));
    assert_eq!(s, 200);
    assert!(!list.contains("topp:states") && list.contains("topp:tasmania_roads"));
    assert_eq!(rest("/layers/topp:states.json", ("other", "other")).0, 404);
    assert_eq!(
        rest(
            "/workspaces/topp/featuretypes/states.json",
            ("other", "other")
        )
        .0,
        404
    );
    assert!(rest("/layers.json", ("reader", "reader"))
        .1
        .contains("topp:states"));
    assert_eq!(
        rest("/layers/topp:states.json", ("reader", "reader")).0,
        200
    );
    assert!(rest("/layers.json", ("admin", "geoserver"))
        .1
        .contains("topp:states"));
    // Feature types and layer groups alike.
    let (_, types) = rest("/workspaces/topp/featuretypes.json", ("other", "other"));
    assert!(
        !types.contains("\"states\"") && types.contains("tasmania_roads"),
        "{types}"
    );
    assert!(
        rest("/workspaces/topp/featuretypes.json", ("reader", "reader"))
            .1
            .contains("\"states\"")
    );
    rewrite(
        &n,
        &dir,
        "layers.properties",
        "*.*.r=*\ntopp.states.r=ROLE_STATES\ntasmania.r=ROLE_STATES\n",
    );
    let (_, groups) = rest("/layergroups.json", ("other", "other"));
    assert!(
        !groups.contains("tasmania") && groups.contains("spearfish"),
        "{groups}"
    );
    assert!(rest("/layergroups.json", ("reader", "reader"))
        .1
        .contains("tasmania"));
}

#[test]
fn a_workspace_administrator_changes_only_their_workspace_over_rest() {
    let (n, dir) = node_with_rules("*.*.r=*\n*.*.w=ADMIN,GROUP_ADMIN\ntopp.*.a=ROLE_TOPP\n");
    // REST open to any logged-in user; what they may change, the `a` rules decide.
    rewrite(
        &n,
        &dir,
        "rest.properties",
        "/**;GET,HEAD,POST,PUT,DELETE=ROLE_AUTHENTICATED\n",
    );
    // `add_user` runs before the node starts: this one is made over REST by the admin.
    expect(
        n.post_xml(
            "/security/usergroup/users",
            "<user><userName>tina</userName><password>t1na</password></user>",
        ),
        201,
    );
    expect(
        n.send("POST", "/security/roles/role/ROLE_TOPP", "text/xml", ""),
        201,
    );
    expect(
        n.send(
            "POST",
            "/security/roles/role/ROLE_TOPP/user/tina",
            "text/xml",
            "",
        ),
        200,
    );
    let send = |method: &str, path: &str, body: &str, who: (&str, &str)| {
        n.anon()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("http://127.0.0.1:{}/geoserver/rest{path}", n.port),
            )
            .basic_auth(who.0, Some(who.1))
            .header("content-type", "text/xml")
            .body(body.to_string())
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let group = "<layerGroup><name>g</name><publishables><published type=\"layer\"><name>topp:states</name></published></publishables></layerGroup>";
    let tina = ("tina", "t1na");
    assert_eq!(
        send("POST", "/workspaces/topp/layergroups", group, tina),
        201
    );
    assert_eq!(send("POST", "/workspaces/sf/layergroups", group, tina), 403);
    assert_eq!(send("POST", "/layergroups", group, tina), 403);
    assert_eq!(
        send(
            "POST",
            "/workspaces",
            "<workspace><name>mine</name></workspace>",
            tina
        ),
        403
    );
    assert_eq!(
        send("POST", "/security/roles/role/ROLE_MORE", "", tina),
        403
    );
    assert_eq!(
        send(
            "DELETE",
            "/workspaces/topp/layergroups/g",
            "",
            ("other", "other")
        ),
        403
    );
    assert_eq!(
        send("DELETE", "/workspaces/topp/layergroups/g", "", tina),
        200
    );
    // The server's own settings are the administrator's, whatever rest.properties says.
    assert_eq!(send("GET", "/security/usergroup/users", "", tina), 403);
    assert_eq!(send("POST", "/reload", "", tina), 403);
    assert_eq!(send("GET", "/cluster/status.json", "", tina), 403);
    // A store of their workspace reads no other workspace's files.
    let store = |url: &str| {
        format!("<dataStore><name>s</name><connectionParameters><entry key=\"url\">{url}</entry></connectionParameters></dataStore>")
    };
    assert_eq!(
        send(
            "POST",
            "/workspaces/topp/datastores",
            &store("file:data/sf/bugsites.shp"),
            tina
        ),
        403
    );
    assert_eq!(
        send(
            "POST",
            "/workspaces/topp/datastores",
            &store("file:data/topp/../sf/bugsites.shp"),
            tina
        ),
        403
    );
    // Their own password, they may change.
    assert_eq!(
        send(
            "PUT",
            "/security/self/password",
            "<userPassword><newPassword>n3w</newPassword></userPassword>",
            tina
        ),
        200
    );
}

#[test]
fn no_user_may_take_the_name_cluster_peers_act_under() {
    let n = Node::with_fixture();
    let r = n.post_xml(
        "/security/usergroup/users",
        "<user><userName>cluster-peer</userName><password>x</password></user>",
    );
    assert_eq!(r.status(), 400);
}

#[test]
fn a_nested_group_is_drawn_only_for_callers_its_rule_lets_in() {
    let (n, _) = node_with_rules("*.*.r=*\ntasmania.r=ROLE_STATES\n");
    // A global group holding the guarded group and a layer of its own.
    expect(
        n.post_xml(
            "/layergroups",
            "<layerGroup><name>outer</name><mode>NAMED</mode><publishables><published type=\"layerGroup\"><name>tasmania</name></published><published type=\"layer\"><name>sf:roads</name></published></publishables></layerGroup>",
        ),
        201,
    );
    let map = "/wms?service=WMS&version=1.1.1&request=GetMap&layers=outer&styles=&srs=EPSG:4326&bbox=143,-44,149,-39&width=120&height=100&format=image/png&transparent=false";
    let drawn = |who: Option<(&str, &str)>| {
        let mut r = n
            .anon()
            .get(format!("http://127.0.0.1:{}/geoserver{map}", n.port));
        if let Some((u, p)) = who {
            r = r.basic_auth(u, Some(p));
        }
        let r = r.send().unwrap();
        assert_eq!(r.status(), 200);
        let (_, _, px) = meridian_testkit::images::rgb(&r.bytes().unwrap());
        px.chunks(3).filter(|p| p != &[255, 255, 255]).count()
    };
    // Tasmania is all that lies in this box: the reader sees it, anonymous callers a blank map.
    assert!(drawn(READER) > 100);
    assert_eq!(drawn(None), 0);
}

#[test]
fn a_tree_group_guards_its_layers_unless_their_own_rule_or_another_group_lets_them_in() {
    let (n, dir) = node_with_rules("*.*.r=*\ntasmania.r=ROLE_STATES\n");
    // Tasmania as a named tree: its layers are now behind its rule.
    expect(
        n.send(
            "PUT",
            "/layergroups/tasmania",
            "text/xml",
            "<layerGroup><mode>NAMED</mode></layerGroup>",
        ),
        200,
    );
    let roads_map = "/wms?service=WMS&version=1.1.1&request=GetMap&layers=topp:tasmania_roads&styles=&srs=EPSG:4326&bbox=143,-44,149,-39&width=100&height=80&format=image/png";
    let roads_wfs =
        "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:tasmania_roads&count=1";
    let roads_items = "/ogc/features/v1/collections/topp:tasmania_roads/items?limit=1";
    let (s, body) = get(&n, roads_map, None);
    assert_eq!(s, 400);
    assert!(body.contains("LayerNotDefined"), "{body}");
    assert_eq!(get(&n, roads_wfs, None).0, 400);
    assert_eq!(get(&n, roads_items, None).0, 404);
    assert!(!get(&n, WMS_CAPS, None).1.contains("topp:tasmania_roads"));
    assert!(!get(&n, WFS_CAPS, None).1.contains("topp:tasmania_roads"));
    // Layers in no tree group are untouched.
    assert_eq!(get(&n, WFS_STATES, None).0, 200);
    // The group's readers read its layers.
    assert_eq!(get(&n, roads_map, READER).0, 200);
    assert_eq!(get(&n, roads_wfs, READER).0, 200);
    assert!(get(&n, WMS_CAPS, READER).1.contains("topp:tasmania_roads"));
    // Another tree group anyone may read lets its layers through.
    expect(
        n.post_xml(
            "/layergroups",
            "<layerGroup><name>open</name><mode>CONTAINER</mode><publishables><published type=\"layer\"><name>topp:tasmania_water_bodies</name></published></publishables></layerGroup>",
        ),
        201,
    );
    let water = "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:tasmania_water_bodies&count=1";
    assert_eq!(get(&n, water, None).0, 200);
    assert_eq!(get(&n, roads_wfs, None).0, 400);
    // A layer's own rule beats the group's.
    rewrite(
        &n,
        &dir,
        "layers.properties",
        "*.*.r=*\ntasmania.r=ROLE_STATES\ntopp.tasmania_roads.r=*\n",
    );
    assert_eq!(get(&n, roads_wfs, None).0, 200);
    assert_eq!(get(&n, roads_map, None).0, 200);
    // A single group guards nothing but itself.
    rewrite(
        &n,
        &dir,
        "layers.properties",
        "*.*.r=*\ntasmania.r=ROLE_STATES\n",
    );
    expect(
        n.send(
            "PUT",
            "/layergroups/tasmania",
            "text/xml",
            "<layerGroup><mode>SINGLE</mode></layerGroup>",
        ),
        200,
    );
    assert_eq!(get(&n, roads_wfs, None).0, 200);
}
