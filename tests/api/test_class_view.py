"""The class view's address: what students' phones are sent to."""

from __future__ import annotations

import pytest

from serving import config
from webapp import create_app


@pytest.fixture(scope="module")
def quick_app():
    return create_app({"TESTING": True, "DEFER_MODEL": True})


def qr_url(client, **kwargs) -> str:
    html = client.get("/class", **kwargs).get_data(as_text=True)
    return html.split('data-url="', 1)[1].split('"', 1)[0]


def test_the_address_the_teacher_used_is_the_students_unless_it_is_loopback(quick_app):
    client = quick_app.test_client()
    assert qr_url(client, headers={"Host": "192.168.1.20:2431"}) == "http://192.168.1.20:2431/"
    assert qr_url(client, headers={"Host": "lab.school.example"}) == "http://lab.school.example/"


def test_a_loopback_address_becomes_this_machines_on_the_network(quick_app, monkeypatch):
    from webapp import joining

    monkeypatch.setattr(joining, "network_address", lambda: "10.1.2.3")
    assert qr_url(quick_app.test_client(), headers={"Host": "localhost:2431"}) == "http://10.1.2.3:2431/"
    assert qr_url(quick_app.test_client(), headers={"Host": "127.0.0.1:8000"}) == "http://10.1.2.3:8000/"


def test_without_a_network_the_teacher_is_told(quick_app, monkeypatch):
    from webapp import joining

    monkeypatch.setattr(joining, "network_address", lambda: None)
    html = quick_app.test_client().get("/class", headers={"Host": "localhost:2431"}).get_data(as_text=True)
    assert 'data-testid="class-problem"' in html and "PUBLIC_URL" in html


def test_public_url_wins_and_is_checked():
    app = create_app({"TESTING": True, "DEFER_MODEL": True, "PUBLIC_URL": "https://lab.example/"})
    assert qr_url(app.test_client(), headers={"Host": "localhost:2431"}) == "https://lab.example/"
    assert config.load({"PUBLIC_URL": "http://10.0.0.5:2431"})["PUBLIC_URL"] == "http://10.0.0.5:2431/"
    for bad in ("javascript:alert(1)", "10.0.0.5:2431", "http://", "http://x/?a=1"):
        with pytest.raises(config.ConfigError, match="PUBLIC_URL"):
            config.load({"PUBLIC_URL": bad})


def test_a_forged_host_cannot_write_into_the_page(quick_app):
    html = (
        quick_app.test_client()
        .get("/class", headers={"Host": 'a"><script>x</script>'})
        .get_data(as_text=True)
    )
    assert "<script>x" not in html
