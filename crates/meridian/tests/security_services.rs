//! Named user/group and role services (`/rest/security/usergroupservices`, `/roleservices`,
//! and the `/usergroup/service/{name}/…` and `/roles/service/{name}/…` calls) against a real
//! node: created, used, laid out in GeoServer's folders, authenticating once a provider names
//! them, and deleted.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, Node};
use std::os::unix::fs::PermissionsExt;

/// Status and body.
fn sb(r: reqwest::blocking::Response) -> (u16, String) {
    (r.status().as_u16(), r.text().unwrap())
}

/// GET as `who`: status and body.
fn get_as(n: &Node, path: &str, who: (&str, &str)) -> (u16, String) {
    let r = n
        .anon()
        .get(format!("http://127.0.0.1:{}/geoserver{path}", n.port))
        .basic_auth(who.0, Some(who.1))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn a_named_user_group_service_keeps_its_own_users_in_its_own_folder() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    let n = Node::start(dir.clone(), Some(tmp));

    // Created as GeoServer's REST documentation shows it, with its own users file name.
    let (status, _) = sb(n.post_xml(
        "/security/usergroupservices",
        "<org.geoserver.security.xml.XMLUserGroupServiceConfig><name>staff</name>\
         <className>org.geoserver.security.xml.XMLUserGroupService</className>\
         <fileName>staff.xml</fileName><passwordEncoderName>plainTextPasswordEncoder</passwordEncoderName>\
         <passwordPolicyName>default</passwordPolicyName></org.geoserver.security.xml.XMLUserGroupServiceConfig>",
    ));
    assert_eq!(status, 201);
    let (_, list) = sb(n.get("/security/usergroupservices.xml"));
    assert!(
        list.contains("<name>staff</name>") && list.contains("<name>default</name>"),
        "{list}"
    );
    let (status, one) = sb(n.get("/security/usergroupservices/staff.json"));
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&one).unwrap();
    let cfg = &v["org.geoserver.security.xml.XMLUserGroupServiceConfig"];
    assert_eq!(cfg["fileName"], "staff.xml");
    // Passwords are stored as digests whatever encoder is asked for.
    assert_eq!(cfg["passwordEncoderName"], "digestPasswordEncoder");
    // Twice: 409.
    let (status, _) = sb(n.post_xml(
        "/security/usergroupservices",
        "<userGroupService><name>staff</name></userGroupService>",
    ));
    assert_eq!(status, 409);

    // Users and groups of the named service, not of the default one.
    expect(
        n.post_xml(
            "/security/usergroup/service/staff/users",
            "<user><userName>sam</userName><password>s4m</password><enabled>true</enabled></user>",
        ),
        201,
    );
    expect(
        n.send(
            "POST",
            "/security/usergroup/service/staff/group/crew",
            "text/xml",
            "",
        ),
        201,
    );
    expect(
        n.send(
            "POST",
            "/security/usergroup/service/staff/user/sam/group/crew",
            "text/xml",
            "",
        ),
        200,
    );
    let (_, staff) = sb(n.get("/security/usergroup/service/staff/users.xml"));
    assert!(staff.contains("<userName>sam</userName>"), "{staff}");
    assert!(!staff.contains("admin"), "{staff}");
    let (_, default) = sb(n.get("/security/usergroup/users.xml"));
    assert!(!default.contains("sam"), "{default}");
    let (_, groups) = sb(n.get("/security/usergroup/service/staff/user/sam/groups.xml"));
    assert!(groups.contains("<group>crew</group>"), "{groups}");
    let (status, _) = sb(n.get("/security/usergroup/service/nosuch/users"));
    assert_eq!(status, 404);

    // GeoServer's layout: the folder, its config.xml naming staff.xml, the users in staff.xml,
    // readable by the owner only (password digests).
    let folder = dir.join("security/usergroup/staff");
    let config =
        meridian_xml::parse(&std::fs::read_to_string(folder.join("config.xml")).unwrap()).unwrap();
    assert_eq!(config.name.as_str(), "userGroupService");
    assert_eq!(config.child_text("fileName"), Some("staff.xml"));
    assert_eq!(
        config.child_text("className"),
        Some("org.geoserver.security.xml.XMLUserGroupService")
    );
    let users = std::fs::read_to_string(folder.join("staff.xml")).unwrap();
    assert!(
        users.contains("name=\"sam\"") && users.contains("digest1:"),
        "{users}"
    );
    assert!(!users.contains("s4m"));
    let mode = std::fs::metadata(folder.join("staff.xml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "users file mode {mode:o}");

    // Sam logs in only once an authentication provider names the service (as on GeoServer).
    expect(
        n.send("POST", "/security/roles/role/ROLE_CREW", "text/xml", ""),
        201,
    );
    expect(
        n.send(
            "POST",
            "/security/roles/role/ROLE_CREW/group/crew",
            "text/xml",
            "",
        ),
        200,
    );
    let sec = dir.join("security");
    // The first matching REST rule applies: the crew's comes before the administrator's.
    std::fs::write(
        sec.join("rest.properties"),
        "/rest/workspaces/**;GET=ROLE_CREW,ADMIN\n/rest/security/self/**;PUT=IS_AUTHENTICATED_FULLY\n/**;GET,HEAD,OPTIONS,POST,DELETE,PUT=ADMIN\n",
    )
    .unwrap();
    expect(n.post_xml("/reload", ""), 200);
    let sam = ("sam", "s4m");
    assert_eq!(get_as(&n, "/rest/workspaces/topp.xml", sam).0, 401);
    std::fs::create_dir_all(sec.join("auth/staffauth")).unwrap();
    std::fs::write(
        sec.join("auth/staffauth/config.xml"),
        "<usernamePassword><name>staffauth</name>\
         <className>org.geoserver.security.auth.UsernamePasswordAuthenticationProvider</className>\
         <userGroupServiceName>staff</userGroupServiceName></usernamePassword>",
    )
    .unwrap();
    let cfg = std::fs::read_to_string(sec.join("config.xml"))
        .unwrap()
        .replace(
            "<string>default</string>",
            "<string>default</string><string>staffauth</string>",
        );
    std::fs::write(sec.join("config.xml"), cfg).unwrap();
    expect(n.post_xml("/reload", ""), 200);
    assert_eq!(get_as(&n, "/rest/workspaces/topp.xml", sam).0, 200);
    // The group's role is what lets sam in: a REST call the rule does not cover stays closed.
    assert_eq!(get_as(&n, "/rest/styles.xml", sam).0, 403);
    // Sam changes their own password, in their own service.
    let r = n
        .anon()
        .put(format!(
            "http://127.0.0.1:{}/geoserver/rest/security/self/password",
            n.port
        ))
        .basic_auth("sam", Some("s4m"))
        .header("Content-Type", "application/xml")
        .body("<userPassword><newPassword>n3w</newPassword></userPassword>")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        get_as(&n, "/rest/workspaces/topp.xml", ("sam", "n3w")).0,
        200
    );
    assert!(
        !std::fs::read_to_string(sec.join("usergroup/default/users.xml"))
            .unwrap()
            .contains("sam")
    );

    // A service in force is not deleted; nor is the default one.
    let (status, body) = sb(n.send("DELETE", "/security/usergroupservices/staff", "", ""));
    assert_eq!(status, 409, "{body}");
    let (status, _) = sb(n.send("DELETE", "/security/usergroupservices/default", "", ""));
    assert_eq!(status, 409);
    // Out of force, it is deleted with its files, and sam no longer logs in.
    let cfg = std::fs::read_to_string(sec.join("config.xml"))
        .unwrap()
        .replace("<string>staffauth</string>", "");
    std::fs::write(sec.join("config.xml"), cfg).unwrap();
    expect(n.post_xml("/reload", ""), 200);
    expect(
        n.send("DELETE", "/security/usergroupservices/staff", "", ""),
        200,
    );
    assert!(!folder.join("staff.xml").exists() && !folder.join("config.xml").exists());
    let (status, _) = sb(n.get("/security/usergroup/service/staff/users"));
    assert_eq!(status, 404);
}

