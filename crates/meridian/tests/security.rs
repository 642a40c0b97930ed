//! Attacks on a node and a cluster, each reproduced with real processes and a real MQTT
//! client; each passes only when the attack fails and nothing outside the data directory was
//! read, written or deleted.
#![allow(clippy::unwrap_used)]

mod common;
use common::cluster::{gather, inject, tmpdir, Cluster, ClusterKeysExt};
use common::{expect, status, wait_for, Node};
use meridian_catalog::{Change, Kind, Object, Provenance};
use meridian_cluster::envelope::{encode, Message};
use meridian_store::Record;
use meridian_testkit::wait_connected;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A fake peer: answers every request with 200 and `body`, unsigned, and counts them.
fn fake_peer(body: &'static str) -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/geoserver", l.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            h.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

/// A signed batch of `origin`, as a member holding the secret would send it.
fn batch(c: &Cluster, origin: &str, seq: u64, changes: Vec<Change>) -> Vec<u8> {
    encode(
        &Message::Changes {
            group: c.group.clone(),
            record: Record {
                provenance: Provenance {
                    origin: origin.into(),
                    seq,
                    hlc: 1,
                },
                changes,
            },
        },
        &c.keys(),
    )
}

fn object(kind: Kind, xml: &str, body: Option<&str>) -> Object {
    let mut o = Object::new(kind, meridian_xml::parse(xml).unwrap());
    o.body = body.map(str::to_string);
    o
}

/// A primary with the embedded broker and a replica, both connected.
fn pair(c: &Cluster, da: &Path, db: &Path) -> (Node, Node) {
    let a = c.start(da, "node-a", true, true);
    let b = c.start(db, "node-b", false, false);
    wait_connected("connected", &[&a, &b], &b);
    expect(
        a.post_xml("/workspaces", "<workspace><name>real</name></workspace>"),
        201,
    );
    wait_for("replicated", &[&a, &b], Duration::from_secs(20), || {
        b.get("/workspaces/real.json").status() == 200
    });
    (a, b)
}

#[test]
fn nodes_with_their_own_generated_secrets_do_not_replicate_until_they_share_one() {
    let c = Cluster::new("default-secret");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    // Started with no secret at all (an empty value overrides nothing): each node makes its own.
    let no_secret = [("secret", "")];
    let a = c.start_with(&da, "node-a", true, true, &no_secret);
    let mut b = c.start_with(&db, "node-b", false, false, &no_secret);
    let props = da.join("cluster/cluster.properties");
    let text = std::fs::read_to_string(&props).unwrap();
    let secret_line = text.lines().find(|l| l.starts_with("secret=")).unwrap();
    assert_eq!(secret_line.len(), "secret=".len() + 64, "{secret_line}");
    assert_eq!(mode(&props), 0o600);
    // The secret never shows through REST, nor in the log.
    assert!(!a
        .text("/cluster.xml")
        .contains(&secret_line["secret=".len()..]));
    // B cannot log in to A's broker: its login is derived from another secret.
    wait_for("B refused", &[&a, &b], Duration::from_secs(20), || {
        status(&a)["rejected"]["broker_login"].as_u64().unwrap_or(0) >= 1
    });
    assert_eq!(status(&b)["broker"]["connected"], false);
    expect(
        a.post_xml("/workspaces", "<workspace><name>lonely</name></workspace>"),
        201,
    );
    // `meridian cluster secret` prints A's secret; B joins with it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["cluster", "secret", "--data-dir"])
        .arg(&da)
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.trim(), &secret_line["secret=".len()..]);
    for l in a
        .log
        .lock()
        .unwrap()
        .iter()
        .chain(b.log.lock().unwrap().iter())
    {
        assert!(!l.contains(printed.trim()), "the secret was logged: {l}");
    }
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let b = c.start_with(&db, "node-b", false, false, &[("secret", printed.trim())]);
    wait_for("B joined", &[&a, &b], Duration::from_secs(30), || {
        b.get("/workspaces/lonely.json").status() == 200
    });
    // Files holding secrets are the node user's only.
    assert_eq!(mode(&db.join("cluster/cluster.properties")), 0o600);
    let journal = std::fs::read_dir(db.join("cluster"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("journal"))
        .unwrap()
        .path();
    assert_eq!(mode(&journal), 0o600, "{}", journal.display());
}

#[test]
fn peer_requests_need_a_fresh_token_of_the_secret_and_answers_are_signed() {
    let c = Cluster::new("tokens");
    let (_ta, da) = tmpdir();
    let a = c.start_with(
        &da,
        "node-a",
        true,
        true,
        &[("MERIDIAN_CLUSTER_PEER_TOKEN_VALIDITY", "1000")],
    );
    let keys = c.keys();
    let pq = "/geoserver/rest/cluster/snapshot.json";
    let get = |path: &str, token: &str| {
        a.anon()
            .get(format!("http://127.0.0.1:{}{path}", a.port))
            .header("X-Meridian-Token", token)
            .send()
            .unwrap()
    };
    let now = meridian_cluster::node::now_ms();
    // Anonymous, made-up, or made with the old fixed key: refused.
    let old_key = meridian_cluster::keys::ClusterKeys::new("meridian").unwrap();
    for token in [
        String::new(),
        "0".repeat(64),
        format!("{now}.{}", "0".repeat(64)),
        old_key.peer_token("GET", pq, now),
    ] {
        assert_eq!(get(pq, &token).status(), 401, "token {token:?}");
    }
    // A fresh token of the secret: the snapshot, signed for that token.
    let token = keys.peer_token("GET", pq, now);
    let r = get(pq, &token);
    assert_eq!(r.status(), 200);
    let sig = r
        .headers()
        .get("x-meridian-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let body = r.bytes().unwrap();
    assert!(keys.answer_signature_ok(&token, &body, &sig));
    // The token of one request opens no other.
    assert_eq!(
        get("/geoserver/rest/cluster/events.json", &token).status(),
        401
    );
    // Captured and replayed after its validity: refused.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(pq, &token).status(), 401);
    let reasons = &status(&a)["rejected"];
    assert!(
        reasons["peer_token_expired"].as_u64().unwrap() >= 1,
        "{reasons}"
    );
    assert!(
        reasons["peer_token_mismatch"].as_u64().unwrap() >= 2,
        "{reasons}"
    );
}

#[test]
fn forged_references_and_peer_urls_are_never_followed_and_unsigned_answers_never_taken() {
    let c = Cluster::new("vetting");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let (a, b) = pair(&c, &da, &db);
    let workspaces_before = b.json("/workspaces.json");
    // A fake peer serving an empty snapshot (which would wipe the catalog) and no records.
    let (fake, hits) =
        fake_peer(r#"{"heads":{"node-a":1000},"default_workspace":null,"objects":[]}"#);
    let (user, password) = c.broker_login("member");
    let login = Some((user.as_str(), password.as_str()));
    let changes_ref = |origin: &str| {
        encode(
            &Message::ChangesRef {
                group: c.group.clone(),
                origin: origin.into(),
                seq: 1000,
                url: fake.clone(),
            },
            &c.keys(),
        )
    };
    let bad_heartbeat = encode(
        &Message::Heartbeat {
            group: c.group.clone(),
            origin: "ghost".into(),
            url: "file:///etc/passwd".into(),
            roles: Default::default(),
            heads: [("ghost".to_string(), 5)].into(),
            digest: String::new(),
            broker: None,
            started: 0,
        },
        &c.keys(),
    );
    inject(
        c.broker_port,
        &c.changes_topic(),
        vec![changes_ref("node-a"), changes_ref("ghost"), bad_heartbeat],
        "member",
        login,
    )
    .unwrap();
    wait_for("heartbeat refused", &[&b], Duration::from_secs(20), || {
        status(&b)["rejected"]["bad_url"].as_u64().unwrap_or(0) >= 1
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a forged URL was followed");
    // A member announcing itself at the fake URL is asked there, but what an answer without
    // the secret's signature says is never taken.
    let lure = encode(
        &Message::Heartbeat {
            group: c.group.clone(),
            origin: "ghost".into(),
            url: fake.clone(),
            roles: meridian_cluster::envelope::Roles {
                primary: true,
                replica: true,
                read_only: false,
            },
            heads: [("ghost".to_string(), 5), ("node-a".to_string(), 1000)].into(),
            digest: "x".into(),
            broker: None,
            started: 0,
        },
        &c.keys(),
    );
    inject(
        c.broker_port,
        &c.changes_topic(),
        vec![lure],
        "member",
        login,
    )
    .unwrap();
    wait_for(
        "unsigned answer refused",
        &[&b],
        Duration::from_secs(20),
        || {
            status(&b)["rejected"]["answer_unsigned"]
                .as_u64()
                .unwrap_or(0)
                >= 1
        },
    );
    assert!(hits.load(Ordering::SeqCst) >= 1);
    assert_eq!(b.json("/workspaces.json"), workspaces_before);
    assert!(db.join("workspaces/real/workspace.xml").is_file());
    expect(a.get("/workspaces/real.json"), 200);
}

#[test]
fn replicated_objects_never_write_outside_the_data_directory() {
    let c = Cluster::new("paths");
    let (to, outside) = tmpdir();
    std::fs::create_dir_all(&outside).unwrap();
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let (_a, b) = pair(&c, &da, &db);
    let target = outside.join("pwned.txt");
    let style = object(
        Kind::Style,
        &format!(
            "<style><id>StyleInfoImpl-evil</id><name>evil</name><format>sld</format><filename>{}</filename></style>",
            target.display()
        ),
        Some("pwned"),
    );
    let climbing = object(
        Kind::Style,
        "<style><id>StyleInfoImpl-climb</id><name>climb</name><format>sld</format><filename>../../../../../../../../../../tmp/pwned-climb.txt</filename></style>",
        Some("pwned"),
    );
    // A service whose root element names a path (not a well-formed XML name, which only the
    // serde form can carry).
    let service = serde_json::from_value::<Object>(serde_json::json!({
        "kind": "Service",
        "xml": {"name": format!("../../../../../../../..{}", outside.join("svc").display()),
                "children": [{"name": "id", "text": "ServiceInfoImpl-evil"}]}
    }))
    .unwrap();
    let payloads = vec![
        batch(&c, "mallory", 1, vec![Change::Add { object: style }]),
        batch(&c, "mallet", 1, vec![Change::Add { object: climbing }]),
        batch(&c, "trudy", 1, vec![Change::Add { object: service }]),
    ];
    let n = payloads.len() as u64;
    let (user, password) = c.broker_login("member");
    let before = status(&b)["counters"]["deferred"].as_u64().unwrap();
    inject(
        c.broker_port,
        &c.changes_topic(),
        payloads,
        "member",
        Some((&user, &password)),
    )
    .unwrap();
    wait_for("batches refused", &[&b], Duration::from_secs(20), || {
        status(&b)["counters"]["deferred"].as_u64().unwrap() >= before + n
    });
    assert!(!target.exists());
    assert!(!Path::new("/tmp/pwned-climb.txt").exists());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    expect(b.get("/styles/evil.json"), 404);
    drop(to);
}

#[test]
fn style_file_names_cannot_read_write_or_delete_files_elsewhere() {
    let outer = tempfile::tempdir().unwrap();
    let secret_file = outer.path().join("secret.txt");
    std::fs::write(&secret_file, "top secret").unwrap();
    let dir = outer.path().join("data");
    let n = Node::start(dir.clone(), None);
    for file in [
        secret_file.display().to_string(),
        "../../secret.txt".to_string(),
        "../secret.txt".to_string(),
    ] {
        let body = format!("<style><name>rd</name><filename>{file}</filename></style>");
        let r = n.post_xml("/styles", &body);
        assert_eq!(r.status(), 400, "{file}");
        let msg = r.text().unwrap();
        assert!(msg.contains("file name"), "{msg}");
    }
    // An existing style cannot be pointed elsewhere either.
    expect(
        n.post_xml(
            "/styles",
            "<style><name>ok</name><filename>ok.sld</filename></style>",
        ),
        201,
    );
    let r = n.put_xml(
        "/styles/ok",
        "<style><name>ok</name><filename>../../secret.txt</filename></style>",
    );
    assert_eq!(r.status(), 400);
    expect(n.delete("/styles/ok"), 200);
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), "top secret");
    drop(n);
    // A data directory naming a file elsewhere loads, without reading it.
    std::fs::write(
        dir.join("styles/rd.xml"),
        format!(
            "<style><id>StyleInfoImpl-rd</id><name>rd</name><format>sld</format><filename>{}</filename></style>",
            secret_file.display()
        ),
    )
    .unwrap();
    let n = Node::start(dir, None);
    let r = n.get("/styles/rd.sld");
    assert!(!r.text().unwrap().contains("top secret"));
    assert!(n.log_contains("is not a plain file name"));
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), "top secret");
}

#[test]
fn duplicates_answer_409_and_over_long_names_400() {
    let n = Node::empty();
    expect(
        n.post_xml("/workspaces", "<workspace><name>w</name></workspace>"),
        201,
    );
    let store = "<dataStore><name>s</name><connectionParameters><entry key=\"dbtype\">geopkg</entry></connectionParameters></dataStore>";
    expect(n.post_xml("/workspaces/w/datastores", store), 201);
    expect(n.post_xml("/workspaces/w/datastores", store), 409);
    let long = "x".repeat(253);
    let r = n.post_xml(
        "/workspaces",
        &format!("<workspace><name>{long}</name></workspace>"),
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("longer than"));
    let r = n.post_xml(
        "/styles",
        &format!("<style><name>{long}</name><filename>a.sld</filename></style>"),
    );
    assert_eq!(r.status(), 400);
}

#[test]
fn store_passwords_are_sealed_on_the_wire_in_peer_answers_and_the_journal_and_masked_in_rest() {
    const PASSWORD: &str = "hunter2-do-not-leak";
    let c = Cluster::new("sealed");
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let (a, b) = pair(&c, &da, &db);
    // A broker user listening on the changes topic (here one the broker lets in).
    let (user, password) = c.broker_login("listener");
    let (port, topic) = (c.broker_port, c.changes_topic());
    let spy = std::thread::spawn(move || {
        gather(
            port,
            &topic,
            "listener",
            (&user, &password),
            Duration::from_secs(20),
            |got| got.iter().any(|p| contains(p, b"vault")),
        )
        .unwrap()
    });
    std::thread::sleep(Duration::from_millis(1500));
    expect(
        a.post_xml(
            "/workspaces/real/datastores",
            &format!(
                "<dataStore><name>vault</name><enabled>false</enabled><connectionParameters><entry key=\"dbtype\">postgis</entry><entry key=\"host\">127.0.0.1</entry><entry key=\"user\">gis</entry><entry key=\"passwd\">{PASSWORD}</entry></connectionParameters></dataStore>"
            ),
        ),
        201,
    );
    let on_b = db.join("workspaces/real/vault/datastore.xml");
    wait_for(
        "store replicated",
        &[&a, &b],
        Duration::from_secs(20),
        || std::fs::read_to_string(&on_b).is_ok_and(|x| x.contains(PASSWORD)),
    );
    // On the wire: the batch went by, its password sealed.
    let seen = spy.join().unwrap();
    assert!(
        seen.iter().any(|p| contains(p, b"vault")),
        "the batch was not seen"
    );
    assert!(seen.iter().all(|p| !contains(p, PASSWORD.as_bytes())));
    assert!(seen.iter().any(|p| contains(p, b"sealed1:")));
    // In the journals.
    for d in [&da, &db] {
        let j = std::fs::read(d.join("cluster/journal.log")).unwrap();
        assert!(contains(&j, b"vault"));
        assert!(!contains(&j, PASSWORD.as_bytes()), "{}", d.display());
    }
    // In peer answers.
    let keys = c.keys();
    for pq in [
        "/geoserver/rest/cluster/snapshot.json".to_string(),
        "/geoserver/rest/cluster/events.json?origin=node-a&after=0".to_string(),
    ] {
        let token = keys.peer_token("GET", &pq, meridian_cluster::node::now_ms());
        let r = a
            .anon()
            .get(format!("http://127.0.0.1:{}{pq}", a.port))
            .header("X-Meridian-Token", token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let body = r.bytes().unwrap();
        assert!(contains(&body, b"vault"), "{pq}");
        assert!(!contains(&body, PASSWORD.as_bytes()), "{pq}");
    }
    // REST shows a mask, in XML and JSON, and a client writing back what it read keeps the
    // password.
    let xml = expect(a.get("/workspaces/real/datastores/vault.xml"), 200);
    assert!(!xml.contains(PASSWORD) && xml.contains("********"), "{xml}");
    let json = expect(a.get("/workspaces/real/datastores/vault.json"), 200);
    assert!(!json.contains(PASSWORD) && json.contains("********"));
    let edited = xml
        .replace("<user>gis</user>", "<user>gis2</user>")
        .replace(
            "<entry key=\"user\">gis</entry>",
            "<entry key=\"user\">gis2</entry>",
        );
    expect(a.put_xml("/workspaces/real/datastores/vault", &edited), 200);
    let on_a = da.join("workspaces/real/vault/datastore.xml");
    wait_for(
        "edit replicated",
        &[&a, &b],
        Duration::from_secs(20),
        || std::fs::read_to_string(&on_b).is_ok_and(|x| x.contains("gis2")),
    );
    for f in [&on_a, &on_b] {
        let x = std::fs::read_to_string(f).unwrap();
        assert!(x.contains(PASSWORD) && !x.contains("********"), "{x}");
        assert_eq!(mode(f), 0o600);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "this test mounts a tmpfs: it needs root (as CI runs it)"
        );
        SmallDisk(at.to_path_buf())
    }

    /// Fill what is left with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        let p = self.0.join("filler");
        let mut f = std::fs::File::create(&p).unwrap();
        let block = vec![7u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = [7u8; 512];
        while f.write_all(&small).is_ok() {}
        while f.write_all(&[7u8]).is_ok() {}
        p
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_answers_507_and_changes_nothing() {
    let (_t, root) = tmpdir();
    let disk = SmallDisk::mount(&root, "16m");
    let n = Node::start(root.join("data"), None);
    expect(
        n.post_xml("/workspaces", "<workspace><name>before</name></workspace>"),
        201,
    );
    let filler = disk.fill();
    let r = n.post_xml(
        "/workspaces",
        "<workspace><name>fullness</name></workspace>",
    );
    assert_eq!(r.status(), 507);
    assert!(r.text().unwrap().contains("disk is full"));
    expect(n.get("/workspaces/fullness.json"), 404);
    expect(n.get("/workspaces/before.json"), 200);
    // Space again: the same write succeeds, and the node kept everything.
    std::fs::remove_file(filler).unwrap();
    expect(
        n.post_xml(
            "/workspaces",
            "<workspace><name>fullness</name></workspace>",
        ),
        201,
    );
    expect(n.get("/workspaces/before.json"), 200);
    drop(n);
    let again = Node::start(root.join("data"), None);
    expect(again.get("/workspaces/fullness.json"), 200);
    expect(again.get("/workspaces/before.json"), 200);
}
