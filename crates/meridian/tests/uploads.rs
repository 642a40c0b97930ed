//! Hostile and failing data uploads: zip bombs, oversized archives, data that does not read,
//! external paths, and GeoServer's filesystem sandbox. Each passes only when the upload is
//! refused with a clear 4xx, memory stays bounded, and nothing is left behind: no file, no
//! folder, no store.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, roads_files, roads_zip, zip_of, Node};
use std::io::Write;
use std::path::Path;

/// A zip of `entries` (name, size) whose contents are zeros (compressing ~1000:1), written
/// streaming.
fn zeros_zip(entries: &[(&str, u64)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let block = vec![0u8; 1 << 20];
        for (name, size) in entries {
            z.start_file(
                *name,
                zip::write::SimpleFileOptions::default().large_file(*size >= u32::MAX as u64),
            )
            .unwrap();
            let mut left = *size;
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                z.write_all(&block[..n]).unwrap();
                left -= n as u64;
            }
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// Pseudo-random bytes (they do not compress).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Every path below `dir`, sorted (what an upload may have left behind).
fn tree(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            v.push(e.path().display().to_string());
            v.extend(tree(&e.path()));
        }
    }
    v.sort();
    v
}

/// Peak resident memory of the node so far, in MiB.
fn peak_mib(n: &Node) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{}/status", n.child.id())).unwrap();
    let line = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

fn put(n: &Node, path: &str, body: Vec<u8>) -> (u16, String) {
    let r = n.send("PUT", path, "application/zip", body);
    let s = r.status().as_u16();
    (s, r.text().unwrap())
}

/// WFS GetFeature of layer `w:roads` as GeoJSON, anonymously: (status, body).
fn roads_wfs(n: &Node) -> (u16, String) {
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=w:roads&outputFormat=application/json",
            n.port
        ))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn workspace(n: &Node) {
    expect(
        n.post_xml("/workspaces", "<workspace><name>w</name></workspace>"),
        201,
    );
}

#[test]
fn a_zip_bomb_is_refused_in_bounded_memory_and_leaves_nothing_behind() {
    let n = Node::empty();
    workspace(&n);
    let before = tree(&n.dir.join("data"));
    let baseline = peak_mib(&n);
    // Three entries of 400 MiB of zeros: about 1.2 MiB zipped.
    let bomb = zeros_zip(&[
        ("bomb.shp", 400 << 20),
        ("bomb.shx", 400 << 20),
        ("bomb.dbf", 400 << 20),
    ]);
    assert!(bomb.len() < 10 << 20);
    let (status, body) = put(&n, "/workspaces/w/datastores/bomb/file.shp", bomb);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("times its compressed size"), "{body}");
    let peak = peak_mib(&n);
    assert!(
        peak < baseline + 120,
        "peak RSS {peak} MiB (from {baseline} MiB) while refusing a zip bomb"
    );
    assert_eq!(tree(&n.dir.join("data")), before, "files were left behind");
    expect(n.get("/workspaces/w/datastores/bomb.json"), 404);
}

#[test]
fn an_upload_over_the_total_cap_is_refused_and_leaves_nothing_behind() {
    let t = tempfile::tempdir().unwrap();
    let n = Node::start_env(
        t.path().join("data"),
        None,
        &[
            ("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0"),
            ("MERIDIAN_MAX_UPLOAD_UNPACKED", &(8u64 << 20).to_string()),
        ],
    );
    workspace(&n);
    let before = tree(&n.dir.join("data"));
    let big = zip_of(&[
        ("big.shp", noise(5 << 20, 1)),
        ("big.shx", noise(5 << 20, 2)),
        ("big.dbf", noise(5 << 20, 3)),
    ]);
    let (status, body) = put(&n, "/workspaces/w/datastores/big/file.shp", big);
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("unpacks to more than 8388608 bytes"),
        "{body}"
    );
    assert_eq!(tree(&n.dir.join("data")), before);
    expect(n.get("/workspaces/w/datastores/big.json"), 404);
    // Within the cap, the same node takes a real shapefile.
    let (status, body) = put(&n, "/workspaces/w/datastores/ok/file.shp", roads_zip(""));
    assert_eq!(status, 201, "{body}");
}

