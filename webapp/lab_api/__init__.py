"""The teaching lab's workloads: POST /api/lab/work {"kind": ..., "ms": N}.

- ``python``: about N ms of pure-Python CPU, holding the GIL all along (free-threaded
  Python: no GIL, several run at once in one process).
- ``io``: sleeps N ms, as a thread waiting on a database or disk would (no GIL held).
- ``tensorflow``: the real model in TensorFlow, on a batch sized to take about N ms
  alone; TensorFlow releases the GIL while it computes. Not on free-threaded Python
  (TensorFlow has no build for it): a 409 says so.

Each answers with the same ``worker`` and ``timing`` as /api/predict, plus the
CPU time it used, so a burst shows who ran in parallel and who took turns.
Off with LAB=0 (404), capped at LAB_MAX_MS.
"""

from __future__ import annotations

import logging
import os
import platform
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
from flask import Blueprint, current_app

from serving import config as settings
from serving import state
from serving.config import FREE_THREADED_BUILD, MAX_WORKERS, MIN_WORKERS, MODES

from ..answers import log_answer, worker_info
from ..errors import ApiError
from ..model import INPUT_SHAPE, Model
from ..openapi import describe
from ..parsing import read_json
from ..schemas import LabWork, LabWorkBody, LabWorkersBody, ScaleAnswer
from ..teacher import is_teacher
from ..tracking import busy, received, request_id
from ..workers import get_workers
from .burn import burn_python
from .limits import lab_slot

log = logging.getLogger(__name__)

bp = Blueprint("lab", __name__)

_tf_lock = threading.Lock()


POOL_CHANGE_TIMEOUT = 5.0  # seconds the master may take to handle TTIN/TTOU


def tensorflow_model() -> tuple[Model, float]:
    """This worker's TensorFlow model and its seconds per image; 503 while it loads, 409 without it.

    Importing TensorFlow takes seconds (tens on a busy machine): inside a
    request it would silence a sync worker's heartbeat until gunicorn's
    timeout killed it. So the first request starts the load in a background
    thread and is told to come back (503, Retry-After); the workers of a server
    load one at a time (a lock in the state folder), so a burst landing on all
    of them does not load four TensorFlows at once on two cores.
    """
    if not tensorflow_installed():
        why = (
            "it has no build for free-threaded Python"
            if FREE_THREADED_BUILD
            else "it is not installed (the default container image leaves it out to stay small: "
            "run the image built with --build-arg WITH_TENSORFLOW=1, or make run)"
        )
        raise ApiError(
            "tensorflow_missing",
            f"No TensorFlow in this server's Python {platform.python_version()}: {why}. "
            "The 'python' and 'io' workloads run here.",
            409,
        )
    app = current_app._get_current_object()
    with _tf_lock:
        loaded = app.extensions.get("lab_tf")
        if loaded is not None:
            return loaded
        if not _tf_loader["started"]:
            _tf_loader["started"] = True
            _in_an_os_thread(_load_tensorflow, app)
        waiting = _tf_loader["waiting"]
    pid = os.getpid()
    raise ApiError(
        "tensorflow_loading",
        f"Waiting for another worker to load TensorFlow before worker {pid} loads it."
        if waiting
        else f"Loading TensorFlow in worker {pid} (a few seconds, once per worker); try again in a moment.",
        503,
        retry_after=1,
        worker=pid,
    )


def tensorflow_installed() -> bool:
    """Whether this Python has TensorFlow at all (the server's own model runs without it)."""
    return settings.importable(settings.NEEDS["tensorflow"])


# started: a load is under way; waiting: another worker is loading first. Plain
# assignments only outside _tf_lock: the loader may run in an OS thread under
# gevent, where _tf_lock is a greenlet lock.
_tf_loader: dict = {"started": False, "waiting": False}


