"""The one error type of the API, and every error as the contract's JSON."""

from __future__ import annotations

import logging

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the API refuses; ``code`` is stable, ``message`` is for a person.

    ``retry_after`` (seconds) is sent as the Retry-After header, for refusals
    that are only for now (429, 503); ``detail`` adds fields to the error object.
    """

    def __init__(self, code: str, message: str, status: int = 400, retry_after: int | None = None, **detail):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.retry_after, self.detail = retry_after, detail


def handle_api_error(err: ApiError):
    """Flask error handler: ApiError -> the contract's JSON error body."""
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else {}
    return {"error": {"code": err.code, "message": err.message, **err.detail}}, err.status, headers


def http_error(err: HTTPException):
    """Werkzeug's errors (404, 405, 413, ...) as the contract's JSON."""
    message = err.description or err.name
    if isinstance(err, RequestEntityTooLarge):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        message = f"The request body is larger than the {limit / 1024 / 1024:g} MB this server accepts."
    code = err.name.lower().replace(" ", "_")
    response = err.get_response()
    headers = {"Allow": response.headers["Allow"]} if "Allow" in response.headers else {}
    return {"error": {"code": code, "message": message}}, err.code, headers


def unexpected_error(err: Exception):
    log.exception("unexpected error: %s", err)
    return {"error": {"code": "internal_error", "message": "Something went wrong on the server."}}, 500


def init_app(app: Flask) -> None:
    """Every error the app raises answers as JSON: ours, Werkzeug's, and the unexpected."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
