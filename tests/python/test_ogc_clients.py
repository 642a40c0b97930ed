"""OWSLib and GDAL read every vector layer of GeoServer's release data directory from a live
node, through WFS 2.0 and OGC API - Features; counts, attributes and geometries match the source
files."""
import json
import urllib.request
import sqlite3
import subprocess

import pytest
import shapefile
from owslib.ogcapi.features import Features
from owslib.wfs import WebFeatureService

from conftest import fixture_dir

# layer -> (kind, source, native name, count)
LAYERS = {
    "sf:streams": ("shp", "data/sf/streams.shp", 104),
    "sf:restricted": ("shp", "data/sf/restricted.shp", 4),
    "sf:archsites": ("shp", "data/sf/archsites.shp", 25),
    "sf:roads": ("shp", "data/sf/roads.shp", 825),
    "sf:bugsites": ("shp", "data/sf/bugsites.shp", 90),
    "tiger:poly_landmarks": ("shp", "data/nyc/poly_landmarks.shp", 80),
    "tiger:giant_polygon": ("shp", "data/nyc/giant_polygon.shp", 1),
    "tiger:tiger_roads": ("shp", "data/nyc/tiger_roads.shp", 8333),
    "tiger:poi": ("shp", "data/nyc/poi.shp", 6),
    "topp:tasmania_roads": ("shp", "data/taz_shapes/tasmania_roads.shp", 14),
    "topp:tasmania_cities": ("shp", "data/taz_shapes/tasmania_cities.shp", 1),
    "topp:tasmania_water_bodies": ("shp", "data/taz_shapes/tasmania_water_bodies.shp", 7),
    "topp:tasmania_state_boundaries": ("shp", "data/taz_shapes/tasmania_state_boundaries.shp", 1),
    "topp:states": ("shp", "data/shapefiles/states.shp", 49),
    "ne:countries": ("gpkg", "countries", 177),
    "ne:populated_places": ("gpkg", "populated_places", 243),
    "ne:boundary_lines": ("gpkg", "boundary_lines_land", 177),
    "ne:coastlines": ("gpkg", "coastlines", 176),
    "ne:disputed_areas": ("gpkg", "disputed_areas", 4),
}


def source_records(layer):
    """The source's attribute records, in file order."""
    kind, src, _ = LAYERS[layer]
    if kind == "shp":
        r = shapefile.Reader(str(fixture_dir() / src))
        names = [f[0] for f in r.fields[1:]]
        return [dict(zip(names, rec)) for rec in r.records()] or [{} for _ in range(len(r))]
    con = sqlite3.connect(str(fixture_dir() / "data/ne/natural_earth.gpkg"))
    con.row_factory = sqlite3.Row
    rows = con.execute(f'SELECT * FROM "{src}" ORDER BY fid').fetchall()
    return [{k: row[k] for k in row.keys() if k not in ("fid", "GEOMETRY", "geometry", "geom")} for row in rows]


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) < 1e-6
        except (TypeError, ValueError):
            return False
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    if hasattr(b, "isoformat"):
        return str(a) == b.isoformat()
    return a == b


def test_owslib_wfs_reads_every_layer(fixture_node):
    wfs = WebFeatureService(f"{fixture_node.base}/wfs", version="2.0.0")
    for layer in LAYERS:
        assert layer in wfs.contents, layer
    for layer, (_, _, count) in LAYERS.items():
        resp = wfs.getfeature(typename=[layer], outputFormat="application/json")
        fc = json.loads(resp.read())
        assert len(fc["features"]) == count, layer
        records = source_records(layer)
        for feature, record in zip(fc["features"], records):
            for k, v in record.items():
                assert same(feature["properties"].get(k), v), (layer, feature["id"], k, feature["properties"].get(k), v)
            assert feature["geometry"] is not None or layer == "tiger:giant_polygon", (layer, feature["id"])


