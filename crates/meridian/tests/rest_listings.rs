//! REST listings answer byte for byte as they did when they were built whole in memory (the
//! answers recorded in `tests/reference/listings/` on GeoServer's release data directory),
//! now that they are written as they are produced. `MERIDIAN_UPDATE_REFERENCE=1` records them
//! again.
#![allow(clippy::unwrap_used)]

mod common;
use common::Node;
use std::path::PathBuf;

const LISTINGS: &[&str] = &[
    "layers",
    "workspaces",
    "namespaces",
    "styles",
    "layergroups",
    "workspaces/topp/layers",
    "workspaces/topp/datastores",
    "workspaces/nurc/coveragestores",
    "workspaces/topp/datastores/states_shapefile/featuretypes",
    "workspaces/topp/featuretypes",
    "workspaces/nurc/coveragestores/mosaic/coverages",
    "workspaces/sf/styles",
    "workspaces/sf/layergroups",
    "workspaces/tiger/layergroups",
    "workspaces/sde/layers",
];

fn reference(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference/listings")
        .join(name)
}

fn get(n: &Node, path: &str, accept: Option<&str>) -> (Vec<u8>, Option<String>) {
    let mut r = n
        .anon()
        .get(n.url(path))
        .basic_auth("admin", Some("geoserver"))
        // Links name the host the client used: the recorded answers used this one.
        .header("host", "localhost:8080");
    if let Some(a) = accept {
        r = r.header("accept", a);
    }
    let r = r.send().unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (r.bytes().unwrap().to_vec(), ct)
}

#[test]
fn listings_answer_byte_for_byte_as_recorded() {
    let n = Node::with_fixture();
    let update = std::env::var_os("MERIDIAN_UPDATE_REFERENCE").is_some();
    let mut checked = 0;
    let mut cases: Vec<(String, String, Option<&str>, &str)> = Vec::new();
    for p in LISTINGS {
        for ext in ["xml", "json"] {
            let file = format!("{}.{ext}", p.replace('/', "_"));
            let ct = if ext == "xml" {
                "application/xml"
            } else {
                "application/json"
            };
            cases.push((format!("/{p}.{ext}"), file, None, ct));
        }
    }
    cases.push((
        "/styles".into(),
        "styles.html".into(),
        Some("text/html"),
        "text/html",
    ));
    for (path, file, accept, ct) in cases {
        let (body, content_type) = get(&n, &path, accept);
        assert_eq!(content_type.as_deref(), Some(ct), "{path}");
        if update {
            std::fs::write(reference(&file), &body).unwrap();
        }
        let want = std::fs::read(reference(&file)).unwrap();
        assert!(
            body == want,
            "{path} differs from {file}:\n{}\n--- recorded ---\n{}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&want)
        );
        checked += 1;
    }
    assert_eq!(checked, LISTINGS.len() * 2 + 1);
}
