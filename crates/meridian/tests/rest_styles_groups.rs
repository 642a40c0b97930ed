//! Styles (both create flows, bodies, validation), layer groups, settings and services.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, Node};

const SLD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc">
  <NamedLayer><Name>red</Name><UserStyle><Name>red</Name><FeatureTypeStyle><Rule>
    <PointSymbolizer><Graphic><Mark><WellKnownName>circle</WellKnownName><Fill><CssParameter name="fill">#FF0000</CssParameter></Fill></Mark><Size>6</Size></Graphic></PointSymbolizer>
  </Rule></FeatureTypeStyle></UserStyle></NamedLayer>
</StyledLayerDescriptor>"#;

const SE: &str = r#"<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se">
  <NamedLayer><se:Name>blue</se:Name><UserStyle><se:Name>blue</se:Name><se:FeatureTypeStyle><se:Rule><se:LineSymbolizer/></se:Rule></se:FeatureTypeStyle></UserStyle></NamedLayer>
</StyledLayerDescriptor>"#;

#[test]
fn style_entry_then_body_as_gicait_and_gsconfig_do() {
    let n = Node::empty();
    // gicait: POST <style> entry (201 with the name, no Location), then PUT the SLD.
    let r = n.post_xml(
        "/styles",
        "<style><name>red</name><filename>red.sld</filename></style>",
    );
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("location").is_none());
    assert_eq!(r.text().unwrap(), "red");
    expect(
        n.send("PUT", "/styles/red", "application/vnd.ogc.sld+xml", SLD),
        200,
    );
    let body = n.text("/styles/red.sld");
    assert!(body.contains("<WellKnownName>circle</WellKnownName>"));
    assert_eq!(
        std::fs::read_to_string(n.dir.join("styles/red.sld")).unwrap(),
        SLD
    );
    let info = n.json("/styles/red.json");
    assert_eq!(info["style"]["format"], "sld");
    assert_eq!(info["style"]["languageVersion"]["version"], "1.0.0");
    assert_eq!(info["style"]["filename"], "red.sld");
    // The body by Accept header too.
    let r = n.get_accept("/styles/red", "application/vnd.ogc.sld+xml");
    assert_eq!(r.headers()["content-type"], "application/vnd.ogc.sld+xml");
    // gsconfig: POST ?name= then PUT .sld, in a workspace, SLD 1.1.
    expect(
        n.post_xml("/workspaces", "<workspace><name>w</name></workspace>"),
        201,
    );
    expect(
        n.send(
            "POST",
            "/workspaces/w/styles?name=blue",
            "application/xml",
            "<style><name>blue</name><filename>blue.sld</filename></style>",
        ),
        201,
    );
    expect(
        n.send(
            "PUT",
            "/workspaces/w/styles/blue.sld?raw=true",
            "application/vnd.ogc.se+xml",
            SE,
        ),
        200,
    );
    let info = n.json("/workspaces/w/styles/blue.json");
    assert_eq!(info["style"]["languageVersion"]["version"], "1.1.0");
    assert_eq!(info["style"]["workspace"]["name"], "w");
    assert!(n.dir.join("workspaces/w/styles/blue.sld").is_file());
    // Duplicate style: 403.
    expect(
        n.post_xml("/styles", "<style><name>red</name></style>"),
        403,
    );
}

