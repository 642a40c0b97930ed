//! Stores, feature types, layers, coverages: publishing from real data.
#![allow(clippy::unwrap_used)]

mod common;
use common::{expect, Node};

fn setup(n: &Node) {
    expect(
        n.post_xml("/workspaces", "<workspace><name>w</name></workspace>"),
        201,
    );
}

#[test]
fn datastores_in_every_parameter_syntax() {
    let n = Node::empty();
    setup(&n);
    // gsconfig's entry syntax.
    let r = n.post_xml(
        "/workspaces/w/datastores?name=pg",
        "<dataStore><name>pg</name><enabled>true</enabled><type/><connectionParameters><entry key=\"host\">localhost</entry><entry key=\"port\">5432</entry><entry key=\"dbtype\">postgis</entry><entry key=\"passwd\">secret</entry></connectionParameters></dataStore>",
    );
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"],
        format!("{}/workspaces/w/datastores/pg", n.rest())
    );
    // The short syntax, as the REST docs and gicait use it.
    expect(n.post_xml("/workspaces/w/datastores", "<dataStore><name>shp</name><connectionParameters><url>file:data/sf</url></connectionParameters></dataStore>"), 201);
    // JSON with a single entry object.
    expect(n.post_json("/workspaces/w/datastores", r#"{"dataStore":{"name":"js","connectionParameters":{"entry":{"@key":"url","$":"file:data/shapefiles/states.shp"}}}}"#), 201);
    let pg = n.json("/workspaces/w/datastores/pg.json");
    let ds = &pg["dataStore"];
    assert_eq!(ds["type"], "PostGIS");
    assert_eq!(ds["enabled"], true);
    assert_eq!(ds["_default"], false);
    assert_eq!(ds["workspace"]["name"], "w");
    let entries = ds["connectionParameters"]["entry"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["@key"] == "port" && e["$"] == "5432"),
        "{entries:?}"
    );
    assert!(entries
        .iter()
        .any(|e| e["@key"] == "namespace" && e["$"] == "http://w"));
    let shp = n.text("/workspaces/w/datastores/shp.xml");
    assert!(
        shp.contains("<entry key=\"url\">file:data/sf</entry>")
            && shp.contains("<__default>false</__default>"),
        "{shp}"
    );
    assert!(shp.contains("Directory of spatial files"), "{shp}");
    let list = n.json("/workspaces/w/datastores.json");
    assert_eq!(list["dataStores"]["dataStore"].as_array().unwrap().len(), 3);
    // Duplicate store: 409 (GeoServer answers 500).
    expect(
        n.post_xml(
            "/workspaces/w/datastores",
            "<dataStore><name>pg</name></dataStore>",
        ),
        409,
    );
    // Body workspace differing from the URL: 403.
    expect(
        n.post_xml(
            "/workspaces/w/datastores",
            "<dataStore><name>x</name><workspace><name>other</name></workspace></dataStore>",
        ),
        403,
    );
    // Update.
    expect(
        n.put_xml(
            "/workspaces/w/datastores/pg.xml",
            "<dataStore><description>db</description></dataStore>",
        ),
        200,
    );
    assert_eq!(
        n.json("/workspaces/w/datastores/pg.json")["dataStore"]["description"],
        "db"
    );
    expect(n.delete("/workspaces/w/datastores/pg"), 200);
    expect(n.get("/workspaces/w/datastores/pg.json"), 404);
    expect(n.get("/workspaces/nope/datastores.json"), 404);
}

