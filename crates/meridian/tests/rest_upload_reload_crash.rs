//! Shapefile and GeoPackage uploads, reload from disk, and durability under kill -9.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, fixture, roads_zip, zip_of, Node};

#[test]
fn zipped_shapefile_upload_creates_store_type_and_layer() {
    let n = Node::empty();
    expect(
        n.post_xml("/workspaces", "<workspace><name>w</name></workspace>"),
        201,
    );
    let r = n.send(
        "PUT",
        "/workspaces/w/datastores/up/file.shp",
        "application/zip",
        roads_zip("nested/"),
    );
    let status = r.status();
    let body = r.text().unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(n.dir.join("data/w/up/roads.shp").is_file());
    let ft = n.json("/workspaces/w/datastores/up/featuretypes/roads.json");
    assert_eq!(ft["featureType"]["srs"], "EPSG:26713");
    assert_eq!(
        n.json("/layers/w:roads.json")["layer"]["defaultStyle"]["name"],
        "line"
    );
    // Uploading again (update=overwrite) keeps one feature type.
    expect(
        n.send(
            "PUT",
            "/workspaces/w/datastores/up/file.shp?update=overwrite",
            "application/zip",
            roads_zip(""),
        ),
        201,
    );
    assert_eq!(
        n.json("/workspaces/w/datastores/up/featuretypes.json")["featureTypes"]["featureType"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Bad uploads: not a zip, a zip that escapes, an unsupported format.
    expect(
        n.send(
            "PUT",
            "/workspaces/w/datastores/x/file.shp",
            "application/zip",
            b"not a zip".to_vec(),
        ),
        400,
    );
    let evil = zip_of(&[("../../evil.shp", b"x".to_vec())]);
    expect(
        n.send(
            "PUT",
            "/workspaces/w/datastores/y/file.shp",
            "application/zip",
            evil,
        ),
        400,
    );
    assert!(!n.dir.join("evil.shp").exists() && !n.dir.join("data/evil.shp").exists());
    expect(
        n.send(
            "PUT",
            "/workspaces/w/datastores/z/file.h2",
            "application/zip",
            roads_zip(""),
        ),
        400,
    );
    // Purge removes the uploaded files.
    expect(
        n.delete("/workspaces/w/datastores/up?recurse=true&purge=all"),
        200,
    );
    assert!(!n.dir.join("data/w/up").exists());
}

#[test]
fn geopackage_upload_publishes_its_first_table() {
    let n = Node::empty();
    expect(
        n.post_xml("/workspaces", "<workspace><name>w</name></workspace>"),
        201,
    );
    let gpkg = std::fs::read(fixture().join("data/ne/natural_earth.gpkg")).unwrap();
    expect(
        n.send(
            "PUT",
            "/workspaces/w/datastores/ne/file.gpkg?filename=ne",
            "application/x-sqlite3",
            gpkg,
        ),
        201,
    );
    let list = n.json("/workspaces/w/datastores/ne/featuretypes.json");
    assert_eq!(
        list["featureTypes"]["featureType"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let ds = n.json("/workspaces/w/datastores/ne.json");
    assert_eq!(ds["dataStore"]["type"], "GeoPackage");
}

#[test]
fn reload_rereads_the_data_directory() {
    let n = Node::with_fixture();
    let p = n.dir.join("workspaces/sf/workspace.xml");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        text.replace(
            "</workspace>",
            "<dateModified>2026-01-01 00:00:00.000 UTC</dateModified></workspace>",
        ),
    )
    .unwrap();
    std::fs::remove_dir_all(n.dir.join("workspaces/cite")).unwrap();
    expect(n.send("POST", "/reload", "text/plain", ""), 200);
    expect(n.get("/workspaces/cite.json"), 404);
    assert_eq!(
        n.json("/workspaces/sf.json")["workspace"]["dateModified"],
        "2026-01-01 00:00:00.000 UTC"
    );
    // Writes after a reload still land where the loaded files are.
    expect(
        n.put_xml(
            "/workspaces/sf/datastores/sf",
            "<dataStore><description>after reload</description></dataStore>",
        ),
        200,
    );
    let ds = std::fs::read_to_string(n.dir.join("workspaces/sf/sf/datastore.xml")).unwrap();
    assert!(ds.contains("after reload"));
    expect(n.send("POST", "/reset", "text/plain", ""), 200);
}

#[test]
fn every_acknowledged_write_survives_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut n = Node::start(dir.clone(), None);
    let rest = n.rest();
    let writer = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap();
        let mut acked = Vec::new();
        for i in 0..2000 {
            let name = format!("ws{i}");
            let r = client
                .post(format!("{rest}/workspaces"))
                .basic_auth("admin", Some("geoserver"))
                .header("Content-Type", "text/xml")
                .body(format!("<workspace><name>{name}</name></workspace>"))
                .send();
            match r {
                Ok(r) if r.status() == 201 => acked.push(name.clone()),
                _ => break,
            }
            let r = client
                .post(format!("{rest}/workspaces/{name}/datastores"))
                .basic_auth("admin", Some("geoserver"))
                .header("Content-Type", "text/xml")
                .body("<dataStore><name>s</name><connectionParameters><url>file:data/x</url></connectionParameters></dataStore>")
                .send();
            match r {
                Ok(r) if r.status() == 201 => acked.push(format!("{name}/s")),
                _ => break,
            }
        }
        acked
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    n.child.kill().unwrap(); // SIGKILL
    let acked = writer.join().unwrap();
    drop(n);
    assert!(
        acked.len() > 10,
        "too few writes before the kill: {}",
        acked.len()
    );
    // Every file parses (no torn file). The batch in flight at the kill may be partly on disk
    // (its files are written one after the other); it was never acknowledged, and the journal's
    // redo completes it at the next start.
    let loaded = meridian_datadir::load(&dir).unwrap();
    for p in &loaded.problems {
        let in_flight =
            p.reason.contains("skipped") && !acked.iter().any(|a| p.path.ends_with(a.as_str()));
        assert!(in_flight, "{:#?}", loaded.problems);
    }
    assert!(loaded.problems.len() <= 1, "{:#?}", loaded.problems);
    let n2 = Node::start(dir.clone(), Some(tmp));
    for a in &acked {
        let path = match a.split_once('/') {
            Some((ws, s)) => format!("/workspaces/{ws}/datastores/{s}.json"),
            None => format!("/workspaces/{a}.json"),
        };
        expect(n2.get(&path), 200);
    }
    // After the redo the data directory is whole again.
    let loaded = meridian_datadir::load(&dir).unwrap();
    assert!(loaded.problems.is_empty(), "{:#?}", loaded.problems);
}
