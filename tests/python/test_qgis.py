"""QGIS 3.22 (Debian's python3-qgis, run headless by the system Python) shows a layer of
Meridian's WMS: the layer loads, and a map rendered by QGIS has Texas where it should be."""
import json
import os
import subprocess
import tempfile

import pytest

QGIS_SCRIPT = r"""
import json, sys
from qgis.core import (QgsApplication, QgsRasterLayer, QgsMapSettings, QgsRectangle,
                       QgsMapRendererSequentialJob, QgsCoordinateReferenceSystem)
from qgis.PyQt.QtCore import QSize
app = QgsApplication([], False)
app.initQgis()
uri = "contextualWMSLegend=0&crs=EPSG:4326&dpiMode=7&format=image/png&layers=topp:states&styles=&url=" + sys.argv[1]
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
    c = img.pixelColor(350, 250)
    out["gulf"] = [c.red(), c.green(), c.blue(), c.alpha()]
print(json.dumps(out))
app.exitQgis()
"""

def run_qgis(script, tmp, *args):
    """Run `script` in the system Python with QGIS headless; its last JSON line."""
    py = "/usr/bin/python3"
    check = subprocess.run([py, "-c", "import qgis.core"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.fail("QGIS's Python bindings are missing (Debian packages python3-qgis, qgis-providers): " + check.stderr[-300:])
    r = subprocess.run(
        [py, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": tmp},
    )
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    assert lines, r.stdout[-2000:] + r.stderr[-2000:]
    return json.loads(lines[-1])


TEXAS_BLUE = tuple(round(c * 0.7 + 255 * 0.3) for c in (0x4D, 0x4D, 0xFF))


def test_qgis_renders_a_wms_layer(fixture_node):
    with tempfile.TemporaryDirectory() as tmp:
        png_path = os.path.join(tmp, "qgis.png")
        out = run_qgis(QGIS_SCRIPT, tmp, f"{fixture_node.base}/wms", png_path)
        assert out["valid"], out
        assert all(abs(a - b) <= 6 for a, b in zip(out["texas"], TEXAS_BLUE)), out


QGIS_WFS_SCRIPT = r"""
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer, QgsFeatureRequest
app = QgsApplication([], False)
app.initQgis()
out = {}
for version in ["1.0.0", "1.1.0", "2.0.0"]:
    uri = f"pagingEnabled='true' srsname='EPSG:4326' typename='topp:states' url='{sys.argv[1]}' version='{version}'"
    layer = QgsVectorLayer(uri, "states", "WFS")
    if not layer.isValid():
        out[version] = {"valid": False}
        continue
    feats = list(layer.getFeatures())
    texas = [f for f in feats if f["STATE_ABBR"] == "TX"]
    c = texas[0].geometry().centroid().asPoint() if texas else None
    out[version] = {"valid": True, "count": len(feats), "texas": [c.x(), c.y()] if c else None,
                    "fields": [f.name() for f in layer.fields()]}
print(json.dumps(out))
app.exitQgis()
"""


def test_qgis_reads_a_wfs_layer_in_each_version(fixture_node):
    """QGIS's WFS provider opens topp:states over WFS 1.0.0, 1.1.0 and 2.0.0: every state, its
    attributes, and Texas where it is (longitude first in QGIS's EPSG:4326 layer)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = run_qgis(QGIS_WFS_SCRIPT, tmp, f"{fixture_node.base}/wfs")
    for version, got in out.items():
        assert got["valid"], (version, out)
        assert got["count"] == 49, (version, got)
        assert "STATE_NAME" in got["fields"], (version, got)
        lon, lat = got["texas"]
        assert -107 < lon < -93 and 25 < lat < 37, (version, got)
