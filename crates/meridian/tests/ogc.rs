//! OGC API - Features and WFS 2.0 over GeoServer's release data directory, against a real node.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, Node};
use serde_json::Value;

/// Feature counts of every vector layer, from the fixture's README.
const COUNTS: &[(&str, usize)] = &[
    ("sf:streams", 104),
    ("sf:restricted", 4),
    ("sf:archsites", 25),
    ("sf:roads", 825),
    ("sf:bugsites", 90),
    ("tiger:poly_landmarks", 80),
    ("tiger:giant_polygon", 1),
    ("tiger:tiger_roads", 8333),
    ("tiger:poi", 6),
    ("topp:tasmania_roads", 14),
    ("topp:tasmania_cities", 1),
    ("topp:tasmania_water_bodies", 7),
    ("topp:tasmania_state_boundaries", 1),
    ("topp:states", 49),
    ("ne:countries", 177),
    ("ne:populated_places", 243),
    ("ne:boundary_lines", 177),
    ("ne:coastlines", 176),
    ("ne:disputed_areas", 4),
];

fn ogc(n: &Node, path: &str) -> reqwest::blocking::Response {
    n.anon()
        .get(format!("http://127.0.0.1:{}/geoserver{path}", n.port))
        .send()
        .unwrap()
}

fn ogc_json(n: &Node, path: &str) -> Value {
    let r = ogc(n, path);
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().unwrap()
}

fn ogc_xml(n: &Node, path: &str) -> meridian_xml::Element {
    let r = ogc(n, path);
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 200, "GET {path}: {text}");
    meridian_xml::parse(&text).unwrap_or_else(|e| panic!("{path}: not XML ({e}): {text}"))
}

#[test]
fn ogc_api_features_serves_every_vector_layer_with_the_right_counts() {
    let n = Node::with_fixture();
    let landing = ogc_json(&n, "/ogc/features/v1");
    assert!(landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "conformance"));
    let conf = ogc_json(&n, "/ogc/features/v1/conformance");
    assert!(conf["conformsTo"]
        .to_string()
        .contains("ogcapi-features-1/1.0/conf/core"));
    assert_eq!(ogc_json(&n, "/ogc/features/v1/api")["openapi"], "3.0.3");
    let cols = ogc_json(&n, "/ogc/features/v1/collections");
    let ids: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for (id, count) in COUNTS {
        assert!(ids.contains(id), "collection {id} missing from {ids:?}");
        let page = ogc_json(
            &n,
            &format!("/ogc/features/v1/collections/{id}/items?limit=5"),
        );
        assert_eq!(page["numberMatched"], *count, "{id}");
        assert_eq!(page["numberReturned"], (*count).min(5), "{id}");
    }
    // Paging through next links reaches every feature once.
    let mut url = "/ogc/features/v1/collections/sf:bugsites/items?limit=40".to_string();
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let p = ogc_json(&n, &url);
        for f in p["features"].as_array().unwrap() {
            assert!(seen.insert(f["id"].as_str().unwrap().to_string()));
        }
        match p["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(l) => {
                url = l["href"]
                    .as_str()
                    .unwrap()
                    .split("/geoserver")
                    .nth(1)
                    .unwrap()
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 90);
    // Reprojected to CRS84: Spearfish is at about 103.8 W, 44.4 N.
    let f = ogc_json(
        &n,
        "/ogc/features/v1/collections/sf:archsites/items/archsites.1",
    );
    let c = &f["geometry"]["coordinates"];
    assert!(
        (c[0].as_f64().unwrap() + 103.8).abs() < 0.2 && (c[1].as_f64().unwrap() - 44.4).abs() < 0.2,
        "{c}"
    );
    assert_eq!(f["properties"]["str1"], "Signature Rock");
    // bbox and property filters.
    let texas = ogc_json(
        &n,
        "/ogc/features/v1/collections/topp:states/items?STATE_ABBR=TX",
    );
    assert_eq!(texas["numberMatched"], 1);
    let bbox = ogc_json(
        &n,
        "/ogc/features/v1/collections/topp:states/items?bbox=-104,30,-94,37&limit=100",
    );
    let m = bbox["numberMatched"].as_u64().unwrap();
    assert!((3..=12).contains(&m), "{m}");
    // Errors.
    assert_eq!(
        ogc(&n, "/ogc/features/v1/collections/nope:nope").status(),
        404
    );
    assert_eq!(
        ogc(
            &n,
            "/ogc/features/v1/collections/sf:roads/items/roads.99999"
        )
        .status(),
        404
    );
    assert_eq!(
        ogc(&n, "/ogc/features/v1/collections/sf:roads/items?limit=0").status(),
        400
    );
    assert_eq!(
        ogc(&n, "/ogc/features/v1/collections/sf:roads/items?bbox=1,2,3").status(),
        400
    );
    assert_eq!(
        ogc(
            &n,
            "/ogc/features/v1/collections/sf:roads/items?nosuchattr=1"
        )
        .status(),
        400
    );
    // Huge limits are capped.
    let big = ogc_json(
        &n,
        "/ogc/features/v1/collections/tiger:tiger_roads/items?limit=99999999",
    );
    assert_eq!(big["numberReturned"], 8333);
}