def _in_an_os_thread(target, *args) -> None:
    """Run target in a thread of the operating system, beside the requests.

    Under gevent's worker (MODE=async) threading.Thread makes a greenlet, and
    TensorFlow's seconds of import would stop the event loop, heartbeat
    included: there, gevent's pool of real threads runs it.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        # TensorFlow's import asks platform for the processor, which runs `uname -p`;
        # gevent's subprocess works only on the event loop's thread: ask it here, once.
        platform.processor()
        gevent.get_hub().threadpool.spawn(target, *args)
    else:
        threading.Thread(target=target, args=args, name="tensorflow-load", daemon=True).start()


def _wait_for_another() -> None:
    _tf_loader["waiting"] = True


def _load_tensorflow(app) -> None:
    config = app.config
    try:
        with state.server_lock(Path(config["STATE_DIR"]), "tensorflow", on_wait=_wait_for_another):
            _tf_loader["waiting"] = False
            log.info("pid %d: loading TensorFlow for the lab", os.getpid())
            model = Model(
                "tensorflow",
                config["SERVED_MODEL_DIR"],
                intra_op=config["TF_INTRA_OP"],
                inter_op=config["TF_INTER_OP"],
            )
            model.load().warm_up()
            # Calibrate alone, once: the batch that takes N ms is N / (ms per image).
            batch = np.zeros((256, *INPUT_SHAPE), np.float32)
            model.probabilities(batch)
            started = time.perf_counter()
            for _ in range(3):
                model.probabilities(batch)
            per_image = (time.perf_counter() - started) / 3 / len(batch)
        app.extensions["lab_tf"] = (model, per_image)
    except Exception:  # noqa: BLE001 - said in the log; the next request tries again
        log.exception("pid %d could not load TensorFlow for the lab", os.getpid())
        _tf_loader.update(started=False, waiting=False)


def run_tensorflow(ms: float) -> int:
    model, per_image = tensorflow_model()
    size = int(np.clip(round(ms / 1000 / per_image), 1, 65536))
    model.probabilities(np.zeros((size, *INPUT_SHAPE), np.float32))
    return size


@bp.post("/api/lab/work")
@busy
@describe(body=LabWorkBody, answer=LabWork, errors=(400, 404, 409, 415, 429, 503))
def work() -> LabWork:
    """Run a lab workload: python (holds the GIL), io (sleeps) or tensorflow

    Answers who ran it, when, and for how much CPU.
    """
    if not current_app.config["LAB"]:
        raise ApiError("lab_off", "The lab is switched off on this server (LAB=0).", 404)
    body = read_json(LabWorkBody)
    kind, ms, cid = body.kind, body.ms, body.client_id
    cap = current_app.config["LAB_MAX_MS"]
    if ms > cap:
        raise ApiError("bad_ms", f"'ms' must be a number of milliseconds from 0 to {cap}.")
    if kind == "tensorflow":
        tensorflow_model()  # 503 while this worker loads TensorFlow
    with lab_slot(is_teacher()):
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
    answer = {
        "kind": kind,
        "ms": ms,
        "request_id": request_id(),
        "worker": worker_info(served),
        "timing": {"received": received(), "started": started, "finished": finished},
        "cpu_seconds": round(time.process_time() - process_cpu, 6),
        "thread_cpu_seconds": round(time.thread_time() - thread_cpu, 6),
        "batch_size": batch,
    }
    if kind == "tensorflow":
        # This worker's TensorFlow pools: they decide whether two calls of one process overlap.
        config = current_app.config
        answer["tf_pools"] = {"intra_op": config["TF_INTRA_OP"], "inter_op": config["TF_INTER_OP"]}
    return answer


@bp.post("/api/lab/workers")
@describe(body=LabWorkersBody, answer=ScaleAnswer, status=202, errors=(400, 403, 404, 409, 415, 503))
def scale_workers() -> tuple[ScaleAnswer, int]:
    """Add or remove one worker process (gunicorn TTIN/TTOU), 1–8: answers once the master took it"""
    if not current_app.config["LAB"]:
        raise ApiError("lab_off", "The lab is switched off on this server (LAB=0).", 404)
    action = read_json(LabWorkersBody).action
    if not is_teacher():
        raise ApiError(
            "not_teacher",
            "Adding or removing workers is the teacher's: open the address with ?token= that the "
            "server printed at start (or send 'Authorization: Bearer <token>').",
            403,
        )
    config = current_app.config
    master_pid = int(os.environ.get("GUNICORN_MASTER_PID", "0"))
    if not master_pid or not MODES[config["MODE"]].can_add_workers:
        raise ApiError(
            "not_scalable",
            "Workers can be added or removed only under gunicorn, in the modes whose processes "
            f"are the point: MODE={' or '.join(n for n, m in MODES.items() if m.can_add_workers)}.",
            409,
        )
    # Count the pool's size as the master has it, not the workers that have
    # registered (a new one takes a second to show up), one change at a time:
    # under the lock, signal the master and wait until it has taken the change.
    # Two signals sent at once would merge into one (POSIX does not queue them).
    state_dir = Path(config["STATE_DIR"])
    with state.server_lock(state_dir, "pool"):
        size = state.read_pool(state_dir, config["WORKERS"])
        target = size + 1 if action == "add" else size - 1
        if not MIN_WORKERS <= target <= MAX_WORKERS:
            raise ApiError(
                "worker_limit",
                f"The lab keeps between {MIN_WORKERS} and {MAX_WORKERS} workers; there are {size}.",
                409,
            )
        os.kill(master_pid, signal.SIGTTIN if action == "add" else signal.SIGTTOU)
        if not state.wait_for_pool(state_dir, target, timeout=POOL_CHANGE_TIMEOUT):
            raise ApiError(
                "no_answer", "The gunicorn master did not take the change; try again.", 503, retry_after=1
            )
    workers = get_workers()  # this host's: the pool that changed
    live = len([w for w in workers.live_workers() if w.get("host", workers.host) == workers.host])
    host = workers.host
    return {"action": action, "workers": live, "target": target, "master_pid": master_pid, "host": host}, 202