#[test]
fn raw_sld_post_and_validation() {
    let n = Node::empty();
    let r = n.send(
        "POST",
        "/styles?name=mine",
        "application/vnd.ogc.sld+xml",
        SLD,
    );
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], format!("{}/styles/mine", n.rest()));
    // Name taken from the SLD when not given.
    expect(
        n.send("POST", "/styles", "application/vnd.ogc.sld+xml", SLD),
        201,
    );
    assert_eq!(n.json("/styles/red.json")["style"]["name"], "red");
    // Malformed or non-SLD bodies are refused with 400 and change nothing.
    let body = expect(
        n.send(
            "PUT",
            "/styles/mine",
            "application/vnd.ogc.sld+xml",
            "<StyledLayerDescriptor><Named",
        ),
        400,
    );
    assert!(body.contains("Invalid style"), "{body}");
    expect(
        n.send(
            "PUT",
            "/styles/mine",
            "application/vnd.ogc.sld+xml",
            "<html/>",
        ),
        400,
    );
    expect(
        n.send(
            "POST",
            "/styles?name=bad",
            "application/vnd.ogc.sld+xml",
            "not xml",
        ),
        400,
    );
    expect(n.get("/styles/bad.json"), 404);
    assert!(n.text("/styles/mine.sld").contains("circle"));
}

#[test]
fn deleting_styles_respects_use_and_recurse() {
    let n = Node::with_fixture();
    expect(n.delete("/styles/burg"), 403);
    expect(n.delete("/styles/burg?recurse=true&purge=True"), 200);
    expect(n.get("/styles/burg.json"), 404);
    assert!(!n.dir.join("styles/burg.xml").exists());
    // No layer references it any more; every layer still has a default style.
    let layers = n.json("/layers.json");
    for l in layers["layers"]["layer"].as_array().unwrap() {
        let j = n.json(&format!("/layers/{}.json", l["name"].as_str().unwrap()));
        assert!(!j.to_string().contains("/styles/burg."), "{j}");
        assert!(j["layer"]["defaultStyle"]["name"].is_string(), "{j}");
    }
    expect(n.delete("/styles/nope"), 404);
}

#[test]
fn layer_groups_global_and_workspace() {
    let n = Node::with_fixture();
    // gicait: global URL, members by ws:name, no styles.
    let r = n.post_xml(
        "/layergroups/",
        "<layerGroup><name>g1</name><mode>SINGLE</mode><title>G</title><abstractTxt>a</abstractTxt><publishables><published type=\"layer\"><name>sf:roads</name><link>http://x</link></published><published type=\"layer\"><name>sf:streams</name></published></publishables><keywords><keyword>k</keyword></keywords></layerGroup>",
    );
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"],
        format!("{}/layergroups/g1", n.rest())
    );
    let g = n.json("/layergroups/g1.json");
    let p = g["layerGroup"]["publishables"]["published"]
        .as_array()
        .unwrap();
    assert_eq!(p[0]["name"], "sf:roads");
    assert_eq!(p[0]["@type"], "layer");
    assert!(g["layerGroup"]["bounds"]["minx"].as_f64().unwrap() < -103.0);
    assert_eq!(
        g["layerGroup"]["styles"]["style"].as_array().unwrap().len(),
        2
    );
    // gsconfig: workspace URL, bare <workspace>, styles by name.
    expect(n.post_xml(
        "/workspaces/sf/layergroups?name=g2",
        "<layerGroup><name>g2</name><styles><style><name>simple_roads</name></style><style/></styles><publishables><published type=\"layer\"><name>roads</name></published><published type=\"layer\"><name>streams</name></published></publishables><workspace>sf</workspace><mode>NAMED</mode><abstractTxt/><title>t</title></layerGroup>",
    ), 201);
    let g2 = n.json("/workspaces/sf/layergroups/g2.json");
    assert_eq!(g2["layerGroup"]["mode"], "NAMED");
    assert_eq!(g2["layerGroup"]["workspace"]["name"], "sf");
    assert_eq!(
        g2["layerGroup"]["styles"]["style"][0]["name"],
        "simple_roads"
    );
    assert!(n.dir.join("workspaces/sf/layergroups/g2.xml").is_file());
    // Single member: published is an object, not an array.
    expect(n.post_xml("/layergroups", "<layerGroup><name>one</name><publishables><published type=\"layer\"><name>sf:roads</name></published></publishables></layerGroup>"), 201);
    assert!(n.json("/layergroups/one.json")["layerGroup"]["publishables"]["published"].is_object());
    // Errors: empty 400, unknown member 400, duplicate 409, rename 403.
    expect(
        n.post_xml(
            "/layergroups",
            "<layerGroup><name>empty</name></layerGroup>",
        ),
        400,
    );
    expect(n.post_xml("/layergroups", "<layerGroup><name>bad</name><publishables><published type=\"layer\"><name>sf:nope</name></published></publishables></layerGroup>"), 400);
    expect(n.post_xml("/layergroups", "<layerGroup><name>g1</name><publishables><published type=\"layer\"><name>sf:roads</name></published></publishables></layerGroup>"), 409);
    expect(
        n.put_xml(
            "/layergroups/g1",
            "<layerGroup><name>renamed</name></layerGroup>",
        ),
        403,
    );
    // Update members.
    expect(n.put_xml("/layergroups/g1", "<layerGroup><publishables><published type=\"layer\"><name>sf:bugsites</name></published></publishables></layerGroup>"), 200);
    assert_eq!(
        n.json("/layergroups/g1.json")["layerGroup"]["publishables"]["published"]["name"],
        "sf:bugsites"
    );
    expect(n.delete("/layergroups/g1"), 200);
    expect(n.delete("/workspaces/sf/layergroups/g2"), 200);
    expect(n.get("/layergroups/g1.json"), 404);
    let list = n.json("/layergroups.json");
    assert_eq!(
        list["layerGroups"]["layerGroup"].as_array().unwrap().len(),
        4
    );
}

