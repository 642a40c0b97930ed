"""The admin web interface in a real browser: Debian's chromium, driven by Playwright for Python
(its own browsers are never downloaded). Screenshots of each page go to target/web-screenshots."""
import base64
import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO

SHOTS = REPO / "target/web-screenshots"


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
    # A write through the interface is now refused by the server, and says so.
    page.goto(fixture_node.base + "/web/workspaces")
    page.fill("#name", "duringreadonly")
    page.click("text=Create")
    assert page.locator("#name-error").is_visible()
    assert rest(fixture_node, "/workspaces/duringreadonly.json")[0] == 404
    page.goto(fixture_node.base + "/web/cluster")
    page.uncheck("#readOnly")
    page.click("text=Save")
    page.wait_for_url("**/web/cluster?saved=1")
    assert b'name="readOnly" value="disabled"' in rest(fixture_node, "/cluster.xml")[1]
