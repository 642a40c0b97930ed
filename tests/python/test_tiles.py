"""Tile clients read Meridian's WMTS as they read GeoServer's GeoWebCache: OWSLib's
WebMapTileService (capabilities, a tile), GDAL's WMTS driver (a region of topp:states with
Texas where it is) and QGIS headless (a WMTS layer rendered)."""
import json
import os
import subprocess
import tempfile

import png
from owslib.wmts import WebMapTileService

from test_qgis import run_qgis

TEXAS_BLUE = tuple(round(c * 0.7 + 255 * 0.3) for c in (0x4D, 0x4D, 0xFF))


def near(pixel, color, tolerance=6):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color))


def test_owslib_reads_the_wmts_capabilities_and_a_tile(fixture_node):
    wmts = WebMapTileService(f"{fixture_node.base}/gwc/service/wmts")
    assert "topp:states" in wmts.contents
    layer = wmts.contents["topp:states"]
    assert "EPSG:4326" in layer.tilematrixsetlinks
    assert "image/png" in layer.formats
    tms = wmts.tilematrixsets["EPSG:4326"]
    m = tms.tilematrix["EPSG:4326:3"]
    assert (m.matrixwidth, m.matrixheight) == (16, 8)
    tile = wmts.gettile(layer="topp:states", tilematrixset="EPSG:4326", tilematrix="EPSG:4326:3",
                        row=2, column=4, format="image/png")
    w, h, rows, _ = png.Reader(bytes=tile.read()).asRGBA8()
    assert (w, h) == (256, 256)
    painted = sum(1 for r in rows for i in range(0, len(r), 4) if r[i + 3] and tuple(r[i:i + 3]) != (255, 255, 255))
    assert painted > 10000, painted


def test_gdal_wmts_driver_reads_a_region(fixture_node, tmp_path):
    src = f"WMTS:{fixture_node.base}/gwc/service/wmts?request=GetCapabilities,layer=topp:states,tilematrixset=EPSG:4326"
    out = tmp_path / "states.tif"
    r = subprocess.run(
        ["gdal_translate", "-q", "--config", "GDAL_DEFAULT_WMS_CACHE_PATH", str(tmp_path / "gdal-cache"),
         "-projwin", "-125", "50", "-66", "24", "-outsize", "590", "260", src, str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["gdallocationinfo", "-valonly", "-wgs84", str(out), "-102", "31"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    values = [int(v) for v in r.stdout.split()]
    # Tiles are transparent: the style's fill, at its 70 % opacity.
    assert near(values, (0x4D, 0x4D, 0xFF)) and abs(values[3] - 179) <= 2, values


QGIS_WMTS_SCRIPT = r"""
import json, sys
from qgis.core import (QgsApplication, QgsRasterLayer, QgsMapSettings, QgsRectangle,
                       QgsMapRendererSequentialJob, QgsCoordinateReferenceSystem)
from qgis.PyQt.QtCore import QSize
app = QgsApplication([], False)
app.initQgis()
uri = ("contextualWMSLegend=0&crs=EPSG:4326&dpiMode=7&format=image/png&layers=topp:states&styles=population"
       "&tileMatrixSet=EPSG:4326&url=" + sys.argv[1] + "?REQUEST=GetCapabilities")
layer = QgsRasterLayer(uri, "states", "wms")
out = {"valid": layer.isValid(), "error": layer.error().message() if not layer.isValid() else ""}
if layer.isValid():
    s = QgsMapSettings()
    s.setLayers([layer])
    s.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    s.setExtent(QgsRectangle(-125, 24, -66, 50))
    s.setOutputSize(QSize(590, 260))
    job = QgsMapRendererSequentialJob(s)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    img.save(sys.argv[2], "PNG")
    c = img.pixelColor(230, 190)
    out["texas"] = [c.red(), c.green(), c.blue()]
print(json.dumps(out))
app.exitQgis()
"""


def test_qgis_renders_a_wmts_layer(fixture_node):
    with tempfile.TemporaryDirectory() as tmp:
        png_path = os.path.join(tmp, "qgis-wmts.png")
        out = run_qgis(QGIS_WMTS_SCRIPT, tmp, f"{fixture_node.base}/gwc/service/wmts", png_path)
        assert out["valid"], out
        assert near(out["texas"], TEXAS_BLUE, 10), out


def test_gdal_reads_a_vector_tile(fixture_node, tmp_path):
    """GDAL's MVT driver decodes a Meridian vector tile: the states of the tile, their names,
    and Texas's outline where Texas is."""
    import base64
    import urllib.request
    body = ("<GeoServerLayer><name>topp:states</name><enabled>true</enabled><mimeFormats><string>image/png</string>"
            "<string>application/vnd.mapbox-vector-tile</string></mimeFormats><gridSubsets><gridSubset>"
            "<gridSetName>EPSG:900913</gridSetName></gridSubset></gridSubsets></GeoServerLayer>")
    req = urllib.request.Request(f"{fixture_node.base}/gwc/rest/layers/topp:states.xml", data=body.encode(), method="PUT",
                                 headers={"Content-Type": "text/xml",
                                          "Authorization": "Basic " + base64.b64encode(b"admin:geoserver").decode()})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200
    # XYZ level 3, column 1, row 3 (TMS row 4).
    with urllib.request.urlopen(f"{fixture_node.base}/gwc/service/tms/1.0.0/topp:states@EPSG:900913@pbf/3/1/4.pbf", timeout=60) as r:
        data = r.read()
    tile = tmp_path / "3-1-3.pbf"
    tile.write_bytes(data)
    out = tmp_path / "tile.geojson"
    r = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "-oo", "X=1", "-oo", "Y=3", "-oo", "Z=3",
                        str(out), str(tile), "states"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    features = json.loads(out.read_text())["features"]
    names = {f["properties"]["STATE_NAME"]: f["geometry"] for f in features}
    assert "Texas" in names and "Oklahoma" in names, sorted(names)
    # Texas, in web mercator metres, lies around (-99°, 31°): its vertices' mean.
    def points(g):
        c = g["coordinates"]
        while isinstance(c[0][0], list):
            c = [p for part in c for p in part]
        return c
    pts = points(names["Texas"])
    x = sum(p[0] for p in pts) / len(pts)
    y = sum(p[1] for p in pts) / len(pts)
    assert -11_500_000 < x < -10_600_000 and 3_300_000 < y < 4_000_000, (x, y)
