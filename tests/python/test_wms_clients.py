"""OWSLib and GDAL use Meridian's WMS as they would GeoServer's: capabilities in 1.1.1 and
1.3.0, and maps of topp:states drawn through its population style, pixels checked."""
import subprocess

import png
from owslib.wms import WebMapService

# popshade: > 4M people is #4D4DFF at 70 % over white.
TEXAS_BLUE = tuple(round(c * 0.7 + 255 * 0.3) for c in (0x4D, 0x4D, 0xFF))


def near(pixel, color, tolerance=4):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color))


def decode(data: bytes):
    w, h, rows, info = png.Reader(bytes=data).asRGBA8()
    return w, h, [list(r) for r in rows]


def at(rows, x, y):
    r = rows[y]
    return tuple(r[x * 4 : x * 4 + 4])


def test_owslib_reads_capabilities_and_maps_in_both_versions(fixture_node):
    for version, bbox_crs in (("1.1.1", "EPSG:4326"), ("1.3.0", "EPSG:4326")):
        wms = WebMapService(f"{fixture_node.base}/wms", version=version)
        assert "topp:states" in wms.contents, version
        layer = wms["topp:states"]
        assert "population" in layer.styles, (version, layer.styles)
        west, south, east, north = layer.boundingBoxWGS84
        assert -125 < west < -124 and 49 < north < 50, layer.boundingBoxWGS84
        assert "image/png" in wms.getOperationByName("GetMap").formatOptions
        img = wms.getmap(
            layers=["topp:states"],
            styles=[""],
            srs=bbox_crs,
            bbox=(-125, 24, -66, 50),
            size=(590, 260),
            format="image/png",
        )
        w, h, rows = decode(img.read())
        assert (w, h) == (590, 260)
        # West Texas at (-102, 31), off its label; OWSLib swaps the box for 1.3.0 itself.
        assert near(at(rows, 230, 190), TEXAS_BLUE), (version, at(rows, 230, 190))
        assert at(rows, 350, 250)[:3] == (255, 255, 255), "the Gulf of Mexico is white"


def test_gdal_wms_driver_translates_a_map(fixture_node, tmp_path):
    url = (
        f"WMS:{fixture_node.base}/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap"
        "&LAYERS=topp:states&SRS=EPSG:4326&BBOX=-125,24,-66,50&FORMAT=image/png"
    )
    out = tmp_path / "states.tif"
    r = subprocess.run(
        ["gdal_translate", "-q", "-outsize", "590", "260", url, str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        ["gdallocationinfo", "-valonly", "-wgs84", str(out), "-102", "31"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    values = [int(v) for v in r.stdout.split()]
    assert near(values, TEXAS_BLUE), values


def test_owslib_get_feature_info(fixture_node):
    for version in ("1.1.1", "1.3.0"):
        wms = WebMapService(f"{fixture_node.base}/wms", version=version)
        assert "text/plain" in wms.getOperationByName("GetFeatureInfo").formatOptions
        r = wms.getfeatureinfo(
            layers=["topp:states"],
            styles=[""],
            srs="EPSG:4326",
            bbox=(-125, 24, -66, 50),
            size=(590, 260),
            format="image/png",
            query_layers=["topp:states"],
            info_format="text/plain",
            xy=(260, 185),
        )
        assert "STATE_NAME = Texas" in r.read().decode(), version
