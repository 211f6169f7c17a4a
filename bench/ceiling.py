"""The ceiling: a Flask app that only parses the same JSON as ours and answers a digit.

No model, no validation, no logging: what this machine's gunicorn + Flask can
serve for that request at all. bench/speed.py runs it under the same
gunicorn.conf.py as the real app, and reports ours as a fraction of it.

It is a plain Flask app, as the goal defines it: it parses with Flask's default
JSON (the standard library's json). Ours parses with orjson, which is part of
what brings it nearer; the README says so beside the figures.
"""

from __future__ import annotations

from flask import Flask, request

app = Flask(__name__)


@app.post("/inference")
@app.post("/api/predict")
def parse_only():
    request.get_json()
    return "7", 200, {"Content-Type": "text/plain"}


@app.get("/api/workers")
def workers():
    # Enough for harness.launch to see the server as ready.
    return {"settings": {"workers": 0}, "workers": []}
