"""Findings of the security review ("Safe in a live class", the Low list), each pinned down."""

from __future__ import annotations

import http.client
import json
import random
import re
from urllib.parse import urlsplit

import pytest

from tests.waiting import wait_for
from webapp.store import get_store

DOUBLE_SLASHES = ["/static//x", "/static//favicon.svg", "/api//workers", "/api/lab//work"]


def raw_request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """One request over a fresh connection, exactly as given: (status, headers, body)."""
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


# -- 1. no redirect to the Host header's host -------------------------------------------------


@pytest.mark.parametrize("path", DOUBLE_SLASHES)
def test_a_double_slash_is_not_redirected_to_a_forged_host(client, path):
    response = client.get(path, headers={"Host": "evil.example"})
    assert "Location" not in response.headers
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_an_empty_path_is_not_redirected_to_a_forged_host(client):
    # gunicorn passes "GET http://x HTTP/1.1" (absolute form, no path) on as an empty path.
    response = client.get("/", environ_overrides={"PATH_INFO": ""}, headers={"Host": "evil.example"})
    assert "Location" not in response.headers
    assert response.status_code == 200  # the page, as for "/"


@pytest.mark.parametrize("target", ["/static//x", "/api//workers", "http://other.example"])
def test_gunicorn_redirects_nothing_to_a_forged_host(server, target):
    status, headers, _ = raw_request(server, "GET", target, headers={"Host": "evil.example"})
    assert headers.get("Location") is None
    assert status in (200, 404)


def test_no_rule_can_redirect(app):
    assert app.url_map.merge_slashes is False and app.url_map.strict_slashes is False
    rules = app.url_map.iter_rules()
    assert [r.rule for r in rules if r.redirect_to or (r.rule.endswith("/") and r.strict_slashes)] == []


# -- 2. a chunked body over the limit is a 413, as with a Content-Length ---------------------


def chunked_post(server, path: str, body: bytes, content_type: str = "application/json"):
    """POST body with Transfer-Encoding: chunked and no Content-Length: (status, JSON or text)."""
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    conn = http.client.HTTPConnection(host, port, timeout=10)
    pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
    headers = {"Content-Type": content_type}
    try:
        try:
            conn.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the whole body was read: the answer is there to read
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if response.status != 200 else raw.decode()
    finally:
        conn.close()


def padded(body: dict, size: int) -> bytes:
    """A JSON body padded with spaces to exactly size bytes: valid JSON at any size."""
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


def too_large_error(client, app) -> dict:
    """The error of a body whose Content-Length is over the limit."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/predict", data=b"x" * (limit + 1), content_type="application/json")
    assert response.status_code == 413
    return response.get_json()


IMAGES = {"images": [[0] * 28] * 28}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/predict", {"image": "data:image/png;base64,"}),
        ("/inference", IMAGES),  # valid JSON in its first 2 MB: it was answered 200
        ("/api/lab/work", {"kind": "io", "ms": 1}),
    ],
)
def test_a_chunked_body_over_the_limit_is_refused_like_a_long_content_length(server, client, app, path, body):
    limit = app.config["MAX_CONTENT_LENGTH"]
    status, answer = chunked_post(server, path, padded(body, limit + 50_000))
    assert (status, answer) == (413, too_large_error(client, app))
    status, answer = chunked_post(server, path, b"[" + b"0," * (limit // 2 + 25_000))  # not JSON either
    assert (status, answer) == (413, too_large_error(client, app))


def test_a_chunked_body_of_exactly_the_limit_is_read_whole(server, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    status, answer = chunked_post(server, "/inference", padded(IMAGES, limit))
    assert status == 200 and answer.isdigit()
    status, answer = chunked_post(server, "/inference", padded(IMAGES, limit - 1) + b"x")
    assert status == 400 and answer["error"]["code"] == "bad_json"


# -- 3. /api/requests comes in pages ----------------------------------------------------------


def logged(app, client_id: str, count: int) -> list[str]:
    """Store count answered rows of one client in the shared log; their request ids."""
    log = get_store(app)
    ids = [f"{client_id}-{n:04d}" for n in range(count)]
    for n, rid in enumerate(ids):
        log.record(
            {
                "request_id": rid,
                "client_id": client_id,
                "route": "/inference",
                "status": 200,
                "host": "h",
                "pid": 1,
                "thread": "MainThread",
                "thread_id": 1,
                "received": n,
                "started": n,
                "finished": n,
            }
        )
    log.flush()
    return ids


def test_the_request_log_comes_in_pages_of_the_newest_rows(client, app):
    ids = logged(app, "paging", 250)
    page = client.get("/api/requests?client_id=paging").get_json()
    assert page["count"] == 100 and page["more"] is True
    assert [r["request_id"] for r in page["requests"]] == ids[-100:]  # the newest, oldest first
    assert page["latest"] == ids[-1]
    everything = client.get("/api/requests?client_id=paging&limit=1000").get_json()
    assert [r["request_id"] for r in everything["requests"]] == ids and everything["more"] is False
    exact = client.get("/api/requests?client_id=paging&limit=250").get_json()
    assert exact["count"] == 250 and exact["more"] is False
    after = client.get(f"/api/requests?client_id=paging&since={ids[199]}").get_json()
    assert [r["request_id"] for r in after["requests"]] == ids[200:] and after["more"] is False
    caught_up = client.get(f"/api/requests?client_id=paging&since={ids[-1]}").get_json()
    assert caught_up["requests"] == [] and caught_up["count"] == 0
    assert caught_up["latest"] == ids[-1] and caught_up["more"] is False


def test_a_first_call_without_since_is_small(client, app):
    logged(app, "bulk", 1200)
    response = client.get("/api/requests")
    body = response.get_json()
    assert body["count"] == 100 and body["more"] is True
    assert len(response.get_data()) < 50_000  # 1,000 rows were about 341 KB


# -- 6. every page names an icon that exists ---------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_every_page_names_an_icon_that_answers(client, path):
    # Without one the browser asks for /favicon.ico, a 404 in the console.
    html = client.get(path).get_data(as_text=True)
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    assert icons, f"{path} names no icon"
    for href in icons:
        with client.get(href) as response:
            assert response.status_code == 200 and response.mimetype.startswith("image/")


# -- 7. /metrics has a closed set of labels ---------------------------------------------------

METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}


def metric_samples(server) -> list[tuple[str, dict, float]]:
    """/metrics' mnist_http_requests_total samples: (name, labels, value)."""
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = raw_request(server, "GET", "/metrics")
    assert status == 200
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "mnist_http_requests_total"
    ]


def test_any_http_method_adds_no_metric_series(server):
    def others(samples) -> float:
        return sum(value for _, labels, value in samples if labels["method"] == "other")

    rng = random.Random(7)
    before = others(metric_samples(server))
    for _ in range(50):
        method = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=rng.randint(3, 12)))
        path = rng.choice(["/api/workers", "/api/predict", "/no-such-page", "/healthz"])
        raw_request(server, method, path)
    samples = wait_for(  # each worker publishes its counts within 50 ms
        lambda: metric_samples(server),
        10,
        f'the 50 made-up methods counted as method="other" in /metrics ({before + 50:g})',
        until=lambda samples: others(samples) >= before + 50,
    )
    assert {labels["method"] for _, labels, _ in samples} <= METHODS
