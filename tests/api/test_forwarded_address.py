"""Behind a proxy the class view's address is the one the browser used to reach the proxy
(X-Forwarded-Host, with its port), believed from TRUSTED_PROXIES only."""

from __future__ import annotations

import pytest

from tests.api.test_class_view import qr_url
from webapp import create_app


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
