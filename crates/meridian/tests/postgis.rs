//! The fixture's shapefiles loaded into a real PostgreSQL/PostGIS (started by
//! `scripts/postgis.sh`), published through REST and served: the same features as the files.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, fixture, Node};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Pg {
    dir: PathBuf,
    port: u16,
    _tmp: tempfile::TempDir,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgis.sh")
}

fn run(args: &[&str]) {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/postgis.sh {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pg {
    fn start() -> Pg {
        Pg::start_with("start")
    }

    /// A server that lets TCP clients in over TLS only; `dir/ca.crt` signed its certificate.
    fn start_tls() -> Pg {
        Pg::start_with("start-tls")
    }

    fn start_with(how: &str) -> Pg {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let dir = tmp.path().join("pg");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        run(&[how, dir.to_str().unwrap(), &port.to_string()]);
        Pg {
            dir,
            port,
            _tmp: tmp,
        }
    }

    fn load(&self, shp: &Path, table: &str, srid: u32) {
        run(&[
            "load",
            self.dir.to_str().unwrap(),
            &self.port.to_string(),
            shp.to_str().unwrap(),
            table,
            &srid.to_string(),
        ]);
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

fn features(n: &Node, layer: &str, extra: &str) -> Value {
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames={layer}&outputFormat=application/json{extra}",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{layer}");
    r.json().unwrap()
}

fn first_coord(g: &Value) -> (f64, f64) {
    let mut c = &g["coordinates"];
    while c[0].is_array() {
        c = &c[0];
    }
    (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

#[test]
fn postgis_layers_serve_the_same_features_as_the_shapefiles() {
    let pg = Pg::start();
    let data = fixture().join("data");
    // Every shapefile layer of the fixture (giant_polygon has no attribute records to load).
    let layers = [
        ("sf", "archsites", "data/sf/archsites.shp", 26713),
        ("sf", "bugsites", "data/sf/bugsites.shp", 26713),
        ("sf", "restricted", "data/sf/restricted.shp", 26713),
        ("sf", "roads", "data/sf/roads.shp", 26713),
        ("sf", "streams", "data/sf/streams.shp", 26713),
        (
            "tiger",
            "poly_landmarks",
            "data/nyc/poly_landmarks.shp",
            4326,
        ),
        ("tiger", "tiger_roads", "data/nyc/tiger_roads.shp", 4326),
        ("tiger", "poi", "data/nyc/poi.shp", 4326),
        (
            "topp",
            "tasmania_roads",
            "data/taz_shapes/tasmania_roads.shp",
            4326,
        ),
        (
            "topp",
            "tasmania_cities",
            "data/taz_shapes/tasmania_cities.shp",
            4326,
        ),
        (
            "topp",
            "tasmania_water_bodies",
            "data/taz_shapes/tasmania_water_bodies.shp",
            4326,
        ),
        (
            "topp",
            "tasmania_state_boundaries",
            "data/taz_shapes/tasmania_state_boundaries.shp",
            4326,
        ),
        ("topp", "states", "data/shapefiles/states.shp", 4326),
    ];
    for (_, t, shp, srid) in layers {
        pg.load(&fixture().join(shp), t, srid);
    }
    let _ = data;
    let n = Node::with_fixture();
    expect(
        n.post_xml("/workspaces", "<workspace><name>pg</name></workspace>"),
        201,
    );
    expect(
        n.post_xml(
            "/workspaces/pg/datastores",
            &format!(
                "<dataStore><name>db</name><connectionParameters><entry key=\"dbtype\">postgis</entry><entry key=\"host\">127.0.0.1</entry><entry key=\"port\">{}</entry><entry key=\"database\">gis</entry><entry key=\"schema\">public</entry><entry key=\"user\">postgres</entry><entry key=\"passwd\"></entry></connectionParameters></dataStore>",
                pg.port
            ),
        ),
        201,
    );
    let avail = n.json("/workspaces/pg/datastores/db/featuretypes.json?list=available");
    assert_eq!(
        avail["list"]["string"].as_array().unwrap().len(),
        layers.len()
    );
    for (_, t, _, _) in layers {
        expect(
            n.post_xml(
                "/workspaces/pg/datastores/db/featuretypes",
                &format!("<featureType><name>{t}</name></featureType>"),
            ),
            201,
        );
    }
    let ft = n.json("/workspaces/pg/datastores/db/featuretypes/archsites.json");
    assert_eq!(ft["featureType"]["srs"], "EPSG:26713");
    assert!(ft["featureType"]["attributes"]["attribute"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "str1"));
    for (ws, t, _, _) in layers {
        let a = features(&n, &format!("{ws}:{t}"), "");
        let b = features(&n, &format!("pg:{t}"), "");
        let (fa, fb) = (
            a["features"].as_array().unwrap(),
            b["features"].as_array().unwrap(),
        );
        assert_eq!(fa.len(), fb.len(), "{t}");
        for (x, y) in fa.iter().zip(fb) {
            for (k, v) in x["properties"].as_object().unwrap() {
                let w = &y["properties"][k];
                // shp2pgsql loads blank dBASE text as NULL.
                let blank = v.as_str() == Some("") && w.is_null();
                let same = blank
                    || v == w
                    || v.as_f64()
                        .zip(w.as_f64())
                        .is_some_and(|(p, q)| (p - q).abs() < 1e-6)
                    || v.as_str().map(str::trim) == w.as_str().map(str::trim);
                assert!(same, "{t} {} {k}: {v} vs {w}", x["id"]);
            }
            let (p, q) = (first_coord(&x["geometry"]), first_coord(&y["geometry"]));
            assert!(
                (p.0 - q.0).abs() < 1e-6 && (p.1 - q.1).abs() < 1e-6,
                "{t} {}",
                x["id"]
            );
        }
    }
    // Filters, sorting and paging run in the database and agree with the files.
    let filter = "%3Cfes%3AFilter%20xmlns%3Afes%3D%22http%3A%2F%2Fwww.opengis.net%2Ffes%2F2.0%22%3E%3Cfes%3APropertyIsLike%20wildCard%3D%22*%22%20singleChar%3D%22.%22%20escapeChar%3D%22!%22%3E%3Cfes%3AValueReference%3ESTATE_NAME%3C%2Ffes%3AValueReference%3E%3Cfes%3ALiteral%3EN*%3C%2Ffes%3ALiteral%3E%3C%2Ffes%3APropertyIsLike%3E%3C%2Ffes%3AFilter%3E";
    let a = features(&n, "topp:states", &format!("&filter={filter}"));
    let b = features(&n, "pg:states", &format!("&filter={filter}"));
    assert_eq!(a["numberMatched"], b["numberMatched"]);
    assert_eq!(b["numberMatched"], 8);
    let texas = "&cql_filter=INTERSECTS%28the_geom%2C%20POINT%28-99.9%2031.5%29%29";
    assert_eq!(features(&n, "pg:states", texas)["numberMatched"], 1);
    assert_eq!(
        features(&n, "pg:states", texas)["features"][0]["properties"]["STATE_ABBR"],
        "TX"
    );
    let bb = "&bbox=-104,30,-94,37,EPSG:4326";
    assert_eq!(
        features(&n, "topp:states", bb)["numberMatched"],
        features(&n, "pg:states", bb)["numberMatched"]
    );
    let s = features(
        &n,
        "pg:states",
        "&sortBy=STATE_NAME+DESC&count=2&startIndex=1",
    );
    assert_eq!(s["features"][0]["properties"]["STATE_NAME"], "Wisconsin");
    assert_eq!(s["numberMatched"], 49);
    let items = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/ogc/features/v1/collections/pg:roads/items?limit=3",
            n.port
        ))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(items["numberMatched"], 825);
    assert_eq!(items["features"].as_array().unwrap().len(), 3);
}

/// The number of `pg:roads` features a node serves, or the error it answers.
fn roads_through(n: &Node, store: &str) -> Result<usize, String> {
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=pg:{store}&outputFormat=application/json",
            n.port
        ))
        .send()
        .unwrap();
    let status = r.status();
    let body = r.text().unwrap();
    if status != 200 {
        return Err(body);
    }
    let v: Value = serde_json::from_str(&body).map_err(|_| body.clone())?;
    Ok(v["features"].as_array().map_or(0, Vec::len))
}

/// A PostGIS store `name` on `host` with `mode`, and a layer of its `roads` table named
/// `name` too.
fn tls_store(n: &Node, pg: &Pg, name: &str, host: &str, mode: &str) {
    expect(
        n.post_xml(
            "/workspaces/pg/datastores",
            &format!(
                "<dataStore><name>{name}</name><connectionParameters><entry key=\"dbtype\">postgis</entry><entry key=\"host\">{host}</entry><entry key=\"port\">{}</entry><entry key=\"database\">gis</entry><entry key=\"user\">postgres</entry><entry key=\"SSL mode\">{mode}</entry></connectionParameters></dataStore>",
                pg.port
            ),
        ),
        201,
    );
    expect(
        n.post_xml(
            &format!("/workspaces/pg/datastores/{name}/featuretypes"),
            &format!(
                "<featureType><name>{name}</name><nativeName>roads</nativeName></featureType>"
            ),
        ),
        201,
    );
}

#[test]
fn postgis_connections_honour_the_stores_ssl_mode() {
    let pg = Pg::start_tls();
    pg.load(&fixture().join("data/sf/roads.shp"), "roads", 26713);
    let ca = pg.dir.join("ca.crt");
    let tn = tempfile::tempdir().unwrap();
    let n = Node::start_env(
        tn.path().join("data"),
        None,
        &[
            ("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0"),
            ("PGSSLROOTCERT", ca.to_str().unwrap()),
        ],
    );
    expect(
        n.post_xml("/workspaces", "<workspace><name>pg</name></workspace>"),
        201,
    );
    for (name, host, mode) in [
        ("plain", "127.0.0.1", "DISABLE"),
        ("prefer", "127.0.0.1", "PREFER"),
        ("require", "127.0.0.1", "REQUIRE"),
        ("verifyca", "127.0.0.1", "VERIFY_CA"),
        ("verifyfull", "127.0.0.1", "VERIFY_FULL"),
        ("byname", "localhost", "VERIFY_FULL"),
    ] {
        tls_store(&n, &pg, name, host, mode);
    }
    // The server refuses TCP without TLS: only the DISABLE store fails.
    let err = roads_through(&n, "plain").unwrap_err();
    assert!(
        err.contains("no encryption") || err.contains("pg_hba"),
        "{err}"
    );
    for store in ["prefer", "require", "verifyca", "verifyfull", "byname"] {
        assert_eq!(roads_through(&n, store), Ok(825), "{store}");
    }
    // A node that does not trust the server's CA still encrypts where the mode does not
    // verify, and refuses where it does.
    let to = tempfile::tempdir().unwrap();
    let other = Node::start_env(
        to.path().join("data"),
        None,
        &[("MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN", "127.0.0.1:0")],
    );
    expect(
        other.post_xml("/workspaces", "<workspace><name>pg</name></workspace>"),
        201,
    );
    for (name, mode) in [
        ("require", "REQUIRE"),
        ("verifyca", "VERIFY_CA"),
        ("verifyfull", "VERIFY_FULL"),
    ] {
        tls_store(&other, &pg, name, "127.0.0.1", mode);
    }
    assert_eq!(roads_through(&other, "require"), Ok(825));
    for store in ["verifyca", "verifyfull"] {
        let err = roads_through(&other, store).unwrap_err();
        assert!(err.to_lowercase().contains("certificate"), "{store}: {err}");
    }
    // An unknown mode is the caller's mistake.
    let r = n.post_xml(
        "/workspaces/pg/datastores",
        &format!(
            "<dataStore><name>odd</name><connectionParameters><entry key=\"dbtype\">postgis</entry><entry key=\"host\">127.0.0.1</entry><entry key=\"port\">{}</entry><entry key=\"database\">gis</entry><entry key=\"SSL mode\">SOMETIMES</entry></connectionParameters></dataStore>",
            pg.port
        ),
    );
    assert_eq!(r.status(), 201, "GeoServer stores the parameter as given");
    let r = n.get("/workspaces/pg/datastores/odd/featuretypes.json?list=available");
    assert!(r.status().is_client_error() || r.status().is_server_error());
}

/// Workspace `pg` with the PostGIS store `db` on `pg`'s database.
fn pg_store(n: &Node, pg: &Pg) {
    expect(
        n.post_xml("/workspaces", "<workspace><name>pg</name></workspace>"),
        201,
    );
    expect(
        n.post_xml(
            "/workspaces/pg/datastores",
            &format!(
                "<dataStore><name>db</name><connectionParameters><entry key=\"dbtype\">postgis</entry><entry key=\"host\">127.0.0.1</entry><entry key=\"port\">{}</entry><entry key=\"database\">gis</entry><entry key=\"user\">postgres</entry></connectionParameters></dataStore>",
                pg.port
            ),
        ),
        201,
    );
}

/// POST a WFS document as admin.
fn wfs_post(n: &Node, body: &str) -> (u16, String) {
    let r = n
        .anon()
        .post(format!("http://127.0.0.1:{}/geoserver/wfs", n.port))
        .basic_auth("admin", Some("geoserver"))
        .header("content-type", "text/xml")
        .body(body.to_string())
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn wfs_transactions_edit_postgis_tables_all_or_nothing() {
    let pg = Pg::start();
    pg.load(&fixture().join("data/sf/bugsites.shp"), "bugsites", 26713);
    pg.load(
        &fixture().join("data/shapefiles/states.shp"),
        "states",
        4326,
    );
    let n = Node::with_fixture();
    pg_store(&n, &pg);
    for t in ["bugsites", "states"] {
        expect(
            n.post_xml(
                "/workspaces/pg/datastores/db/featuretypes",
                &format!("<featureType><name>{t}</name></featureType>"),
            ),
            201,
        );
    }
    let ns = "version=\"1.1.0\" service=\"WFS\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\" xmlns:gml=\"http://www.opengis.net/gml\" xmlns:pg=\"http://pg\"";
    // Insert: the key the database gave; a text with quotes is stored as written.
    let hostile = "x'); DROP TABLE bugsites; --";
    let (status, t) = wfs_post(
        &n,
        &format!("<wfs:Transaction {ns}><wfs:Insert><pg:bugsites><pg:geom><gml:Point srsName=\"EPSG:26713\"><gml:pos>590000 4920000</gml:pos></gml:Point></pg:geom><pg:cat>4242</pg:cat><pg:str1>{}</pg:str1></pg:bugsites></wfs:Insert></wfs:Transaction>", meridian_xml::escape(hostile)),
    );
    assert_eq!(status, 200, "{t}");
    assert!(t.contains("fid=\"bugsites.91\""), "{t}");
    let f = features(&n, "pg:bugsites", "&cql_filter=cat%3D4242");
    assert_eq!(f["numberMatched"], 1);
    assert_eq!(f["features"][0]["properties"]["str1"], hostile);
    let (x, y) = first_coord(&f["features"][0]["geometry"]);
    assert!((x - 590000.0).abs() < 1e-6 && (y - 4920000.0).abs() < 1e-6);
    // Update by filter, then a polygon into a MULTIPOLYGON column (made multi).
    let (status, t) = wfs_post(
        &n,
        &format!("<wfs:Transaction {ns}><wfs:Update typeName=\"pg:bugsites\"><wfs:Property><wfs:Name>str1</wfs:Name><wfs:Value>calm</wfs:Value></wfs:Property><ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>cat</ogc:PropertyName><ogc:Literal>4242</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter></wfs:Update><wfs:Insert><pg:states><pg:geom><gml:Polygon srsName=\"EPSG:4326\"><gml:exterior><gml:LinearRing><gml:posList>-100 40 -99 40 -99 41 -100 40</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></pg:geom><pg:STATE_NAME>Meridia</pg:STATE_NAME></pg:states></wfs:Insert></wfs:Transaction>"),
    );
    assert_eq!(status, 200, "{t}");
    assert!(
        t.contains("<wfs:totalUpdated>1</wfs:totalUpdated>")
            && t.contains("<wfs:totalInserted>1</wfs:totalInserted>"),
        "{t}"
    );
    assert_eq!(
        features(&n, "pg:bugsites", "&cql_filter=cat%3D4242")["features"][0]["properties"]["str1"],
        "calm"
    );
    let s = features(&n, "pg:states", "&cql_filter=STATE_NAME%3D%27Meridia%27");
    assert_eq!(s["features"][0]["geometry"]["type"], "MultiPolygon");
    // An action the database refuses (too long for the column) rolls back the earlier ones.
    let (status, t) = wfs_post(
        &n,
        &format!("<wfs:Transaction {ns}><wfs:Delete typeName=\"pg:bugsites\"><ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>cat</ogc:PropertyName><ogc:Literal>4242</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter></wfs:Delete><wfs:Update typeName=\"pg:states\"><wfs:Property><wfs:Name>STATE_ABBR</wfs:Name><wfs:Value>FAR TOO LONG FOR TWO</wfs:Value></wfs:Property><ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>STATE_NAME</ogc:PropertyName><ogc:Literal>Meridia</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter></wfs:Update></wfs:Transaction>"),
    );
    assert_eq!(status, 400, "{t}");
    assert!(t.contains("too long"), "{t}");
    assert_eq!(features(&n, "pg:bugsites", "")["numberMatched"], 91);
    // Delete.
    let (status, t) = wfs_post(
        &n,
        &format!("<wfs:Transaction {ns}><wfs:Delete typeName=\"pg:bugsites\"><ogc:Filter><ogc:FeatureId fid=\"bugsites.91\"/></ogc:Filter></wfs:Delete></wfs:Transaction>"),
    );
    assert_eq!(status, 200, "{t}");
    assert!(t.contains("<wfs:totalDeleted>1</wfs:totalDeleted>"), "{t}");
    assert_eq!(features(&n, "pg:bugsites", "")["numberMatched"], 90);
}

#[test]
fn sql_views_serve_their_query_with_checked_parameters() {
    let pg = Pg::start();
    pg.load(
        &fixture().join("data/shapefiles/states.shp"),
        "states",
        4326,
    );
    let n = Node::with_fixture();
    pg_store(&n, &pg);
    // GeoServer's SQL view: a layer defined by a query with a %min% parameter.
    let view = |name: &str, sql: &str, validator: &str| {
        format!(
            "<featureType><name>{name}</name><metadata><entry key=\"JDBC_VIRTUAL_TABLE\"><virtualTable><name>{name}</name><sql>{}</sql><escapeSql>false</escapeSql><keyColumn>gid</keyColumn><geometry><name>geom</name><type>MultiPolygon</type><srid>4326</srid></geometry><parameter><name>min</name><defaultValue>10000000</defaultValue>{validator}</parameter></virtualTable></entry></metadata></featureType>",
            meridian_xml::escape(sql)
        )
    };
    let sql = "select gid, \"STATE_NAME\", \"STATE_ABBR\", \"PERSONS\", geom from states where \"PERSONS\" > %min%";
    expect(
        n.post_xml(
            "/workspaces/pg/datastores/db/featuretypes",
            &view(
                "big_states",
                sql,
                "<regexpValidator>^[\\d]+$</regexpValidator>",
            ),
        ),
        201,
    );
    let ft = n.json("/workspaces/pg/datastores/db/featuretypes/big_states.json");
    assert_eq!(ft["featureType"]["nativeName"], "big_states");
    let attrs = ft["featureType"]["attributes"]["attribute"].to_string();
    assert!(
        attrs.contains("STATE_NAME") && !attrs.contains("\"gid\""),
        "{attrs}"
    );
    // The default, then a parameter, each the same states the shapefile gives.
    let same_as_file = |extra: &str, min: u64| {
        let v = features(&n, "pg:big_states", extra);
        let f = features(&n, "topp:states", &format!("&cql_filter=PERSONS%3E{min}"));
        assert_eq!(v["numberMatched"], f["numberMatched"], "min {min}");
        assert!(v["numberMatched"].as_u64().unwrap() > 0);
        v
    };
    let v = same_as_file("", 10_000_000);
    assert!(v["features"][0]["id"]
        .as_str()
        .unwrap()
        .starts_with("big_states."));
    same_as_file("&viewparams=min:20000000", 20_000_000);
    // Injection through a parameter is refused with a clear 400; so is an unknown default.
    for bad in ["min:1%20or%201%3D1", "min:1--", "min:1)%20union%20select"] {
        let r = n
            .anon()
            .get(format!(
                "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=pg:big_states&viewparams={bad}",
                n.port
            ))
            .send()
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let t = r.text().unwrap();
        assert!(
            t.contains("viewparams") && t.contains("does not match"),
            "{t}"
        );
    }
    // WMS draws the view with its parameters.
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wms?service=WMS&version=1.1.1&request=GetMap&layers=pg:big_states&styles=polygon&srs=EPSG:4326&bbox=-125,24,-66,50&width=300&height=150&format=image/png&viewparams=min:15000000",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = r.bytes().unwrap();
    std::fs::write(std::env::temp_dir().join("meridian-sql-view.png"), &png).unwrap();
    // Only the three states above 15 million are drawn (California, New York, Texas): some
    // pixels filled, most of the map left blank.
    let (_, _, px) = meridian_testkit::images::rgb(&png);
    let filled = px.chunks(3).filter(|p| p != &[255, 255, 255]).count();
    assert!(filled > 500 && filled < 300 * 150 / 4, "{filled}");
    // A view without a validator is held to a default one (one word: no spaces, no
    // operators; GeoServer's would let `0 or true` through), and a
    // view whose query does not run is refused when published.
    expect(
        n.post_xml(
            "/workspaces/pg/datastores/db/featuretypes",
            &view("open_states", sql, ""),
        ),
        201,
    );
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=pg:open_states&viewparams=min:0%20or%20true",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = n.post_xml(
        "/workspaces/pg/datastores/db/featuretypes",
        &view("broken", "select nope from nowhere", ""),
    );
    assert_eq!(r.status(), 400, "{}", r.text().unwrap());
    // Views take no WFS-T writes.
    let r = n
        .anon()
        .post(format!("http://127.0.0.1:{}/geoserver/wfs", n.port))
        .basic_auth("admin", Some("geoserver"))
        .body("<wfs:Transaction version=\"2.0.0\" service=\"WFS\" xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:fes=\"http://www.opengis.net/fes/2.0\"><wfs:Delete typeName=\"pg:big_states\"><fes:Filter><fes:ResourceId rid=\"big_states.1\"/></fes:Filter></wfs:Delete></wfs:Transaction>")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("cannot write"));
}

