//! Security configuration is configuration: users, roles and access rules changed on a
//! primary reach a replica through the journal, with no reload, and are enforced there; the
//! password digests never travel in clear.

use super::*;

/// GET an OGC path on `n` as `who` (None: anonymous): the status.
fn ogc_status(n: &Node, path: &str, who: Option<(&str, &str)>) -> u16 {
    let mut r = n
        .anon()
        .get(format!("http://127.0.0.1:{}/geoserver{path}", n.port));
    if let Some((u, p)) = who {
        r = r.basic_auth(u, Some(p));
    }
    r.send().unwrap().status().as_u16()
}

#[test]
fn users_roles_and_rules_made_on_a_primary_are_enforced_on_a_replica() {
    let c = Cluster::new("secrep");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    common::copy_dir(&fixture(), &da);
    common::copy_dir(&fixture(), &db);
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("replica connected", &[&a, &b], &b);
    let states = "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&count=1";
    // A user with a role, and a read rule on a layer, made on the primary.
    expect(
        a.post_xml(
            "/security/usergroup/users",
            "<user><userName>carol</userName><password>c4rol</password><enabled>true</enabled></user>",
        ),
        201,
    );
    expect(
        a.send("POST", "/security/roles/role/ROLE_STATES", "text/xml", ""),
        201,
    );
    expect(
        a.send(
            "POST",
            "/security/roles/role/ROLE_STATES/user/carol",
            "text/xml",
            "",
        ),
        200,
    );
    expect(
        a.send(
            "POST",
            "/security/acl/layers",
            "application/json",
            r#"{"topp.states.r": "ROLE_STATES"}"#,
        ),
        200,
    );
    // On the replica: carol logs in and reads the layer; anonymous callers no longer see it.
    // (Polled as the administrator: carol's refused logins would trip the login throttle.)
    wait_for(
        "rules replicated",
        &[&a, &b],
        Duration::from_secs(30),
        || {
            b.text("/security/usergroup/users.xml").contains("carol")
                && ogc_status(&b, states, None) == 400
        },
    );
    assert_eq!(ogc_status(&b, states, Some(("carol", "c4rol"))), 200);
    // OGC API Features and WMS on the replica follow the same rule.
    let items = "/ogc/features/v1/collections/topp:states/items?limit=1";
    let map = "/wms?service=WMS&version=1.1.1&request=GetMap&layers=topp:states&styles=&srs=EPSG:4326&bbox=-125,24,-66,50&width=60&height=30&format=image/png";
    assert_eq!(ogc_status(&b, items, None), 404);
    assert_eq!(ogc_status(&b, items, Some(("carol", "c4rol"))), 200);
    assert_eq!(ogc_status(&b, map, None), 400);
    assert_eq!(ogc_status(&b, map, Some(("carol", "c4rol"))), 200);
    // GeoServer's files on the replica, owner-only.
    let users = std::fs::read_to_string(db.join("security/usergroup/default/users.xml")).unwrap();
    assert!(users.contains("name=\"carol\"") && !users.contains("c4rol"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(db.join("security/usergroup/default/users.xml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0);
    let layers = std::fs::read_to_string(db.join("security/layers.properties")).unwrap();
    assert!(layers.contains("topp.states.r=ROLE_STATES"), "{layers}");
    // The journals hold the users file (by name) sealed: no digest in clear.
    for dir in [&da, &db] {
        let mut holds_users_file = false;
        for entry in walk(&dir.join("cluster")) {
            let bytes = std::fs::read(&entry).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            holds_users_file |= text.contains("usergroup/default/users.xml");
            assert!(
                !text.contains("digest1:"),
                "a digest in clear in {}",
                entry.display()
            );
        }
        assert!(
            holds_users_file,
            "{} journals the users file",
            dir.display()
        );
    }
    // A node that joins afterwards gets them in its catch-up.
    let (_tc, dc) = tmpdir();
    common::copy_dir(&fixture(), &dc);
    let late = c.start(&dc, "node-c", false, false);
    wait_for(
        "late node caught up",
        &[&a, &late],
        Duration::from_secs(30),
        || {
            late.text("/security/usergroup/users.xml").contains("carol")
                && ogc_status(&late, states, None) == 400
        },
    );
    assert_eq!(ogc_status(&late, states, Some(("carol", "c4rol"))), 200);
    // Removing the user on the primary ends their access on the replica.
    expect(a.delete("/security/usergroup/user/carol"), 200);
    wait_for(
        "user removed",
        &[&a, &b, &late],
        Duration::from_secs(30),
        || {
            ogc_status(&b, states, Some(("carol", "c4rol"))) == 401
                && ogc_status(&late, states, Some(("carol", "c4rol"))) == 401
        },
    );
    // A named user/group service and its users travel too, into the same folder.
    expect(
        a.post_xml(
            "/security/usergroupservices",
            "<userGroupService><name>staff</name></userGroupService>",
        ),
        201,
    );
    expect(
        a.post_xml(
            "/security/usergroup/service/staff/users",
            "<user><userName>sam</userName><password>s4m</password></user>",
        ),
        201,
    );
    wait_for(
        "named service replicated",
        &[&a, &b],
        Duration::from_secs(30),
        || {
            b.text("/security/usergroup/service/staff/users.xml")
                .contains("sam")
        },
    );
    let staff = db.join("security/usergroup/staff/users.xml");
    assert!(std::fs::read_to_string(&staff)
        .unwrap()
        .contains("name=\"sam\""));
    assert_eq!(
        std::fs::metadata(&staff).unwrap().permissions().mode() & 0o077,
        0
    );
    expect(a.delete("/security/usergroupservices/staff"), 200);
    wait_for(
        "named service removed",
        &[&a, &b],
        Duration::from_secs(30),
        || b.get("/security/usergroup/service/staff/users").status() == 404,
    );
    assert!(!staff.exists());
    // The replica refuses security writes like any other.
    let r = b.send("POST", "/security/roles/role/ROLE_X", "text/xml", "");
    assert_ne!(r.status(), 201);
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
