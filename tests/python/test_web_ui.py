"""The admin web interface in a real browser: Debian's chromium, driven by Playwright for Python
(its own browsers are never downloaded). Screenshots of each page go to target/web-screenshots."""
import base64
import http.client
import http.server
import itertools
import json
import shutil
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, Node, fixture_dir

SHOTS = REPO / "target/web-screenshots"

RED_LINE = """<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld">
  <NamedLayer><Name>line</Name><UserStyle><Name>line</Name>
    <FeatureTypeStyle><Rule><LineSymbolizer>
      <Stroke><CssParameter name="stroke">#FF0000</CssParameter><CssParameter name="stroke-width">2</CssParameter></Stroke>
    </LineSymbolizer></Rule></FeatureTypeStyle>
  </UserStyle></NamedLayer>
</StyledLayerDescriptor>
"""


def chromium_path() -> str:
    p = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(p).exists():
        pytest.fail("Debian's chromium is needed (bash scripts/test-all.sh installs the package 'chromium')")
    return p


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is needed (tests/python/requirements.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield b
        b.close()


def rest(node, path: str) -> tuple[int, bytes]:
    req = urllib.request.Request(node.base + "/rest" + path)
    req.add_header("Authorization", "Basic " + base64.b64encode(b"admin:geoserver").decode())
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def shot(page, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_log_in_with_the_keyboard_and_manage_workspaces(browser, fixture_node):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(fixture_node.base + "/web/")
    assert "/web/login" in page.url
    shot(page, "login")
    # The form is usable from the keyboard alone: the user name has the focus.
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong")
    page.keyboard.press("Enter")
    assert page.locator("#login-error").inner_text() == "Wrong user name or password."
    page.fill("#username", "admin")
    page.fill("#password", "geoserver")
    page.keyboard.press("Enter")
    page.wait_for_url("**/web/status")
    assert "Data directory" in page.content()
    shot(page, "status")

    page.click("text=Workspaces")
    page.wait_for_url("**/web/workspaces")
    page.fill("#name", "browserws")
    page.fill("#uri", "http://example.com/browserws")
    page.click("text=Create")
    page.wait_for_url("**/web/workspaces")
    assert page.locator("td", has_text="browserws").count() == 1
    status, body = rest(fixture_node, "/namespaces/browserws.json")
    assert status == 200 and json.loads(body)["namespace"]["uri"] == "http://example.com/browserws"
    shot(page, "workspaces")
    # A mistake comes back next to its field, with what was typed kept.
    page.fill("#name", "browserws")
    page.click("text=Create")
    assert page.locator("#name-error").is_visible()
    assert page.input_value("#name") == "browserws"
    shot(page, "workspaces-error")

    # A shapefile store from the release data: tested, saved, and a layer published from it.
    page.click("text=Stores")
    page.wait_for_url("**/web/stores")
    page.select_option("#workspace", "browserws")
    page.fill("#name", "roads2")
    page.check("#kind-shapefile")
    page.fill("#shapefile_url", "file:data/sf/nothere.shp")
    page.click("text=Test connection")
    assert page.locator("#test-result").inner_text().startswith("Cannot connect")
    page.fill("#shapefile_url", "file:data/sf/roads.shp")
    page.click("text=Test connection")
    assert "roads" in page.locator("#test-result").inner_text()
    shot(page, "stores-tested")
    page.click("button[name=save]")
    page.wait_for_url("**/web/stores/browserws/roads2")
    page.click("text=Publish roads")
    page.wait_for_url("**/web/stores/browserws/roads2")
    assert rest(fixture_node, "/layers/browserws:roads.json")[0] == 200
    shot(page, "store")

    # The layer's settings: a title, a filter the server refuses (shown), then one it takes,
    # and the boxes computed from the data.
    page.goto(fixture_node.base + "/web/layers/browserws:roads/edit")
    page.fill("#title", "Spearfish roads")
    page.fill("#cqlFilter", "cat = = 1")
    page.click("text=Save")
    # Shown under the filter's field, with what was typed kept.
    assert page.locator("#cqlFilter-error").is_visible()
    assert page.get_attribute("#cqlFilter", "aria-describedby") == "cqlFilter-error"
    assert page.input_value("#title") == "Spearfish roads"
    assert page.input_value("#cqlFilter") == "cat = = 1"
    shot(page, "layer-edit-error")
    page.fill("#native_minx", "west")
    page.fill("#cqlFilter", "")
    page.click("text=Save")
    assert "not a number" in page.locator("#native-error").inner_text()
    page.fill("#cqlFilter", "")
    page.fill("#native_minx", "0")
    page.click("text=Save")
    page.wait_for_url("**/edit?saved=1")
    ft = json.loads(rest(fixture_node, "/workspaces/browserws/datastores/roads2/featuretypes/roads.json")[1])
    assert ft["featureType"]["title"] == "Spearfish roads"
    page.click("text=Compute from data")
    page.wait_for_url("**/edit?saved=1")
    assert float(page.input_value("#native_minx")) > 500000
    shot(page, "layer-edit")

    # The preview map draws the new layer, and a release layer, through this node's WMS.
    for layer, name in (("browserws:roads", "preview-roads"), ("topp:states", "preview-states")):
        page.goto(fixture_node.base + "/web/layers")
        with page.expect_response(lambda r: "/wms?" in r.url and r.status == 200) as wms:
            page.click(f"tr:has(td:text-is('{layer}')) >> text=Preview")
        assert wms.value.headers["content-type"].startswith("image/png")
        page.wait_for_selector("#map[data-drawn=true]", timeout=15000)
        shot(page, name)

    # A style edited with a mistake: the refusal points at its line; fixed, it saves and the
    # preview draws it.
    page.goto(fixture_node.base + "/web/styles")
    page.click("text=line")
    page.wait_for_url("**/web/styles/line")
    broken = RED_LINE.replace("</Stroke>", "</Strok>")
    page.fill("#sld", broken)
    page.click("text=Save")
    error = page.locator("#sld-error").inner_text()
    assert error.startswith("Line 5"), error
    assert "Strok" in error
    shot(page, "style-error")
    page.fill("#sld", RED_LINE)
    page.click("text=Save")
    page.wait_for_url("**/web/styles/line?saved=1")
    page.wait_for_function("document.getElementById('style-preview').naturalWidth > 0")
    assert b"#FF0000" in rest(fixture_node, "/styles/line.sld")[1]
    shot(page, "style-saved")

    # A new style uploaded as a file; one that does not read is refused next to the field.
    tmp = Path(tempfile.mkdtemp(prefix="meridian-sld-"))
    (tmp / "blue.sld").write_text(RED_LINE.replace("#FF0000", "#0000FF").replace(">line<", ">blue<"))
    (tmp / "broken.sld").write_text("<StyledLayerDescriptor><NamedLayer>")
    page.goto(fixture_node.base + "/web/styles")
    page.fill("#name", "broken")
    page.set_input_files("#file", str(tmp / "broken.sld"))
    page.click("button:has-text('Upload')")
    page.locator("#upload-error").wait_for()
    page.fill("#name", "blue")
    page.set_input_files("#file", str(tmp / "blue.sld"))
    page.click("button:has-text('Upload')")
    page.wait_for_url("**/web/styles/blue")
    assert b"#0000FF" in rest(fixture_node, "/styles/blue.sld")[1]
    shutil.rmtree(tmp, ignore_errors=True)

    # A layer group: members one per line with their styles; a layer that does not exist is
    # refused with the server's words; reordering is moving lines.
    page.goto(fixture_node.base + "/web/groups")
    page.fill("#name", "webgroup")
    page.fill("#title", "States and roads")
    page.fill("#members", "topp:states population\nnowhere:nothing")
    page.click("button:has-text('Save')")
    page.locator("#members-error").wait_for()
    assert "nowhere:nothing" in page.locator("#members-error").inner_text()
    page.fill("#name", "bad/name")
    page.fill("#members", "topp:states population")
    page.click("button:has-text('Save')")
    page.locator("#name-error").wait_for()
    page.fill("#name", "webgroup")
    page.fill("#members", "topp:states population\nbrowserws:roads")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/web/groups/webgroup?saved=1")
    page.fill("#members", "browserws:roads\ntopp:states population")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/web/groups/webgroup?saved=1")
    assert page.input_value("#members").splitlines()[0] == "browserws:roads"
    group = json.loads(rest(fixture_node, "/layergroups/webgroup.json")[1])["layerGroup"]
    first = group["publishables"]["published"][0]["name"]
    assert first.endswith("roads"), group
    shot(page, "group")
    page.click("text=Preview")
    page.wait_for_selector("#map[data-drawn=true]", timeout=15000)
    shot(page, "preview-group")

    # Service settings and contact: a limit that is not a number is refused next to its
    # form; good values land in wms.xml's settings through REST.
    page.goto(fixture_node.base + "/web/services")
    page.fill("#wms-maxRenderingTime", "soon")
    page.click("text=Save WMS")
    page.locator("#wms-error").wait_for()
    page.fill("#wms-title", "Meridian maps")
    page.fill("#wms-maxRenderingTime", "30")
    page.click("text=Save WMS")
    page.wait_for_url("**/web/services?saved=1")
    wms = json.loads(rest(fixture_node, "/services/wms/settings.json")[1])["wms"]
    assert wms["title"] == "Meridian maps" and int(wms["maxRenderingTime"]) == 30
    page.fill("#contact-contactPerson", "Ada Lovelace")
    page.click("text=Save contact")
    page.wait_for_url("**/web/services?saved=1")
    assert b"Ada Lovelace" in rest(fixture_node, "/settings/contact.json")[1]
    shot(page, "services")

    # An existing workspace's namespace URI, and an existing store's settings (the URL and
    # the description; the store keeps working).
    page.goto(fixture_node.base + "/web/workspaces/browserws")
    page.fill("#uri", "http://example.com/changed")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/web/workspaces")
    ns = json.loads(rest(fixture_node, "/namespaces/browserws.json")[1])["namespace"]
    assert ns["uri"] == "http://example.com/changed"
    page.goto(fixture_node.base + "/web/stores/browserws/roads2")
    page.fill("#description", "Spearfish roads, by the web")
    page.click("text=Save connection")
    page.wait_for_url("**/web/stores/browserws/roads2")
    ds = json.loads(rest(fixture_node, "/workspaces/browserws/datastores/roads2.json")[1])["dataStore"]
    assert ds["description"] == "Spearfish roads, by the web"
    # The store followed the namespace's new URI.
    params = {e["@key"]: e.get("$") for e in ds["connectionParameters"]["entry"]}
    assert params["namespace"] == "http://example.com/changed", params
    shot(page, "store-edit")

    # What a recursive delete removes is shown before it is done.
    page.goto(fixture_node.base + "/web/workspaces/sf/delete")
    assert "archsites" in page.content()
    shot(page, "workspace-delete")

    # A form posted without its token is refused.
    r = page.request.post(fixture_node.base + "/web/workspaces", form={"action": "create", "name": "forged"})
    assert r.status == 403
    assert rest(fixture_node, "/workspaces/forged.json")[0] == 404


def test_the_cluster_page_turns_read_only_on_and_off(browser, fixture_node):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(fixture_node.base + "/web/login")
    page.fill("#username", "admin")
    page.fill("#password", "geoserver")
    page.click("button[type=submit]")
    page.goto(fixture_node.base + "/web/cluster")
    for label in ["Broker URL", "Instance name", "Group", "Topic"]:
        assert page.get_by_label(label).count() == 1, label
    shot(page, "cluster")
    page.check("#readOnly")
    page.click("text=Save")
    page.wait_for_url("**/web/cluster?saved=1")
    assert page.is_checked("#readOnly")
    status, body = rest(fixture_node, "/cluster.xml")
    assert b'name="readOnly" value="enabled"' in body
    # The catalog pages say so and disable their controls; the server refuses anyway.
    page.goto(fixture_node.base + "/web/workspaces")
    assert "read-only" in page.locator("#read-only-note").inner_text()
    assert page.is_disabled("text=Create")
    shot(page, "workspaces-read-only")
    token = page.locator("input[name=_csrf]").first.get_attribute("value")
    r = page.request.post(
        fixture_node.base + "/web/workspaces",
        form={"action": "create", "name": "duringreadonly", "_csrf": token},
    )
    assert r.status >= 400
    assert rest(fixture_node, "/workspaces/duringreadonly.json")[0] == 404
    page.goto(fixture_node.base + "/web/cluster")
    page.uncheck("#readOnly")
    page.click("text=Save")
    page.wait_for_url("**/web/cluster?saved=1")
    assert b'name="readOnly" value="disabled"' in rest(fixture_node, "/cluster.xml")[1]


class RoundRobin:
    """A tiny HTTP proxy sending each request to the next backend in turn (no stickiness)."""

    def __init__(self, ports):
        turn = itertools.cycle(ports)
        self.hits = {p: 0 for p in ports}
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def forward(self):
                port = next(turn)
                hits[port] += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                c.request(self.command, self.path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                c.close()

            do_GET = forward
            do_POST = forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def test_a_session_holds_behind_a_round_robin_balancer(browser):
    secret = "browser-test-cluster-secret-0123456789"
    tmp = Path(tempfile.mkdtemp(prefix="meridian-web-"))
    nodes = []
    for i in range(2):
        shutil.copytree(fixture_dir(), tmp / f"n{i}")
        for p in (tmp / f"n{i}").rglob("*"):
            p.chmod(p.stat().st_mode | 0o200)
        nodes.append(Node(tmp / f"n{i}", env={"MERIDIAN_CLUSTER_SECRET": secret}))
    lb = RoundRobin([n.port for n in nodes])
    try:
        base = f"http://127.0.0.1:{lb.port}/geoserver"
        page = browser.new_page()
        page.goto(base + "/web/login")
        page.fill("#username", "admin")
        page.fill("#password", "geoserver")
        page.click("button[type=submit]")
        page.wait_for_url("**/web/status")
        for _ in range(6):
            for section in ("/web/workspaces", "/web/status", "/web/cluster"):
                page.goto(base + section)
                assert "/web/login" not in page.url, section
        # A form served by one node is posted to the other: its token holds there too.
        page.goto(base + "/web/workspaces")
        page.fill("#name", "balanced")
        page.click("text=Create")
        assert "/web/login" not in page.url
        made = [rest(n, "/workspaces/balanced.json")[0] for n in nodes]
        assert 200 in made, made
        assert all(h >= 5 for h in lb.hits.values()), lb.hits
    finally:
        lb.stop()
        for n in nodes:
            n.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_postgis_store_through_the_form(browser, fixture_node):
    import subprocess

    pg_dir = Path(tempfile.mkdtemp(prefix="meridian-pg-"))
    port = free_port()
    script = str(REPO / "scripts/postgis.sh")
    started = subprocess.run(["bash", script, "start", str(pg_dir), str(port)], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail("PostgreSQL with PostGIS did not start (bash scripts/test-all.sh installs it):\n" + started.stderr)
    try:
        shp = str(fixture_dir() / "data/sf/bugsites.shp")
        subprocess.run(["bash", script, "load", str(pg_dir), str(port), shp, "bugs", "26713"], check=True)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(fixture_node.base + "/web/login")
        page.fill("#username", "admin")
        page.fill("#password", "geoserver")
        page.click("button[type=submit]")
        page.goto(fixture_node.base + "/web/stores")
        page.select_option("#workspace", "sf")
        page.fill("#name", "pgbugs")
        page.check("#kind-postgis")
        page.fill("#postgis_host", "127.0.0.1")
        page.fill("#postgis_port", str(port))
        page.fill("#postgis_database", "gis")
        page.fill("#postgis_schema", "public")
        page.fill("#postgis_user", "postgres")
        page.click("text=Test connection")
        assert "bugs" in page.locator("#test-result").inner_text()
        page.click("button[name=save]")
        page.wait_for_url("**/web/stores/sf/pgbugs")
        page.click("text=Publish bugs")
        page.wait_for_url("**/web/stores/sf/pgbugs")
        assert rest(fixture_node, "/layers/sf:bugs.json")[0] == 200
        page.goto(fixture_node.base + "/web/preview?layer=sf:bugs")
        page.wait_for_selector("#map[data-drawn=true]", timeout=15000)
        shot(page, "preview-postgis")
    finally:
        subprocess.run(["bash", script, "stop", str(pg_dir)], capture_output=True)
        shutil.rmtree(pg_dir, ignore_errors=True)


def login(page, base: str):
    page.goto(base + "/web/login")
    page.fill("#username", "admin")
    page.fill("#password", "geoserver")
    page.click("button[type=submit]")
    page.wait_for_url("**/web/status")


def test_the_replicas_cluster_page_shows_its_primary_and_its_read_only_toggle(browser):
    """A primary with the embedded broker and a pure replica joined to it: the replica's cluster
    page lists the primary as a peer (refreshed in place), its catalog pages name the primary,
    and turning read-only on there shows in its roles."""
    from playwright.sync_api import expect

    secret = "browser-test-cluster-secret-0123456789"
    broker = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="meridian-web-"))
    common = {
        "MERIDIAN_CLUSTER_SECRET": secret,
        "group": "webpair",
        "discovery": "none",
        "MERIDIAN_CLUSTER_HEARTBEAT_INTERVAL": "300",
    }
    roles = {
        "web-a": {"toggleMaster": "true", "embeddedBroker": "enabled", "brokerURL": "",
                  "MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN": f"127.0.0.1:{broker}"},
        "web-b": {"toggleMaster": "false", "embeddedBroker": "disabled",
                  "brokerURL": f"tcp://127.0.0.1:{broker}"},
    }
    nodes = {}
    try:
        for name, env in roles.items():
            shutil.copytree(fixture_dir(), tmp / name)
            for p in (tmp / name).rglob("*"):
                p.chmod(p.stat().st_mode | 0o200)
            nodes[name] = Node(tmp / name, env={**common, "instanceName": name, **env})
        a, b = nodes["web-a"], nodes["web-b"]
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        login(page, b.base)
        page.goto(b.base + "/web/cluster")
        # The section refreshes itself: the primary appears without reloading the page.
        expect(page.locator("#status-peers")).to_contain_text("web-a", timeout=30000)
        peers = page.locator("#status-peers").inner_text()
        assert "primary, replica" in peers and "heartbeat" in peers, peers
        expect(page.locator("#digests")).to_contain_text("all 1 peers agree", timeout=30000)
        assert "replica" in page.locator("#status-node").inner_text()
        shot(page, "cluster-replica")
        # The replica's catalog pages name the primary and disable their controls.
        page.goto(b.base + "/web/workspaces")
        note = page.locator("#read-only-note").inner_text()
        assert "web-a" in note, note
        assert page.is_disabled("text=Create")
        # A workspace made on the primary's page reaches the replica's.
        login(page, a.base)
        page.goto(a.base + "/web/workspaces")
        page.fill("#name", "viaprimary")
        page.click("text=Create")
        page.goto(b.base + "/web/workspaces")
        for _ in range(50):
            if "viaprimary" in page.content():
                break
            page.wait_for_timeout(200)
            page.reload()
        assert "viaprimary" in page.content()
        # Read-only on the replica's cluster page shows in its own roles, and on the primary's
        # page, already open, once its live status refreshes.
        primary = browser.new_page(viewport={"width": 1100, "height": 900})
        login(primary, a.base)
        primary.goto(a.base + "/web/cluster")
        expect(primary.locator("#status-peers")).to_contain_text("web-b", timeout=30000)
        assert "read-only" not in primary.locator("#status-peers").inner_text()
        page.goto(b.base + "/web/cluster")
        page.check("#readOnly")
        page.click("text=Save")
        page.wait_for_url("**/web/cluster?saved=1")
        assert "read-only" in page.locator("#status-node").inner_text()
        expect(primary.locator("#status-peers")).to_contain_text("replica, read-only", timeout=30000)
        shot(primary, "cluster-primary-sees-read-only-replica")
    finally:
        for n in nodes.values():
            n.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_tiles_page_shows_raster_and_vector_tiles(browser, fixture_node):
    """The layer's tile preview in chromium: raster tiles from the TMS service and, once the
    tile layer caches them (set through GeoWebCache's REST API), its vector tiles drawn by
    OpenLayers over them."""
    body = ("<GeoServerLayer><name>topp:states</name><enabled>true</enabled><mimeFormats><string>image/png</string>"
            "<string>application/vnd.mapbox-vector-tile</string></mimeFormats><gridSubsets><gridSubset>"
            "<gridSetName>EPSG:900913</gridSetName></gridSubset></gridSubsets></GeoServerLayer>")
    req = urllib.request.Request(fixture_node.base + "/gwc/rest/layers/topp:states.xml", data=body.encode(), method="PUT",
                                 headers={"Content-Type": "text/xml",
                                          "Authorization": "Basic " + base64.b64encode(b"admin:geoserver").decode()})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(fixture_node.base + "/web/login")
    page.fill("#username", "admin")
    page.fill("#password", "geoserver")
    page.keyboard.press("Enter")
    page.wait_for_url("**/web/status")
    page.goto(fixture_node.base + "/web/layers")
    page.click("tr:has(td:text-is('topp:states')) >> text=Tiles")
    page.wait_for_url("**/web/tiles?layer=topp%3Astates")
    page.wait_for_selector("#map[data-drawn=true]", timeout=20000)
    page.wait_for_function("Number(document.getElementById('map').dataset.vector || 0) > 0", timeout=20000)
    m = page.locator("#map")
    assert int(m.get_attribute("data-raster")) > 0
    assert m.get_attribute("data-errors") is None
    shot(page, "tiles-states")