#[test]
fn vector_tiles_of_a_postgis_layer_are_made_by_postgis() {
    let pg = Pg::start();
    pg.load(
        &fixture().join("data/shapefiles/states.shp"),
        "states",
        4326,
    );
    let n = Node::with_fixture();
    pg_store(&n, &pg);
    expect(
        n.post_xml(
            "/workspaces/pg/datastores/db/featuretypes",
            "<featureType><name>states</name><cqlFilter>STATE_ABBR &lt;&gt; 'OK'</cqlFilter></featureType>",
        ),
        201,
    );
    let r = n
        .anon()
        .put(format!("http://127.0.0.1:{}/geoserver/gwc/rest/layers/pg:states.xml", n.port))
        .basic_auth("admin", Some("geoserver"))
        .header("content-type", "text/xml")
        .body("<GeoServerLayer><name>pg:states</name><enabled>true</enabled><mimeFormats><string>application/vnd.mapbox-vector-tile</string></mimeFormats><gridSubsets><gridSubset><gridSetName>EPSG:900913</gridSetName></gridSubset></gridSubsets></GeoServerLayer>")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // Texas's tile (web mercator level 3, column 1, row 3).
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/gwc/service/wmts/rest/pg:states/EPSG:900913/EPSG:900913:3/3/1?format=application/vnd.mapbox-vector-tile",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().unwrap().to_vec();
    let has = |s: &[u8]| bytes.windows(s.len()).any(|w| w == s);
    assert!(
        has(b"states") && has(b"STATE_NAME") && has(b"Texas"),
        "the layer, its attributes: {}",
        String::from_utf8_lossy(&bytes)
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(300)
            .collect::<String>()
    );
    assert!(
        !has(b"Oklahoma"),
        "the layer's own cqlFilter holds in SQL too"
    );
    assert!(!has(b"Maine"), "only the tile's features");
}