#[test]
fn settings_contact_and_services() {
    let n = Node::with_fixture();
    let s = n.json("/settings.json");
    assert_eq!(
        s["global"]["settings"]["contact"]["contactPerson"],
        "Claudius Ptolomaeus"
    );
    expect(
        n.put_xml(
            "/settings/contact",
            "<contact><contactPerson>Ada</contactPerson></contact>",
        ),
        200,
    );
    let c = n.json("/settings/contact.json");
    assert_eq!(c["contact"]["contactPerson"], "Ada");
    assert_eq!(
        c["contact"]["addressCity"], "Alexandria",
        "partial update keeps other fields"
    );
    expect(
        n.put_xml(
            "/settings",
            "<global><settings><numDecimals>4</numDecimals></settings></global>",
        ),
        200,
    );
    let g = std::fs::read_to_string(n.dir.join("global.xml")).unwrap();
    assert!(
        g.contains("<numDecimals>4</numDecimals>")
            && g.contains("<contactPerson>Ada</contactPerson>")
    );
    let seq_before = 294;
    assert!(!g.contains(&format!("<updateSequence>{seq_before}</updateSequence>")));
    // Services.
    let wms = n.json("/services/wms/settings.json");
    assert_eq!(wms["wms"]["name"], "WMS");
    expect(
        n.put_xml(
            "/services/wms/settings",
            "<wms><title>My WMS</title><abstrct>maps</abstrct></wms>",
        ),
        200,
    );
    let wms = n.text("/services/wms/settings.xml");
    assert!(
        wms.contains("<title>My WMS</title>") && wms.contains("<maxBuffer>25</maxBuffer>"),
        "{wms}"
    );
    let ne = n.json("/services/wms/workspaces/ne/settings.json");
    assert_eq!(ne["wms"]["workspace"]["name"], "ne");
    expect(
        n.put_xml(
            "/services/wfs/workspaces/sf/settings",
            "<wfs><enabled>true</enabled><title>SF WFS</title></wfs>",
        ),
        200,
    );
    assert!(n.dir.join("workspaces/sf/wfs.xml").is_file());
    expect(n.delete("/services/wfs/workspaces/sf/settings"), 200);
    assert!(!n.dir.join("workspaces/sf/wfs.xml").exists());
    // Workspace settings.
    assert_eq!(
        n.json("/workspaces/ne/settings.json")["settings"]["workspace"]["name"],
        "ne"
    );
    expect(n.get("/workspaces/sf/settings.json"), 404);
    expect(
        n.put_xml(
            "/workspaces/sf/settings",
            "<settings><charset>UTF-8</charset><numDecimals>3</numDecimals></settings>",
        ),
        201,
    );
    assert!(n.dir.join("workspaces/sf/settings.xml").is_file());
    expect(n.delete("/workspaces/sf/settings"), 200);
    expect(n.get("/services/nope/settings.json"), 404);
}