#[test]
fn data_that_does_not_read_leaves_no_store_and_an_existing_store_keeps_its_files() {
    let n = Node::empty();
    workspace(&n);
    let before = tree(&n.dir.join("data"));
    let junk = zip_of(&[
        ("junk.shp", b"not a shapefile".to_vec()),
        ("junk.dbf", b"nor a dbf".to_vec()),
    ]);
    let (status, body) = put(&n, "/workspaces/w/datastores/junk/file.shp", junk.clone());
    assert_eq!(status, 400, "{body}");
    assert_eq!(tree(&n.dir.join("data")), before, "files were left behind");
    expect(n.get("/workspaces/w/datastores/junk.json"), 404);
    // A store holding good data, then a bad upload over it: its files and layer stay.
    let (status, body) = put(&n, "/workspaces/w/datastores/up/file.shp", roads_zip(""));
    assert_eq!(status, 201, "{body}");
    let kept = tree(&n.dir.join("data"));
    let shp = std::fs::read(n.dir.join("data/w/up/roads.shp")).unwrap();
    let broken = zip_of(&[
        ("roads.shp", b"broken".to_vec()),
        ("extra.shp", b"x".to_vec()),
    ]);
    let (status, body) = put(&n, "/workspaces/w/datastores/up/file.shp", broken);
    assert_eq!(status, 400, "{body}");
    assert_eq!(tree(&n.dir.join("data")), kept);
    assert_eq!(
        std::fs::read(n.dir.join("data/w/up/roads.shp")).unwrap(),
        shp
    );
    let (status, body) = roads_wfs(&n);
    assert_eq!(status, 200);
    assert!(body.contains("FeatureCollection"));
}

#[test]
fn external_paths_that_do_not_read_leave_no_store_and_tell_nothing_of_the_file() {
    let n = Node::empty();
    workspace(&n);
    let mut answers = Vec::new();
    for (store, path) in [("a", "/etc/hostname"), ("b", "/no/such/file.gpkg")] {
        let (status, body) = put(
            &n,
            &format!("/workspaces/w/datastores/{store}/external.gpkg"),
            path.as_bytes().to_vec(),
        );
        assert_eq!(status, 400, "{body}");
        answers.push(body.replace(path, "PATH"));
        expect(
            n.get(&format!("/workspaces/w/datastores/{store}.json")),
            404,
        );
    }
    assert_eq!(answers[0], answers[1], "the answers tell the files apart");
}

#[test]
fn the_filesystem_sandbox_confines_stores_uploads_and_external_files() {
    let t = tempfile::tempdir().unwrap();
    let sandbox = t.path().join("sandbox");
    std::fs::create_dir_all(sandbox.join("shared")).unwrap();
    for (name, bytes) in roads_files("") {
        std::fs::write(sandbox.join("shared").join(name), bytes).unwrap();
    }
    let outside = t.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    for (name, bytes) in roads_files("") {
        std::fs::write(outside.join(name), bytes).unwrap();
    }
    let n = Node::start_env(
        t.path().join("data"),
        None,
        &[
            ("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0"),
            ("GEOSERVER_FILESYSTEM_SANDBOX", sandbox.to_str().unwrap()),
        ],
    );
    workspace(&n);
    // Outside: refused, by external upload, by store creation, and by climbing out.
    let (status, body) = put(
        &n,
        "/workspaces/w/datastores/ext/external.shp",
        outside.join("roads.shp").display().to_string().into_bytes(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("outside the filesystem sandbox"), "{body}");
    for url in [
        format!("file:{}", outside.display()),
        format!("file:{}/shared/../../outside", sandbox.display()),
        "file:data/anything".to_string(),
    ] {
        let r = n.post_xml(
            "/workspaces/w/datastores",
            &format!("<dataStore><name>s</name><connectionParameters><entry key=\"url\">{url}</entry></connectionParameters></dataStore>"),
        );
        assert_eq!(r.status(), 400, "{url}");
    }
    expect(n.get("/workspaces/w/datastores/ext.json"), 404);
    expect(n.get("/workspaces/w/datastores/s.json"), 404);
    // Inside: an external file, and an upload, which lands in the sandbox.
    let (status, body) = put(
        &n,
        "/workspaces/w/datastores/inside/external.shp",
        sandbox
            .join("shared/roads.shp")
            .display()
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = put(&n, "/workspaces/w/datastores/up/file.shp", roads_zip(""));
    assert_eq!(status, 201, "{body}");
    assert!(sandbox.join("w/up/roads.shp").is_file());
    assert!(!n.dir.join("data/w").exists());
    assert_eq!(roads_wfs(&n).0, 200);
    // A store that points outside the sandbox by any other road (a data directory edited
    // by hand, replication) does not read.
    let ds = n.dir.join("workspaces/w/inside/datastore.xml");
    let xml = std::fs::read_to_string(&ds).unwrap();
    std::fs::write(
        &ds,
        xml.replace(
            &sandbox.join("shared/roads.shp").display().to_string(),
            &outside.join("roads.shp").display().to_string(),
        ),
    )
    .unwrap();
    expect(n.send("POST", "/reload", "text/plain", Vec::new()), 200);
    let (_, body) = roads_wfs(&n);
    assert!(!body.contains("FeatureCollection"), "{body}");
    assert!(body.contains("sandbox"), "{body}");
}
