//! WFS-T against a real node: Insert, Update and Delete on the fixture's shapefiles and
//! GeoPackage in the WFS 1.0.0, 1.1.0 and 2.0.0 documents, all-or-nothing transactions, who
//! may write, and feature locks.
#![allow(clippy::unwrap_used)]

mod common;
use common::Node;
use serde_json::Value;

/// POST a WFS document, as admin or with other credentials (`None`: anonymous).
fn post(n: &Node, body: &str, who: Option<(&str, &str)>) -> (u16, String) {
    let mut r = n
        .anon()
        .post(format!("http://127.0.0.1:{}/geoserver/wfs", n.port))
        .header("content-type", "text/xml")
        .body(body.to_string());
    if let Some((u, p)) = who {
        r = r.basic_auth(u, Some(p));
    }
    let r = r.send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn admin(n: &Node, body: &str) -> String {
    let (status, text) = post(n, body, Some(("admin", "geoserver")));
    assert_eq!(status, 200, "{text}");
    text
}

/// The features of a layer, as GeoJSON (a CQL filter optional).
fn features(n: &Node, layer: &str, cql: &str) -> Value {
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames={layer}&outputFormat=application/json&cql_filter={}",
            n.port,
            if cql.is_empty() { "INCLUDE".to_string() } else { cql.replace(' ', "%20").replace('\'', "%27") }
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

fn count(n: &Node, layer: &str) -> u64 {
    features(n, layer, "")["numberMatched"].as_u64().unwrap()
}

const WFS11: &str = "version=\"1.1.0\" service=\"WFS\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\" xmlns:gml=\"http://www.opengis.net/gml\" xmlns:sf=\"http://www.openplans.org/spearfish\" xmlns:ne=\"http://www.naturalearthdata.com\"";
const WFS20: &str = "version=\"2.0.0\" service=\"WFS\" xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:fes=\"http://www.opengis.net/fes/2.0\" xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:sf=\"http://www.openplans.org/spearfish\" xmlns:ne=\"http://www.naturalearthdata.com\"";
const WFS10: &str = "version=\"1.0.0\" service=\"WFS\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\" xmlns:gml=\"http://www.opengis.net/gml\" xmlns:sf=\"http://www.openplans.org/spearfish\"";

fn insert_bugsite(cat: &str) -> String {
    format!("<wfs:Transaction {WFS11}><wfs:Insert><sf:bugsites><sf:the_geom><gml:Point srsName=\"EPSG:26713\"><gml:pos>590000 4920000</gml:pos></gml:Point></sf:the_geom><sf:cat>{cat}</sf:cat><sf:str1>Ünïcode site</sf:str1></sf:bugsites></wfs:Insert></wfs:Transaction>")
}

#[test]
fn insert_update_and_delete_round_trip_on_a_shapefile_and_a_geopackage() {
    let n = Node::with_fixture();
    assert_eq!(count(&n, "sf:bugsites"), 90);

    // WFS 1.1.0 Insert: the new id answered, the feature served with its values.
    let t = admin(&n, &insert_bugsite("4242"));
    assert!(
        t.contains("<wfs:totalInserted>1</wfs:totalInserted>"),
        "{t}"
    );
    assert!(t.contains("fid=\"bugsites.91\""), "{t}");
    assert_eq!(count(&n, "sf:bugsites"), 91);
    let f = features(&n, "sf:bugsites", "cat = 4242");
    assert_eq!(f["features"][0]["properties"]["str1"], "Ünïcode site");
    assert_eq!(f["features"][0]["id"], "bugsites.91");

    // WFS 2.0.0 Update by resource id; WFS 1.0.0 Delete by feature id.
    let t = admin(&n, &format!("<wfs:Transaction {WFS20}><wfs:Update typeName=\"sf:bugsites\"><wfs:Property><wfs:ValueReference>str1</wfs:ValueReference><wfs:Value>renamed</wfs:Value></wfs:Property><fes:Filter><fes:ResourceId rid=\"bugsites.91\"/></fes:Filter></wfs:Update></wfs:Transaction>"));
    assert!(t.contains("<wfs:totalUpdated>1</wfs:totalUpdated>"), "{t}");
    assert_eq!(
        features(&n, "sf:bugsites", "cat = 4242")["features"][0]["properties"]["str1"],
        "renamed"
    );
    let t = admin(&n, &format!("<wfs:Transaction {WFS10}><wfs:Delete typeName=\"sf:bugsites\"><ogc:Filter><ogc:FeatureId fid=\"bugsites.91\"/></ogc:Filter></wfs:Delete></wfs:Transaction>"));
    assert!(
        t.contains("WFS_TransactionResponse") && t.contains("<wfs:SUCCESS/>"),
        "{t}"
    );
    assert_eq!(count(&n, "sf:bugsites"), 90);

    // GeoPackage, WFS 2.0.0: a GML 3.2 point in the URN form (latitude first) is stored as
    // longitude/latitude; the R-tree follows (a bbox query finds it).
    assert_eq!(count(&n, "ne:populated_places"), 243);
    let t = admin(&n, &format!("<wfs:Transaction {WFS20}><wfs:Insert><ne:populated_places><ne:GEOMETRY><gml:Point gml:id=\"p1\" srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>-33.5 151.25</gml:pos></gml:Point></ne:GEOMETRY><ne:NAME>Meridian Town</ne:NAME></ne:populated_places></wfs:Insert></wfs:Transaction>"));
    assert!(
        t.contains("<wfs:totalInserted>1</wfs:totalInserted>"),
        "{t}"
    );
    assert!(t.contains("<fes:ResourceId rid=\"populated_places."), "{t}");
    let f = features(&n, "ne:populated_places", "NAME = 'Meridian Town'");
    assert_eq!(f["numberMatched"], 1);
    let c = &f["features"][0]["geometry"]["coordinates"];
    assert_eq!((c[0].as_f64(), c[1].as_f64()), (Some(151.25), Some(-33.5)));
    let boxed = features(
        &n,
        "ne:populated_places",
        "BBOX(GEOMETRY, 151, -34, 152, -33)",
    );
    assert!(boxed["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["properties"]["NAME"] == "Meridian Town"));
    let t = admin(&n, &format!("<wfs:Transaction {WFS11}><wfs:Delete typeName=\"ne:populated_places\"><ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>NAME</ogc:PropertyName><ogc:Literal>Meridian Town</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter></wfs:Delete></wfs:Transaction>"));
    assert!(t.contains("<wfs:totalDeleted>1</wfs:totalDeleted>"), "{t}");
    assert_eq!(count(&n, "ne:populated_places"), 243);
}

#[test]
fn a_failed_transaction_changes_nothing_and_says_why() {
    let n = Node::with_fixture();
    // A good insert into the GeoPackage, then a value the shapefile's number field refuses.
    let body = format!("<wfs:Transaction {WFS11}><wfs:Insert><ne:populated_places><ne:NAME>Never</ne:NAME></ne:populated_places></wfs:Insert><wfs:Insert><sf:bugsites><sf:cat>1</sf:cat></sf:bugsites></wfs:Insert><wfs:Update typeName=\"sf:bugsites\"><wfs:Property><wfs:Name>cat</wfs:Name><wfs:Value>1e30</wfs:Value></wfs:Property><ogc:Filter><ogc:FeatureId fid=\"bugsites.1\"/></ogc:Filter></wfs:Update></wfs:Transaction>");
    let (status, text) = post(&n, &body, Some(("admin", "geoserver")));
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("InvalidParameterValue") && text.contains("cat"),
        "{text}"
    );
    assert_eq!(count(&n, "ne:populated_places"), 243);
    assert_eq!(count(&n, "sf:bugsites"), 90);

    // Refused before any store is touched: an unknown property, a value of the wrong type,
    // an unknown type, a broken geometry, an action Meridian does not run.
    for (body, says) in [
        (
            insert_bugsite("4242").replace("sf:str1", "sf:nope"),
            "no property 'nope'",
        ),
        (insert_bugsite("many"), "integer"),
        (
            insert_bugsite("1").replace("sf:bugsites>", "sf:nothere>"),
            "unknown",
        ),
        (
            insert_bugsite("1").replace("590000 4920000", "590000"),
            "two coordinates",
        ),
        (
            format!("<wfs:Transaction {WFS20}><wfs:Replace/></wfs:Transaction>"),
            "Replace",
        ),
        (
            format!(
                "<wfs:Transaction {WFS20}><wfs:Delete typeName=\"sf:bugsites\"/></wfs:Transaction>"
            ),
            "needs a Filter",
        ),
    ] {
        let (status, text) = post(&n, &body, Some(("admin", "geoserver")));
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.contains(says), "{says}: {text}");
    }
    assert_eq!(count(&n, "sf:bugsites"), 90);
    // A Transaction is a POST.
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=Transaction",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn writes_need_a_user_the_data_rules_allow_and_the_service_level() {
    let (tmp, dir) = meridian_testkit::tmpdir();
    meridian_testkit::copy_dir(&common::fixture(), &dir).unwrap();
    // An editor of sf only; everyone reads.
    common::add_user(&dir, "editor", "editor", &["EDITOR"]);
    let sec = dir.join("security");
    std::fs::write(
        sec.join("layers.properties"),
        "*.*.r=*\n*.*.w=ADMIN,GROUP_ADMIN\nsf.*.w=EDITOR\nsf.bugsites.w=NOBODY\nmode=HIDE\n",
    )
    .unwrap();
    let n = Node::start(dir.clone(), Some(tmp));
    let archsite = format!("<wfs:Transaction {WFS11}><wfs:Insert><sf:archsites><sf:the_geom><gml:Point srsName=\"EPSG:26713\"><gml:pos>590000 4920000</gml:pos></gml:Point></sf:the_geom><sf:cat>77</sf:cat></sf:archsites></wfs:Insert></wfs:Transaction>");
    // Anonymous: asked to log in; a wrong password likewise; nothing written.
    let (status, _) = post(&n, &archsite, None);
    assert_eq!(status, 401);
    let (status, _) = post(&n, &archsite, Some(("editor", "wrong")));
    assert_eq!(status, 401);
    assert_eq!(count(&n, "sf:archsites"), 25);
    // The editor writes sf:archsites (sf.*.w) but not sf:bugsites (its own rule wins).
    let (status, text) = post(&n, &archsite, Some(("editor", "editor")));
    assert_eq!(status, 200, "{text}");
    assert_eq!(count(&n, "sf:archsites"), 26);
    let (status, text) = post(&n, &insert_bugsite("5"), Some(("editor", "editor")));
    assert_eq!(status, 403, "{text}");
    assert_eq!(count(&n, "sf:bugsites"), 90);
    // The administrator may always write.
    let (status, _) = post(&n, &insert_bugsite("5"), Some(("admin", "geoserver")));
    assert_eq!(status, 200);

    // The capabilities offer what the service level allows.
    let caps = |v: &str| {
        n.anon()
            .get(format!(
                "http://127.0.0.1:{}/geoserver/wfs?service=WFS&request=GetCapabilities&version={v}",
                n.port
            ))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    assert!(caps("1.0.0").contains("<Transaction>") && caps("1.0.0").contains("<Insert/>"));
    assert!(
        caps("1.1.0").contains("name=\"Transaction\"")
            && caps("1.1.0").contains("<Operation>Insert</Operation>")
    );
    assert!(caps("2.0.0")
        .contains("name=\"ImplementsTransactionalWFS\"><ows:NoValues/><ows:DefaultValue>TRUE"));
    assert!(caps("2.0.0").contains("name=\"LockFeature\""));
    let wfs = std::fs::read_to_string(dir.join("wfs.xml")).unwrap();
    std::fs::write(
        dir.join("wfs.xml"),
        wfs.replace(
            "<serviceLevel>COMPLETE</serviceLevel>",
            "<serviceLevel>BASIC</serviceLevel>",
        ),
    )
    .unwrap();
    common::expect(n.post_xml("/reload", ""), 200);
    let (status, text) = post(&n, &archsite, Some(("admin", "geoserver")));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("OperationNotSupported"), "{text}");
    assert!(!caps("1.1.0").contains("name=\"Transaction\""));
    assert!(caps("2.0.0")
        .contains("name=\"ImplementsTransactionalWFS\"><ows:NoValues/><ows:DefaultValue>FALSE"));
}

#[test]
fn locked_features_change_only_under_their_lock() {
    let n = Node::with_fixture();
    let lock = |body: &str| admin(&n, body);
    let t = lock(&format!("<wfs:LockFeature {WFS20} expiry=\"60\"><wfs:Query typeNames=\"sf:bugsites\"><fes:Filter><fes:ResourceId rid=\"bugsites.3\"/></fes:Filter></wfs:Query></wfs:LockFeature>"));
    let x = meridian_xml::parse(&t).unwrap();
    let lock_id = x.attr_value("lockId").unwrap().to_string();
    assert!(t.contains("rid=\"bugsites.3\""), "{t}");
    let delete = |lock: &str| {
        format!("<wfs:Transaction {WFS20}{lock}><wfs:Delete typeName=\"sf:bugsites\"><fes:Filter><fes:ResourceId rid=\"bugsites.3\"/></fes:Filter></wfs:Delete></wfs:Transaction>")
    };
    let (status, text) = post(&n, &delete(""), Some(("admin", "geoserver")));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("locked"), "{text}");
    assert_eq!(count(&n, "sf:bugsites"), 90);
    // Locking it again fails while the lock holds.
    let (status, text) = post(&n, &format!("<wfs:LockFeature {WFS20}><wfs:Query typeNames=\"sf:bugsites\"><fes:Filter><fes:ResourceId rid=\"bugsites.3\"/></fes:Filter></wfs:Query></wfs:LockFeature>"), Some(("admin", "geoserver")));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("CannotLockAllFeatures"), "{text}");
    let t = admin(&n, &delete(&format!(" lockId=\"{lock_id}\"")));
    assert!(t.contains("<wfs:totalDeleted>1</wfs:totalDeleted>"), "{t}");
    assert_eq!(count(&n, "sf:bugsites"), 89);
    // The lock went with the transaction (releaseAction ALL).
    let (status, text) = post(
        &n,
        &delete(&format!(" lockId=\"{lock_id}\"")),
        Some(("admin", "geoserver")),
    );
    assert_eq!(status, 400, "{text}");

    // GetFeatureWithLock names its lock on the collection.
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=GetFeatureWithLock&typeNames=sf:archsites&count=2",
            n.port
        ))
        .basic_auth("admin", Some("geoserver"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = r.text().unwrap();
    let x = meridian_xml::parse(&t).unwrap();
    assert!(
        x.attr_value("lockId").is_some(),
        "{}",
        &t[..t.len().min(400)]
    );
    // Anonymous callers may not lock (they may not write).
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wfs?service=WFS&version=2.0.0&request=LockFeature&typeNames=sf:archsites",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
}