#[test]
fn logging_settings_read_and_update() {
    let n = Node::with_fixture();
    assert_eq!(
        n.json("/logging.json")["logging"]["level"],
        "DEFAULT_LOGGING"
    );
    expect(
        n.put_xml(
            "/logging",
            "<logging><level>VERBOSE_LOGGING</level></logging>",
        ),
        200,
    );
    let text = std::fs::read_to_string(n.dir.join("logging.xml")).unwrap();
    assert!(
        text.contains("<level>VERBOSE_LOGGING</level>")
            && text.contains("<stdOutLogging>true</stdOutLogging>"),
        "{text}"
    );
}

#[test]
fn json_bodies_work_for_every_kind() {
    let n = Node::with_fixture();
    expect(
        n.post_json("/workspaces", r#"{"workspace":{"name":"j"}}"#),
        201,
    );
    expect(
        n.post_json(
            "/workspaces/j/datastores",
            r#"{"dataStore":{"name":"d","connectionParameters":{"url":"file:data/sf"}}}"#,
        ),
        201,
    );
    expect(
        n.post_json(
            "/workspaces/j/datastores/d/featuretypes",
            r#"{"featureType":{"name":"streams","title":"S"}}"#,
        ),
        201,
    );
    expect(
        n.post_json("/styles", r#"{"style":{"name":"js","filename":"js.sld"}}"#),
        201,
    );
    expect(n.send("PUT", "/layers/j:streams", "application/json", r#"{"layer":{"defaultStyle":{"name":"line"},"styles":{"@class":"linked-hash-set","style":[{"name":"point"}]}}}"#), 200);
    let l = n.json("/layers/j:streams.json");
    assert_eq!(l["layer"]["defaultStyle"]["name"], "line");
    assert_eq!(l["layer"]["styles"]["style"]["name"], "point");
    expect(n.post_json("/workspaces/j/layergroups", r#"{"layerGroup":{"name":"g","publishables":{"published":{"@type":"layer","name":"streams"}},"styles":{"style":""}}}"#), 201);
    let g = n.text("/workspaces/j/layergroups/g.xml");
    assert!(
        g.contains("<name>j:streams</name>") && g.contains("<style/>"),
        "{g}"
    );
    expect(
        n.send(
            "PUT",
            "/workspaces/j/datastores/d/featuretypes/streams.json",
            "application/json",
            r#"{"featureType":{"title":"Streams","keywords":{"string":["a","b"]}}}"#,
        ),
        200,
    );
    let f = n.json("/workspaces/j/featuretypes/streams.json");
    assert_eq!(f["featureType"]["title"], "Streams");
    assert_eq!(
        f["featureType"]["keywords"]["string"],
        serde_json::json!(["a", "b"])
    );
    expect(
        n.send(
            "PUT",
            "/settings/contact.json",
            "application/json",
            r#"{"contact":{"contactPerson":"J"}}"#,
        ),
        200,
    );
    assert_eq!(
        n.json("/settings/contact.json")["contact"]["contactPerson"],
        "J"
    );
}

#[test]
fn oversized_bodies_are_refused() {
    let n = Node::empty();
    let big = format!(
        "<workspace><name>x</name><description>{}</description></workspace>",
        "a".repeat(17 * 1024 * 1024)
    );
    expect(n.post_xml("/workspaces", &big), 413);
    assert_eq!(n.json("/workspaces.json")["workspaces"], "");
}
