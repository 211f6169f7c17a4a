"""Request bodies and fields, read strictly: every way one can be wrong is a clear 4xx."""

from __future__ import annotations

import re

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from . import decode
from .errors import ApiError

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def body_bytes(cache: bool = True) -> bytes:
    """The request body, or 413 if it is longer than MAX_CONTENT_LENGTH.

    Werkzeug refuses a long Content-Length before reading, but a chunked body (no
    Content-Length) it reads up to the limit and silently stops there: its first
    2 MB would be parsed as if they were all of it.
    """
    data = request.get_data(cache=cache)
    limit = request.max_content_length
    if limit is not None and len(data) >= limit and request.content_length is None:
        if request.environ["wsgi.input"].read(1):  # more after the limit
            raise RequestEntityTooLarge()
    return data


def json_body() -> dict:
    """The request's JSON object, or a clear 4xx."""
    if not request.is_json:
        raise ApiError(
            "unsupported_media_type",
            f"Send JSON with 'Content-Type: application/json' (got '{request.mimetype or 'none'}').",
            415,
        )
    try:
        body = current_app.json.loads(body_bytes(cache=False))
    except (ValueError, RecursionError):
        raise ApiError("bad_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError("bad_json", f"The JSON body must be an object, not {decode.json_type(body)}.")
    return body


def client_id(value: object) -> str | None:
    """A valid client id, None if there is none; an empty one is refused, as the schema says."""
    if value is None:
        return None
    if not isinstance(value, str) or not _CLIENT_ID.fullmatch(value):
        raise ApiError("bad_client_id", "'client_id' must be 1-64 letters, digits, '-' or '_'.")
    return value
