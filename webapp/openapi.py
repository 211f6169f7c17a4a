"""The OpenAPI 3.1 description of every route (/openapi.json) and its interactive page (/docs).

One description, checked against the running code by the test suite:
Schemathesis fuzzes every route from it and fails on any 5xx or on any answer
that does not match it (tests/api/test_openapi.py).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from .config import MODES, RUNTIMES
from .lab import KINDS

bp = Blueprint("openapi", __name__)

_ERROR = {"$ref": "#/components/schemas/Error"}


# A data URL of a picture the server decodes (decode.image_from_data_url): whether
# the picture is whole, and has ink, no schema can say (400, 413, 415, 422).
_DATA_URL = r"^data:image/(png|jpeg|webp)(;[-\w]+=[-\w.]+)*;base64,[A-Za-z0-9+/]*={0,2}$"


def _errors(*statuses: int) -> dict:
    return {
        str(s): {"description": "a JSON error", "content": {"application/json": {"schema": _ERROR}}}
        for s in statuses
    }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def spec(config) -> dict:
    """The description of this server, with the limits it was started with."""
    client_id = {
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]{1,64}$",
        "description": "groups one tab's requests (1-64 letters, digits, '-' or '_'; not empty)",
    }
    # In a JSON body, null is the same as leaving it out.
    json_client_id = {**client_id, "type": ["string", "null"]}
    number = {"type": "number"}
    nullable_number = {"type": ["number", "null"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MNIST serving lab",
            "version": "1.0",
            "description": "Draw a digit, see which gunicorn worker answered. "
            f"Bodies up to {config['MAX_CONTENT_LENGTH']:,} bytes; images up to "
            f"{config['MAX_IMAGE_PIXELS']:,} pixels.",
        },
        "paths": {
            "/api/predict": {
                "post": {
                    "summary": "Classify a drawn or uploaded digit",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {
                                        "image": {
                                            "type": "string",
                                            "pattern": _DATA_URL,
                                            "description": "a PNG, JPEG or WebP picture of a digit as a "
                                            "base64 data URL, as canvas.toDataURL() gives",
                                        },
                                        "client_id": json_client_id,
                                    },
                                }
                            },
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {
                                        "image": {"type": "string", "format": "binary"},
                                        "client_id": client_id,
                                    },
                                }
                            },
                        },
                    },
                    "responses": {
                        "200": _json(_ref("Prediction"), "the digit, who answered, and when"),
                        **_errors(400, 413, 415, 422),
                    },
                }
            },
            "/inference": {
                "post": {
                    "summary": "The reference repo's API: a 28×28 list of 0–255 → the digit as text",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["images"],
                                    "properties": {
                                        "images": {
                                            "type": "array",
                                            "minItems": 28,
                                            "maxItems": 28,
                                            "items": {
                                                "type": "array",
                                                "minItems": 28,
                                                "maxItems": 28,
                                                "items": {"type": "number", "minimum": 0, "maximum": 255},
                                            },
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "the digit",
                            "content": {"text/plain": {"schema": {"type": "string", "pattern": "^[0-9]$"}}},
                        },
                        **_errors(400, 413, 415),
                    },
                }
            },
            "/api/workers": {
                "get": {
                    "summary": "The concurrency settings and every live worker process",
                    "responses": {"200": _json(_ref("Workers"), "settings and live workers")},
                }
            },
            "/api/requests": {
                "get": {
                    "summary": "Recent answered requests of every client on every worker, oldest first",
                    "description": "A page of the newest `limit` requests after `since` (the server "
                    "keeps about the last 1,000), oldest first. `more` is true when older ones after "
                    "`since` were left out; `latest` is the `since` of the next call. A page polls "
                    "with `since=<latest>`.",
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"},
                            "description": "a request_id (the last answer's `latest`): only the requests "
                            "after it; all kept requests if it is no longer kept",
                        },
                        {"name": "client_id", "in": "query", "schema": client_id},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                            "description": "the most requests in the answer (the newest)",
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["requests", "latest", "count", "more"],
                                "properties": {
                                    "requests": {"type": "array", "items": _ref("LoggedRequest")},
                                    "latest": {
                                        "type": ["string", "null"],
                                        "description": "the newest request_id in the answer, else `since`",
                                    },
                                    "count": {"type": "integer"},
                                    "more": {
                                        "type": "boolean",
                                        "description": "older requests after `since` were left out",
                                    },
                                    "log": _ref("LogStatus"),
                                },
                            },
                            "the requests",
                        ),
                        **_errors(400),
                        "414": {
                            "description": "a request line over LIMIT_REQUEST_LINE bytes, refused by "
                            "gunicorn before the app",
                            "content": {"application/json": {"schema": _ERROR}},
                        },
                    },
                }
            },
            "/api/lab/work": {
                "post": {
                    "summary": "Run a lab workload: python (holds the GIL), io (sleeps), tensorflow",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["kind", "ms"],
                                    "properties": {
                                        "kind": {"enum": list(KINDS)},
                                        "ms": {
                                            "type": "number",
                                            "minimum": 0,
                                            "maximum": config["LAB_MAX_MS"],
                                        },
                                        "client_id": json_client_id,
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_ref("LabWork"), "who ran it, when, for how much CPU"),
                        **_errors(400, 404, 415, 429, 503),
                    },
                }
            },
            "/api/lab/workers": {
                "post": {
                    "summary": "Add or remove one worker process (gunicorn TTIN/TTOU), 1–8",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["action"],
                                    "properties": {"action": {"enum": ["add", "remove"]}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": _json({"type": "object"}, "the master was signalled"),
                        **_errors(400, 403, 404, 409, 415, 503),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "200 while the process is up",
                    "responses": {"200": _json({"type": "object"}, "up")},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "200 once this worker's model is loaded and warm, else 503",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "ready": {"type": "boolean"},
                                    "pid": {"type": "integer"},
                                    "request_log": _ref("LogStatus"),
                                    "metrics_shared": {
                                        "type": "boolean",
                                        "description": "false if this worker cannot write its metric "
                                        "files (a full disk): it answers, but is not in the worker list",
                                    },
                                },
                            },
                            "ready",
                        ),
                        "503": _json({"type": "object"}, "not ready"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus text format, aggregated over all workers",
                    "responses": {
                        "200": {
                            "description": "metrics",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/": {
                "get": {
                    "summary": "The page: draw a digit, watch the workers answer",
                    "parameters": [
                        {
                            "name": "token",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": "the teacher's token: kept in a cookie, then the page "
                            "without it (303)",
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "HTML",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        "303": {"description": "to the page without the token"},
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This description",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
                }
            },
            "/docs": {
                "get": {
                    "summary": "The interactive API page",
                    "responses": {
                        "200": {
                            "description": "HTML",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "worker": {
                                    "type": "integer",
                                    "description": "tensorflow_loading: the pid of the worker loading it",
                                },
                            },
                        }
                    },
                },
                "LogStatus": {
                    "type": "object",
                    "description": "whether this worker stores answered requests in the log",
                    "required": ["ok", "problem", "lost"],
                    "properties": {
                        "ok": {"type": "boolean"},
                        "problem": {"type": ["string", "null"], "description": "why not, for a person"},
                        "lost": {"type": "integer", "description": "rows dropped since it went wrong"},
                    },
                },
                "Worker": {
                    "type": "object",
                    "required": ["pid", "thread", "host"],
                    "properties": {
                        "pid": {"type": "integer"},
                        "thread": {"type": "string"},
                        "thread_id": {"type": "integer"},
                        "host": {"type": "string"},
                        "started": number,
                        "requests": {"type": "integer"},
                        "runtime": {"enum": list(RUNTIMES)},
                    },
                },
                "Timing": {
                    "type": "object",
                    "required": ["received", "started", "finished"],
                    "description": "server clock, Unix epoch seconds",
                    "properties": {"received": number, "started": number, "finished": number},
                },
                "Prediction": {
                    "type": "object",
                    "required": ["digit", "confidence", "probabilities", "request_id", "worker", "timing"],
                    "properties": {
                        "digit": {"type": "integer", "minimum": 0, "maximum": 9},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "probabilities": {"type": "array", "items": number, "minItems": 10, "maxItems": 10},
                        "request_id": {"type": "string"},
                        "client_id": {"type": ["string", "null"]},
                        "worker": _ref("Worker"),
                        "timing": _ref("Timing"),
                        "batch_size": {"type": "integer"},
                        "batch_id": {"type": "integer"},
                        "model_input": {
                            "type": "string",
                            "description": "the 28×28 image the model saw (PNG data URL)",
                        },
                    },
                },
                "LabWork": {
                    "type": "object",
                    "required": ["kind", "worker", "timing", "cpu_seconds"],
                    "properties": {
                        "kind": {"type": "string"},
                        "ms": number,
                        "request_id": {"type": "string"},
                        "worker": _ref("Worker"),
                        "timing": _ref("Timing"),
                        "cpu_seconds": number,
                        "thread_cpu_seconds": number,
                        "batch_size": {"type": ["integer", "null"]},
                    },
                },
                "LoggedRequest": {
                    "type": "object",
                    "required": ["request_id", "host", "pid", "received", "finished"],
                    "properties": {
                        "seq": {"type": "integer"},
                        "host": {"type": "string", "description": "HOST_NAME of the server that answered"},
                        "request_id": {"type": "string"},
                        "client_id": {"type": ["string", "null"]},
                        "route": {"type": "string"},
                        "status": {"type": "integer"},
                        "pid": {"type": "integer"},
                        "thread": {"type": "string"},
                        "thread_id": {"type": "integer"},
                        "received": number,
                        "started": number,
                        "finished": number,
                        "digit": {"type": ["integer", "null"]},
                        "confidence": nullable_number,
                        "batch_size": {"type": ["integer", "null"]},
                        "batch_id": {"type": ["integer", "null"]},
                        "kind": {"type": ["string", "null"]},
                    },
                },
                "Workers": {
                    "type": "object",
                    "required": ["settings", "workers", "count"],
                    "properties": {
                        "settings": {
                            "type": "object",
                            "required": ["mode", "workers", "threads", "worker_class", "runtime"],
                            "properties": {
                                "mode": {"enum": list(MODES)},
                                "workers": {"type": "integer"},
                                "threads": {"type": "integer"},
                                "worker_class": {"type": "string"},
                                "runtime": {"enum": list(RUNTIMES)},
                                "bind": {"type": "string"},
                                "host": {"type": "string"},
                                "lab": {"type": "boolean"},
                                "teacher": {
                                    "type": "boolean",
                                    "description": "this request carries the teacher's token",
                                },
                                "lab_max_in_flight": {
                                    "type": "integer",
                                    "description": "lab workloads the server runs at once",
                                },
                                "lab_max_per_client": {
                                    "type": "integer",
                                    "description": "lab workloads one client (not the teacher) runs at once",
                                },
                                "lab_max_ms": {"type": "integer", "description": "the longest lab workload"},
                                "lab_workers": {
                                    "type": "array",
                                    "items": {"type": "integer"},
                                    "description": "the fewest and most workers the lab's buttons keep",
                                },
                                "can_add_workers": {"type": "boolean"},
                                "batches": {"type": "boolean"},
                                "contrast": {"type": "string", "description": "the mode to compare with"},
                                "presets": {
                                    "type": "object",
                                    "description": "every MODE preset: workers, threads, about, contrast, "
                                    "can_add_workers, batches",
                                },
                            },
                        },
                        "model": {"type": "object"},
                        "answered_by": {"type": "integer"},
                        "count": {"type": "integer"},
                        "workers": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["pid", "host", "started", "requests", "busy"],
                                "properties": {
                                    "pid": {"type": "integer"},
                                    "host": {"type": "string"},
                                    "started": number,
                                    "requests": {"type": "integer"},
                                    "in_flight": {"type": "integer"},
                                    "busy": {"type": "boolean"},
                                    "ready": {"type": "boolean"},
                                    "last_request": nullable_number,
                                    "cpu_seconds": number,
                                    "rss_bytes": {"type": "integer"},
                                    "pss_bytes": {"type": ["integer", "null"]},
                                    "threads": {"type": "integer"},
                                },
                            },
                        },
                    },
                },
            }
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 description of every route."""
    return spec(current_app.config)


@bp.get("/docs")
def docs():
    """Swagger UI, served from static/vendor/ like jQuery."""
    return render_template("docs.html")