#[test]
fn a_named_role_service_holds_its_own_roles() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    let n = Node::start(dir.clone(), Some(tmp));
    expect(
        n.post_xml(
            "/security/roleservices",
            "<org.geoserver.security.xml.XMLRoleServiceConfig><name>corp</name>\
             <adminRoleName>BOSS</adminRoleName></org.geoserver.security.xml.XMLRoleServiceConfig>",
        ),
        201,
    );
    expect(
        n.send(
            "POST",
            "/security/roles/service/corp/role/ROLE_AUDIT",
            "text/xml",
            "",
        ),
        201,
    );
    expect(
        n.send(
            "POST",
            "/security/roles/service/corp/role/ROLE_AUDIT/user/admin",
            "text/xml",
            "",
        ),
        200,
    );
    let (_, corp) = sb(n.get("/security/roles/service/corp.xml"));
    assert!(corp.contains("<role>ROLE_AUDIT</role>"), "{corp}");
    let (_, corp_admin) = sb(n.get("/security/roles/service/corp/user/admin.xml"));
    assert!(corp_admin.contains("ROLE_AUDIT"), "{corp_admin}");
    // The active role service (default) is untouched.
    let (_, active) = sb(n.get("/security/roles.xml"));
    assert!(
        !active.contains("ROLE_AUDIT") && active.contains("ADMIN"),
        "{active}"
    );
    let roles = std::fs::read_to_string(dir.join("security/role/corp/roles.xml")).unwrap();
    assert!(roles.contains("<role id=\"ROLE_AUDIT\"/>"), "{roles}");
    let cfg = std::fs::read_to_string(dir.join("security/role/corp/config.xml")).unwrap();
    assert!(cfg.contains("<adminRoleName>BOSS</adminRoleName>"), "{cfg}");
    // PUT changes the settings, not the file.
    expect(
        n.send(
            "PUT",
            "/security/roleservices/corp",
            "application/json",
            r#"{"org.geoserver.security.xml.XMLRoleServiceConfig": {"name": "corp", "adminRoleName": "CHIEF"}}"#,
        ),
        200,
    );
    let (_, shown) = sb(n.get("/security/roleservices/corp.xml"));
    assert!(
        shown.contains("<adminRoleName>CHIEF</adminRoleName>"),
        "{shown}"
    );
    assert!(dir.join("security/role/corp/roles.xml").exists());
    // The active role service is not deleted; corp is.
    let (status, _) = sb(n.send("DELETE", "/security/roleservices/default", "", ""));
    assert_eq!(status, 409);
    expect(n.send("DELETE", "/security/roleservices/corp", "", ""), 200);
    let (status, _) = sb(n.get("/security/roles/service/corp"));
    assert_eq!(status, 404);
}

