"""geoserver-rest (gicait), run unchanged against a live meridian node."""
import requests
from geo.Geoserver import Geoserver, GeoserverException

from conftest import RED_SLD


def client(node):
    return Geoserver(node.base, username="admin", password="geoserver")


def test_version_and_workspaces(node):
    geo = client(node)
    assert geo.get_version()["about"]["resource"][0]["Version"].startswith("2.")
    geo.create_workspace("demo")
    geo.create_workspace("other")
    names = [w["name"] for w in geo.get_workspaces()["workspaces"]["workspace"]]
    assert names == ["demo", "other"]
    geo.set_default_workspace("other")
    assert geo.get_default_workspace()["workspace"]["name"] == "other"
    assert geo.get_workspace("demo")["workspace"]["name"] == "demo"
    try:
        geo.get_workspace("missing")
        raise AssertionError("a missing workspace must be a 404")
    except GeoserverException as e:
        assert e.status == 404


def test_postgis_store_shapefile_upload_style_and_group(node, sf_zip):
    geo = client(node)
    geo.create_workspace("demo")
    # A PostGIS store is configuration only here.
    geo.create_featurestore("pg", workspace="demo", db="gis", host="127.0.0.1", pg_user="u", pg_password="p")
    ds = geo.get_datastore("pg", workspace="demo")
    assert ds["dataStore"]["type"] == "PostGIS"
    # Zipped shapefile upload configures the feature type and its layer.
    assert "successfully" in geo.create_shp_datastore(sf_zip, store_name="roads", workspace="demo")
    layer = geo.get_layer("roads", workspace="demo")
    assert layer["layer"]["resource"]["name"] == "demo:roads"
    fts = geo.get_featuretypes(workspace="demo", store_name="roads")
    assert fts == ["roads"]
    attrs = geo.get_feature_attribute("roads", workspace="demo", store_name="roads")
    assert "the_geom" in attrs
    # Style: entry, then SLD body; then make it the layer's default.
    assert geo.upload_style(RED_SLD, name="red", workspace="demo") == 200
    assert geo.publish_style("roads", "red", "demo") == 200
    assert requests.get(f"{node.base}/rest/layers/demo:roads.json", auth=("admin", "geoserver")).json()["layer"]["defaultStyle"]["name"] == "demo:red"
    # Layer group through the global URL.
    out = geo.create_layergroup(name="grp", mode="single", title="G", abstract_text="a", layers=["roads"], workspace="demo")
    assert "successfully" in out
    groups = geo.get_layergroups(workspace="demo")
    assert groups["layerGroups"]["layerGroup"][0]["name"] == "grp"
    geo.delete_layergroup("grp", workspace="demo")
    # Recursive delete of the workspace removes everything under it.
    geo.delete_workspace("demo")
    r = requests.get(f"{node.base}/rest/workspaces/demo.json", auth=("admin", "geoserver"))
    assert r.status_code == 404
    assert not (node.data_dir / "workspaces/demo").exists()


def test_publish_from_directory_store(node, sf_dir_copy):
    geo = client(node)
    geo.create_workspace("sf2")
    # A shapefile directory store by path (the short <url> parameter syntax).
    geo.create_datastore(name="dir", path=sf_dir_copy.removeprefix("file:"), workspace="sf2")
    ds = geo.get_datastore("dir", workspace="sf2")
    assert ds["dataStore"]["type"] == "Directory of spatial files (shapefiles)"
    assert geo.publish_featurestore(store_name="dir", pg_table="archsites", workspace="sf2") == 201
    assert geo.get_layer("archsites", workspace="sf2")["layer"]["defaultStyle"]["name"] == "point"
    try:
        geo.publish_featurestore(store_name="dir", pg_table="nope", workspace="sf2")
        raise AssertionError("publishing a missing table must fail")
    except GeoserverException as e:
        assert e.status == 400


def test_create_coveragestore_uploads_a_geotiff_that_draws(node):
    from conftest import fixture_dir

    geo = client(node)
    geo.create_workspace("demo")
    r = geo.create_coveragestore(str(fixture_dir() / "data/sf/sfdem.tif"), workspace="demo", layer_name="dem")
    assert r, r
    layer = geo.get_layer("dem", workspace="demo")
    assert layer["layer"]["resource"]["name"] == "demo:dem"
    # The new layer draws through WMS.
    m = requests.get(
        f"{node.base}/wms",
        params={
            "service": "WMS",
            "version": "1.1.1",
            "request": "GetMap",
            "layers": "demo:dem",
            "styles": "",
            "srs": "EPSG:26713",
            "bbox": "589980,4913700,609000,4928010",
            "width": "100",
            "height": "75",
            "format": "image/png",
        },
    )
    assert m.status_code == 200 and m.headers["content-type"] == "image/png", m.text[:300]
