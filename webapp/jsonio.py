"""Flask's JSON in and out through orjson, where it is installed.

A request to /inference is 784 numbers: orjson parses them in a quarter of the
standard library's time and writes answers several times faster. It is also
stricter: NaN, Infinity and integers beyond 64 bits are not JSON, and are
refused as such. Free-threaded Python has no orjson build: there Flask's own
provider (the json module) writes the answers; request bodies are read by
msgspec (webapp/parsing.py) on both.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.json.provider import DefaultJSONProvider, JSONProvider

try:
    import orjson
except ImportError:  # free-threaded Python
    orjson = None


class OrjsonProvider(JSONProvider):
    """``app.json``: what jsonify(), returning a dict from a view and request.get_json() use."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """jsonify()'s answer, written by orjson straight to bytes: one value, several (a list)
        or keywords (an object), as Flask's own provider takes them."""
        if args and kwargs:
            raise TypeError("jsonify() takes either values or keywords, not both")
        obj = args[0] if len(args) == 1 else list(args) if args else kwargs or None
        body = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
        return self._app.response_class(body, mimetype="application/json")


def provider() -> type[JSONProvider]:
    """The JSON provider this Python can run."""
    return OrjsonProvider if orjson else DefaultJSONProvider