#[test]
fn service_names_and_files_never_leave_their_folder() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    let n = Node::start(dir.clone(), Some(tmp));
    for (body, want) in [
        ("<userGroupService><name>../evil</name></userGroupService>", 400),
        ("<userGroupService><name>.hidden</name></userGroupService>", 400),
        (
            "<userGroupService><name>ok</name><fileName>../../../etc/x.xml</fileName></userGroupService>",
            400,
        ),
        (
            "<userGroupService><name>ok</name><fileName>/tmp/users.xml</fileName></userGroupService>",
            400,
        ),
        (
            "<userGroupService><name>ok</name><fileName>config.xml</fileName></userGroupService>",
            400,
        ),
        (
            "<userGroupService><name>ok</name><className>org.geoserver.security.jdbc.JDBCUserGroupService</className></userGroupService>",
            422,
        ),
    ] {
        let (status, msg) = sb(n.post_xml("/security/usergroupservices", body));
        assert_eq!(status, want, "{body}: {msg}");
        assert!(!msg.is_empty());
    }
    let (status, _) = sb(n.get("/security/usergroup/service/..%2F..%2Fetc/users"));
    assert!(status == 400 || status == 404, "{status}");
    assert!(!dir.join("security/usergroup/ok").exists());
    assert!(!dir.join("security/evil").exists());
}

#[test]
fn a_user_whose_password_needs_geoservers_keystore_is_named_and_can_be_given_a_new_one() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    let users = dir.join("security/usergroup/default/users.xml");
    let text = std::fs::read_to_string(&users).unwrap().replace(
        "</users>",
        "<user enabled=\"true\" name=\"olduser\" password=\"crypt1:KWhO7jrTz/Gi0oTQRKsVeCmWIZY5VZaD\"/></users>",
    );
    std::fs::write(&users, text).unwrap();
    let n = Node::start(dir, Some(tmp));
    assert!(
        n.log_contains("olduser"),
        "the node names the user it cannot check"
    );
    assert_eq!(
        get_as(&n, "/rest/workspaces.xml", ("olduser", "anything")).0,
        401
    );
    expect(
        n.post_xml(
            "/security/usergroup/user/olduser",
            "<user><password>fresh</password></user>",
        ),
        200,
    );
    expect(
        n.send(
            "POST",
            "/security/roles/role/ADMIN/user/olduser",
            "text/xml",
            "",
        ),
        200,
    );
    assert_eq!(
        get_as(&n, "/rest/workspaces.xml", ("olduser", "fresh")).0,
        200
    );
}