#[test]
fn publishing_shapefiles_reads_attributes_crs_and_bounds() {
    let n = Node::with_fixture();
    setup(&n);
    expect(n.post_xml("/workspaces/w/datastores", "<dataStore><name>sfdir</name><connectionParameters><url>file:data/sf</url></connectionParameters></dataStore>"), 201);
    let avail = n.json("/workspaces/w/datastores/sfdir/featuretypes.json?list=available");
    assert_eq!(
        avail["list"]["string"],
        serde_json::json!(["archsites", "bugsites", "restricted", "roads", "streams"])
    );
    let xml = n.text("/workspaces/w/datastores/sfdir/featuretypes.xml?list=available");
    assert!(
        xml.contains("<featureTypeName>archsites</featureTypeName>"),
        "{xml}"
    );
    // gicait's publish: POST to the trailing-slash URL, expects 201.
    let r = n.post_xml("/workspaces/w/datastores/sfdir/featuretypes/", "<featureType><name>archsites</name><title>Sites</title><advertised>true</advertised></featureType>");
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"],
        format!(
            "{}/workspaces/w/datastores/sfdir/featuretypes/archsites",
            n.rest()
        )
    );
    let ft = n.json("/workspaces/w/datastores/sfdir/featuretypes/archsites.json");
    let f = &ft["featureType"];
    assert_eq!(f["srs"], "EPSG:26713");
    assert_eq!(f["title"], "Sites");
    assert_eq!(f["namespace"]["name"], "w");
    assert_eq!(f["store"]["@class"], "dataStore");
    assert_eq!(f["store"]["name"], "w:sfdir");
    assert_eq!(f["nativeBoundingBox"]["crs"]["@class"], "projected");
    let lon = f["latLonBoundingBox"]["minx"].as_f64().unwrap();
    assert!((lon - -103.87).abs() < 0.05, "{lon}");
    let attrs = f["attributes"]["attribute"].as_array().unwrap();
    assert_eq!(attrs[0]["name"], "the_geom");
    assert_eq!(attrs[0]["binding"], "org.locationtech.jts.geom.Point");
    assert!(attrs
        .iter()
        .any(|a| a["name"] == "str1" && a["binding"] == "java.lang.String"));
    // Now no longer available; configured list shows it.
    let avail = n.json("/workspaces/w/datastores/sfdir/featuretypes.json?list=available");
    assert_eq!(avail["list"]["string"].as_array().unwrap().len(), 4);
    let conf = n.json("/workspaces/w/datastores/sfdir/featuretypes.json");
    assert_eq!(conf["featureTypes"]["featureType"][0]["name"], "archsites");
    // A layer was created with the point style.
    let layer = n.json("/layers/w:archsites.json");
    assert_eq!(layer["layer"]["defaultStyle"]["name"], "point");
    assert_eq!(layer["layer"]["resource"]["@class"], "featureType");
    assert_eq!(layer["layer"]["resource"]["name"], "w:archsites");
    assert_eq!(layer["layer"]["type"], "VECTOR");
    // On disk where GeoServer puts it.
    assert!(n
        .dir
        .join("workspaces/w/sfdir/archsites/featuretype.xml")
        .is_file());
    assert!(n
        .dir
        .join("workspaces/w/sfdir/archsites/layer.xml")
        .is_file());
    // A type that is not in the store: 400; duplicate: 409.
    expect(
        n.post_xml(
            "/workspaces/w/datastores/sfdir/featuretypes",
            "<featureType><name>nope</name></featureType>",
        ),
        400,
    );
    expect(
        n.post_xml(
            "/workspaces/w/datastores/sfdir/featuretypes",
            "<featureType><name>archsites</name></featureType>",
        ),
        409,
    );
    // gsconfig sends nativeCRS as an EPSG code.
    expect(n.post_xml("/workspaces/w/datastores/sfdir/featuretypes.xml", "<featureType><name>roads</name><nativeName>roads</nativeName><title>r</title><enabled>true</enabled><srs>EPSG:26713</srs><nativeCRS>EPSG:26713</nativeCRS></featureType>"), 201);
    let roads = n.text("/workspaces/w/featuretypes/roads.xml");
    assert!(
        roads.contains("<nativeCRS class=\"projected\">PROJCS"),
        "{roads}"
    );
    assert!(
        roads.contains("org.locationtech.jts.geom.MultiLineString"),
        "{roads}"
    );
    // Update with recalculate; rename moves the layer name too.
    expect(n.put_xml("/workspaces/w/datastores/sfdir/featuretypes/roads.xml?recalculate=nativebbox,latlonbbox", "<featureType><title>Roads</title></featureType>"), 200);
    assert_eq!(
        n.json("/workspaces/w/featuretypes/roads.json")["featureType"]["title"],
        "Roads"
    );
    expect(
        n.put_xml(
            "/workspaces/w/datastores/sfdir/featuretypes/roads",
            "<featureType><name>rds</name></featureType>",
        ),
        200,
    );
    assert_eq!(n.json("/layers/w:rds.json")["layer"]["name"], "rds");
    // Delete with a layer: 403, then recurse.
    expect(
        n.delete("/workspaces/w/datastores/sfdir/featuretypes/rds"),
        403,
    );
    expect(
        n.delete("/workspaces/w/datastores/sfdir/featuretypes/rds?recurse=true"),
        200,
    );
    expect(n.get("/layers/w:rds.json"), 404);
    // Non-empty store: 403 without recurse.
    expect(n.delete("/workspaces/w/datastores/sfdir"), 403);
    expect(n.delete("/workspaces/w/datastores/sfdir?recurse=true"), 200);
    assert!(!n.dir.join("workspaces/w/sfdir").exists());
}

