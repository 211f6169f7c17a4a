"""Each request's id and arrival time, and the model requests in flight: WSGI middleware.

Around the app rather than in Flask hooks: a request with a model call is
counted out whatever happens inside, and the id is on every answer (errors and
static files too), in the access log and in the JSON answer.
"""

from __future__ import annotations

import hmac
import itertools
import re
import secrets
import time
from collections.abc import Callable

from flask import Flask, request

from serving.config import PROXY_SECRET_HEADER

from .schemas import REQUEST_ID_PATTERN

# What a request id may look like: ours, or a trusted proxy's X-Request-ID.
REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
ID, RECEIVED = "mnist.request_id", "mnist.received"  # set in each request's WSGI environ
PROXIED = "mnist.proxied"  # likewise: it came through a trusted proxy, whose forwarded headers count
_SECRET_KEY = "HTTP_" + PROXY_SECRET_HEADER.upper().replace("-", "_")  # the header, as WSGI names it
# Request ids: 16 random hex digits for this process, then a counter. Unique
# across workers and restarts, without a urandom call per request.
_ID_PREFIX = secrets.token_hex(8)
_ids = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ids):016x}"


def busy(view):
    """Mark a view as one that runs the model or lab work: it makes its worker "busy"."""
    view.makes_busy = True
    return view


def init_app(app: Flask, count_in_flight: Callable[[int], None]) -> None:
    """Give every request an id and an arrival time; count the model requests in flight
    (on the paths of the views marked ``@busy``, found once the app has its routes)."""
    work_routes = app.extensions["work_routes"] = set()
    config = app.config
    app.wsgi_app = tracked(
        app.wsgi_app, count_in_flight, config["TRUSTED_PROXIES"], work_routes, config["PROXY_SECRET"]
    )


def find_busy_routes(app: Flask) -> set[str]:
    """Fill in the paths of the views marked @busy; call once every blueprint is registered."""
    routes = app.extensions["work_routes"]
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions[rule.endpoint], "makes_busy", False):
            routes.add(rule.rule)
    return routes


def tracked(
    wsgi_app,
    count_in_flight: Callable[[int], None],
    trusted_proxies: frozenset[str] = frozenset(),
    work_routes: set[str] = frozenset(),
    proxy_secret: bytes | None = None,
):
    """WSGI middleware: every request's id and arrival, and the requests in flight on work_routes."""

    def app(environ, start_response):
        environ[RECEIVED] = time.time()
        environ[PROXIED] = from_trusted_proxy(environ, trusted_proxies, proxy_secret)
        # A new id, or a trusted proxy's X-Request-ID (nginx makes unique ones);
        # echoed back, written in the access log and in the JSON answer. A
        # client's own id is not taken: ids must stay unique in the request log,
        # whose readers page by them.
        incoming = environ.get("HTTP_X_REQUEST_ID") if environ[PROXIED] else None
        request_id = incoming if incoming and REQUEST_ID.fullmatch(incoming) else new_request_id()
        environ[ID] = request_id

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        if environ.get("PATH_INFO") not in work_routes:
            return wsgi_app(environ, start)
        count_in_flight(1)
        try:
            return wsgi_app(environ, start)
        finally:
            count_in_flight(-1)

    return app


def from_trusted_proxy(environ: dict, trusted_proxies: frozenset[str], secret: bytes | None) -> bool:
    """Whether a request's peer is one of TRUSTED_PROXIES and, with PROXY_SECRET_FILE set, sent
    its secret: a local process reaches the app from the proxy's own address too."""
    if environ.get("REMOTE_ADDR") not in trusted_proxies:
        return False
    if secret is None:
        return True
    sent = environ.get(_SECRET_KEY, "").encode("latin-1", "replace")  # WSGI: header bytes as latin-1
    return hmac.compare_digest(sent, secret)  # in constant time: no guessing it byte by byte


def through_trusted_proxy() -> bool:
    """Whether this request came through a trusted proxy: its X-Forwarded-* headers count."""
    return request.environ.get(PROXIED, False)  # False outside the middleware (a bare request context)


def request_id() -> str:
    """This request's id (a trusted proxy's X-Request-ID if it was sane)."""
    return request.environ[ID]


def received() -> float:
    """When this request reached the app: server clock, Unix epoch seconds."""
    return request.environ[RECEIVED]
