"""The JSON API: /api/predict, /inference (the reference's contract), /api/workers, /api/requests."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
from flask import Blueprint, current_app, request
from PIL import Image

from serving.config import MAX_WORKERS, MIN_WORKERS, MODES, presets

from . import decode, gil
from .answers import log_answer, worker_info
from .batching import Call
from .errors import ApiError
from .lab_api.limits import server_cap
from .machine import get_spare_cores
from .model import get_model, infer
from .openapi import describe
from .parsing import read_form, read_json, read_query
from .png import grey_png
from .preprocess import normalize, preprocess_measured
from .schemas import (
    InferenceBody,
    PredictBody,
    Prediction,
    PredictUpload,
    RequestsPage,
    RequestsQuery,
    Workers,
)
from .store import get_store
from .teacher import is_teacher, teacher_address, token_refused
from .tracking import busy, received, request_id
from .verdict import alternatives, calibrated_one, margin, reason_in_words, shape, unsure_reason
from .workers import get_workers

bp = Blueprint("api", __name__)

# /api/workers is polled by every open page about once a second.
LIVE_WORKERS_MAX_AGE = 0.2
PRESETS = presets()


# -- request parsing -----------------------------------------------------------


def image_from_request() -> tuple[Image.Image, PredictBody | PredictUpload]:
    """The drawing of a JSON data URL or a multipart upload, and the request's other fields
    (client_id, name)."""
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        form = read_form(PredictUpload, image=upload.read() if upload else None)
        return decode.open_image(form.image, max_pixels), form
    body = read_json(PredictBody)
    return decode.image_from_data_url(body.image, max_pixels), body


# -- answering -----------------------------------------------------------------


def png_data_url(pixels: np.ndarray) -> str:
    """uint8 28x28 -> a small PNG data URL, so the page can show what the model saw."""
    return "data:image/png;base64," + base64.b64encode(grey_png(pixels)).decode("ascii")


def run_model(x: np.ndarray) -> Call:
    """Probabilities for x, with the server-clock start and end of the model call
    (shared with other requests in MODE=batched)."""
    if not get_model().ready:
        raise ApiError("not_ready", "The model is still loading; try again in a moment.", 503)
    return infer(x)


@dataclass
class Answer:
    """One image classified: its digit, the model call, and this worker's answers so far."""

    digit: int
    probabilities: np.ndarray
    call: Call
    served: int


def classify(x: np.ndarray, cid: str | None, drawing: str, name: str | None = None) -> Answer:
    """Run one image through the model and log the answered request, with the drawing
    (what the model saw, a PNG data URL) and the name the class wall shows."""
    call = run_model(x)
    p = call.probabilities[0]
    digit = int(p.argmax())
    served = log_answer(
        cid,
        call.started,
        call.finished,
        digit=digit,
        confidence=float(p[digit]),
        batch_size=call.batch_size,
        batch_id=call.batch_id,
        name=name,
        drawing=drawing,
    )
    return Answer(digit, p, call, served)


# -- routes --------------------------------------------------------------------


@bp.post("/api/predict")
@busy
@describe(body=PredictBody, form=PredictUpload, answer=Prediction, errors=(400, 413, 415, 422))
def predict() -> Prediction:
    """Classify a drawn or uploaded digit: its digit, probabilities, and who answered when"""
    image, fields = image_from_request()
    pixels, extent = preprocess_measured(image)
    model_input = png_data_url(pixels)
    answer = classify(normalize(pixels)[None], fields.client_id, model_input, fields.name)
    p, call = answer.probabilities, answer.call
    return {
        "digit": answer.digit,
        "confidence": round(float(p[answer.digit]), 4),
        "probabilities": [round(float(v), 4) for v in p],
        **verdict_fields(pixels, extent, p),
        "request_id": request_id(),
        "client_id": fields.client_id,
        "worker": worker_info(answer.served),
        "timing": {"received": received(), "started": call.started, "finished": call.finished},
        "batch_size": call.batch_size,
        "batch_id": call.batch_id,
        "model_input": model_input,
    }


def verdict_fields(pixels: np.ndarray, extent: float, p: np.ndarray) -> dict:
    """The answer's "not sure" fields: verdict, and when unsure the reason (words and code) and
    the likeliest digits."""
    q = calibrated_one(p.tolist(), get_model().temperature)
    confidence = max(q)
    reason = unsure_reason(shape(pixels), confidence, extent, margin(q))
    if reason is None:
        return {"verdict": "digit", "calibrated_confidence": round(confidence, 4)}
    likeliest = alternatives(q)
    return {
        "verdict": "unsure",
        "reason": reason_in_words(reason, likeliest),
        "reason_code": reason,
        "alternatives": likeliest,
        "calibrated_confidence": round(confidence, 4),
    }