#[test]
fn publishing_from_a_geopackage() {
    let n = Node::with_fixture();
    setup(&n);
    expect(n.post_xml("/workspaces/w/datastores", "<dataStore><name>gp</name><connectionParameters><entry key=\"dbtype\">geopkg</entry><entry key=\"database\">file:data/ne/natural_earth.gpkg</entry></connectionParameters></dataStore>"), 201);
    let avail = n.json("/workspaces/w/datastores/gp/featuretypes.json?list=available");
    assert_eq!(avail["list"]["string"].as_array().unwrap().len(), 5);
    expect(
        n.post_json(
            "/workspaces/w/datastores/gp/featuretypes",
            r#"{"featureType":{"name":"countries"}}"#,
        ),
        201,
    );
    let f = n.json("/workspaces/w/datastores/gp/featuretypes/countries.json");
    assert_eq!(f["featureType"]["srs"], "EPSG:4326");
    assert_eq!(f["featureType"]["latLonBoundingBox"]["minx"], -180.0);
    assert_eq!(
        n.json("/layers/w:countries.json")["layer"]["defaultStyle"]["name"],
        "polygon"
    );
}

#[test]
fn layers_lists_default_style_and_alternates() {
    let n = Node::with_fixture();
    let list = n.json("/layers.json");
    let names: Vec<&str> = list["layers"]["layer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 24);
    assert!(names.contains(&"tiger:poi"));
    assert!(list["layers"]["layer"][0]["href"]
        .as_str()
        .unwrap()
        .contains("%3A"));
    let ws_list = n.json("/workspaces/tiger/layers.json");
    assert_eq!(ws_list["layers"]["layer"].as_array().unwrap().len(), 4);
    // gicait: PUT /rest/layers/W:L with <defaultStyle><name>
    expect(
        n.put_xml(
            "/layers/tiger:poi",
            "<layer><defaultStyle><name>burg</name></defaultStyle></layer>",
        ),
        200,
    );
    assert_eq!(
        n.json("/layers/tiger:poi.json")["layer"]["defaultStyle"]["name"],
        "burg"
    );
    // gsconfig: workspace style with a bare <workspace>.
    expect(n.put_xml("/layers/ne:countries.xml", "<layer><defaultStyle><name>countries</name><workspace>ne</workspace></defaultStyle><enabled>true</enabled></layer>"), 200);
    let l = n.json("/workspaces/ne/layers/countries.json");
    assert_eq!(l["layer"]["defaultStyle"]["name"], "ne:countries");
    assert_eq!(l["layer"]["defaultStyle"]["workspace"], "ne");
    // Unknown style: 400, layer unchanged.
    expect(
        n.put_xml(
            "/layers/tiger:poi",
            "<layer><defaultStyle><name>nope</name></defaultStyle></layer>",
        ),
        400,
    );
    assert_eq!(
        n.json("/layers/tiger:poi.json")["layer"]["defaultStyle"]["name"],
        "burg"
    );
    // Alternate styles.
    let r = n.post_xml(
        "/layers/tiger:poi/styles?default=true",
        "<style><name>point</name></style>",
    );
    assert_eq!(r.status(), 201);
    assert_eq!(
        n.json("/layers/tiger:poi.json")["layer"]["defaultStyle"]["name"],
        "point"
    );
    let st = n.json("/layers/tiger:poi/styles.json");
    assert!(st["styles"]["style"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "point"));
    // Deleting a layer drops it from its groups; recurse removes the resource too.
    expect(n.delete("/layers/tiger:poi"), 200);
    let g = n.json("/layergroups/tiger-ny.json");
    assert!(!g.to_string().contains("tiger:poi"));
    assert!(n.get("/workspaces/tiger/featuretypes/poi.json").status() == 200);
    expect(
        n.delete("/workspaces/tiger/layers/poly_landmarks?recurse=true"),
        200,
    );
    expect(
        n.get("/workspaces/tiger/featuretypes/poly_landmarks.json"),
        404,
    );
}

#[test]
fn coverage_stores_and_coverages_as_configuration() {
    let n = Node::with_fixture();
    setup(&n);
    let r = n.post_xml("/workspaces/w/coveragestores", "<coverageStore><name>dem</name><type>GeoTIFF</type><enabled>true</enabled><url>file:data/sf/sfdem.tif</url></coverageStore>");
    assert_eq!(r.status(), 201);
    let cs = n.json("/workspaces/w/coveragestores/dem.json");
    assert_eq!(cs["coverageStore"]["type"], "GeoTIFF");
    assert_eq!(cs["coverageStore"]["url"], "file:data/sf/sfdem.tif");
    // The new coverage's name is the answer, as GeoServer gives it.
    assert_eq!(expect(n.post_xml("/workspaces/w/coveragestores/dem/coverages", "<coverage><name>dem</name><srs>EPSG:26713</srs><nativeBoundingBox><minx>589980</minx><maxx>609000</maxx><miny>4913700</miny><maxy>4928010</maxy><crs>EPSG:26713</crs></nativeBoundingBox></coverage>"), 201), "dem");
    let cov = n.json("/workspaces/w/coveragestores/dem/coverages/dem.json");
    assert_eq!(cov["coverage"]["srs"], "EPSG:26713");
    assert_eq!(n.json("/layers/w:dem.json")["layer"]["type"], "RASTER");
    assert_eq!(
        n.json("/workspaces/w/coverages.json")["coverages"]["coverage"][0]["name"],
        "dem"
    );
    // The fixture's coverages read back.
    let c = n.json("/workspaces/nurc/coveragestores/arcGridSample/coverages/Arc_Sample.json");
    assert_eq!(c["coverage"]["name"], "Arc_Sample");
    expect(n.delete("/workspaces/w/coveragestores/dem"), 403);
    expect(
        n.delete("/workspaces/w/coveragestores/dem?recurse=true&purge=all"),
        200,
    );
}

#[test]
fn every_fixture_object_reads_back_over_rest() {
    let n = Node::with_fixture();
    let layers = n.json("/layers.json");
    for l in layers["layers"]["layer"].as_array().unwrap() {
        let name = l["name"].as_str().unwrap();
        let j = n.json(&format!("/layers/{name}.json"));
        let res_href = j["layer"]["resource"]["href"].as_str().unwrap().to_string();
        let path = res_href.trim_start_matches(&n.rest()).to_string();
        let r = n.json(&path);
        assert!(
            r.get("featureType").or(r.get("coverage")).is_some(),
            "{path}"
        );
        expect(n.get(&format!("/layers/{name}.xml")), 200);
    }
    for g in ["spearfish", "tasmania", "tiger-ny"] {
        let j = n.json(&format!("/layergroups/{g}.json"));
        assert!(j["layerGroup"]["publishables"]["published"].is_array());
    }
    let world = n.json("/workspaces/ne/layergroups/world.json");
    let styles = world["layerGroup"]["styles"]["style"].as_array().unwrap();
    assert_eq!(styles[2], "", "empty <style/> is an empty string");
    assert_eq!(
        world["layerGroup"]["publishables"]["published"][0]["@type"],
        "layer"
    );
    let st = n.json("/styles.json");
    assert_eq!(st["styles"]["style"].as_array().unwrap().len(), 21);
    let st = n.json("/workspaces/ne/styles.json");
    assert_eq!(st["styles"]["style"].as_array().unwrap().len(), 6);
    // Old style entries without format still report one (gsconfig needs it).
    let p = n.json("/styles/point.json");
    assert_eq!(p["style"]["format"], "sld");
    assert_eq!(p["style"]["languageVersion"]["version"], "1.0.0");
}

#[test]
fn workspace_level_feature_types_use_the_default_store() {
    let n = Node::with_fixture();
    setup(&n);
    expect(n.post_xml("/workspaces/w/datastores", "<dataStore><name>a</name><connectionParameters><url>file:data/shapefiles</url></connectionParameters></dataStore>"), 201);
    expect(n.post_xml("/workspaces/w/datastores", "<dataStore><name>b</name><connectionParameters><url>file:data/sf</url></connectionParameters><__default>true</__default></dataStore>"), 201);
    expect(
        n.post_xml(
            "/workspaces/w/featuretypes",
            "<featureType><name>bugsites</name></featureType>",
        ),
        201,
    );
    assert_eq!(
        n.json("/workspaces/w/featuretypes/bugsites.json")["featureType"]["store"]["name"],
        "w:b"
    );
    // A store named in the body wins.
    expect(n.post_xml("/workspaces/w/featuretypes", "<featureType><name>states</name><store class=\"dataStore\"><name>a</name></store></featureType>"), 201);
    assert_eq!(
        n.json("/workspaces/w/featuretypes/states.json")["featureType"]["store"]["name"],
        "w:a"
    );
    let list = n.json("/workspaces/w/featuretypes.json");
    assert_eq!(
        list["featureTypes"]["featureType"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    expect(n.get("/workspaces/w/featuretypes/nope.json"), 404);
    expect(
        n.get("/workspaces/w/datastores/b/featuretypes/states.json"),
        404,
    );
}

#[test]
fn xml_lists_have_geoservers_shape() {
    let n = Node::with_fixture();
    for (path, root, item) in [
        ("/workspaces.xml", "workspaces", "workspace"),
        ("/namespaces.xml", "namespaces", "namespace"),
        ("/workspaces/sf/datastores.xml", "dataStores", "dataStore"),
        (
            "/workspaces/sf/coveragestores.xml",
            "coverageStores",
            "coverageStore",
        ),
        (
            "/workspaces/sf/datastores/sf/featuretypes.xml",
            "featureTypes",
            "featureType",
        ),
        ("/workspaces/nurc/coverages.xml", "coverages", "coverage"),
        ("/layers.xml", "layers", "layer"),
        ("/styles.xml", "styles", "style"),
        ("/layergroups.xml", "layerGroups", "layerGroup"),
    ] {
        let x = n.text(path);
        assert!(x.starts_with(&format!("<{root}>")), "{path}: {x}");
        assert!(x.contains(&format!("<{item}>\n    <name>")), "{path}: {x}");
        assert!(x.contains("type=\"application/atom+xml\""), "{path}: {x}");
    }
}

#[test]
fn deleting_a_namespace_deletes_its_workspace() {
    let n = Node::with_fixture();
    expect(n.delete("/namespaces/sf"), 403);
    expect(n.delete("/namespaces/cite"), 200);
    expect(n.get("/workspaces/cite.json"), 404);
    expect(n.delete("/namespaces/nope"), 404);
    expect(
        n.put_xml(
            "/namespaces/default",
            "<namespace><prefix>topp</prefix></namespace>",
        ),
        200,
    );
    assert_eq!(
        n.json("/workspaces/default.json")["workspace"]["name"],
        "topp"
    );
}

#[test]
fn layers_are_found_by_prefixed_and_bare_names_as_geoserver_finds_them() {
    let n = Node::with_fixture();
    // The prefixed name under its own workspace (geoserver-rest's create_layergroup asks so).
    let l = n.json("/workspaces/topp/layers/topp:states.json");
    assert_eq!(l["layer"]["name"], "states");
    // Another workspace's prefix there is not this workspace's layer.
    assert_eq!(
        n.get("/workspaces/topp/layers/sf:states.json").status(),
        404
    );
    // A bare name two workspaces hold: the first match, not a 404 (the default workspace
    // first, then workspaces in name order).
    let body = expect(
        n.post_xml(
            "/workspaces/sf/datastores/sf/featuretypes",
            "<featureType><name>states</name><nativeName>bugsites</nativeName></featureType>",
        ),
        201,
    );
    // POSTs of resources answer the new name, as GeoServer does.
    assert_eq!(body, "states");
    let l = n.json("/layers/states.json");
    assert_eq!(l["layer"]["name"], "states");
    assert!(
        l["layer"]["resource"]["href"]
            .as_str()
            .unwrap()
            .contains("/workspaces/sf/"),
        "{l}"
    );
    // A group made without styles keeps empty entries: each member draws its default style,
    // whatever that later becomes.
    expect(
        n.post_xml(
            "/layergroups",
            "<layerGroup><name>nostyles</name><layers><layer>topp:states</layer><layer>sf:roads</layer></layers></layerGroup>",
        ),
        201,
    );
    let text = std::fs::read_to_string(n.dir.join("layergroups/nostyles.xml")).unwrap();
    assert!(
        text.contains("<styles>\n    <style/>\n    <style/>\n  </styles>"),
        "{text}"
    );
    let r = n.put_xml(
        "/workspaces/default",
        "<workspace><name>topp</name></workspace>",
    );
    assert!(r.status().is_success());
    let l = n.json("/layers/states.json");
    assert!(
        l["layer"]["resource"]["href"]
            .as_str()
            .unwrap()
            .contains("/workspaces/topp/"),
        "{l}"
    );
}
