"""Start a real meridian node for the client-library tests."""
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def fixture_dir() -> Path:
    p = Path(os.environ.get("MERIDIAN_FIXTURE_DATADIR", REPO / "tests/fixtures/geoserver-release"))
    if not (p / "global.xml").is_file():
        pytest.fail(f"GeoServer's release data directory is missing at {p}")
    return p


class Node:
    def __init__(self, data_dir: Path, env: dict | None = None):
        binary = os.environ.get("MERIDIAN_BIN", str(REPO / "target/debug/meridian"))
        if not os.path.isfile(binary):
            pytest.fail(f"meridian binary not found at {binary}; build it first (cargo build)")
        self.data_dir = data_dir
        self.log = []
        self.proc = subprocess.Popen(
            [binary, "serve", "--bind", "127.0.0.1:0", "--data-dir", str(data_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "RUST_LOG": "info", "MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN": "127.0.0.1:0", **(env or {})},
        )
        port = []
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.log.append(line)
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m and not port:
                    port.append(int(m.group(1)))
                    ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(60):
            self.proc.kill()
            pytest.fail("meridian did not start:\n" + "".join(self.log))
        self.port = port[0]
        self.base = f"http://127.0.0.1:{self.port}/geoserver"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def node():
    tmp = Path(tempfile.mkdtemp(prefix="meridian-py-"))
    n = Node(tmp / "data")
    yield n
    n.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def node_on_fixture_copy():
    """A node on a fresh, writable copy of GeoServer's release data directory; yields it and
    removes the copy when it stops."""
    tmp = Path(tempfile.mkdtemp(prefix="meridian-ogc-"))
    shutil.copytree(fixture_dir(), tmp / "data")
    for p in (tmp / "data").rglob("*"):
        p.chmod(p.stat().st_mode | 0o200)
    n = Node(tmp / "data")
    yield n
    n.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def fixture_node():
    """A node serving a copy of GeoServer's release data directory (shared by a module)."""
    yield from node_on_fixture_copy()


@pytest.fixture
def editable_node():
    """A node on its own copy of the release data directory (for tests that change data)."""
    yield from node_on_fixture_copy()


@pytest.fixture
def sf_shapefile() -> dict:
    """Paths of the sf:roads shapefile parts from the fixture."""
    d = fixture_dir() / "data/sf"
    return {ext: str(d / f"roads.{ext}") for ext in ("shp", "shx", "dbf", "prj")}


@pytest.fixture
def sf_zip(tmp_path, sf_shapefile) -> str:
    import zipfile

    z = tmp_path / "roads.zip"
    with zipfile.ZipFile(z, "w") as f:
        for ext, p in sf_shapefile.items():
            f.write(p, f"roads.{ext}")
    return str(z)


@pytest.fixture
def sf_dir_copy(node) -> str:
    """Copy the fixture's sf shapefiles into the node's data directory; returns the store URL."""
    target = node.data_dir / "data/sf"
    shutil.copytree(fixture_dir() / "data/sf", target)
    return "file:data/sf"


RED_SLD = """<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc">
  <NamedLayer><Name>red</Name><UserStyle><Name>red</Name><FeatureTypeStyle><Rule>
    <LineSymbolizer><Stroke><CssParameter name="stroke">#FF0000</CssParameter></Stroke></LineSymbolizer>
  </Rule></FeatureTypeStyle></UserStyle></NamedLayer>
</StyledLayerDescriptor>"""
