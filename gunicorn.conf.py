"""gunicorn settings for the MNIST demo: `gunicorn -c gunicorn.conf.py` needs nothing else.

Every value comes from the environment, with the defaults of the reference
blog's `gunicorn app:app --bind=0.0.0.0:2431 -w 4`:

    BIND=0.0.0.0:2431   where to listen
    MODE=processes      a preset of serving/config.py (MODES): processes (4x1), threads (1x4), ...
    WORKERS, THREADS    override the preset's processes and threads per process

See README.md for the rest (RUNTIME, LAB, limits).
"""

import ctypes
import os
import shutil
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The project's packages, importable from whatever folder gunicorn was started in: it reads
# this file before it applies its own `chdir` and `pythonpath` settings.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# serving/, not webapp/: whatever the master imports, every forked worker inherits, and a
# `kill -HUP` reload re-imports only what the master never did. The app (webapp/) is imported
# by each worker, after the fork.
from serving import config as settings  # noqa: E402  (gunicorn takes a name "config" for its setting)
from serving import deadlines, master, state  # noqa: E402

try:  # every setting checked here, at start: a bad one is a clear error, not a worker that fails to boot
    _checked = settings.load(os.environ)
    settings.check_store(_checked["STORE"])  # and the shared store answers
except settings.ConfigError as err:
    sys.exit(f"Error: {err}")
# numpy's BLAS (the numpy runtime's matrix products) uses MODEL_THREADS threads per call, as
# LiteRT does: its default, one spinning thread per core in every worker, made a 1 ms call take
# 80 ms on a busy machine. Set before any worker imports numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(_checked["MODEL_THREADS"]))
_concurrency = settings.concurrency(os.environ)

# -- socket ----------------------------------------------------------------

bind = [_concurrency["bind"]]
# Peers whose X-Forwarded-Proto gunicorn believes (it sets the request's scheme): none. The app
# decides what it believes of a proxy (TRUSTED_PROXIES and PROXY_SECRET_FILE, webapp/tracking.py);
# gunicorn's default, 127.0.0.1, is also every local user's process.
forwarded_allow_ips = ""

# -- workers ---------------------------------------------------------------

wsgi_app = "webapp:create_app()"
chdir = str(ROOT)
workers = _concurrency["workers"]
threads = _concurrency["threads"]
# sync: one request at a time per process; gthread: a thread pool per process,
# both with a deadline on each request (serving/deadlines.py: slow clients);
# gevent: greenlets on one thread, as many at once as worker_connections.
worker_class = deadlines.worker_class(_concurrency["worker_class"])
if _concurrency["worker_class"] == "gevent":
    worker_connections = _concurrency["at_once"]
# Off on purpose: each worker imports the app (and its model runtime) after
# the fork. TensorFlow is not fork-safe once its runtime has started.
preload_app = False
# Static files through write(), not os.sendfile(): an answer's headers then go with its body's
# first bytes (serving/wire.py), never alone.
sendfile = False

# -- limits and timeouts (see README, "Limits") --------------------------------


def _env_int(name, default, low=0, high=10**9):
    """A whole-number setting of gunicorn's own, checked as every other setting (serving/config.py)."""
    try:
        return settings.int_setting(os.environ, name, default, low, high)
    except settings.ConfigError as err:
        sys.exit(f"Error: {err}")


# A worker silent for this long is killed and replaced. The slowest legitimate
# request is a lab workload (<= 200 ms); TensorFlow loads in the background.
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

# Whatever the server creates (request log, metric files, model copies) is
# for its own user only.
os.umask(0o077)
# gunicorn's own umask setting (its unix sockets, worker temp files); --daemon resets the
# process's umask to 022 regardless: on_starting sets it again (master.private_after_daemon).
umask = 0o077
# One private folder per server (it survives a `kill -HUP` reload, which
# re-reads this file): Prometheus' per-process metric files, the request log,
# the checked copy of the model. A named STATE_DIR must be ours and private.
try:
    if not os.environ.get("STATE_DIR"):
        os.environ["STATE_DIR"] = str(state.make_state_dir())
        os.environ["MNIST_STATE_IS_TEMPORARY"] = "1"  # ours to delete on exit
    STATE_DIR = state.check_state_dir(os.environ["STATE_DIR"])
    if os.environ.get("CORRECTIONS", "").strip():  # checked as STATE_DIR: ours, private, no link
        state.check_state_dir(os.environ["CORRECTIONS"].strip(), "CORRECTIONS")