#[test]
fn wfs_capabilities_describe_and_getfeature() {
    let n = Node::with_fixture();
    let caps = ogc_xml(&n, "/wfs?service=WFS&request=GetCapabilities");
    assert_eq!(caps.name, "wfs:WFS_Capabilities");
    assert_eq!(caps.attr_value("version"), Some("2.0.0"));
    let text = caps.to_xml();
    for (id, _) in COUNTS {
        assert!(text.contains(&format!("<wfs:Name>{id}</wfs:Name>")), "{id}");
    }
    assert!(text.contains("urn:ogc:def:crs:EPSG::26713"));
    for v in ["1.1.0", "1.0.0"] {
        let c = ogc_xml(
            &n,
            &format!("/wfs?service=WFS&version={v}&request=GetCapabilities"),
        );
        assert_eq!(c.attr_value("version"), Some(v));
    }
    // A workspace endpoint lists its own types only, unprefixed.
    let sf = ogc_xml(&n, "/sf/wfs?service=WFS&request=GetCapabilities").to_xml();
    assert!(
        sf.contains("<wfs:Name>archsites</wfs:Name>") && !sf.contains("<wfs:Name>tiger"),
        "{sf}"
    );
    let xsd = ogc_xml(
        &n,
        "/wfs?service=WFS&version=2.0.0&request=DescribeFeatureType&typeNames=sf:archsites",
    );
    let x = xsd.to_xml();
    assert!(
        x.contains("name=\"the_geom\"")
            && x.contains("gml:PointPropertyType")
            && x.contains("name=\"str1\""),
        "{x}"
    );
    // Hits for every layer match the source files.
    for (id, count) in COUNTS {
        let fc = ogc_xml(
            &n,
            &format!(
                "/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames={id}&resultType=hits"
            ),
        );
        assert_eq!(
            fc.attr_value("numberMatched"),
            Some(count.to_string().as_str()),
            "{id}"
        );
    }
    // GML 3.2 with paging, GeoJSON, sorting, resource ids, BBOX, FES filter.
    let fc = ogc_xml(&n, "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=sf:archsites&count=3&startIndex=2");
    assert_eq!(fc.attr_value("numberReturned"), Some("3"));
    assert_eq!(fc.all("wfs:member").count(), 3);
    let first = &fc.get("wfs:member").unwrap().children[0];
    assert_eq!(first.attr_value("gml:id"), Some("archsites.3"));
    let j: Value = ogc(&n, "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&outputFormat=application/json&sortBy=STATE_NAME+DESC&count=2").json().unwrap();
    assert_eq!(j["features"][0]["properties"]["STATE_NAME"], "Wyoming");
    assert_eq!(j["numberMatched"], 49);
    let ids: Value = ogc(&n, "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=sf:bugsites&outputFormat=json&resourceId=bugsites.1,bugsites.7").json().unwrap();
    assert_eq!(ids["features"].as_array().unwrap().len(), 2);
    // BBOX in lat/lon order (URN), and an FES filter.
    let b: Value = ogc(&n, "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=ne:populated_places&outputFormat=json&bbox=35,-10,60,30,urn:ogc:def:crs:EPSG::4326").json().unwrap();
    assert!(b["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["properties"]["NAME"] == "Paris"));
    assert!(!b["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["properties"]["NAME"] == "Tokyo"));
    let filter = "<fes:Filter xmlns:fes=\"http://www.opengis.net/fes/2.0\"><fes:PropertyIsEqualTo><fes:ValueReference>STATE_ABBR</fes:ValueReference><fes:Literal>CA</fes:Literal></fes:PropertyIsEqualTo></fes:Filter>";
    let url = format!("/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&outputFormat=json&filter={}", percent(filter));
    let ca: Value = ogc(&n, &url).json().unwrap();
    assert_eq!(ca["numberMatched"], 1);
    // POST XML.
    let post = format!("<wfs:GetFeature service=\"WFS\" version=\"2.0.0\" outputFormat=\"application/json\" xmlns:wfs=\"http://www.opengis.net/wfs/2.0\"><wfs:Query typeNames=\"topp:states\">{filter}</wfs:Query></wfs:GetFeature>");
    let r = n
        .anon()
        .post(format!("http://127.0.0.1:{}/geoserver/wfs", n.port))
        .body(post)
        .send()
        .unwrap();
    let j: Value = r.json().unwrap();
    assert_eq!(j["features"][0]["properties"]["STATE_NAME"], "California");
    // Exceptions.
    for (q, code) in [
        ("request=GetFeature&typeNames=nope:nope", "InvalidParameterValue"),
        ("request=GetFeature", "MissingParameterValue"),
        ("request=GetFeature&typeNames=sf:roads&count=abc", "InvalidParameterValue"),
        ("request=GetFeature&typeNames=sf:roads&startIndex=9223372036854775808", "InvalidParameterValue"),
        ("request=GetFeature&typeNames=sf:roads&bbox=1,2", "InvalidParameterValue"),
        ("request=GetFeature&typeNames=sf:roads&bbox=NaN,0,1,1", "InvalidParameterValue"),
        ("request=GetFeature&typeNames=sf:roads&filter=%3CFilter%3E%3CPropertyIsBetween%3E%3CValueReference%3Ecat%3C%2FValueReference%3E%3CLowerBoundary%3E%3CLiteral%3ENaN%3C%2FLiteral%3E%3C%2FLowerBoundary%3E%3CUpperBoundary%3E%3CLiteral%3E5%3C%2FLiteral%3E%3C%2FUpperBoundary%3E%3C%2FPropertyIsBetween%3E%3C%2FFilter%3E", "InvalidParameterValue"),
        ("request=GetFeature&typeNames=sf:roads&filter=%3CFilter%3E%3CPropertyIsBetween%3E%3CValueReference%3Ecat%3C%2FValueReference%3E%3CLowerBoundary%3E%3CLiteral%3E1%3C%2FLiteral%3E%3C%2FLowerBoundary%3E%3CUpperBoundary%3E%3CLiteral%3E1e999%3C%2FLiteral%3E%3C%2FUpperBoundary%3E%3C%2FPropertyIsBetween%3E%3C%2FFilter%3E", "InvalidParameterValue"),
        ("request=GetFeature&typeNames=sf:roads&cql_filter=cat%20BETWEEN%20-inf%20AND%205", "InvalidParameterValue"),
        ("request=GetFeature&typeNames=sf:roads&filter=%3CFilter%3E%3CBeyond%2F%3E%3C%2FFilter%3E", "InvalidParameterValue"),
        ("request=Transaction", "InvalidRequest"),
        ("", "MissingParameterValue"),
    ] {
        let r = ogc(&n, &format!("/wfs?service=WFS&version=2.0.0&{q}"));
        assert_eq!(r.status(), 400, "{q}");
        let t = r.text().unwrap();
        assert!(t.contains("ows:ExceptionReport") && t.contains(code), "{q}: {t}");
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn services_follow_the_catalog_live() {
    let n = Node::with_fixture();
    let caps = |n: &Node| {
        ogc(n, "/wfs?service=WFS&request=GetCapabilities")
            .text()
            .unwrap()
    };
    assert!(caps(&n).contains("<wfs:Name>sf:roads</wfs:Name>"));
    // Disabled through REST: gone from capabilities, collections and data at once.
    expect(
        n.put_xml(
            "/layers/sf:roads",
            "<layer><enabled>false</enabled></layer>",
        ),
        200,
    );
    assert!(!caps(&n).contains("<wfs:Name>sf:roads</wfs:Name>"));
    assert_eq!(
        ogc(&n, "/ogc/features/v1/collections/sf:roads").status(),
        404
    );
    assert_eq!(
        ogc(&n, "/wfs?service=WFS&request=GetFeature&typeNames=sf:roads").status(),
        400
    );
    expect(
        n.put_xml("/layers/sf:roads", "<layer><enabled>true</enabled></layer>"),
        200,
    );
    assert!(caps(&n).contains("<wfs:Name>sf:roads</wfs:Name>"));
    // Not advertised: out of the lists, still readable.
    expect(
        n.put_xml(
            "/layers/sf:streams",
            "<layer><advertised>false</advertised></layer>",
        ),
        200,
    );
    assert!(!caps(&n).contains("<wfs:Name>sf:streams</wfs:Name>"));
    assert_eq!(
        ogc(&n, "/ogc/features/v1/collections/sf:streams/items?limit=1").status(),
        200
    );
    // maxFeatures and title from the feature type.
    expect(
        n.put_xml(
            "/workspaces/sf/datastores/sf/featuretypes/bugsites",
            "<featureType><maxFeatures>7</maxFeatures><title>Bugs</title></featureType>",
        ),
        200,
    );
    let j: Value = ogc(
        &n,
        "/wfs?service=WFS&request=GetFeature&typeNames=sf:bugsites&outputFormat=json",
    )
    .json()
    .unwrap();
    assert_eq!(j["features"].as_array().unwrap().len(), 7);
    assert!(caps(&n).contains("<wfs:Title>Bugs</wfs:Title>"));
    // A newly published layer is served at once.
    expect(
        n.post_xml("/workspaces", "<workspace><name>w</name></workspace>"),
        201,
    );
    expect(n.post_xml("/workspaces/w/datastores", "<dataStore><name>s</name><connectionParameters><url>file:data/sf</url></connectionParameters></dataStore>"), 201);
    expect(
        n.post_xml(
            "/workspaces/w/datastores/s/featuretypes",
            "<featureType><name>roads</name></featureType>",
        ),
        201,
    );
    let p = ogc_json(&n, "/ogc/features/v1/collections/w:roads/items?limit=1");
    assert_eq!(p["numberMatched"], 825);
    // The WFS service disabled in its settings refuses requests.
    expect(
        n.put_xml(
            "/services/wfs/settings",
            "<wfs><enabled>false</enabled></wfs>",
        ),
        200,
    );
    let r = ogc(&n, "/wfs?service=WFS&request=GetCapabilities");
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("ServiceNotEnabled"));
}

#[test]
fn cql_filters_on_wfs_and_ogc_api() {
    let n = Node::with_fixture();
    let count = |q: &str| -> u64 {
        let v: Value = ogc(&n, &format!("/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&outputFormat=json&resultType=hits&cql_filter={}", percent(q))).json().unwrap();
        v["numberMatched"].as_u64().unwrap()
    };
    assert_eq!(count("STATE_ABBR = 'TX'"), 1);
    assert_eq!(count("STATE_NAME LIKE 'N%'"), 8);
    assert_eq!(
        count("STATE_NAME LIKE 'N%' AND NOT STATE_ABBR IN ('NY', 'NJ')"),
        6
    );
    assert_eq!(
        count("PERSONS > 10000000"),
        count("PERSONS BETWEEN 10000000 AND 1000000000")
    );
    assert_eq!(
        count("BBOX(the_geom, -104, 30, -94, 37)"),
        count("BBOX(the_geom, -104, 30, -94, 37, 'EPSG:4326')")
    );
    assert_eq!(count("IN ('states.1', 'states.2')"), 2);
    let r = ogc(
        &n,
        &format!(
            "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&cql_filter={}",
            percent("STATE_ABBR = ")
        ),
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("cql_filter"));
    let v = ogc_json(
        &n,
        &format!(
            "/ogc/features/v1/collections/topp:states/items?filter={}",
            percent("STATE_ABBR IN ('TX', 'CA')")
        ),
    );
    assert_eq!(v["numberMatched"], 2);
    assert_eq!(
        ogc(
            &n,
            "/ogc/features/v1/collections/topp:states/items?filter=%3D%3D"
        )
        .status(),
        400
    );
}

#[test]
fn ogc_api_filters_in_cql2_text_and_json_and_in_a_named_crs() {
    let n = Node::with_fixture();
    let matched = |q: &str| -> Value {
        ogc_json(
            &n,
            &format!("/ogc/features/v1/collections/topp:states/items?limit=100&{q}"),
        )["numberMatched"]
            .clone()
    };
    let json = r#"{"op":"and","args":[{"op":"=","args":[{"property":"STATE_ABBR"},"TX"]},{"op":"s_intersects","args":[{"property":"the_geom"},{"bbox":[-100,30,-99,31]}]}]}"#;
    assert_eq!(
        matched(&format!("filter-lang=cql2-json&filter={}", percent(json))),
        1
    );
    // The same box as a CQL2 text literal, in CRS84 and in EPSG:4326 (latitude first).
    let text = matched(&format!(
        "filter={}",
        percent("S_INTERSECTS(the_geom, BBOX(-104, 30, -94, 37))")
    ));
    assert!(text.as_u64().unwrap() >= 4, "{text}");
    assert_eq!(
        matched(&format!(
            "filter-lang=cql2-text&filter-crs={}&filter={}",
            percent("http://www.opengis.net/def/crs/EPSG/0/4326"),
            percent("S_INTERSECTS(the_geom, BBOX(30, -104, 37, -94))")
        )),
        text
    );
    // A point inside Texas, as a GeoJSON literal.
    let point = r#"{"op":"s_intersects","args":[{"property":"the_geom"},{"type":"Point","coordinates":[-99.5,31.5]}]}"#;
    let v = ogc_json(
        &n,
        &format!(
            "/ogc/features/v1/collections/topp:states/items?filter-lang=cql2-json&filter={}",
            percent(point)
        ),
    );
    assert_eq!(v["features"][0]["properties"]["STATE_ABBR"], "TX");
    // Refusals in the standard's JSON: code and description.
    for (q, says) in [
        ("filter-lang=cql2-json&filter=%7B", "not JSON"),
        (
            "filter-lang=sql&filter=x",
            "filter-lang 'sql' is not supported",
        ),
        (
            &format!(
                "filter-lang=cql2-json&filter={}",
                percent(r#"{"op":"t_after","args":[]}"#)
            ),
            "not supported",
        ),
    ] {
        let r = ogc(
            &n,
            &format!("/ogc/features/v1/collections/topp:states/items?{q}"),
        );
        assert_eq!(r.status(), 400, "{q}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["code"], "InvalidParameterValue", "{q}");
        assert!(
            v["description"].as_str().unwrap().contains(says),
            "{q}: {v}"
        );
    }
    let conf = ogc_json(&n, "/ogc/features/v1/conformance");
    let classes = conf["conformsTo"].to_string();
    assert!(
        classes.contains("/conf/cql2-json")
            && classes.contains("ogcapi-features-3/1.0/conf/filter")
    );
}

#[test]
fn stored_queries_get_feature_by_id_and_truthful_metadata() {
    let n = Node::with_fixture();
    let base = "/wfs?service=WFS&version=2.0.0";
    let id = "urn:ogc:def:query:OGC-WFS::GetFeatureById";
    let r = ogc(
        &n,
        &format!("{base}&request=GetFeature&STOREDQUERY_ID={id}&ID=states.1"),
    );
    assert_eq!(r.status(), 200);
    let body = r.text().unwrap();
    // The feature alone, its element the root.
    let x = meridian_xml::parse(&body).unwrap();
    assert_eq!(x.name.as_str(), "topp:states", "{body}");
    assert_eq!(x.attr_value("gml:id"), Some("states.1"));
    let r = ogc(
        &n,
        &format!("{base}&request=GetFeature&STOREDQUERY_ID={id}&ID=states.999999"),
    );
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("NotFound"));
    let r = ogc(
        &n,
        &format!("{base}&request=GetFeature&STOREDQUERY_ID=urn:x:mine&ID=states.1"),
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("no stored query"));
    let list = ogc(&n, &format!("{base}&request=ListStoredQueries"))
        .text()
        .unwrap();
    assert!(
        list.contains(id) && list.contains(">topp:states</wfs:ReturnFeatureType>"),
        "{list}"
    );
    let desc = ogc(
        &n,
        &format!("{base}&request=DescribeStoredQueries&STOREDQUERY_ID={id}"),
    )
    .text()
    .unwrap();
    assert!(desc.contains("<wfs:Parameter name=\"ID\""), "{desc}");
    // KML, longitude first whatever the request's CRS.
    let r = ogc(
        &n,
        &format!(
            "{base}&request=GetFeature&typeNames=topp:states&outputFormat=KML&srsName=EPSG:3857"
        ),
    );
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.google-earth.kml+xml"
    );
    let kml = r.text().unwrap();
    assert_eq!(kml.matches("<Placemark ").count(), 49);
    let texas = kml
        .split("<Placemark ")
        .find(|p| p.contains("<value>Texas</value>"))
        .unwrap();
    let first = texas
        .split("<coordinates>")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let (lon, lat) = first.split_once(',').unwrap();
    let (lon, lat): (f64, f64) = (lon.parse().unwrap(), lat.parse().unwrap());
    assert!(
        (-107.0..-93.0).contains(&lon) && (25.0..37.0).contains(&lat),
        "{first}"
    );
    let caps = ogc(&n, &format!("{base}&request=GetCapabilities"))
        .text()
        .unwrap();
    assert!(caps.contains("name=\"ListStoredQueries\""));
    assert!(
        !caps.contains("including Transaction"),
        "the abstract claims Transaction"
    );
}

#[test]
fn get_property_value_gives_one_property_of_the_selected_features() {
    let n = Node::with_fixture();
    let base = "/wfs?service=WFS&version=2.0.0&request=GetPropertyValue&typeNames=topp:states";
    let body = ogc(&n, &format!("{base}&valueReference=STATE_NAME&count=3"))
        .text()
        .unwrap();
    let x = meridian_xml::parse(&body).unwrap();
    assert_eq!(x.name.as_str(), "wfs:ValueCollection", "{body}");
    assert_eq!(x.attr_value("numberMatched"), Some("49"));
    assert_eq!(x.attr_value("numberReturned"), Some("3"));
    let texas = ogc(
        &n,
        &format!(
            "{base}&valueReference=topp:STATE_NAME&cql_filter={}",
            percent("STATE_ABBR = 'TX'")
        ),
    )
    .text()
    .unwrap();
    assert!(texas.contains("<wfs:member>Texas</wfs:member>"), "{texas}");
    let geom = ogc(&n, &format!("{base}&valueReference=the_geom&count=1"))
        .text()
        .unwrap();
    assert!(geom.contains("<wfs:member><gml:MultiSurface"), "{geom}");
    let r = ogc(&n, &format!("{base}&valueReference=nope"));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("valueReference"));
    let r = ogc(&n, base);
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("MissingParameterValue"));
}

#[test]
fn every_advertised_output_format_answers() {
    let n = Node::with_fixture();
    for version in ["2.0.0", "1.1.0"] {
        let caps = ogc(
            &n,
            &format!("/wfs?service=WFS&version={version}&request=GetCapabilities"),
        )
        .text()
        .unwrap();
        let section = caps
            .split("name=\"GetFeature\"")
            .nth(1)
            .unwrap()
            .split("</ows:Operation>")
            .next()
            .unwrap();
        let formats: Vec<&str> = section
            .split("<ows:Value>")
            .skip(1)
            .filter_map(|v| v.split("</ows:Value>").next())
            .filter(|v| !["results", "hits"].contains(v))
            .collect();
        assert!(formats.len() >= 8, "{version}: {formats:?}");
        for f in formats {
            let r = ogc(
                &n,
                &format!(
                    "/wfs?service=WFS&version={version}&request=GetFeature&typeName=topp:states&maxFeatures=2&count=2&outputFormat={}",
                    percent(f)
                ),
            );
            assert_eq!(r.status(), 200, "{version} {f}");
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            let body = r.bytes().unwrap();
            assert!(!body.is_empty(), "{version} {f}");
            assert!(
                !ct.contains("ows") && !String::from_utf8_lossy(&body).contains("ExceptionReport"),
                "{version} {f}: {ct}"
            );
        }
    }
    // 1.0.0 names its formats as elements.
    let caps = ogc(&n, "/wfs?service=WFS&version=1.0.0&request=GetCapabilities")
        .text()
        .unwrap();
    assert!(
        caps.contains("<ResultFormat><GML2/><GML3/><SHAPE-ZIP/><CSV/><JSON/><KML/></ResultFormat>")
    );
}

#[test]
fn spatial_filters_intersects_within_disjoint() {
    let n = Node::with_fixture();
    let hits = |layer: &str, extra: &str| -> u64 {
        let v: Value = ogc(&n, &format!("/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames={layer}&outputFormat=json&resultType=hits{extra}")).json().unwrap();
        v["numberMatched"].as_u64().unwrap()
    };
    let cql = |q: &str| format!("&cql_filter={}", percent(q));
    assert_eq!(
        hits(
            "topp:states",
            &cql("INTERSECTS(the_geom, POINT(-99.9 31.5))")
        ),
        1
    );
    assert_eq!(
        hits("topp:states", &cql("DISJOINT(the_geom, POINT(-99.9 31.5))")),
        48
    );
    assert_eq!(
        hits(
            "topp:states",
            &cql("WITHIN(the_geom, POLYGON((-180 -90, 180 -90, 180 90, -180 90, -180 -90)))")
        ),
        49
    );
    // FES with a lat/lon point (URN axis order).
    let fes = "<fes:Filter xmlns:fes=\"http://www.opengis.net/fes/2.0\" xmlns:gml=\"http://www.opengis.net/gml/3.2\"><fes:Intersects><fes:ValueReference>the_geom</fes:ValueReference><gml:Point gml:id=\"p\" srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>31.5 -99.9</gml:pos></gml:Point></fes:Intersects></fes:Filter>";
    assert_eq!(hits("topp:states", &format!("&filter={}", percent(fes))), 1);
    // A WGS84 polygon around Spearfish selects the UTM archsites after reprojection.
    let around = "<fes:Filter xmlns:fes=\"http://www.opengis.net/fes/2.0\" xmlns:gml=\"http://www.opengis.net/gml/3.2\"><fes:Within><fes:ValueReference>the_geom</fes:ValueReference><gml:Polygon gml:id=\"a\" srsName=\"EPSG:4326\"><gml:exterior><gml:LinearRing><gml:posList>-104 44.3 -103.5 44.3 -103.5 44.6 -104 44.6 -104 44.3</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></fes:Within></fes:Filter>";
    assert_eq!(
        hits("sf:archsites", &format!("&filter={}", percent(around))),
        25
    );
    assert_eq!(
        ogc(
            &n,
            &format!(
                "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states{}",
                cql("INTERSECTS(the_geom, CIRCLE(1 2))")
            )
        )
        .status(),
        400
    );
}

#[test]
fn axis_order_follows_version_and_crs_form() {
    let n = Node::with_fixture();
    let pos = |q: &str| -> String {
        let x = ogc_xml(
            &n,
            &format!(
                "/wfs?service=WFS&request=GetFeature&typeNames=ne:populated_places&count=1{q}"
            ),
        )
        .to_xml();
        let s = x.split("<gml:pos>").nth(1).unwrap();
        s.split('<').next().unwrap().to_string()
    };
    // Vatican City: lon 12.45, lat 41.90.
    assert!(
        pos("&version=2.0.0").starts_with("41.9"),
        "URN default in 2.0: lat first"
    );
    assert!(
        pos("&version=2.0.0&srsName=EPSG:4326").starts_with("12.4"),
        "EPSG: form: lon first"
    );
    assert!(pos("&version=2.0.0&srsName=urn:ogc:def:crs:EPSG::4326").starts_with("41.9"));
    // WFS 1.0.0 answers GML 2, x/y, as GeoServer does (GDAL's 1.0.0 driver reads it so).
    let gml2 = ogc(
        &n,
        "/wfs?service=WFS&request=GetFeature&typeName=ne:populated_places&maxFeatures=1&version=1.0.0",
    );
    assert_eq!(
        gml2.headers()["content-type"],
        "text/xml; subtype=gml/2.1.2"
    );
    let doc = meridian_xml::parse(&gml2.text().unwrap()).unwrap();
    assert_eq!(doc.name, "wfs:FeatureCollection");
    let member = doc.get("gml:featureMember").unwrap();
    let coords = member.children[0]
        .children
        .iter()
        .find_map(|c| c.path(&["gml:Point", "gml:coordinates"]))
        .unwrap();
    assert!(
        coords.text_trim().unwrap().starts_with("12.4"),
        "WFS 1.0.0 is x/y: {}",
        coords.text_trim().unwrap()
    );
    // GML 2 by name on 2.0.0 too; GML 3.2 by name on 1.0.0.
    let by_name = ogc(
        &n,
        "/wfs?service=WFS&request=GetFeature&typeNames=ne:populated_places&count=1&version=2.0.0&outputFormat=GML2",
    );
    assert_eq!(
        by_name.headers()["content-type"],
        "text/xml; subtype=gml/2.1.2"
    );
    assert!(
        pos("&version=1.0.0&outputFormat=application/gml%2Bxml;%20version=3.2").starts_with("12.4")
    );
    // Reprojected output.
    let p = pos("&version=2.0.0&srsName=EPSG:3857");
    let x: f64 = p.split(' ').next().unwrap().parse().unwrap();
    assert!((x - 1_386_000.0).abs() < 5_000.0, "{p}");
}

#[test]
fn a_feature_types_own_cql_filter_is_applied_by_every_feature_service() {
    let n = Node::with_fixture();
    let path = "/workspaces/sf/datastores/sf/featuretypes/bugsites";
    let r = n.put_xml(
        path,
        "<featureType><cqlFilter>cat = 1</cqlFilter></featureType>",
    );
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    // GeoServer serves the one bug site of category 1, not all 90.
    let wfs = ogc_json(
        &n,
        "/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=sf:bugsites&outputFormat=application/json",
    );
    assert_eq!(wfs["numberMatched"], 1, "{wfs}");
    assert_eq!(wfs["features"][0]["properties"]["cat"], 1);
    let hits = ogc_xml(
        &n,
        "/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=sf:bugsites&resultType=hits",
    );
    assert_eq!(hits.attr_value("numberMatched"), Some("1"));
    // The request's own filter narrows further, never widens.
    let both = ogc_json(
        &n,
        "/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=sf:bugsites&outputFormat=application/json&CQL_FILTER=cat%20%3D%202",
    );
    assert_eq!(both["numberMatched"], 0, "{both}");
    let items = ogc_json(
        &n,
        "/ogc/features/v1/collections/sf:bugsites/items?limit=100",
    );
    assert_eq!(items["numberMatched"], 1, "{items}");
    let kept = items["features"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        ogc(
            &n,
            &format!("/ogc/features/v1/collections/sf:bugsites/items/{kept}")
        )
        .status(),
        200
    );
    // A feature the filter leaves out is not there.
    let other = if kept == "bugsites.1" {
        "bugsites.2"
    } else {
        "bugsites.1"
    };
    assert_eq!(
        ogc(
            &n,
            &format!("/ogc/features/v1/collections/sf:bugsites/items/{other}")
        )
        .status(),
        404
    );
    // Removed, every feature is back.
    let r = n.put_xml(path, "<featureType><cqlFilter></cqlFilter></featureType>");
    assert!(r.status().is_success());
    let all = ogc_json(&n, "/ogc/features/v1/collections/sf:bugsites/items?limit=1");
    assert_eq!(all["numberMatched"], 90);
}

#[test]
fn wfs_1_requests_read_their_bbox_property_names_and_gml2_boxes_as_geoserver() {
    let n = Node::with_fixture();
    let matched = |q: &str| -> u64 {
        let v: Value = ogc(&n, &format!("/wfs?service=WFS&request=GetFeature&typeName=topp:states&outputFormat=application/json&{q}"))
            .json()
            .unwrap();
        v["numberMatched"]
            .as_u64()
            .unwrap_or_else(|| panic!("{q}: {v}"))
    };
    // 1.0.0 is x/y: a box over the central US is lon/lat there (GeoServer finds 14 states).
    let v10 = matched("version=1.0.0&bbox=-100,35,-90,45");
    assert_eq!(v10, 14);
    // 2.0.0 without a CRS is latitude first: the same box as lat/lon.
    assert_eq!(matched("version=2.0.0&bbox=35,-100,45,-90"), v10);
    assert_eq!(matched("version=1.0.0&bbox=-100,35,-90,45,EPSG:4326"), v10);
    // `propertyName=*` (OWSLib's default on 1.0.0 and 1.1.0) is every property.
    let v: Value = ogc(
        &n,
        "/wfs?service=WFS&version=1.1.0&request=GetFeature&typeName=topp:states&outputFormat=application/json&maxFeatures=1&propertyName=*",
    )
    .json()
    .unwrap();
    let props = v["features"][0]["properties"].as_object().unwrap();
    assert!(props.contains_key("STATE_NAME") && props.len() > 10, "{v}");
    // A GML 2 Box in a Filter Encoding 1.1 filter, as GDAL sends it.
    let filter = r#"<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml"><ogc:BBOX><ogc:PropertyName>the_geom</ogc:PropertyName><gml:Box srsName="EPSG:4326"><gml:coordinates>-100,35 -90,45</gml:coordinates></gml:Box></ogc:BBOX></ogc:Filter>"#;
    assert_eq!(
        matched(&format!("version=1.1.0&filter={}", percent(filter))),
        v10
    );
}

#[test]
fn wfs_exceptions_come_in_the_dialect_of_the_version_asked() {
    let n = Node::with_fixture();
    let report = |version: &str| {
        let r = ogc(
            &n,
            &format!("/wfs?service=WFS&version={version}&request=GetFeature&typeName=topp:nowhere"),
        );
        assert!(r.status().is_client_error(), "{version}: {}", r.status());
        meridian_xml::parse(&r.text().unwrap()).unwrap()
    };
    let v10 = report("1.0.0");
    assert_eq!(v10.name, "ServiceExceptionReport");
    let e = v10.get("ServiceException").unwrap();
    assert!(e.attr_value("code").is_some());
    assert!(e.text_trim().unwrap().contains("nowhere"));
    let v11 = report("1.1.0");
    assert_eq!(v11.name, "ows:ExceptionReport");
    assert_eq!(
        v11.attr_value("xmlns:ows"),
        Some("http://www.opengis.net/ows")
    );
    assert_eq!(v11.attr_value("version"), Some("1.0.0"));
    let v20 = report("2.0.0");
    assert_eq!(
        v20.attr_value("xmlns:ows"),
        Some("http://www.opengis.net/ows/1.1")
    );
    assert_eq!(v20.attr_value("version"), Some("2.0.0"));
}

#[test]
fn getfeature_answers_csv_with_one_row_per_feature() {
    let n = Node::with_fixture();
    let r = ogc(
        &n,
        "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&outputFormat=csv",
    );
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 49, "a header and the 49 states");
    assert!(lines[0].starts_with("FID,the_geom,"), "{}", lines[0]);
    assert!(lines[0].contains("STATE_NAME"), "{}", lines[0]);
    let texas = lines.iter().find(|l| l.contains(",Texas,")).unwrap();
    assert!(
        texas.contains("\"MULTIPOLYGON"),
        "WKT quoted, it holds commas"
    );
    let caps = ogc(&n, "/wfs?service=WFS&version=2.0.0&request=GetCapabilities")
        .text()
        .unwrap();
    assert!(caps.contains("<ows:Value>csv</ows:Value>"));
}

#[test]
fn wfs_1_1_0_answers_gml_3_1_1_in_its_own_namespace() {
    let n = Node::with_fixture();
    let r = ogc(
        &n,
        "/wfs?service=WFS&version=1.1.0&request=GetFeature&typeName=ne:populated_places&maxFeatures=2",
    );
    assert_eq!(r.headers()["content-type"], "text/xml; subtype=gml/3.1.1");
    let doc = meridian_xml::parse(&r.text().unwrap()).unwrap();
    assert_eq!(doc.name, "wfs:FeatureCollection");
    assert_eq!(
        doc.attr_value("xmlns:wfs"),
        Some("http://www.opengis.net/wfs")
    );
    assert_eq!(
        doc.attr_value("xmlns:gml"),
        Some("http://www.opengis.net/gml")
    );
    assert_eq!(doc.attr_value("numberOfFeatures"), Some("2"));
    let members = doc.get("gml:featureMembers").unwrap();
    assert_eq!(members.children.len(), 2);
    let point = members.children[0]
        .children
        .iter()
        .find_map(|c| c.get("gml:Point"))
        .unwrap();
    // The URN default of 1.1.0: latitude first (Vatican City, 41.9 N 12.45 E).
    assert_eq!(
        point.attr_value("srsName"),
        Some("urn:x-ogc:def:crs:EPSG:4326")
    );
    assert!(point.child_text("gml:pos").unwrap().starts_with("41.9"));
    // With srsName=EPSG:4326, x/y.
    let r = ogc(
        &n,
        "/wfs?service=WFS&version=1.1.0&request=GetFeature&typeName=ne:populated_places&maxFeatures=1&srsName=EPSG:4326",
    );
    let text = r.text().unwrap();
    assert!(text.contains("<gml:pos>12.4"), "{text}");
    assert!(
        text.contains("srsName=\"http://www.opengis.net/gml/srs/epsg.xml#4326\""),
        "{text}"
    );
    // A projected type keeps the URN name by default (its axes are x/y either way).
    let text = ogc(
        &n,
        "/wfs?service=WFS&version=1.1.0&request=GetFeature&typeName=sf:archsites&maxFeatures=1",
    )
    .text()
    .unwrap();
    assert!(
        text.contains("srsName=\"urn:x-ogc:def:crs:EPSG:26713\""),
        "{text}"
    );
}

#[test]
fn ogc_api_queryables_and_sortby() {
    let n = Node::with_fixture();
    let q = ogc_json(&n, "/ogc/features/v1/collections/topp:states/queryables");
    assert_eq!(q["type"], "object");
    assert_eq!(q["properties"]["STATE_NAME"]["type"], "string");
    assert_eq!(q["properties"]["PERSONS"]["type"], "number");
    assert_eq!(
        q["properties"]["the_geom"]["format"],
        "geometry-multipolygon"
    );
    assert_eq!(q["additionalProperties"], false);
    assert_eq!(
        ogc(&n, "/ogc/features/v1/collections/topp:nowhere/queryables").status(),
        404
    );
    let c = ogc_json(&n, "/ogc/features/v1/collections/topp:states");
    assert!(c["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["href"].as_str().unwrap().ends_with("/queryables")));
    let conf = ogc_json(&n, "/ogc/features/v1/conformance");
    let classes = conf["conformsTo"].as_array().unwrap();
    assert!(classes.iter().any(|c| c
        .as_str()
        .unwrap()
        .ends_with("ogcapi-features-3/1.0/conf/queryables")));
    // Sorted by population, largest first: California.
    let v = ogc_json(
        &n,
        "/ogc/features/v1/collections/topp:states/items?sortby=-PERSONS&limit=2",
    );
    assert_eq!(v["features"][0]["properties"]["STATE_ABBR"], "CA");
    assert_eq!(v["features"][1]["properties"]["STATE_ABBR"], "NY");
    let v = ogc_json(
        &n,
        "/ogc/features/v1/collections/topp:states/items?sortby=%2BSTATE_NAME&limit=1",
    );
    assert_eq!(v["features"][0]["properties"]["STATE_NAME"], "Alabama");
    let r = ogc(
        &n,
        "/ogc/features/v1/collections/topp:states/items?sortby=NOPE",
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("NOPE"));
}

#[test]
fn ogc_api_answers_in_the_crs_asked_and_says_so() {
    let n = Node::with_fixture();
    let c = ogc_json(&n, "/ogc/features/v1/collections/sf:archsites");
    assert_eq!(
        c["storageCrs"],
        "http://www.opengis.net/def/crs/EPSG/0/26713"
    );
    let offered: Vec<&str> = c["crs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(offered.contains(&"http://www.opengis.net/def/crs/OGC/1.3/CRS84"));
    assert!(offered.contains(&"http://www.opengis.net/def/crs/EPSG/0/4326"));
    let first = |q: &str| -> (f64, f64, String) {
        let r = ogc(
            &n,
            &format!(
                "/ogc/features/v1/collections/ne:populated_places/items?limit=1&sortby=NAME{q}"
            ),
        );
        assert_eq!(r.status(), 200, "{q}");
        let crs = r.headers()["content-crs"].to_str().unwrap().to_string();
        let v: Value = r.json().unwrap();
        let c = &v["features"][0]["geometry"]["coordinates"];
        (c[0].as_f64().unwrap(), c[1].as_f64().unwrap(), crs)
    };
    let (x, y, crs) = first("");
    assert_eq!(crs, "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>");
    let (a, b, crs) = first("&crs=http://www.opengis.net/def/crs/EPSG/0/4326");
    assert_eq!(crs, "<http://www.opengis.net/def/crs/EPSG/0/4326>");
    assert_eq!((a, b), (y, x), "EPSG:4326 is latitude first");
    let (mx, _, _) = first("&crs=http://www.opengis.net/def/crs/EPSG/0/3857");
    assert!((mx - x * 111_319.49).abs() < 1_000.0, "{mx} for lon {x}");
    let r = ogc(
        &n,
        "/ogc/features/v1/collections/ne:populated_places/items?crs=http://www.opengis.net/def/crs/EPSG/0/2000",
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("not offered"));
    // A bbox in EPSG:4326 is latitude first too: the same states as the CRS84 box.
    let count = |q: &str| -> u64 {
        ogc_json(
            &n,
            &format!("/ogc/features/v1/collections/topp:states/items?limit=1&{q}"),
        )["numberMatched"]
            .as_u64()
            .unwrap()
    };
    let lonlat = count("bbox=-100,35,-90,45");
    assert_eq!(lonlat, 14);
    assert_eq!(
        count("bbox=35,-100,45,-90&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326"),
        lonlat
    );
}

#[test]
fn describe_feature_type_speaks_the_gml_of_the_version_asked() {
    let n = Node::with_fixture();
    let schema = |version: &str| {
        let r = ogc(
            &n,
            &format!("/wfs?service=WFS&version={version}&request=DescribeFeatureType&typeName=topp:states"),
        );
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        (ct, meridian_xml::parse(&r.text().unwrap()).unwrap())
    };
    let geometry_type = |x: &meridian_xml::Element| {
        x.to_xml()
            .split("name=\"the_geom\" nillable=\"true\" type=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string()
    };
    let (ct, x) = schema("1.0.0");
    assert_eq!(ct, "text/xml; subtype=gml/2.1.2");
    assert_eq!(
        x.attr_value("xmlns:gml"),
        Some("http://www.opengis.net/gml")
    );
    assert_eq!(geometry_type(&x), "gml:MultiPolygonPropertyType");
    let (ct, x) = schema("1.1.0");
    assert_eq!(ct, "text/xml; subtype=gml/3.1.1");
    assert_eq!(
        x.attr_value("xmlns:gml"),
        Some("http://www.opengis.net/gml")
    );
    assert_eq!(geometry_type(&x), "gml:MultiSurfacePropertyType");
    let (ct, x) = schema("2.0.0");
    assert_eq!(ct, "application/gml+xml; version=3.2");
    assert_eq!(
        x.attr_value("xmlns:gml"),
        Some("http://www.opengis.net/gml/3.2")
    );
}
