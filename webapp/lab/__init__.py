"""The teaching lab's workloads: POST /api/lab/work {"kind": ..., "ms": N}.

- ``python``: about N ms of pure-Python CPU, holding the GIL all along.
- ``io``: sleeps N ms, as a thread waiting on a database or disk would (no GIL held).
- ``tensorflow``: the real model in TensorFlow, on a batch sized to take about N ms
  alone; TensorFlow releases the GIL while it computes.

Each answers with the same ``worker`` and ``timing`` as /api/predict, plus the
CPU time it used, so a burst shows who ran in parallel and who took turns.
Off with LAB=0 (404), capped at LAB_MAX_MS.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
from flask import Blueprint, current_app

from ..api import client_id, json_body, log_answer, worker_info
from ..errors import ApiError
from ..model import INPUT_SHAPE, Model
from ..workers import received, registry_of, request_id

bp = Blueprint("lab", __name__)

KINDS = ("python", "io", "tensorflow")
_tf_lock = threading.Lock()


def burn_python(ms: float) -> None:
    """Pure-Python arithmetic until this thread has used `ms` of CPU.

    Counting this thread's CPU time, not the clock, keeps the work the same
    however many threads take turns at the GIL: two at once take twice as long.
    """
    end = time.thread_time() + ms / 1000
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x += i * i


def tensorflow_model() -> tuple[Model, float]:
    """This worker's TensorFlow model and its seconds per image, loaded on first use."""
    extensions = current_app.extensions
    with _tf_lock:
        if "lab_tf" not in extensions:
            config = current_app.config
            model = Model(
                "tensorflow",
                config["MODEL_DIR"],
                intra_op=config["TF_INTRA_OP"],
                inter_op=config["TF_INTER_OP"],
            )
            model.load().warm_up()
            # Calibrate alone, once: the batch that takes N ms is N / (ms per image).
            batch = np.zeros((256, *INPUT_SHAPE), np.float32)
            model.predict(batch)
            started = time.perf_counter()
            for _ in range(3):
                model.predict(batch)
            extensions["lab_tf"] = (model, (time.perf_counter() - started) / 3 / len(batch))
    return extensions["lab_tf"]


def run_tensorflow(ms: float) -> int:
    model, per_image = tensorflow_model()
    size = int(np.clip(round(ms / 1000 / per_image), 1, 65536))
    model.predict(np.zeros((size, *INPUT_SHAPE), np.float32))
    return size


@bp.post("/api/lab/work")
def work():
    """Run one lab workload and say who ran it, when, and for how much CPU."""
    if not current_app.config["LAB"]:
        raise ApiError("lab_off", "The lab is switched off on this server (LAB=0).", 404)
    body = json_body()
    kind, ms = body.get("kind"), body.get("ms")
    if kind not in KINDS:
        raise ApiError("bad_kind", "'kind' must be one of 'python', 'io' or 'tensorflow'.")
    cap = current_app.config["LAB_MAX_MS"]
    if type(ms) not in (int, float) or not 0 <= ms <= cap:
        raise ApiError("bad_ms", f"'ms' must be a number of milliseconds from 0 to {cap}.")
    cid = client_id(body.get("client_id"))
    if kind == "tensorflow":
        tensorflow_model()  # a first call loads TensorFlow: not part of the timed work
    thread_cpu, process_cpu = time.thread_time(), time.process_time()
    started = time.time()
    batch = None
    if kind == "python":
        burn_python(ms)
    elif kind == "io":
        time.sleep(ms / 1000)
    else:
        batch = run_tensorflow(ms)
    finished = time.time()
    served = log_answer(cid, started, finished, kind=kind, batch_size=batch)
    return {
        "kind": kind,
        "ms": ms,
        "request_id": request_id(),
        "worker": worker_info(served),
        "timing": {"received": received(), "started": started, "finished": finished},
        "cpu_seconds": round(time.process_time() - process_cpu, 6),
        "thread_cpu_seconds": round(time.thread_time() - thread_cpu, 6),
        "batch_size": batch,
    }


MIN_WORKERS, MAX_WORKERS = 1, 8


@bp.post("/api/lab/workers")
def scale_workers():
    """Add or remove one worker process live: gunicorn's TTIN / TTOU to the master."""
    if not current_app.config["LAB"]:
        raise ApiError("lab_off", "The lab is switched off on this server (LAB=0).", 404)
    action = json_body().get("action")
    if action not in ("add", "remove"):
        raise ApiError("bad_action", "'action' must be 'add' or 'remove'.")
    master = int(os.environ.get("GUNICORN_MASTER_PID", "0"))
    if not master or current_app.config["THREADS"] > 1 and current_app.config["MODE"] != "hybrid":
        raise ApiError(
            "not_scalable",
            "Workers can be added or removed only in process modes under gunicorn "
            "(MODE=processes or hybrid).",
            409,
        )
    count = len(registry_of(current_app).live_workers())
    target = count + 1 if action == "add" else count - 1
    if not MIN_WORKERS <= target <= MAX_WORKERS:
        raise ApiError(
            "worker_limit",
            f"The lab keeps between {MIN_WORKERS} and {MAX_WORKERS} workers; there are {count}.",
            409,
        )
    os.kill(master, signal.SIGTTIN if action == "add" else signal.SIGTTOU)
    return {"action": action, "workers": count, "target": target, "master_pid": master}, 202
