"""The deployment files in deploy/: the Kubernetes manifests against the Kubernetes API schemas
(kubernetes-validate, strict), and against what a node really answers; the systemd unit with
systemd-analyze; the container build file parsed, and the binary's libraries present in its
base image."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from conftest import REPO

DEPLOY = REPO / "deploy"
# The Kubernetes version whose schemas the manifests must pass (the newest bundled).
K8S_VERSION = "1.37.0"


def manifests() -> list[dict]:
    docs = []
    for f in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for d in yaml.safe_load_all(f.read_text()):
            if d:
                docs.append(d)
    return docs


def by_kind(kind: str) -> list[dict]:
    return [d for d in manifests() if d.get("kind") == kind]


def test_kubernetes_manifests_pass_the_api_schemas_strictly():
    import kubernetes_validate

    docs = [d for d in manifests() if d.get("kind") != "Kustomization"]
    assert {d["kind"] for d in docs} == {"Secret", "Service", "StatefulSet"}
    for d in docs:
        # Raises on any schema violation or unknown field.
        kubernetes_validate.validate(d, K8S_VERSION, strict=True)
    # A field the schema does not know is caught (the check can fail).
    bad = {**by_kind("Service")[0], "spec": {**by_kind("Service")[0]["spec"], "clusterIp": "None"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest():
    k = yaml.safe_load((DEPLOY / "kubernetes/kustomization.yaml").read_text())
    files = {f.name for f in (DEPLOY / "kubernetes").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(k["resources"]) == files


def test_the_statefulset_the_services_and_the_secret_fit_together():
    (sts,) = by_kind("StatefulSet")
    services = {s["metadata"]["name"]: s for s in by_kind("Service")}
    (secret,) = by_kind("Secret")
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    # Peers must find pods that are not ready yet (a restarted pod is not ready until caught up).
    assert headless["spec"]["publishNotReadyAddresses"] is True
    labels = sts["spec"]["template"]["metadata"]["labels"]
    for s in services.values():
        assert s["spec"]["selector"].items() <= labels.items()
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    ref = env["MERIDIAN_CLUSTER_SECRET"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    # DNS discovery names the headless service, on the HTTP port.
    assert env["MERIDIAN_CLUSTER_DISCOVERY"]["value"].startswith(
        f"dns:{headless['metadata']['name']}.$(POD_NAMESPACE)."
    )
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8080, "mqtt": 1883}
    assert c["readinessProbe"]["httpGet"]["path"] == "/geoserver/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/geoserver/health/live"
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert "/var/lib/meridian" in mounts
    assert any(a.startswith("/var/lib/meridian/") for a in c["args"]), c["args"]


def pod_env(c: dict, pod: str, namespace: str) -> dict:
    """The container's environment as Kubernetes would expand it for `pod`."""
    values = {"POD_NAME": pod, "POD_NAMESPACE": namespace}
    out = {}
    for e in c["env"]:
        if "value" in e:
            out[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], e["value"])
    return out


def test_the_statefulsets_settings_are_keys_a_node_knows_and_its_probes_answer(node):
    (sts,) = by_kind("StatefulSet")
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    env = pod_env(c, "meridian-1", "geo")
    # Every MERIDIAN_CLUSTER_* variable is the environment form of a cluster.properties key.
    props = (node.data_dir / "cluster/cluster.properties").read_text()
    keys = {line.split("=", 1)[0].replace("\\", "") for line in props.splitlines() if "=" in line}
    env_forms = {"MERIDIAN_CLUSTER_" + k.upper().replace(".", "_") for k in keys}
    for name in env:
        if name.startswith("MERIDIAN_CLUSTER_"):
            assert name in env_forms, f"{name} sets no cluster.properties key"
    # The values are ones a node accepts (the same checks as at start).
    s = requests.Session()
    s.auth = ("admin", "geoserver")
    body = "<properties>" + "".join(
        f'<property name="{k}" value="{env["MERIDIAN_CLUSTER_" + k.upper().replace(".", "_")]}"/>'
        for k in ("node.url", "discovery")
    ) + "</properties>"
    r = s.post(f"{node.base}/rest/cluster", data=body, headers={"Content-Type": "text/xml"})
    assert r.status_code == 201, r.text
    # The probes' paths answer 200 on a node that serves.
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        path = c[probe]["httpGet"]["path"]
        r = requests.get(f"http://127.0.0.1:{node.port}{path}")
        assert r.status_code == 200, (probe, path, r.text)


def test_the_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (Debian package systemd)"
    binary = os.environ.get("MERIDIAN_BIN", str(REPO / "target/debug/meridian"))
    unit = (DEPLOY / "systemd/meridian.service").read_text()
    assert "ExecStart=/usr/local/bin/meridian serve" in unit
    # Verified with the binary at hand in place of the installed one.
    (tmp_path / "meridian.service").write_text(unit.replace("/usr/local/bin/meridian", binary))
    r = subprocess.run([analyze, "verify", str(tmp_path / "meridian.service")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "meridian.service" not in r.stderr, r.stderr
    # A unit with a mistake in it fails the same check.
    (tmp_path / "broken.service").write_text(unit.replace("/usr/local/bin/meridian", binary).replace("Type=simple", "Type=simpel"))
    r = subprocess.run([analyze, "verify", str(tmp_path / "broken.service")], capture_output=True, text=True)
    assert r.returncode != 0 or "simpel" in r.stderr, r.stdout + r.stderr


def test_the_container_file_runs_the_binary_as_a_user_on_the_glibc_it_was_built_for():
    from dockerfile_parse import DockerfileParser

    with open(DEPLOY / "container/Containerfile", "rb") as f:
        df = DockerfileParser(fileobj=f)
        structure, base = df.structure, df.baseimage
    assert base == "debian:12-slim"
    ins = {}
    for i in structure:
        ins.setdefault(i["instruction"], []).append(i["value"])
    assert ins["COPY"] == ["meridian /usr/local/bin/meridian"]
    assert ins["USER"][-1].split(":")[0] not in ("0", "root")
    assert '"serve"' in ins["CMD"][0] and "0.0.0.0:8080" in ins["CMD"][0]
    assert "8080" in ins["EXPOSE"][0]
    # The binary needs only what Debian 12 slim has: glibc and libgcc.
    binary = os.environ.get("MERIDIAN_BIN", str(REPO / "target/debug/meridian"))
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = {line.split()[0] for line in out.splitlines() if line.strip()}
    in_slim = {"linux-vdso.so.1", "libgcc_s.so.1", "libm.so.6", "libc.so.6", "/lib64/ld-linux-x86-64.so.2",
               "libpthread.so.0", "libdl.so.2", "librt.so.1"}
    assert libs <= in_slim, libs - in_slim
