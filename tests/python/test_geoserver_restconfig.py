"""geoserver-restconfig (GeoNode's gsconfig), run unchanged against a live meridian node."""
from geoserver.catalog import Catalog

from conftest import RED_SLD


def catalog(node):
    return Catalog(f"{node.base}/rest", username="admin", password="geoserver")


def test_workspace_stores_publish_style_group_delete(node, sf_shapefile, sf_dir_copy):
    cat = catalog(node)
    assert cat.get_version().startswith("2.")
    ws = cat.create_workspace("gs", "http://example.com/gs")
    assert ws is not None and ws.name == "gs"
    cat.set_default_workspace("gs")
    assert cat.get_default_workspace().name == "gs"

    # A PostGIS store, saved through the UnsavedDataStore flow.
    ds = cat.create_datastore("pg", ws)
    ds.connection_parameters.update(host="127.0.0.1", port="5432", database="gis", user="u", passwd="p", dbtype="postgis", schema="public")
    cat.save(ds)
    pg = cat.get_store("pg", ws)
    assert pg.connection_parameters["dbtype"] == "postgis"
    assert pg.type == "PostGIS"

    # Shapefile upload (zipped by the client) configures a feature type.
    cat.create_featurestore("roads", data=sf_shapefile, workspace=ws)
    layer = cat.get_layer("gs:roads")
    assert layer is not None
    assert layer.resource.name == "roads"

    # A directory store and publish_featuretype with an EPSG nativeCRS.
    d = cat.create_datastore("dir", ws)
    d.connection_parameters.update(url=sf_dir_copy)
    cat.save(d)
    store = cat.get_store("dir", ws)
    assert "archsites" in cat.list_feature_type_names(ws, store, filter="available")
    ft = cat.publish_featuretype("archsites", store, "EPSG:26713", srs="EPSG:26713")
    assert ft.projection == "EPSG:26713"
    assert [a for a in ft.attributes if a == "the_geom"]

    # Style: create, upload SLD, set as default.
    style = cat.create_style("red", RED_SLD, workspace="gs")
    assert style is not None
    style = cat.get_style("red", workspace="gs")
    assert style.style_format == "sld1.0.0"
    layer = cat.get_layer("gs:roads")
    layer.default_style = style
    cat.save(layer)
    assert cat.get_layer("gs:roads").default_style.name == "red"

    # Layer group.
    lg = cat.create_layergroup("lg", layers=["gs:roads", "gs:archsites"], styles=[None, None], workspace="gs")
    cat.save(lg)
    lg = cat.get_layergroup("lg", workspace="gs")
    assert [l.split(":")[-1] for l in lg.layers] == ["roads", "archsites"]

    # Delete the workspace recursively.
    cat.delete(cat.get_workspace("gs"), recurse=True)
    assert cat.get_workspace("gs") is None
    assert not (node.data_dir / "workspaces/gs").exists()


def test_create_coveragestore_by_upload_and_by_path(node):
    from conftest import fixture_dir

    cat = Catalog(f"{node.base}/rest", username="admin", password="geoserver")
    cat.create_workspace("demo", "http://demo")
    tif = str(fixture_dir() / "data/sf/sfdem.tif")
    res = cat.create_coveragestore("dem", workspace="demo", path=tif, upload_data=True)
    assert res.name == "dem"
    assert cat.get_layer("demo:dem") is not None
    # By path: the store, then a coverage read from its file.
    res = cat.create_coveragestore("dem_ext", workspace="demo", path=tif, layer_name="dem_ext", source_name="dem_ext")
    assert res.name == "dem_ext"
    cov = cat.get_resource("dem_ext", workspace="demo")
    assert cov.projection == "EPSG:26713", cov.projection
