"""The Kubernetes manifests (deploy/k8s/) are valid, and agree with the server they run.

Offline: kubernetes-validate carries the API schemas. Nothing here needs a cluster.
"""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from serving import config
from webapp import create_app

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
README = Path(__file__).resolve().parents[2] / "README.md"
VERSION = "1.37.0"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
# Set for the OS, not the app.
NOT_SETTINGS = {"TMPDIR", "REDIS_PASSWORD"}  # read by the shell or by STORE, not the server


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def everything() -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for path in MANIFESTS for doc in documents(path)}


def serving() -> dict:
    return everything()[("Deployment", "mnist-serving")]


def container() -> dict:
    return serving()["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_is_valid_kubernetes(path: Path) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_kustomization_applies_every_manifest() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == [p.name for p in MANIFESTS]


def test_the_deployments_settings_start_a_server() -> None:
    """Every variable is a documented setting, and the values pass the server's checks."""
    env = {}
    for var in container()["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in var["valueFrom"]:  # HOST_NAME: the pod's name
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
            env[var["name"]] = "mnist-serving-7d9f8b7c6d-x2x9z"
        else:
            env[var["name"]] = "a-secret-token"
    documented = set(re.findall(r"^\| `([A-Z_]+)`", README.read_text(), re.M))
    assert set(env) - NOT_SETTINGS <= documented, "a variable the README does not name"
    settings = config.load(env)  # raises on a value the server refuses
    assert settings["HOST_NAME"] == "mnist-serving-7d9f8b7c6d-x2x9z"
    port = int(settings["BIND"].rsplit(":", 1)[1])
    assert [p["containerPort"] for p in container()["ports"]] == [port]


def test_the_probes_ask_routes_the_app_serves() -> None:
    probes = container()
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    rules = {rule.rule for rule in create_app({"TESTING": True, "DEFER_MODEL": True}).url_map.iter_rules()}
    assert {"/readyz", "/healthz", probes["startupProbe"]["httpGet"]["path"]} <= rules


def test_the_pieces_find_each_other() -> None:
    objects = everything()
    labels = serving()["spec"]["template"]["metadata"]["labels"]
    assert serving()["spec"]["selector"]["matchLabels"] == labels
    for kind in ("Service", "PodDisruptionBudget"):
        selector = objects[(kind, "mnist-serving")]["spec"]["selector"]
        assert selector.get("matchLabels", selector) == labels, kind
    target = objects[("HorizontalPodAutoscaler", "mnist-serving")]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "mnist-serving")
    # The store the pods share is the Redis Service, on its port.
    store = next(v["value"] for v in container()["env"] if v["name"] == "STORE")
    host, port = re.fullmatch(r"redis://:\$\(REDIS_PASSWORD\)@([\w.-]+):(\d+)/\d+", store).groups()
    assert [p["port"] for p in objects[("Service", host)]["spec"]["ports"]] == [int(port)]
    ingress = objects[("Ingress", "mnist-serving")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert ingress["service"]["name"] in {name for kind, name in objects if kind == "Service"}


def test_the_hpa_has_a_cpu_request_to_scale_on() -> None:
    assert container()["resources"]["requests"]["cpu"]
    assert serving()["spec"]["replicas"] >= 2  # one can go while the others answer


def test_the_deployment_runs_the_image_the_dockerfile_builds() -> None:
    """`docker build -t mnist-serving .` (tests/docker builds and runs it): its name, its user,
    its port, and its own command (gunicorn as PID 1), not an override."""
    final_stage = (K8S.parents[1] / "Dockerfile").read_text().rsplit("\nFROM ", 1)[1]
    user = re.search(r"^USER (\d+):(\d+)$", final_stage, re.M).groups()
    port = re.search(r"^EXPOSE (\d+)$", final_stage, re.M)[1]
    assert container()["image"].rpartition(":")[0] == "mnist-serving"
    security = serving()["spec"]["template"]["spec"]["securityContext"]
    assert (str(security["runAsUser"]), str(security["runAsGroup"])) == user
    assert [p["containerPort"] for p in container()["ports"]] == [int(port)]
    assert "command" not in container() and "args" not in container()
    assert "docker build -t mnist-serving ." in (K8S / "README.md").read_text()
