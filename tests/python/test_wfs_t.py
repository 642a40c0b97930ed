"""WFS-T with the real clients: GDAL's WFS driver (Debian's python3-gdal, run by the system
Python) inserts, updates and deletes features of a shapefile, a GeoPackage and a PostGIS
table over WFS 1.0.0, 1.1.0 and 2.0.0; QGIS's WFS provider adds a feature, edits it (attribute
and geometry) and deletes it, each step read back from the server."""
import base64
import json
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, fixture_dir
from test_qgis import run_qgis

GDAL_SCRIPT = r"""
import json, sys
from osgeo import ogr, gdal
gdal.UseExceptions()
url, version, layer_name, fields, wkt, key, old, new = sys.argv[1:9]
gdal.SetConfigOption("GDAL_HTTP_AUTH", "BASIC")
gdal.SetConfigOption("GDAL_HTTP_USERPWD", "admin:geoserver")
ds = ogr.Open(f"WFS:{url}?VERSION={version}", update=1)
lyr = ds.GetLayerByName(layer_name)
out = {"before": lyr.GetFeatureCount()}
f = ogr.Feature(lyr.GetLayerDefn())
for k, v in json.loads(fields).items():
    f.SetField(k, v)
f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
lyr.CreateFeature(f)
out["inserted"] = f.GetField("gml_id")
lyr.SetAttributeFilter(f"{key} = '{old}'")
g = lyr.GetNextFeature()
out["found"] = [g.GetGeometryRef().GetX(), g.GetGeometryRef().GetY()] if g else None
if g:
    g.SetField(key, new)
    lyr.SetFeature(g)
lyr.SetAttributeFilter(f"{key} = '{new}'")
h = lyr.GetNextFeature()
out["updated"] = h is not None
if h:
    lyr.DeleteFeature(h.GetFID())
lyr.SetAttributeFilter(None)
lyr.ResetReading()
out["after"] = lyr.GetFeatureCount()
print(json.dumps(out))
"""


