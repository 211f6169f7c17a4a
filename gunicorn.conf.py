"""gunicorn settings for the MNIST demo: `gunicorn -c gunicorn.conf.py` needs nothing else.

Every value comes from the environment, with the defaults of the reference
blog's `gunicorn app:app --bind=0.0.0.0:2431 -w 4`:

    BIND=0.0.0.0:2431   where to listen
    MODE=processes      processes (4x1) | threads (1x4) | single (1x1) | hybrid (2x2) | batched
    WORKERS, THREADS    override the preset's processes and threads per process

See README.md for the rest (RUNTIME, LAB, limits).
"""

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from gunicorn import util as gunicorn_util

ROOT = Path(__file__).resolve().parent


def _app_module(name):
    # Read webapp/<name>.py as a file, without importing the webapp package:
    # whatever the master imports, every forked worker inherits, and a
    # `kill -HUP` reload could then not pick up changed app code.
    spec = importlib.util.spec_from_file_location(f"_mnist_{name}", ROOT / "webapp" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_concurrency = _app_module("config").concurrency(os.environ)

# -- socket ----------------------------------------------------------------

bind = [_concurrency["bind"]]

# -- workers ---------------------------------------------------------------

wsgi_app = "webapp:create_app()"
chdir = str(ROOT)
workers = _concurrency["workers"]
threads = _concurrency["threads"]
# sync: one request at a time per process; gthread: a thread pool per process.
worker_class = _concurrency["worker_class"]
# Off on purpose: each worker imports the app (and its model runtime) after
# the fork. TensorFlow is not fork-safe once its runtime has started.
preload_app = False

# -- limits and timeouts (see README, "Limits") --------------------------------


def _env_int(name, default):
    return int(os.environ.get(name, "").strip() or default)


# A worker silent for this long is killed and replaced. The slowest legitimate
# request is a lab workload (<= 200 ms) or a first TensorFlow load (~3 s).
timeout = _env_int("TIMEOUT", 30)
# On SIGTERM/SIGHUP, in-flight requests get this long to finish.
graceful_timeout = _env_int("GRACEFUL_TIMEOUT", 10)
# Recycle a worker after this many requests (+ up to jitter, so they do not all
# restart at once): a slow leak cannot grow forever. 0 turns it off. A restart
# stalls a one-worker server for ~0.2 s (the new worker loads the model), so
# not too often: at a saturating 1,600 req/s, 20,000 came round every 12 s.
max_requests = _env_int("MAX_REQUESTS", 100000)
max_requests_jitter = _env_int("MAX_REQUESTS_JITTER", 10000)
# Our URLs are short and our clients send few headers; refuse anything larger
# before the app sees it (gunicorn answers 400).
limit_request_line = _env_int("LIMIT_REQUEST_LINE", 2048)
limit_request_fields = _env_int("LIMIT_REQUEST_FIELDS", 50)
limit_request_field_size = _env_int("LIMIT_REQUEST_FIELD_SIZE", 8190)

# -- state shared by the workers of this server --------------------------------

# One folder per master (it survives a `kill -HUP` reload, which keeps the
# master's pid): Prometheus' per-process metric files and the request log.
if not os.environ.get("STATE_DIR"):
    os.environ["STATE_DIR"] = os.path.join(tempfile.gettempdir(), f"mnist-serving-{os.getpid()}")
    os.environ["MNIST_STATE_IS_TEMPORARY"] = "1"  # ours to delete on exit
STATE_DIR = os.environ["STATE_DIR"]
os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(STATE_DIR, "metrics")
# gunicorn's control socket defaults to one path per user; servers started
# side by side (tests, benchmarks) would fight over it.
control_socket = os.path.join(STATE_DIR, "gunicorn.ctl")

# -- logging ---------------------------------------------------------------

loglevel = os.environ.get("LOG_LEVEL", "info")
accesslog = os.environ.get("ACCESS_LOG", "-") or None
# Request id, worker pid and duration on every line; the same id is in the JSON answer.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)sB %(M)sms pid=%(p)s rid=%({x-request-id}o)s'

# -- gunicorn's own errors as the API's JSON --------------------------------------
# A request line or header over the limits above never reaches Flask: gunicorn
# answers it. Make that answer the same JSON error as every other one.


def _write_json_error(sock, status_int, reason, mesg):
    code = reason.lower().replace(" ", "_")
    body = json.dumps({"error": {"code": code, "message": f"{reason}: {mesg}"}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn_util.write_nonblock(sock, head.encode("latin1") + body)


gunicorn_util.write_error = _write_json_error

# -- hooks -----------------------------------------------------------------


def on_starting(server):
    """Master, before any worker: a clean state folder for this server."""
    metrics = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(metrics, ignore_errors=True)
    os.makedirs(metrics, exist_ok=True)
    # The request log is created once, here: workers booting together would
    # otherwise race to switch it to WAL mode.
    _app_module("requestlog").create(Path(STATE_DIR) / "requests.sqlite")
    # The lab's add/remove-a-worker buttons signal the master (TTIN/TTOU). Set
    # here, not above: with --daemon the master's pid changes after this file is read.
    os.environ["GUNICORN_MASTER_PID"] = str(server.pid)
    server.log.info("state in %s", STATE_DIR)


def when_ready(server):
    server.log.info(
        "mode %s: %d worker process(es) x %d thread(s) on %s",
        _concurrency["mode"],
        server.cfg.workers,
        server.cfg.threads,
        ", ".join(server.cfg.bind),
    )


def post_worker_init(worker):
    worker.log.info("worker %d ready (model loaded and warm)", worker.pid)


def child_exit(server, worker):
    """Master, after a worker died or stopped: drop it from the live worker list."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ.get("MNIST_STATE_IS_TEMPORARY"):
        shutil.rmtree(STATE_DIR, ignore_errors=True)
