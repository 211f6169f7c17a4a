"""The container's health check: exit 0 when the server at BIND answers /readyz with 200.

Docker runs it (Dockerfile, HEALTHCHECK); by hand, beside a server: python deploy/healthcheck.py.
Standard library only, and no import of the app: it runs every few seconds.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys

TIMEOUT_S = 3.0


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over gunicorn's unix socket (BIND=unix:/path)."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def connection(bind: str, timeout: float = TIMEOUT_S) -> http.client.HTTPConnection:
    """A connection to the server listening at BIND (host:port, [v6]:port or unix:path)."""
    if bind.startswith("unix:"):
        return _UnixConnection(bind.removeprefix("unix:"), timeout)
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    # Listening on every address: ask on loopback.
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return http.client.HTTPConnection(host, int(port), timeout=timeout)


def main() -> int:
    bind = os.environ.get("BIND", "").strip() or "0.0.0.0:2431"
    try:
        conn = connection(bind)
        conn.request("GET", "/readyz")
        status = conn.getresponse().status
    except (OSError, ValueError, http.client.HTTPException) as err:
        print(f"/readyz at {bind}: {err}")
        return 1
    print(f"/readyz at {bind}: {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
