"""Security headers on every answer, through the `secure` library.

A strict Content-Security-Policy: the page and /docs load only this server's
own static files (no inline script or style), and the 28x28 model input comes
back as a data: URL. No framing, no MIME sniffing, no referrer leaks.

`secure` builds the header values once; each answer only gets them appended
(flask-talisman, used before, re-parsed the policy on every request: 40 µs
of a 1 ms request). HTTPS redirects and HSTS are the TLS-terminating proxy's
job (deploy/nginx.conf): this server speaks plain HTTP on a laptop or behind it.
"""

from __future__ import annotations

import secure
from flask import Flask

CONTENT_SECURITY_POLICY = (
    secure.ContentSecurityPolicy()
    .default_src("'self'")
    .script_src("'self'")
    .style_src("'self'")
    .img_src("'self'", "data:")
    .connect_src("'self'")
    .object_src("'none'")
    .base_uri("'none'")
    .form_action("'self'")
    .frame_ancestors("'none'")
)

HEADERS = secure.Secure(
    csp=CONTENT_SECURITY_POLICY,
    xfo=secure.XFrameOptions().deny(),
    xcto=secure.XContentTypeOptions().nosniff(),
    referrer=secure.ReferrerPolicy().no_referrer(),
    permissions=secure.PermissionsPolicy().geolocation().camera().microphone(),
)


def init_app(app: Flask) -> None:
    """Wrap the app so that every answer leaves with the headers."""
    app.wsgi_app = with_headers(app.wsgi_app, list(HEADERS.headers.items()))


def with_headers(wsgi_app, headers: list[tuple[str, str]]):
    """WSGI middleware: append ``headers`` to every response's headers.

    At the WSGI layer the headers are on everything the app sends: pages, the
    API, static files, errors, even a 500 from an exception that Flask's
    after_request hooks never see. And they are appended to a plain list,
    without Werkzeug's per-header checks (these values are fixed and valid).
    """

    def app(environ, start_response):
        def start(status, response_headers, exc_info=None):
            response_headers.extend(headers)
            return start_response(status, response_headers, exc_info)

        return wsgi_app(environ, start)

    return app
