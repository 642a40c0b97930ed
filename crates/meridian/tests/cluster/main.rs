//! Several real `meridian` processes replicating through the embedded broker of one of them,
//! by topic: [`replication`], [`trust`], [`operations`], [`repair`]. What they share is here.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod health;
mod maps;
mod network;
mod operations;
mod repair;
mod replication;
mod security;
mod tiles;
mod trust;
mod web;

use common::cluster::{free_port, inject, tmpdir, Cluster, ClusterKeysExt};
use common::{expect, fixture, same_digest, status, wait_for, Node};
use meridian_testkit::{replicate_workspace, wait_connected};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn names(n: &Node, path: &str, root: &str, item: &str) -> Vec<String> {
    let v = n.json(path);
    match v[root][item].as_array() {
        Some(a) => a
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_string())
            .collect(),
        None => Vec::new(),
    }
}

/// The configuration as stored on disk, object by object (global settings without the
/// per-node update sequence).
fn disk_state(dir: &Path) -> BTreeMap<String, String> {
    let l = meridian_datadir::load(dir).unwrap();
    assert!(l.problems.is_empty(), "{:#?}", l.problems);
    let mut m = BTreeMap::new();
    for o in l.catalog.objects() {
        m.insert(
            o.id().to_string(),
            format!(
                "{}{}",
                o.xml_without_update_sequence(),
                o.body.clone().unwrap_or_default()
            ),
        );
    }
    m.insert(
        "default".into(),
        l.catalog
            .default_workspace()
            .map(|w| w.id().to_string())
            .unwrap_or_default(),
    );
    m
}

/// Wait until no node has files left to write behind its journal (a replica serves a batch
/// once journaled; its data directory follows), so the directories can be compared.
fn files_written(nodes: &[&Node]) {
    wait_for("files written", nodes, Duration::from_secs(30), || {
        nodes.iter().all(|n| status(n)["filesPending"] == 0)
    });
}

const SLD: &str = "<StyledLayerDescriptor version=\"1.0.0\" xmlns=\"http://www.opengis.net/sld\"><NamedLayer><Name>s</Name><UserStyle><Name>s</Name><FeatureTypeStyle><Rule><LineSymbolizer/></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>";

/// What `n` knows of `peer` from its heartbeats, if it has heard one.
fn peer(n: &Node, name: &str) -> Option<serde_json::Value> {
    status(n)["peers"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
}

/// Whether `n` has heard a heartbeat of `name`.
fn knows(n: &Node, name: &str) -> bool {
    peer(n, name).is_some()
}

/// Set one cluster property of `n` through REST, as the cluster page of GeoServer does.
fn set_property(n: &Node, key: &str, value: &str) {
    expect(
        n.post_xml(
            "/cluster",
            &format!("<properties><property name=\"{key}\" value=\"{value}\"/></properties>"),
        ),
        201,
    );
}

/// A copy of the release data directory, removed with its guard.
fn release_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let (t, d) = tmpdir();
    meridian_testkit::copy_dir(&meridian_testkit::fixture_datadir(), &d).unwrap();
    (t, d)
}

/// The release's `population` style made one red fill, on node `a`.
fn paint_population_red(a: &Node) {
    let red = r#"<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>x</Name><UserStyle><Name>population</Name><FeatureTypeStyle><Rule><PolygonSymbolizer><Fill><CssParameter name="fill">#FF0000</CssParameter></Fill></PolygonSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"#;
    expect(
        a.send(
            "PUT",
            "/styles/population",
            "application/vnd.ogc.sld+xml",
            red,
        ),
        200,
    );
}

fn write_config(a: &Node) {
    expect(
        a.post_xml("/workspaces", "<workspace><name>acme</name></workspace>"),
        201,
    );
    let sf = fixture().join("data/sf");
    let url = format!("file:{}", sf.display());
    expect(a.post_xml("/workspaces/acme/datastores", &format!("<dataStore><name>sf</name><connectionParameters><url>{url}</url></connectionParameters></dataStore>")), 201);
    expect(
        a.post_xml(
            "/workspaces/acme/datastores/sf/featuretypes",
            "<featureType><name>roads</name></featureType>",
        ),
        201,
    );
    expect(
        a.send(
            "POST",
            "/workspaces/acme/styles?name=red",
            "application/vnd.ogc.sld+xml",
            SLD,
        ),
        201,
    );
    expect(a.put_xml("/layers/acme:roads", "<layer><defaultStyle><name>red</name><workspace>acme</workspace></defaultStyle></layer>"), 200);
    expect(a.post_xml("/layergroups", "<layerGroup><name>grp</name><publishables><published type=\"layer\"><name>acme:roads</name></published></publishables></layerGroup>"), 201);
    expect(
        a.put_xml(
            "/settings/contact",
            "<contact><contactPerson>Ada</contactPerson></contact>",
        ),
        200,
    );
}
