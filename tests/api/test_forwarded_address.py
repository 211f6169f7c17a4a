"""Behind a proxy the class view's address is the one the browser used to reach the proxy
(X-Forwarded-Host, with its port), and a student's address the one nginx names
(X-Forwarded-For): believed from TRUSTED_PROXIES only, and with PROXY_SECRET_FILE only from
one that sends the secret (any local process reaches the app from the proxy's address)."""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from digits import sets
from digits.drawing import data_url
from harness.cluster import running_cluster
from harness.launch import find_nginx, find_redis_server
from serving.config import PROXY_SECRET_HEADER
from tests.api.test_class_view import qr_url
from webapp import create_app

SECRET = b"s3cret-" * 6


@pytest.fixture(scope="module")
def proxied_app():
    return create_app({"TESTING": True, "DEFER_MODEL": True, "TRUSTED_PROXIES": frozenset({"127.0.0.1"})})


def test_a_trusted_proxys_forwarded_host_and_port_are_the_students_address(proxied_app):
    client = proxied_app.test_client()
    forwarded = {"Host": "127.0.0.2:8000", "X-Forwarded-Host": "192.168.1.20:2431"}
    forwarded["X-Forwarded-Proto"] = "https"
    assert qr_url(client, headers=forwarded) == "https://192.168.1.20:2431/"
    html = client.get("/class", headers=forwarded).get_data(as_text=True)
    assert 'data-testid="class-problem"' not in html  # the proxy listens for the class, not BIND


def test_anyone_elses_forwarded_host_is_ignored(proxied_app):
    client = proxied_app.test_client()
    forged = {"Host": "192.168.1.20:2431", "X-Forwarded-Host": "evil.example"}
    url = qr_url(client, headers=forged, environ_base={"REMOTE_ADDR": "192.168.1.99"})
    assert url == "http://192.168.1.20:2431/"


def test_a_forwarded_host_that_is_no_host_is_ignored(proxied_app):
    client = proxied_app.test_client()
    url = qr_url(client, headers={"Host": "192.168.1.20:2431", "X-Forwarded-Host": 'x"><script>'})
    assert url == "http://192.168.1.20:2431/"


@pytest.mark.parametrize(
    ("sent", "believed"),
    [(None, False), ("wrong-" * 6, False), (SECRET[:-1].decode(), False), ("\xe9" * 42, False),
     (SECRET.decode(), True)],
)  # fmt: skip
def test_with_a_secret_only_the_proxy_that_sends_it_is_believed(sent, believed):
    client = create_app(
        {
            "TESTING": True,
            "DEFER_MODEL": True,
            "TRUSTED_PROXIES": frozenset({"127.0.0.1"}),
            "PROXY_SECRET": SECRET,
        }
    ).test_client()
    headers = {
        "Host": "192.168.1.30:8000",
        "X-Forwarded-Host": "192.168.1.20:2431",
        "X-Request-ID": "forged-1",
    }
    if sent is not None:
        headers[PROXY_SECRET_HEADER] = sent
    answer = client.get("/api/workers", headers=headers)
    assert answer.status_code == 200  # a wrong secret is no error: the headers are just not believed
    assert (answer.headers["X-Request-ID"] == "forged-1") is believed
    assert qr_url(client, headers=headers) == (
        "http://192.168.1.20:2431/" if believed else "http://192.168.1.30:8000/"
    )


@pytest.fixture(scope="module")
def cluster_keeping_corrections(tmp_path_factory):
    """make cluster's parts (Redis, one host, nginx) keeping corrections, one a minute per client."""
    if find_redis_server() is None or find_nginx() is None:
        pytest.skip("redis-server or nginx is not installed (make redis nginx)")
    folder = tmp_path_factory.mktemp("corrections") / "store"
    with running_cluster(hosts=1, workers=1, CORRECTIONS=str(folder), CORRECTIONS_PER_MINUTE="1") as cluster:
        yield cluster, folder


def correct_from(url: str, source: str, body: dict, headers: dict[str, str]) -> tuple[int, str]:
    """POST a correction from the loopback address ``source``: (status, the answer's request id)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        connection.request(
            "POST", "/api/corrections", json.dumps(body), {"Content-Type": "application/json", **headers}
        )
        answer = connection.getresponse()
        answer.read()
        return answer.status, answer.headers["X-Request-ID"]
    finally:
        connection.close()


def test_a_local_process_cannot_claim_another_clients_address(cluster_keeping_corrections, mnist_test):
    cluster, folder = cluster_keeping_corrections
    images, labels = mnist_test
    drawn = sets.drawn(images[:5], seed=3)
    bodies = [{"image": data_url(d), "label": int(v)} for d, v in zip(drawn, labels[:5], strict=True)]
    # Straight to the host, from nginx's own address (127.0.0.1), each claiming another student,
    # with no secret, a wrong one and one that is no text: one client, held to its one a minute.
    secrets = [{}, {PROXY_SECRET_HEADER: "a-guess-" * 5}, {PROXY_SECRET_HEADER: "\xff" * 43}]
    forged = [
        correct_from(
            cluster.hosts[0].url,
            "127.0.0.1",
            bodies[i],
            {"X-Forwarded-For": f"10.0.0.{i}", "X-Request-ID": f"forged-{i}", **secret},
        )
        for i, secret in enumerate(secrets)
    ]
    assert [status for status, _ in forged] == [201, 429, 429], forged
    assert not any(rid.startswith("forged-") for _, rid in forged), forged
    # Nor does its X-Forwarded-Host or X-Forwarded-Proto name the class view's address (gunicorn's
    # own trust of 127.0.0.1 included: it would make the scheme https).
    claimed = {"Host": "192.168.1.30:8000", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    request = urllib.request.Request(cluster.hosts[0].url + "/class", headers=claimed)
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert 'data-url="http://192.168.1.30:8000/"' in answer.read().decode()
    # Through nginx, each student is its own address, and nginx's request id is the one answered.
    proxied = [correct_from(cluster.url, f"127.0.0.{10 + i}", bodies[3 + i], {}) for i in range(2)]
    assert [status for status, _ in proxied] == [201, 201], proxied
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for _, rid in proxied), proxied
    with sqlite3.connect(folder / "corrections.sqlite") as db:
        clients = {client for (client,) in db.execute("SELECT client FROM corrections")}
    assert clients == {"127.0.0.1", "127.0.0.10", "127.0.0.11"}


def test_the_proxys_secret_is_in_no_answer_log_or_file_others_can_read(cluster_keeping_corrections):
    cluster, _ = cluster_keeping_corrections
    path = Path(cluster.hosts[0].env["PROXY_SECRET_FILE"])
    secret = path.read_text().strip()
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    for route in ("/", "/class", "/api/workers", "/api/requests", "/metrics", "/readyz", "/openapi.json"):
        for base in (cluster.url, cluster.hosts[0].url):
            with urllib.request.urlopen(base + route, timeout=10) as answer:
                assert secret not in answer.read().decode() + str(answer.headers), route
    assert secret not in cluster.hosts[0].log_path.read_text()
