"""The MNIST serving demo: create_app() builds the Flask app of one worker."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import config as config_module
from .config import MODES
from .errors import ApiError, handle_api_error
from .jsonio import OrjsonProvider

log = logging.getLogger(__name__)


class App(Flask):
    """Flask, checking once per view or hook whether it is ``async def``, not on every call.

    Flask asks ``inspect.iscoroutinefunction`` before every call of a view or a
    request hook, about 2 µs each time; the answer never changes.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        sync = self._sync.get(func)
        if sync is None:
            sync = self._sync[func] = super().ensure_sync(func)
        return sync


def create_app(test_config: dict | None = None) -> Flask:
    """Settings from the environment (overlaid by test_config), model loaded and warm."""
    app = App(__name__, static_folder="../static", template_folder="../templates")
    # No redirects: Werkzeug's answer to "/static//x" (merge_slashes) or to an empty
    # path (strict_slashes, "GET http://host HTTP/1.1") is a redirect to the Host
    # header's host, which a forged Host turns into one elsewhere. "//x" is a 404, "" is "/".
    app.url_map.merge_slashes = app.url_map.strict_slashes = False
    app.json = OrjsonProvider(app)
    app.config.from_mapping(config_module.load())
    if test_config:
        app.config.update(test_config)
    _init_logging(app)

    from PIL import Image

    from .heap import keep_image_buffers

    Image.MAX_IMAGE_PIXELS = app.config["MAX_IMAGE_PIXELS"]
    keep_image_buffers()

    from . import api, health, lab, openapi, pages, requestlog, security, workers
    from .batching import Batcher, direct
    from .model import Model

    registry = workers.init_app(app)
    security.init_app(app)
    state_dir = app.config["STATE_DIR"] or os.environ.get("STATE_DIR")
    if not state_dir:  # outside gunicorn: a folder of our own, gone at exit
        state_dir = tempfile.mkdtemp(prefix="mnist-")
        atexit.register(shutil.rmtree, state_dir, ignore_errors=True)
    state_dir = app.config["STATE_DIR"] = Path(state_dir)
    app.extensions["request_log"] = requestlog.RequestLog(
        state_dir / "requests.sqlite", app.config["REQUEST_LOG_SIZE"]
    )
    model = Model(
        app.config["RUNTIME"],
        app.config["SERVED_MODEL_DIR"],
        threads=app.config["MODEL_THREADS"],
        intra_op=app.config["TF_INTRA_OP"],
        inter_op=app.config["TF_INTER_OP"],
    )
    app.extensions["model"] = model
    if MODES[app.config["MODE"]].batches:
        batcher = Batcher(
            model,
            app.config["BATCH_MAX_SIZE"],
            app.config["BATCH_MAX_DELAY_MS"] / 1000,
            in_flight=registry.in_flight,
        )
        app.extensions["predict"] = batcher.submit
    else:
        app.extensions["predict"] = partial(direct, model)
    if not app.config.get("DEFER_MODEL"):
        model.load().warm_up()
        registry.set_ready()

    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(lab.bp)
    app.register_blueprint(openapi.bp)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
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


def _http_error(err: HTTPException):
    """Werkzeug's errors (404, 405, 413, ...) as the contract's JSON."""
    message = err.description or err.name
    if isinstance(err, RequestEntityTooLarge):
        from flask import current_app

        limit = current_app.config["MAX_CONTENT_LENGTH"]
        message = f"The request body is larger than the {limit / 1024 / 1024:g} MB this server accepts."
    code = err.name.lower().replace(" ", "_")
    response = err.get_response()
    headers = {"Allow": response.headers["Allow"]} if "Allow" in response.headers else {}
    return {"error": {"code": code, "message": message}}, err.code, headers


def _unexpected_error(err: Exception):
    log.exception("unexpected error: %s", err)
    return {"error": {"code": "internal_error", "message": "Something went wrong on the server."}}, 500
