"""The REST security API through the Python clients, unchanged: geoserver-rest's user and group
methods, geoserver-restconfig's users, roles and own password; a user made over REST logs in,
and the access rules set over REST decide what WFS shows."""
import urllib.error
import urllib.request
import base64

import pytest


def wfs_caps(node, who=None):
    req = urllib.request.Request(f"{node.base}/wfs?service=WFS&version=2.0.0&request=GetCapabilities")
    if who:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{who[0]}:{who[1]}".encode()).decode())
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read().decode()


def test_geoserver_rest_users_and_groups(node):
    from geo.Geoserver import Geoserver

    geo = Geoserver(node.base, username="admin", password="geoserver")
    geo.create_user("ann", "s3cret")
    users = geo.get_all_users()["users"]["user"]
    users = users if isinstance(users, list) else [users]
    assert {"ann", "admin"} <= {u["userName"] for u in users}
    assert all("password" not in u for u in users)
    geo.modify_user("ann", new_password="n3w", enable=True)
    wfs_caps(node, ("ann", "n3w"))  # logs in with the new password
    with pytest.raises(urllib.error.HTTPError) as e:
        wfs_caps(node, ("ann", "s3cret"))
    assert e.value.code == 401
    geo.create_usergroup("editors")
    groups = geo.get_all_usergroups()["groups"]["group"]
    assert "editors" in (groups if isinstance(groups, list) else [groups])
    geo.delete_usergroup("editors")
    geo.delete_user("ann")
    with pytest.raises(urllib.error.HTTPError) as e:
        wfs_caps(node, ("ann", "n3w"))
    assert e.value.code == 401


def test_geoserver_rest_users_and_groups_of_a_named_service(node):
    """geoserver-rest's `service=` calls on a user/group service created over REST: its users
    and groups stay in its own folder, apart from the default service's."""
    from geo.Geoserver import Geoserver

    req = urllib.request.Request(
        f"{node.base}/rest/security/usergroupservices", method="POST",
        data=b"<org.geoserver.security.xml.XMLUserGroupServiceConfig><name>staff</name>"
             b"<className>org.geoserver.security.xml.XMLUserGroupService</className>"
             b"<fileName>users.xml</fileName></org.geoserver.security.xml.XMLUserGroupServiceConfig>",
        headers={"Authorization": "Basic " + base64.b64encode(b"admin:geoserver").decode(),
                 "Content-Type": "application/xml"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 201
    geo = Geoserver(node.base, username="admin", password="geoserver")
    geo.create_user("sam", "s4m", service="staff")
    geo.create_usergroup("crew", service="staff")
    staff = geo.get_all_users(service="staff")["users"]["user"]
    staff = staff if isinstance(staff, list) else [staff]
    assert [u["userName"] for u in staff] == ["sam"]
    default = geo.get_all_users()["users"]["user"]
    default = default if isinstance(default, list) else [default]
    assert "sam" not in {u["userName"] for u in default}
    groups = geo.get_all_usergroups(service="staff")["groups"]["group"]
    assert "crew" in (groups if isinstance(groups, list) else [groups])
    assert (node.data_dir / "security/usergroup/staff/users.xml").read_text().count('name="sam"') == 1
    geo.delete_usergroup("crew", service="staff")
    geo.delete_user("sam", service="staff")
    assert "sam" not in (node.data_dir / "security/usergroup/staff/users.xml").read_text()


def test_geoserver_restconfig_users_roles_and_own_password(node):
    from geoserver.catalog import Catalog

    cat = Catalog(f"{node.base}/rest", username="admin", password="geoserver")
    user = cat.create_user("bob", "pw1")
    assert user is not None and user.user_name == "bob"
    assert "ADMIN" in cat.get_roles()
    assert cat.get_roles_user("bob") == []
    urllib.request.urlopen(urllib.request.Request(
        f"{node.base}/rest/security/roles/role/ROLE_EDIT", method="POST",
        headers={"Authorization": "Basic " + base64.b64encode(b"admin:geoserver").decode()}), timeout=60)
    cat.add_role_user("ROLE_EDIT", "bob")
    assert cat.get_roles_user("bob") == ["ROLE_EDIT"]
    cat.del_role_user("ROLE_EDIT", "bob")
    assert cat.get_roles_user("bob") == []
    # Bob changes his own password (REST rules let only administrators in by default, so
    # he is made one first).
    cat.add_role_user("ADMIN", "bob")
    Catalog(f"{node.base}/rest", username="bob", password="pw1").set_my_pwd("pw2")
    wfs_caps(node, ("bob", "pw2"))


def test_access_rules_set_over_rest_decide_what_wfs_shows(node):
    """A read rule posted to /acl/layers hides a layer from anonymous callers at once; the
    catalog mode is read and set over REST; a malformed rule is a 422."""
    import json

    def call(method, path, body=None, ctype="application/json"):
        req = urllib.request.Request(f"{node.base}/rest/security{path}", method=method,
                                     data=body.encode() if body else None)
        req.add_header("Authorization", "Basic " + base64.b64encode(b"admin:geoserver").decode())
        req.add_header("Content-Type", ctype)
        req.add_header("Accept", "application/json")
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()

    from geo.Geoserver import Geoserver
    geo = Geoserver(node.base, username="admin", password="geoserver")
    geo.create_workspace("demo")
    status, rules = call("GET", "/acl/layers")
    assert json.loads(rules)["*.*.r"] == "*"
    assert call("POST", "/acl/layers", json.dumps({"demo.*.r": "ROLE_DEMO"}))[0] == 200
    assert json.loads(call("GET", "/acl/layers")[1])["demo.*.r"] == "ROLE_DEMO"
    with pytest.raises(urllib.error.HTTPError) as e:
        call("POST", "/acl/layers", json.dumps({"demo.*.r": "X"}))
    assert e.value.code == 409
    with pytest.raises(urllib.error.HTTPError) as e:
        call("POST", "/acl/layers", json.dumps({"demo.*.q": "X"}))
    assert e.value.code == 422
    assert "HIDE" in call("GET", "/acl/catalog")[1]
    assert call("PUT", "/acl/catalog", "<catalog><mode>CHALLENGE</mode></catalog>", "application/xml")[0] == 200
    assert "CHALLENGE" in call("GET", "/acl/catalog")[1]
    assert call("DELETE", "/acl/layers/demo.*.r")[0] == 200
    assert "demo.*.r" not in call("GET", "/acl/layers")[1]


def test_master_password_is_never_answered_in_clear(node):
    """geoserver-restconfig's master password calls: the answer keeps GeoServer's shape with the
    value masked (Meridian has no keystore), and a change is refused with its reason."""
    from geoserver.catalog import Catalog

    cat = Catalog(f"{node.base}/rest", username="admin", password="geoserver")
    assert cat.get_master_pwd() == "********"
    with pytest.raises(Exception) as e:
        cat.set_master_pwd("new-master")
    assert "master password" in str(e.value)
