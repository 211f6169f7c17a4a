"""The MNIST serving demo: create_app() builds the Flask app of one worker."""

from __future__ import annotations

# isort: off
from . import gil  # noqa: F401  first: it notes an extension module that turns the GIL back on

# isort: on
import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

from flask import Flask

from serving import config

from . import errors, jsonio, tracking


def create_app(test_config: dict | None = None) -> Flask:
    """Settings from the environment (overlaid by test_config), then each part's init_app."""
    app = Flask(__name__, static_folder="../static", template_folder="../templates")
    # No redirects: Werkzeug's answer to "/static//x" (merge_slashes) or to an empty
    # path (strict_slashes, "GET http://host HTTP/1.1") is a redirect to the Host
    # header's host, which a forged Host turns into one elsewhere. "//x" is a 404, "" is "/".
    app.url_map.merge_slashes = app.url_map.strict_slashes = False
    app.json = jsonio.provider()(app)
    app.config.from_mapping(config.load())
    if test_config:
        app.config.update(test_config)
    _init_logging(app)
    _init_state_dir(app)

    from . import (
        api,
        corrections,
        decode,
        health,
        lab_api,
        machine,
        metrics,
        model,
        openapi,
        pages,
        security,
        store,
        teacher,
        workers,
    )

    decode.init_app(app)  # image limits
    shared = store.init_app(app)  # where the request log and the worker list are kept
    worker_metrics = metrics.init_app(app)  # ids and in-flight counts
    workers.init_app(app, worker_metrics, shared)  # the live worker list
    machine.init_app(app)  # the cores other work leaves spare
    security.init_app(app)  # security headers on every answer
    if model.init_app(app, in_flight=worker_metrics.in_flight).ready:  # the model, loaded and warm
        worker_metrics.set_ready()  # said in the worker list
    errors.init_app(app)  # every error as JSON
    corrections.init_app(app)  # the CORRECTIONS folder, if set
    teacher.init_app(app)  # the teacher's address, said again now and then
    for blueprint in (api.bp, corrections.bp, health.bp, pages.bp, lab_api.bp, openapi.bp):
        app.register_blueprint(blueprint)
    tracking.find_busy_routes(app)  # the views marked @busy count as work in flight
    return app


def _init_logging(app: Flask) -> None:
    # Under gunicorn, log through its error log's handlers, so app lines and
    # gunicorn's share one format and destination.
    gunicorn_log = logging.getLogger("gunicorn.error")
    root = logging.getLogger("webapp")
    if gunicorn_log.handlers and not root.handlers:
        root.handlers = gunicorn_log.handlers
        root.setLevel(gunicorn_log.level)
        root.propagate = False


def _init_state_dir(app: Flask) -> None:
    """The server's state folder (gunicorn.conf.py makes one per server); outside gunicorn,
    a folder of our own, gone at exit."""
    state_dir = app.config["STATE_DIR"] or os.environ.get("STATE_DIR")
    if not state_dir:
        state_dir = tempfile.mkdtemp(prefix="mnist-")
        atexit.register(shutil.rmtree, state_dir, ignore_errors=True)
    app.config["STATE_DIR"] = Path(state_dir)
