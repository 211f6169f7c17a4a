"""Findings of the security review ("Safe in a live class", the Low list), each pinned down."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

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