def test_owslib_wfs_geometries_match_the_source(fixture_node):
    wfs = WebFeatureService(f"{fixture_node.base}/wfs", version="2.0.0")
    # Native CRS, no reprojection: the first coordinates equal the shapefile's points.
    for layer in ["sf:archsites", "topp:states", "sf:roads"]:
        fc = json.loads(wfs.getfeature(typename=[layer], outputFormat="application/json", srsname=None).read())
        shapes = shapefile.Reader(str(fixture_dir() / LAYERS[layer][1])).shapes()
        for feature, shape in zip(fc["features"], shapes):
            g = feature["geometry"]
            coords = g["coordinates"]
            while isinstance(coords[0], list):
                coords = coords[0]
            assert abs(coords[0] - shape.points[0][0]) < 1e-6 and abs(coords[1] - shape.points[0][1]) < 1e-6, (layer, feature["id"])


def test_owslib_ogc_api_features(fixture_node):
    api = Features(f"{fixture_node.base}/ogc/features/v1")
    ids = [c["id"] for c in api.collections()["collections"]]
    for layer, (_, _, count) in LAYERS.items():
        assert layer in ids
        items = api.collection_items(layer, limit=10000)
        assert items["numberMatched"] == count, layer
        assert len(items["features"]) == count, layer


