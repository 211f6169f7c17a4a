"""deploy/healthcheck.py, the image's HEALTHCHECK: /readyz at BIND's address, whichever form BIND has."""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import socketserver
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "healthcheck.py")
healthcheck = importlib.util.module_from_spec(spec)
spec.loader.exec_module(healthcheck)


def answering(status: int):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(status if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@contextlib.contextmanager
def serving(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class UnixHTTPServer(socketserver.UnixStreamServer):
    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)


@pytest.mark.parametrize(("status", "code"), [(200, 0), (503, 1)])
def test_ready_is_0_not_ready_is_1_on_every_address_form(monkeypatch, tmp_path, capsys, status, code):
    with serving(http.server.HTTPServer(("127.0.0.1", 0), answering(status))) as server:
        port = server.server_address[1]
        for bind in (f"127.0.0.1:{port}", f"0.0.0.0:{port}", f":{port}"):  # every address: ask loopback
            monkeypatch.setenv("BIND", bind)
            assert healthcheck.main() == code, bind
    with serving(UnixHTTPServer(str(tmp_path / "g.sock"), answering(status))):
        monkeypatch.setenv("BIND", f"unix:{tmp_path / 'g.sock'}")
        assert healthcheck.main() == code
    assert f"/readyz at unix:{tmp_path / 'g.sock'}: {status}" in capsys.readouterr().out


def test_nothing_listening_is_unhealthy_in_words(monkeypatch, capsys):
    with serving(http.server.HTTPServer(("127.0.0.1", 0), answering(200))) as server:
        port = server.server_address[1]
    monkeypatch.setenv("BIND", f"127.0.0.1:{port}")  # closed now
    assert healthcheck.main() == 1
    assert f"/readyz at 127.0.0.1:{port}:" in capsys.readouterr().out