@bp.post("/inference")
@busy
@describe(
    body=InferenceBody,
    media="text/plain",
    answer={"type": "string", "pattern": "^[0-9]$"},
    errors=(400, 413, 415),
)
def inference():
    """The reference repo's API: a 28×28 list of 0–255 -> the digit as text"""
    pixels = decode.pixels_from_rows(read_json(InferenceBody).images)
    drawing = png_data_url(pixels.round().astype(np.uint8))
    digit = classify(normalize(pixels)[None], None, drawing).digit
    return current_app.response_class(str(digit), mimetype="text/plain")


@bp.get("/api/workers")
@describe(answer=Workers)
def workers() -> Workers:
    """The concurrency settings and every live worker process"""
    config = current_app.config
    mode = MODES[config["MODE"]]
    teacher = is_teacher()
    worker_list = get_workers()
    live = worker_list.live_workers(max_age=LIVE_WORKERS_MAX_AGE)
    return {
        "settings": {
            "mode": config["MODE"],
            "workers": config["WORKERS"],
            "threads": config["THREADS"],
            "worker_class": config["WORKER_CLASS"],
            "runtime": config["RUNTIME"],
            "bind": config["BIND"],
            "host": worker_list.describe_self()["host"],
            "lab": config["LAB"],
            # Whether POST /api/corrections stores (CORRECTIONS=<folder>): the page offers it then.
            "corrections": bool(config.get("CORRECTIONS")),
            # Whether this request carries the teacher's token: the page shows
            # the server's controls (add/remove a worker) only then.
            "teacher": teacher,
            # A token that is not this server's (an old cookie, a restart with a new token).
            "token_refused": not teacher and token_refused(),
            # The teacher's page shows its own address (never cached by nginx: the request
            # carries the token), for the teacher's other devices.
            **({"teacher_address": teacher_address()} if teacher else {}),
            # How much lab work runs at once (webapp/lab_api/limits.py): the page sends no more.
            "lab_max_in_flight": server_cap(teacher),
            "lab_max_per_client": config["LAB_MAX_PER_CLIENT"],
            "lab_max_ms": config["LAB_MAX_MS"],
            "lab_workers": [MIN_WORKERS, MAX_WORKERS],
            # This mode's properties, and every preset: the page copies none of them.
            "can_add_workers": mode.can_add_workers,
            "batches": mode.batches,
            "contrast": mode.contrast,
            "presets": PRESETS,
            # The interpreter: free-threaded Python runs this worker's threads without the GIL.
            **gil.settings(),
        },
        "model": get_model().describe(),
        "answered_by": worker_list.pid,
        "count": len(live),
        "workers": live,
        "machine": get_spare_cores().read(),
        # Whether the store answers (a shared Redis down: the other hosts' workers cannot be
        # listed, which the page must not take for hosts that stopped).
        "log": get_store().status(),
    }


@bp.get("/api/requests")
@describe(query=RequestsQuery, answer=RequestsPage, errors=(400, 414))
def requests_since() -> RequestsPage:
    """Recent answered requests of every client on every worker, oldest first

    A page of the newest `limit` requests after `since` (the server keeps about the last
    1,000), oldest first. `more` is true when older ones after `since` were left out;
    `latest` is the `since` of the next call. A page polls with `since=<latest>`. (414: a
    request line over LIMIT_REQUEST_LINE bytes, refused by gunicorn before the app.)
    """
    query = read_query(RequestsQuery)
    log = get_store()
    log.flush()  # this worker's own latest rows are visible at once
    rows = log.since(query.since, query.client_id, query.limit + 1)  # one more: were older rows left out?
    more = len(rows) > query.limit
    if more:
        del rows[0]
    if not query.drawings:  # only the class wall shows them; every other poll stays small
        rows = [{**row, "drawing": None} for row in rows]
    return {
        "requests": rows,
        "latest": rows[-1]["request_id"] if rows else query.since,
        "count": len(rows),
        "more": more,
        # Whether this worker can store rows (a full disk: no; predictions go on).
        "log": log.status(),
    }