def run_gdal(*args):
    py = "/usr/bin/python3"
    check = subprocess.run([py, "-c", "from osgeo import ogr"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.fail("GDAL's Python bindings are missing (Debian package python3-gdal): " + check.stderr[-300:])
    r = subprocess.run([py, "-c", GDAL_SCRIPT, *args], capture_output=True, text=True, timeout=300)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    assert lines, r.stdout[-2000:] + r.stderr[-2000:]
    return json.loads(lines[-1])


def features(node, layer, cql):
    q = urllib.parse.urlencode({
        "service": "WFS", "version": "2.0.0", "request": "GetFeature", "typeNames": layer,
        "outputFormat": "application/json", "cql_filter": cql,
    })
    with urllib.request.urlopen(f"{node.base}/wfs?{q}", timeout=60) as r:
        return json.load(r)


def rest(node, method, path, body):
    req = urllib.request.Request(f"{node.base}/rest{path}", data=body.encode(), method=method)
    req.add_header("Content-Type", "text/xml")
    req.add_header("Authorization", "Basic " + base64.b64encode(b"admin:geoserver").decode())
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status


@pytest.fixture
def postgis_bugsites(editable_node):
    """A PostgreSQL/PostGIS (scripts/postgis.sh) holding sf:bugsites, published as pg:bugsites."""
    script = REPO / "scripts/postgis.sh"
    tmp = Path(tempfile.mkdtemp(prefix="meridian-pg-"))
    tmp.chmod(0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = lambda *a: subprocess.run(["bash", str(script), *a], capture_output=True, text=True, timeout=600)
    r = run("start", str(tmp / "pg"), str(port))
    if r.returncode != 0:
        pytest.fail("PostGIS did not start: " + r.stdout[-1000:] + r.stderr[-1000:])
    try:
        r = run("load", str(tmp / "pg"), str(port), str(fixture_dir() / "data/sf/bugsites.shp"), "bugsites", "26713")
        assert r.returncode == 0, r.stderr
        assert rest(editable_node, "POST", "/workspaces", "<workspace><name>pg</name></workspace>") == 201
        assert rest(editable_node, "POST", "/workspaces/pg/datastores",
                    f"<dataStore><name>db</name><connectionParameters><entry key=\"dbtype\">postgis</entry><entry key=\"host\">127.0.0.1</entry><entry key=\"port\">{port}</entry><entry key=\"database\">gis</entry><entry key=\"user\">postgres</entry></connectionParameters></dataStore>") == 201
        assert rest(editable_node, "POST", "/workspaces/pg/datastores/db/featuretypes",
                    "<featureType><name>bugsites</name></featureType>") == 201
        yield editable_node
    finally:
        run("stop", str(tmp / "pg"))
        shutil.rmtree(tmp, ignore_errors=True)


CASES = {
    # layer, fields, geometry, key, count
    "shapefile": ("sf:bugsites", {"cat": 4242, "str1": "gdal site"}, "POINT (590000 4920000)", "str1", 90),
    "geopackage": ("ne:populated_places", {"NAME": "gdal site"}, "POINT (151.25 -33.5)", "NAME", 243),
}


@pytest.mark.parametrize("store", ["shapefile", "geopackage"])
@pytest.mark.parametrize("version", ["1.0.0", "1.1.0", "2.0.0"])
def test_gdal_wfs_t_round_trip_on_files(editable_node, store, version):
    layer, fields, wkt, key, count = CASES[store]
    out = run_gdal(f"{editable_node.base}/wfs", version, layer, json.dumps(fields), wkt, key, "gdal site", "gdal renamed")
    assert out["before"] == count, out
    assert out["inserted"] and out["inserted"].startswith(layer.split(":")[1] + "."), out
    # Read back where it was put (GDAL gives longitude first for EPSG:4326).
    x, y = (float(v) for v in wkt[7:-1].split())
    assert out["found"] and abs(out["found"][0] - x) < 1e-6 and abs(out["found"][1] - y) < 1e-6, out
    assert out["updated"], out
    assert out["after"] == count, out
    assert features(editable_node, layer, f"{key} LIKE 'gdal%'")["numberMatched"] == 0


@pytest.mark.parametrize("version", ["1.1.0", "2.0.0"])
def test_gdal_wfs_t_round_trip_on_postgis(postgis_bugsites, version):
    node = postgis_bugsites
    out = run_gdal(f"{node.base}/wfs", version, "pg:bugsites", json.dumps({"cat": 4242, "str1": "gdal site"}),
                   "POINT (590000 4920000)", "str1", "gdal site", "gdal renamed")
    assert out["before"] == 90, out
    assert out["inserted"] and out["inserted"].startswith("bugsites."), out
    assert out["found"] == [590000.0, 4920000.0], out
    assert out["updated"], out
    assert out["after"] == 90, out


QGIS_EDIT_SCRIPT = r"""
import json, sys
from qgis.core import (QgsApplication, QgsVectorLayer, QgsFeature, QgsGeometry, QgsPointXY,
                       QgsVectorDataProvider)
app = QgsApplication([], False)
app.initQgis()
url, version, step = sys.argv[1], sys.argv[2], sys.argv[3]
uri = (f"pagingEnabled='true' srsname='EPSG:26713' typename='sf:bugsites' url='{url}' "
       f"version='{version}' username='admin' password='geoserver'")
layer = QgsVectorLayer(uri, "bugsites", "WFS")
out = {"valid": layer.isValid()}
caps = layer.dataProvider().capabilities()
out["editable"] = bool(caps & QgsVectorDataProvider.AddFeatures) and bool(caps & QgsVectorDataProvider.ChangeGeometries)
mine = [f for f in layer.getFeatures() if f["cat"] == 777]
out["mine"] = [[f["str1"], f.geometry().asPoint().x(), f.geometry().asPoint().y()] for f in mine]
layer.startEditing()
if step == "insert":
    f = QgsFeature(layer.fields())
    f["cat"] = 777
    f["str1"] = "qgis site"
    f.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(600000, 4917000)))
    layer.addFeature(f)
elif step == "update" and mine:
    layer.changeAttributeValue(mine[0].id(), layer.fields().indexOf("str1"), "qgis edited")
    layer.changeGeometry(mine[0].id(), QgsGeometry.fromPointXY(QgsPointXY(601000, 4918000)))
elif step == "delete" and mine:
    layer.deleteFeature(mine[0].id())
out["committed"] = layer.commitChanges()
out["messages"] = layer.commitErrors()
print(json.dumps(out))
app.exitQgis()
"""


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
def test_qgis_edits_a_wfs_layer(editable_node, version):
    """Each step in a fresh QGIS (its WFS cache starts empty), checked on the server. The
    points lie inside the layer's advertised extent: QGIS asks only for features there."""
    url = f"{editable_node.base}/wfs"
    with tempfile.TemporaryDirectory() as tmp:
        out = run_qgis(QGIS_EDIT_SCRIPT, tmp, url, version, "insert")
        assert out["valid"] and out["editable"] and out["committed"], out
        got = features(editable_node, "sf:bugsites", "cat = 777")["features"]
        assert len(got) == 1 and got[0]["properties"]["str1"] == "qgis site", got

        out = run_qgis(QGIS_EDIT_SCRIPT, tmp, url, version, "update")
        assert out["mine"] == [["qgis site", 600000.0, 4917000.0]], out
        assert out["committed"], out
        got = features(editable_node, "sf:bugsites", "cat = 777")["features"]
        assert got[0]["properties"]["str1"] == "qgis edited", got

        out = run_qgis(QGIS_EDIT_SCRIPT, tmp, url, version, "delete")
        assert out["mine"] == [["qgis edited", 601000.0, 4918000.0]], out
        assert out["committed"], out
        assert features(editable_node, "sf:bugsites", "cat = 777")["numberMatched"] == 0
        assert features(editable_node, "sf:bugsites", "INCLUDE")["numberMatched"] == 90


def test_geoserver_rest_publishes_a_sql_view(postgis_bugsites):
    """geoserver-rest's publish_featurestore_sqlview: a parameterized view of a PostGIS table,
    served with its default and with viewparams; a value its validator refuses is a 400."""
    from geo.Geoserver import Geoserver

    node = postgis_bugsites
    geo = Geoserver(node.base, username="admin", password="geoserver")
    status = geo.publish_featurestore_sqlview(
        name="some_sites", store_name="db", workspace="pg", key_column="gid", geom_name="geom",
        geom_type="Point", srid=26713,
        sql="SELECT gid, cat, str1, geom FROM bugsites WHERE %below% > cat",  # no "<": the library sends the SQL unescaped
        parameters=[{"name": "below", "defaultValue": "10", "regexpValidator": r"^\d+$"}],
    )
    assert status == 201
    assert features(node, "pg:some_sites", "INCLUDE")["numberMatched"] == 9
    q = urllib.parse.urlencode({"service": "WFS", "version": "2.0.0", "request": "GetFeature",
                                "typeNames": "pg:some_sites", "outputFormat": "application/json",
                                "viewparams": "below:21"})
    with urllib.request.urlopen(f"{node.base}/wfs?{q}", timeout=60) as r:
        assert json.load(r)["numberMatched"] == 20
    q = q.replace("below%3A21", "below%3A1+or+true")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{node.base}/wfs?{q}", timeout=60)
    assert e.value.code == 400
