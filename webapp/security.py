"""Security headers on every answer, through flask-talisman.

A strict Content-Security-Policy: the page and /docs load only this server's
own static files (no inline script or style), and the 28x28 model input comes
back as a data: URL. No framing, no MIME sniffing, no referrer leaks.
"""

from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def init_app(app: Flask) -> None:
    Talisman(
        app,
        # Served over plain HTTP on a laptop or behind a TLS-terminating proxy:
        # redirecting to HTTPS or sending HSTS is the proxy's job.
        force_https=False,
        strict_transport_security=False,
        session_cookie_secure=False,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="no-referrer",
        x_content_type_options=True,
    )
