"""Requests read strictly into the types of schemas.py: every way one can be wrong is a clear 4xx.

One reader per kind of input (a JSON body, a form, a query string); each field's
error code and words come from its type.
"""

from __future__ import annotations

import functools
import re
from typing import TypeVar

import msgspec
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import ApiError

T = TypeVar("T")
# msgspec's ValidationError says which field is wrong only in its words (it has no public path
# attribute): read from them (tests/unit/test_framework_pins.py checks the words msgspec writes).
_MISSING = re.compile(r"Object missing required field `(\w+)`")
_AT = re.compile(r"^(?P<what>.*) - at `\$\.(?P<field>\w+)(?P<inside>[^`]*)`$")


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


def read_json(kind: type[T]) -> T:
    """The JSON body as a ``kind``, or a clear 4xx."""
    if not request.is_json:
        raise ApiError(
            "unsupported_media_type",
            f"Send JSON with 'Content-Type: application/json' (got '{request.mimetype or 'none'}').",
            415,
        )
    try:
        return _decoder(kind).decode(body_bytes(cache=False))
    except msgspec.ValidationError as err:
        raise _refusal(kind, err, "The JSON body") from None
    except (msgspec.DecodeError, ValueError, RecursionError):  # ValueError: not UTF-8
        raise ApiError("bad_json", "The request body is not valid JSON.") from None


def read_form(kind: type[T], **files: bytes | None) -> T:
    """A multipart form's fields and the given files' contents as a ``kind``, or a clear 4xx."""
    fields = {name: value for name, value in {**request.form.to_dict(), **files}.items() if value is not None}
    return _convert(kind, fields, "The form")


def read_query(kind: type[T]) -> T:
    """The query string as a ``kind`` (numbers from their text), or a clear 4xx."""
    return _convert(kind, request.args.to_dict(), "The query string")


def _convert(kind: type[T], values: dict, what: str) -> T:
    try:
        return msgspec.convert(values, kind, strict=False)
    except msgspec.ValidationError as err:
        raise _refusal(kind, err, what) from None


@functools.cache
def _decoder(kind: type) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(kind)


@functools.cache
def _descriptions(kind: type) -> dict[str, str]:
    """Each field's description (schemas.py), the words of its error messages."""
    properties = msgspec.json.schema(kind)["$defs"][kind.__name__]["properties"]
    words = {}
    for name, schema in properties.items():
        described = [s for s in (schema, *schema.get("anyOf", ())) if "description" in s]
        words[name] = described[0]["description"] if described else "valid"
    return words


def _refusal(kind: type, err: msgspec.ValidationError, what: str) -> ApiError:
    """msgspec's words for what is wrong -> the field's error code and a message for a person."""
    text, words = str(err), _descriptions(kind)
    missing = _MISSING.fullmatch(text)
    if missing and missing[1] in words:
        name = missing[1]
        code = kind.missing.get(name, kind.codes[name])
        return ApiError(code, f"'{name}' is missing: it must be {words[name]}.")
    at = _AT.fullmatch(text)
    if at and at["field"] in words:
        name, inside = at["field"], at["inside"]
        where = f" ({name}{inside}: {at['what'][0].lower()}{at['what'][1:]})" if inside else ""
        return ApiError(kind.codes[name], f"'{name}' must be {words[name]}{where}.")
    return ApiError("bad_json", f"{what} is not what this route takes ({text}).")