except state.StateError as err:
    sys.exit(f"Error: {err}")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(STATE_DIR / "metrics")
# gunicorn's control socket defaults to one path per user; servers started
# side by side (tests, benchmarks) would fight over it.
control_socket = str(STATE_DIR / "gunicorn.ctl")

# -- logging ---------------------------------------------------------------

loglevel = os.environ.get("LOG_LEVEL", "info")
# Off unless asked for (ACCESS_LOG=- prints it, ACCESS_LOG=<file> writes it): with a class it
# is ~1,000 lines a minute, and the teacher's address printed at start would scroll away.
accesslog = os.environ.get("ACCESS_LOG", "") or None
# Request id, worker pid and duration on every line; the same id is in the JSON answer. The
# path without its query string (%(U)s, not the request line %(r)s): the teacher opens
# /?token=…, and no log file may hold the token.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)sB %(M)sms pid=%(p)s rid=%({x-request-id}o)s'

# -- hooks -----------------------------------------------------------------


def _serve_checked_model(server):
    """Copy models/ into the state folder, check the copy, and have new workers load it."""
    model_dir, runtime = _checked["MODEL_DIR"], _checked["RUNTIME"]
    snapshot = master.snapshot_model(model_dir, STATE_DIR, runtime, ROOT)
    os.environ["MNIST_MODEL_SNAPSHOT"] = str(snapshot)
    master.drop_snapshots(STATE_DIR, keep=snapshot)
    server.log.info("model checked: %s (%s), served from %s", model_dir, runtime, snapshot)


def on_starting(server):
    """Master, before any worker: a clean state folder and a checked model."""
    master.private_after_daemon(server.log)
    master.clean_stale(server.log, keep=STATE_DIR)
    master.record_owner(STATE_DIR, server.pid)
    metrics = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    metrics.mkdir(exist_ok=True)
    for stale in metrics.iterdir():  # a named STATE_DIR, used before
        stale.unlink()
    try:
        _serve_checked_model(server)
        os.environ["LAB_TOKEN"] = master.teacher_token(os.environ.get("LAB_TOKEN", "").strip())
    except state.StateError as err:
        server.log.error("%s", err)
        on_exit(server)  # nothing left behind by a start that failed
        sys.exit(1)
    # The lab's add/remove-a-worker buttons signal the master (TTIN/TTOU). Set
    # here, not above: with --daemon the master's pid changes after this file is read.
    os.environ["GUNICORN_MASTER_PID"] = str(server.pid)
    server.log.info("state in %s", STATE_DIR)


def nworkers_changed(server, new_value, old_value):
    """Master, whenever the pool's size changes (start, TTIN/TTOU, reload): write it down
    for the lab's add/remove buttons (webapp/lab_api), which wait for it."""
    # No lock here: a worker holds it while it waits for this (the write is an atomic rename).
    state.write_pool(STATE_DIR, new_value)


def on_reload(server):
    """Master, on `kill -HUP`, before new workers start: the new model only if it loads."""
    try:
        _serve_checked_model(server)
    except state.StateError as err:
        server.log.error("%s; the workers keep serving the last good model", err)


def when_ready(server):
    server.log.info(
        "mode %s: %d worker process(es) x %d thread(s) on %s",
        _concurrency["mode"],
        server.cfg.workers,
        server.cfg.threads,
        ", ".join(server.cfg.bind),
    )
    if _checked["LAB"]:
        address = state.teacher_address(server.cfg.bind[0], os.environ["LAB_TOKEN"])
        server.log.info(state.TEACHER_LINE, address)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def post_fork(server, worker):
    """Worker: be stopped as soon as the master dies (kill -9), not ~15 s later."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != server.pid:  # the master died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)


def post_worker_init(worker):
    worker.log.info("worker %d ready (model loaded and warm)", worker.pid)


def child_exit(server, worker):
    """Master, after a worker died or stopped: drop it from the live worker list."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
    try:  # its totals kept, in one archive file per kind
        master.fold_dead_worker(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]), worker.pid)
    except OSError as err:  # a full disk: its files stay, read as before
        server.log.warning("could not fold the metrics of worker %s: %s", worker.pid, err)


def on_exit(server):
    if os.environ.get("MNIST_STATE_IS_TEMPORARY"):
        shutil.rmtree(STATE_DIR, ignore_errors=True)
