//! Tiles in a cluster: each node caches its own tiles, and a style changed on the primary
//! truncates the stale tiles of every replica, so the replica's next tile is drawn anew.

use super::*;

fn tile(n: &Node) -> (String, Vec<u8>) {
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/gwc/service/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=topp:states&STYLE=&TILEMATRIXSET=EPSG:4326&TILEMATRIX=EPSG:4326:2&TILEROW=1&TILECOL=1&FORMAT=image/png",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let result = r.headers()["geowebcache-cache-result"]
        .to_str()
        .unwrap()
        .to_string();
    (result, r.bytes().unwrap().to_vec())
}

fn red_pixels(png: &[u8]) -> usize {
    let (_, _, px) = meridian_testkit::images::rgb(png);
    px.chunks(3).filter(|p| p == &[255, 0, 0]).count()
}

#[test]
fn a_style_changed_on_the_primary_truncates_the_replicas_tiles() {
    let c = Cluster::new("tiles");
    let (_ta, da) = release_copy();
    let (_tb, db) = release_copy();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("replica connected", &[&a, &b], &b);
    // The replica draws and caches the tile.
    let (first, before) = tile(&b);
    assert_eq!(first, "MISS");
    assert_eq!(tile(&b).0, "HIT");
    assert_eq!(red_pixels(&before), 0);
    paint_population_red(&a);
    wait_for(
        "the replica's tile is drawn with the new style",
        &[&a, &b],
        Duration::from_secs(10),
        || red_pixels(&tile(&b).1) > 5000,
    );
    assert!(b.log_contains("tiles made stale by a change truncated"));
    // A masstruncate on the primary empties the replica's cache of that layer.
    assert_eq!(tile(&b).0, "HIT");
    let r = a
        .anon()
        .post(format!(
            "http://127.0.0.1:{}/geoserver/gwc/rest/masstruncate",
            a.port
        ))
        .basic_auth("admin", Some("geoserver"))
        .header("content-type", "text/xml")
        .body("<truncateLayer><layerName>topp:states</layerName></truncateLayer>")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_for(
        "the replica's tiles of the layer are truncated",
        &[&a, &b],
        Duration::from_secs(10),
        || tile(&b).0 == "MISS",
    );
}

fn bugsites_tile(n: &Node, row: u64, col: u64) -> String {
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/gwc/service/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=sf:bugsites&STYLE=&TILEMATRIXSET=EPSG:4326&TILEMATRIX=EPSG:4326:8&TILEROW={row}&TILECOL={col}&FORMAT=image/png",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.headers()["geowebcache-cache-result"]
        .to_str()
        .unwrap()
        .to_string()
}

/// Two nodes reading one copy of the Spearfish shapefiles (a store every node reads, as a
/// shared PostGIS is), the replica holding the tile over Spearfish and one far away.
struct SharedStore {
    _dirs: [tempfile::TempDir; 3],
    db: std::path::PathBuf,
    c: Cluster,
    a: Node,
    b: Node,
}

fn shared_store(name: &str, b_env: &[(&str, &str)]) -> SharedStore {
    let c = Cluster::new(name);
    let (ta, da) = release_copy();
    let (tb, db) = release_copy();
    let (ts, shared) = tmpdir();
    meridian_testkit::copy_dir(
        &meridian_testkit::fixture_datadir().join("data/sf"),
        &shared,
    )
    .unwrap();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start_with(&db, "node-b", false, false, b_env);
    wait_connected("replica connected", &[&a, &b], &b);
    expect(
        a.put_xml(
            "/workspaces/sf/datastores/sf",
            &format!(
                "<dataStore><connectionParameters><entry key=\"url\">file:{}</entry></connectionParameters></dataStore>",
                shared.display()
            ),
        ),
        200,
    );
    wait_for(
        "the store replicated",
        &[&a, &b],
        Duration::from_secs(10),
        || {
            b.text("/workspaces/sf/datastores/sf.xml")
                .contains(&shared.display().to_string())
        },
    );
    assert_eq!(bugsites_tile(&b, 64, 108), "MISS");
    assert_eq!(bugsites_tile(&b, 64, 108), "HIT");
    bugsites_tile(&b, 0, 0);
    assert_eq!(bugsites_tile(&b, 0, 0), "HIT");
    SharedStore {
        _dirs: [ta, tb, ts],
        db,
        c,
        a,
        b,
    }
}