def ogrinfo(*args):
    r = subprocess.run(["ogrinfo", "-ro", "-so", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_gdal_wfs_and_oapif_drivers(fixture_node, layer):
    count = LAYERS[layer][2]
    out = ogrinfo(f"WFS:{fixture_node.base}/wfs?VERSION=2.0.0", layer)
    assert f"Feature Count: {count}" in out, out
    out = ogrinfo(f"OAPIF:{fixture_node.base}/ogc/features/v1", layer)
    assert f"Feature Count: {count}" in out, out


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0", "2.0.0"])
def test_gdal_wfs_pushes_filters_down(fixture_node, version):
    """GDAL's WFS driver pinned to each version: -where and -spat (GDAL sends them as the
    version's filters when the capabilities list the operators, and counts by hits)."""
    url = f"WFS:{fixture_node.base}/wfs?VERSION={version}"
    out = ogrinfo("-where", "STATE_ABBR = 'TX' AND PERSONS >= 1000", url, "topp:states")
    assert "Feature Count: 1" in out, out
    extent = out.split("Extent: ")[1].split("\n")[0]
    assert extent.startswith("(-106.6"), extent
    out = ogrinfo("-spat", "-10", "35", "30", "60", url, "ne:populated_places")
    n = int(out.split("Feature Count: ")[1].split()[0])
    assert 10 < n < 243, out
    # GeoServer's 14 states meet -100,35,-90,45 by their boxes; GDAL keeps 13 when it
    # checks the shapes itself (1.0.0, which has no hits).
    out = ogrinfo("-spat", "-100", "35", "-90", "45", url, "topp:states")
    assert ("Feature Count: 14" in out) or (version == "1.0.0" and "Feature Count: 13" in out), out


def test_gdal_oapif_driver_with_spat_and_where(fixture_node):
    url = f"OAPIF:{fixture_node.base}/ogc/features/v1"
    out = ogrinfo("-where", "STATE_ABBR = 'TX'", url, "topp:states")
    assert "Feature Count: 1" in out, out
    out = ogrinfo("-spat", "-100", "35", "-90", "45", "-where", "PERSONS > 5000000", url, "topp:states")
    assert "Feature Count: 3" in out, out


def test_gdal_wfs_1_0_0_reads_longitude_first(fixture_node):
    """GDAL's WFS driver pinned to 1.0.0 reads GML 2 in x/y order: Texas lies between
    longitudes -106.7 and -93.5 (it was put at latitude -105.99 when 1.0.0 got GML 3.2)."""
    out = ogrinfo("-where", "STATE_ABBR = 'TX'", f"WFS:{fixture_node.base}/wfs?VERSION=1.0.0", "topp:states")
    extent = out.split("Extent: ")[1].split("\n")[0]
    (minx, miny), (maxx, maxy) = [tuple(float(v) for v in p.strip(" ()").split(",")) for p in extent.split(" - ")]
    assert -107 < minx < -106 and -94 < maxx < -93, extent
    assert 25 < miny < 26.5 and 36 < maxy < 37, extent


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0", "2.0.0"])
def test_owslib_wfs_getfeature_with_a_bbox(fixture_node, version):
    """OWSLib's GetFeature with a bbox in each version (its own axis handling): the 14 states
    GeoServer gives for -100,35,-90,45."""
    from xml.etree import ElementTree as ET

    wfs = WebFeatureService(f"{fixture_node.base}/wfs", version=version)
    doc = ET.fromstring(wfs.getfeature(typename=["topp:states"], bbox=(-100, 35, -90, 45)).read())
    assert len(doc.findall(".//{http://www.openplans.org/topp}states")) == 14


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
def test_owslib_wfs_1_default_getfeature(fixture_node, version):
    """OWSLib's 1.0.0 and 1.1.0 GetFeature as it sends it by default (propertyName=*, GML of
    the version): every state, its attributes, and Texas where it is."""
    from xml.etree import ElementTree as ET

    wfs = WebFeatureService(f"{fixture_node.base}/wfs", version=version)
    doc = ET.fromstring(wfs.getfeature(typename=["topp:states"], propertyname="*").read())
    gml = "http://www.opengis.net/gml"
    topp = "http://www.openplans.org/topp"
    states = doc.findall(f".//{{{topp}}}states")
    assert len(states) == 49
    texas = next(s for s in states if s.findtext(f"{{{topp}}}STATE_ABBR") == "TX")
    assert texas.findtext(f"{{{topp}}}STATE_NAME") == "Texas"
    if version == "1.0.0":
        text = texas.find(f".//{{{gml}}}coordinates").text.split()[0]
        lon, lat = (float(v) for v in text.split(","))
    else:
        lat, lon = (float(v) for v in texas.find(f".//{{{gml}}}posList").text.split()[:2])
    assert -107 < lon < -93 and 25 < lat < 37, (lon, lat)


def test_owslib_wfs_2_stored_query_get_feature_by_id(fixture_node):
    """OWSLib's stored-query calls: the list names GetFeatureById, and it returns the one
    feature, alone."""
    from xml.etree import ElementTree as ET

    wfs = WebFeatureService(f"{fixture_node.base}/wfs", version="2.0.0")
    ids = [q.id for q in wfs.storedqueries]
    assert "urn:ogc:def:query:OGC-WFS::GetFeatureById" in ids, ids
    resp = wfs.getfeature(
        storedQueryID="urn:ogc:def:query:OGC-WFS::GetFeatureById",
        storedQueryParams={"ID": "states.1"},
    )
    root = ET.fromstring(resp.read())
    assert root.tag == "{http://www.openplans.org/topp}states", root.tag
    assert root.get("{http://www.opengis.net/gml/3.2}id") == "states.1"


def test_gdal_reads_the_kml_answer(fixture_node, tmp_path):
    """GDAL's KML driver reads WFS GetFeature's KML: every state, Texas where it is."""
    url = f"{fixture_node.base}/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&outputFormat=KML"
    path = tmp_path / "states.kml"
    with urllib.request.urlopen(url, timeout=60) as r:
        path.write_bytes(r.read())
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Feature Count: 49" in out.stdout, out.stdout
    extent = out.stdout.split("Extent: ")[1].split("\n")[0]
    (minx, miny), (maxx, maxy) = [tuple(float(v) for v in p.strip(" ()").split(",")) for p in extent.split(" - ")]
    assert -125 < minx < -124 and -68 < maxx < -66, extent


def test_gdal_reads_the_shape_zip_answer(fixture_node, tmp_path):
    """GDAL reads WFS GetFeature's SHAPE-ZIP: every state, their attributes in UTF-8, the
    CRS from the .prj."""
    url = f"{fixture_node.base}/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=topp:states&outputFormat=SHAPE-ZIP"
    path = tmp_path / "states.zip"
    with urllib.request.urlopen(url, timeout=60) as r:
        assert r.headers["Content-Type"] == "application/zip"
        assert 'filename="states.zip"' in r.headers["Content-Disposition"]
        path.write_bytes(r.read())
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"/vsizip/{path}"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Feature Count: 49" in out.stdout, out.stdout
    assert "STATE_NAME: String" in out.stdout, out.stdout
    assert "WGS 84" in out.stdout or "WGS_1984" in out.stdout, out.stdout
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-q", "-where", "STATE_ABBR = 'TX'", f"/vsizip/{path}"], capture_output=True, text=True, timeout=120)
    assert "STATE_NAME (String) = Texas" in out.stdout, out.stdout
