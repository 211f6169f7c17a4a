"""The OpenAPI 3.1 description (/openapi.json), made from the app itself, and its page (/docs).

Every route the app serves is in it, taken from its URL map: a view's docstring
gives the summary, its ``@describe(...)`` the types of what it takes and answers
(webapp/schemas.py, the same types that validate the requests). Nothing here
lists routes or fields. Schemathesis fuzzes every route from the result and fails
on any 5xx or any answer that does not match it (tests/api/test_openapi.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import is_typeddict

import msgspec
from flask import Blueprint, Flask, current_app, render_template

from . import schemas

bp = Blueprint("openapi", __name__)

_REF = "#/components/schemas/{name}"


@dataclass(frozen=True)
class Described:
    """What a view takes and answers, for the description."""

    answer: type | dict | None = None  # a type of schemas.py, or a JSON schema
    media: str = "application/json"  # the answer's media type
    status: int = 200
    also: dict[int, str] = field(default_factory=dict)  # other statuses answering the same
    errors: tuple[int, ...] = ()  # statuses answering schemas.Error
    body: type | None = None  # a JSON body
    form: type | None = None  # a multipart/form-data body
    query: type | None = None  # the query string


def describe(**how) -> Callable:
    """Mark a view with what it takes and answers (the fields of Described)."""

    def mark(view: Callable) -> Callable:
        view.described = Described(**how)
        return view

    return mark


def spec(app: Flask) -> dict:
    """The description of this app's routes, with the limits it was started with."""
    views = [
        (rule, method, app.view_functions[rule.endpoint])
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)
        if rule.endpoint != "static"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    described = {view: getattr(view, "described", Described()) for _, _, view in views}
    types = {schemas.Error} | {
        kind
        for how in described.values()
        for kind in (how.answer, how.body, how.form)
        if isinstance(kind, type)
    }
    types = sorted(types, key=lambda kind: kind.__name__)
    refs, components = msgspec.json.schema_components(types, ref_template=_REF)
    ref = dict(zip(types, refs, strict=True))
    _with_limits(components, app.config)
    _closed(components)
    paths: dict[str, dict] = {}
    for rule, method, view in views:
        paths.setdefault(rule.rule, {})[method.lower()] = _operation(view, described[view], ref, components)
    config = app.config
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MNIST serving lab",
            "version": "1.0",
            "description": "Draw a digit, see which gunicorn worker answered. "
            f"Bodies up to {config['MAX_CONTENT_LENGTH']:,} bytes; images up to "
            f"{config['MAX_IMAGE_PIXELS']:,} pixels.",
        },
        "paths": paths,
        "components": {"schemas": components},
    }


def _closed(components: dict) -> None:
    """An answer has the fields its type names and no others. Schemathesis checks every answer
    against these (tests/api/test_openapi.py): a dict the code builds that drifts from its type
    (a field added, renamed or left out) fails there."""
    for name, schema in components.items():
        if is_typeddict(getattr(schemas, name, None)):
            schema["additionalProperties"] = False


def _with_limits(components: dict, config) -> None:
    """The limits that are settings, not types."""
    work = components.get("LabWorkBody")
    if work:
        work["properties"]["ms"]["maximum"] = config["LAB_MAX_MS"]


def _operation(view: Callable, how: Described, ref: dict, components: dict) -> dict:
    summary, _, details = (inspect.getdoc(view) or view.__name__).partition("\n\n")
    operation: dict = {"summary": " ".join(summary.split())}
    if details:
        operation["description"] = details
    if how.query:
        operation["parameters"] = _parameters(how.query)
    content = {}
    if how.body:
        content["application/json"] = {"schema": ref[how.body]}
    if how.form:
        content["multipart/form-data"] = {"schema": _upload(components.pop(how.form.__name__))}
    if content:
        operation["requestBody"] = {"required": True, "content": content}
    answer = ref[how.answer] if isinstance(how.answer, type) else how.answer or {"type": "object"}
    answers = {"content": {how.media: {"schema": answer}}} if how.media else {}
    operation["responses"] = {
        str(how.status): {"description": _title(how.answer, how.media), **answers},
        **{str(status): {"description": words, **answers} for status, words in how.also.items()},
        **{
            str(status): {
                "description": "a JSON error",
                "content": {"application/json": {"schema": ref[schemas.Error]}},
            }
            for status in how.errors
        },
    }
    return operation


def _parameters(query: type) -> list[dict]:
    """A query string's type as OpenAPI parameters: each optional, none null."""
    properties = msgspec.json.schema(query)["$defs"][query.__name__]["properties"]
    parameters = []
    for name, schema in properties.items():
        schema = next((s for s in schema.get("anyOf", ()) if s.get("type") != "null"), schema)
        words = schema.pop("description", None)
        parameter = {"name": name, "in": "query", "schema": schema}
        parameters.append({**parameter, "description": words} if words else parameter)
    return parameters


def _upload(schema: dict) -> dict:
    """A multipart body's schema: its files are binary (not base64 text as in JSON)."""
    for name, prop in schema["properties"].items():
        prop = next((s for s in prop.get("anyOf", ()) if s.get("type") != "null"), prop)
        if prop.pop("contentEncoding", None):
            prop["format"] = "binary"
        schema["properties"][name] = prop  # a form field is text or absent, never null
    return schema


def _title(kind: object, default: str) -> str:
    doc = inspect.getdoc(kind) if isinstance(kind, type) else None
    return doc.split("\n")[0].rstrip(".") if doc else default


@bp.get("/openapi.json")
@describe(answer={"type": "object", "description": "OpenAPI 3.1"})
def openapi_json():
    """This description"""
    return spec(current_app)


@bp.get("/docs")
@describe(media="text/html", answer={"type": "string"})
def docs():
    """The interactive API page (Swagger UI, served from this server's static/vendor/)"""
    return render_template("docs.html")