/// A point inserted through `n` over Spearfish: the data change, not the configuration.
fn insert_bugsite(n: &Node) {
    let insert = "<wfs:Transaction version=\"1.1.0\" service=\"WFS\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:gml=\"http://www.opengis.net/gml\" xmlns:sf=\"http://www.openplans.org/spearfish\"><wfs:Insert><sf:bugsites><sf:the_geom><gml:Point srsName=\"EPSG:26713\"><gml:pos>590000 4920000</gml:pos></gml:Point></sf:the_geom><sf:cat>77</sf:cat><sf:str1>new</sf:str1></sf:bugsites></wfs:Insert></wfs:Transaction>";
    let r = n
        .anon()
        .post(format!("http://127.0.0.1:{}/geoserver/wfs", n.port))
        .basic_auth("admin", Some("geoserver"))
        .header("content-type", "text/xml")
        .body(insert)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("totalInserted>1<"));
}

#[test]
fn a_wfs_t_edit_through_one_node_truncates_that_boxs_tiles_on_the_other() {
    let SharedStore { a, b, _dirs, .. } = shared_store("tiledit", &[]);
    insert_bugsite(&a);
    // The replica drops that box's tiles, and only those.
    wait_for(
        "the replica's edited tiles are truncated",
        &[&a, &b],
        Duration::from_secs(10),
        || bugsites_tile(&b, 64, 108) == "MISS",
    );
    assert_eq!(bugsites_tile(&b, 0, 0), "HIT");
}

/// A node that was down when data were edited, and whose broker session did not keep the
/// message (`durable=false`; or a broker restarted meanwhile), is sent the edit again when it
/// comes back (its peers keep the recent edits), and drops those tiles then.
#[test]
fn a_node_down_during_a_wfs_t_edit_drops_that_boxs_tiles_when_it_comes_back() {
    let transient = [("MERIDIAN_CLUSTER_DURABLE", "false")];
    let SharedStore {
        a, b, c, db, _dirs, ..
    } = shared_store("tiledown", &transient);
    drop(b); // killed: it hears nothing of the edit, and the broker keeps nothing for it
    insert_bugsite(&a);
    let b = c.start_with(&db, "node-b", false, false, &transient);
    // Its cache kept the tiles; the edit's box goes once its peer has heard it is back.
    wait_for(
        "the edited tiles of the node that was down are truncated",
        &[&a, &b],
        Duration::from_secs(30),
        || bugsites_tile(&b, 64, 108) == "MISS",
    );
    assert_eq!(bugsites_tile(&b, 0, 0), "HIT");
}

fn seed(a: &Node) {
    let r = a
        .anon()
        .post(format!(
            "http://127.0.0.1:{}/geoserver/gwc/rest/seed/topp:states.xml",
            a.port
        ))
        .basic_auth("admin", Some("geoserver"))
        .header("content-type", "text/xml")
        .body("<seedRequest><name>topp:states</name><gridSetId>EPSG:4326</gridSetId><zoomStart>0</zoomStart><zoomStop>2</zoomStop><format>image/png</format><type>seed</type><threadCount>2</threadCount></seedRequest>")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn pngs(dir: &Path) -> usize {
    fn walk(d: &Path, n: &mut usize) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, n);
            } else if p.extension().is_some_and(|x| x == "png") {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n
}

#[test]
fn a_seed_request_on_the_primary_seeds_every_nodes_cache_and_a_shared_cache_once() {
    let c = Cluster::new("seeds");
    let (_ta, da) = release_copy();
    let (_tb, db) = release_copy();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("replica connected", &[&a, &b], &b);
    seed(&a);
    // Levels 0 to 2 of EPSG:4326: 2 + 8 + 32 tiles, in each node's own cache.
    wait_for(
        "both caches seeded",
        &[&a, &b],
        Duration::from_secs(60),
        || pngs(&da.join("gwc")) == 42 && pngs(&db.join("gwc")) == 42,
    );
    assert_eq!(
        tile(&b).0,
        "HIT",
        "the replica's tile was seeded, not drawn on request"
    );
    drop((a, b));

    // Two nodes on one shared cache folder: the request runs once.
    let c = Cluster::new("seedshared");
    let (_tc, dc) = release_copy();
    let (_td, dd) = release_copy();
    let (_ts, shared) = tmpdir();
    let cache = shared.display().to_string();
    let env = [("GEOWEBCACHE_CACHE_DIR", cache.as_str())];
    let a = c.start_with(&dc, "node-c", true, true, &env);
    let b = c.start_with(&dd, "node-d", false, false, &env);
    wait_connected("replica connected", &[&a, &b], &b);
    seed(&a);
    wait_for(
        "the shared cache seeded",
        &[&a, &b],
        Duration::from_secs(60),
        || pngs(&shared) == 42,
    );
    wait_for(
        "one node left it to the other",
        &[&a, &b],
        Duration::from_secs(10),
        || {
            a.log_contains("another node sharing this cache runs")
                || b.log_contains("another node sharing this cache runs")
        },
    );
    assert!(
        !(a.log_contains("another node sharing this cache runs")
            && b.log_contains("another node sharing this cache runs"))
    );
}
