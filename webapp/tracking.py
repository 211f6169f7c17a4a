"""Each request's id and arrival time, and the model requests in flight: WSGI middleware.

Around the app rather than in Flask hooks: a request with a model call is
counted out whatever happens inside, and the id is on every answer (errors and
static files too), in the access log and in the JSON answer.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Callable

from flask import Flask, request

from .schemas import REQUEST_ID_PATTERN

# What a request id may look like: ours, or a trusted proxy's X-Request-ID.
REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
ID, RECEIVED = "mnist.request_id", "mnist.received"  # set in each request's WSGI environ
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
    app.wsgi_app = tracked(app.wsgi_app, count_in_flight, app.config["TRUSTED_PROXIES"], work_routes)


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
):
    """WSGI middleware: every request's id and arrival, and the requests in flight on work_routes."""

    def app(environ, start_response):
        environ[RECEIVED] = time.time()
        # A new id, or a trusted proxy's X-Request-ID (nginx makes unique ones);
        # echoed back, written in the access log and in the JSON answer. A
        # client's own id is not taken: ids must stay unique in the request log,
        # whose readers page by them.
        incoming = environ.get("HTTP_X_REQUEST_ID") if environ.get("REMOTE_ADDR") in trusted_proxies else None
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


def request_id() -> str:
    """This request's id (a trusted proxy's X-Request-ID if it was sane)."""
    return request.environ[ID]


def received() -> float:
    """When this request reached the app: server clock, Unix epoch seconds."""
    return request.environ[RECEIVED]
