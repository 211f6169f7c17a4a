"""Every live worker of this server, whichever worker is asked, and /metrics.

Each gunicorn worker keeps its figures in Prometheus' multiprocess files (one
small mmap file per process in PROMETHEUS_MULTIPROC_DIR): requests served,
requests in flight, start and last-request times. Any worker can read all of
them, so /api/workers answers the same wherever it lands. A request only
changes Python numbers; a thread of each worker writes them to the files within
PUBLISH_EVERY seconds (an mmap write costs a few µs, and a request made seven).
The master removes a dead worker's live figures (``mark_process_dead`` in
gunicorn.conf.py), so it drops off the list. CPU, memory and thread counts come
from the OS (psutil).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from types import MappingProxyType

import psutil
from flask import Flask, current_app, request

log = logging.getLogger(__name__)

HOST = socket.gethostname()
# Routes that run the model (or lab work): they make a worker "busy".
WORK_ROUTES = {"/api/predict", "/inference", "/api/lab/work"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_STATS_TTL = 1.0  # seconds a worker's CPU/memory reading is reused
PUBLISH_EVERY = 0.05  # seconds a change may wait to reach the metric files
_ID, _RECEIVED = "mnist.request_id", "mnist.received"  # set in each request's WSGI environ
# Methods /metrics names; any other is counted as "other".
_METHOD_LABELS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


class Registry:
    """This process's counters, and a reader of every live worker's."""

    def __init__(self, metrics_dir: str):
        self.metrics_dir = metrics_dir
        self.pid = os.getpid()
        self.started = time.time()
        self._served = itertools.count(1)
        # Request ids: 16 random hex digits for this process, then a counter.
        # Unique across workers and restarts, without a urandom call per request.
        self._id_prefix = secrets.token_hex(8)
        self._ids = itertools.count(1)
        self._stats_cache: dict[int, tuple[float, dict]] = {}
        self._live_cache: tuple[float, list[dict]] | None = None
        self._in_flight = 0
        self._served_count = 0
        self._last_request: float | None = None
        self._this_thread = threading.local()
        # Changes not yet in the metric files: answers by (route, method,
        # status) and (route, seconds) of each; guarded by _lock.
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str, int], int] = {}
        self._durations: list[tuple[str, float]] = []
        self._changed = threading.Event()
        self._publishing = threading.Lock()  # one publish() at a time: figures never go back
        self._counters: dict[tuple[str, str, int], object] = {}  # metric children, by labels
        self._histograms: dict[str, object] = {}
        self.shared = True  # False once the metric files cannot be written (a full disk)
        try:
            self._make_metrics()
        except OSError as err:
            self._stop_sharing(err)
        threading.Thread(target=self._publish_forever, name="metrics", daemon=True).start()
        atexit.register(self.publish)

    def _make_metrics(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        live = {"registry": None, "multiprocess_mode": "liveall"}
        self.g_started = Gauge("mnist_worker_started_seconds", "Worker start time", **live)
        self.g_served = Gauge("mnist_worker_requests", "Model requests served", **live)
        self.g_in_flight = Gauge("mnist_worker_in_flight", "Model requests in progress", **live)
        self.g_last = Gauge("mnist_worker_last_request_seconds", "Last model request time", **live)
        self.g_ready = Gauge("mnist_worker_ready", "1 once the model is warm", **live)
        self.requests = Counter(
            "mnist_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=None
        )
        self.latency = Histogram(
            "mnist_http_request_duration_seconds",
            "Time from request received to answer",
            ["route"],
            registry=None,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.g_started.set(self.started)
        self.g_served.set(0)
        self.g_in_flight.set(0)

    def _stop_sharing(self, err: OSError) -> None:
        """The metric files cannot be written: serve on, without them (said once)."""
        if self.shared:
            self.shared = False
            log.warning(
                "pid %d cannot write its metric files in %s (%s): it keeps answering, but is left "
                "out of the worker list and /metrics until it restarts",
                self.pid,
                self.metrics_dir,
                err.strerror or err,
            )

    def set_ready(self) -> None:
        """The model is loaded and warm: say so in the worker list."""
        if self.shared:
            try:
                self.g_ready.set(1)
            except OSError as err:
                self._stop_sharing(err)

    # -- this worker ---------------------------------------------------------

    def in_flight(self) -> int:
        """Model requests this process is handling right now (all its threads)."""
        return self._in_flight

    def _count_in_flight(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta
        self._change()

    def new_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):016x}"

    def served_one(self) -> int:
        """Count one model request served by this worker; return the new total."""
        self._last_request = time.time()
        self._served_count = n = next(self._served)
        return n

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request of any route, and how long it took."""
        key = (route, method, status)
        with self._lock:
            self._answers[key] = self._answers.get(key, 0) + 1
            self._durations.append((route, seconds))
        self._change()

    def _change(self) -> None:
        if not self._changed.is_set():
            self._changed.set()

    def _publish_forever(self) -> None:
        while True:
            self._changed.wait()
            time.sleep(PUBLISH_EVERY)  # let the next requests' changes join in
            self._changed.clear()
            self.publish()

    def publish(self) -> None:
        """Write this worker's figures to the metric files now."""
        if not self.shared:
            with self._lock:  # nowhere to write them: do not keep them either
                self._answers, self._durations = {}, []
            return
        try:
            self._publish()
        except OSError as err:
            self._stop_sharing(err)

    def _publish(self) -> None:
        with self._publishing:
            with self._lock:
                answers, self._answers = self._answers, {}
                durations, self._durations = self._durations, []
                in_flight, served, last = self._in_flight, self._served_count, self._last_request
            for (route, method, status), count in answers.items():
                counter = self._counters.get((route, method, status))
                if counter is None:
                    counter = self._counters[route, method, status] = self.requests.labels(
                        route, method, str(status)
                    )
                counter.inc(count)
            for route, seconds in durations:
                histogram = self._histograms.get(route)
                if histogram is None:
                    histogram = self._histograms[route] = self.latency.labels(route)
                histogram.observe(seconds)
            self.g_in_flight.set(in_flight)
            self.g_served.set(served)
            if last is not None:
                self.g_last.set(last)

    def describe_self(self) -> Mapping:
        """pid, thread name and id, host and start of this worker and thread (read-only)."""
        described = getattr(self._this_thread, "described", None)
        if described is None:  # once per thread: none of it changes
            described = self._this_thread.described = MappingProxyType(
                {
                    "pid": self.pid,
                    "thread": threading.current_thread().name,
                    "thread_id": threading.get_native_id(),
                    "host": HOST,
                    "started": round(self.started, 3),
                }
            )
        return described

    # -- every worker --------------------------------------------------------

    def live_workers(self, max_age: float = 0.0) -> list[dict]:
        """Every live worker: pid, start, requests, busy, last request, CPU, memory, threads.

        With max_age, a list this worker read less than max_age seconds ago is
        reused: a classroom of pages polling every second then costs a few reads
        a second per worker, not one per poll.
        """
        cached = self._live_cache
        if max_age and cached and time.monotonic() - cached[0] < max_age:
            return cached[1]
        workers = self._read_live_workers()
        self._live_cache = (time.monotonic(), workers)
        return workers

    def _read_live_workers(self) -> list[dict]:
        self.publish()  # this worker's own figures as they are now
        by_pid: dict[int, dict] = {}
        for metric in merge_metric_files(self.metrics_dir, "gauge_liveall_*.db", accumulate=False):
            for sample in metric.samples:
                pid = int(sample.labels.get("pid", 0))
                by_pid.setdefault(pid, {})[sample.name] = sample.value
        workers = []
        for pid, values in sorted(by_pid.items()):
            stats = self._process_stats(pid)
            if stats is None:  # gone, and the master has not reaped it yet
                continue
            in_flight = int(values.get("mnist_worker_in_flight", 0))
            last = values.get("mnist_worker_last_request_seconds")
            workers.append(
                {
                    "pid": pid,
                    "started": round(values.get("mnist_worker_started_seconds", 0.0), 3),
                    "requests": int(values.get("mnist_worker_requests", 0)),
                    "in_flight": in_flight,
                    "busy": in_flight > 0,
                    "ready": bool(values.get("mnist_worker_ready", 0)),
                    "last_request": round(last, 3) if last else None,
                    **stats,
                }
            )
        return workers

    def _process_stats(self, pid: int) -> dict | None:
        now = time.monotonic()
        cached = self._stats_cache.get(pid)
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:  # dead, not yet reaped by the master
                raise psutil.ZombieProcess(pid)
            if cached and now - cached[0] < _STATS_TTL:
                return cached[1]
            with proc.oneshot():
                cpu = proc.cpu_times()
                try:
                    memory = proc.memory_full_info()  # PSS needs smaps: Linux only
                except (psutil.AccessDenied, NotImplementedError):
                    memory = proc.memory_info()
                stats = {
                    "cpu_seconds": round(cpu.user + cpu.system, 3),
                    "rss_bytes": memory.rss,
                    "pss_bytes": getattr(memory, "pss", None),
                    "threads": proc.num_threads(),
                }
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            self._stats_cache.pop(pid, None)
            return None
        self._stats_cache[pid] = (now, stats)
        return stats

    def metrics_text(self) -> tuple[bytes, str]:
        """Prometheus text format, summed over every worker (dead ones' counters included)."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        self.publish()  # this worker's own latest figures; the others' are at most PUBLISH_EVERY old
        registry = CollectorRegistry()
        registry.register(_FilesCollector(self.metrics_dir))
        return generate_latest(registry), CONTENT_TYPE_LATEST


class _FilesCollector:
    """Every worker's metric files, summed (prometheus_client's MultiProcessCollector,
    minus the files it cannot read)."""

    def __init__(self, metrics_dir: str):
        self.metrics_dir = metrics_dir

    def collect(self):
        return merge_metric_files(self.metrics_dir, "*.db", accumulate=True)


def merge_metric_files(metrics_dir: str, pattern: str, accumulate: bool) -> list:
    """The metrics of the files matching pattern, merged; a damaged file is set aside.

    A file that cannot be read (cut short by a full disk or a crash) would
    otherwise fail every /api/workers and /metrics from then on: it is renamed
    to *.damaged, with one log line, and the rest are read.
    """
    from prometheus_client.multiprocess import MultiProcessCollector

    files = glob.glob(os.path.join(metrics_dir, pattern))
    try:
        return MultiProcessCollector.merge(files, accumulate=accumulate)
    except Exception:  # noqa: BLE001 - whatever a damaged file raises (struct, JSON, Unicode)
        pass
    readable = []
    for path in files:
        try:
            MultiProcessCollector.merge([path], accumulate=accumulate)
            readable.append(path)
        except FileNotFoundError:
            pass  # a dead worker's, removed meanwhile
        except Exception as err:  # noqa: BLE001
            log.warning("metric file %s cannot be read (%s): set aside as .damaged", path, err)
            with contextlib.suppress(OSError):
                os.replace(path, path + ".damaged")
    return MultiProcessCollector.merge(readable, accumulate=accumulate)


def _preallocate_metric_files() -> None:
    """Have prometheus_client reserve each metric file's disk blocks before writing them.

    It creates a sparse 1 MB file and writes into it through the mapping; on a
    full disk the first write to an unallocated page is SIGBUS, and the worker
    dies (again at every restart). posix_fallocate() fails with ENOSPC instead,
    which Registry turns into "serve on, without metric files". Growing past
    1 MB would be sparse again, but the labels are a closed set (routes,
    methods, statuses): our files stay far smaller.

    Imported here, not at the top: prometheus_client picks its multiprocess
    mode when first imported, once PROMETHEUS_MULTIPROC_DIR is set.
    """
    from prometheus_client import values
    from prometheus_client.mmap_dict import _INITIAL_MMAP_SIZE, MmapedDict

    class PreallocatedFile(MmapedDict):
        def __init__(self, filename, read_mode=False):
            if not read_mode:
                fd = os.open(filename, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                try:
                    if os.fstat(fd).st_size == 0:
                        os.posix_fallocate(fd, 0, _INITIAL_MMAP_SIZE)
                finally:
                    os.close(fd)
            super().__init__(filename, read_mode)

    values.MmapedDict = PreallocatedFile  # the name prometheus_client's values open files by


def _ensure_metrics_dir() -> str:
    """gunicorn.conf.py makes one per server; outside gunicorn, make our own."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="mnist-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        atexit.register(_remove_metrics_dir, path)
    os.makedirs(path, exist_ok=True)
    return path


def _remove_metrics_dir(path: str) -> None:
    from prometheus_client.values import close_all_multiprocess_files

    close_all_multiprocess_files()  # else each open file is a ResourceWarning at exit
    shutil.rmtree(path, ignore_errors=True)


def init_app(app: Flask) -> Registry:
    """Create this worker's registry and count every request in it."""
    metrics_dir = _ensure_metrics_dir()
    _preallocate_metric_files()
    registry = Registry(metrics_dir)
    app.extensions["workers"] = registry
    app.wsgi_app = tracked(app.wsgi_app, registry, app.config["TRUSTED_PROXIES"])

    @app.after_request
    def _answered(response):
        # Here, not in tracked(): the route (Flask's matched rule) is known
        # only while the request is open.
        this = request._get_current_object()  # one proxy lookup, not three
        rule = this.url_rule
        method = this.method
        registry.answered(
            rule.rule if rule else "unmatched",
            # gunicorn takes any token as a method: a label per token would be a
            # new series forever, so labels come from a closed set.
            method if method in _METHOD_LABELS else "other",
            response.status_code,
            time.time() - this.environ[_RECEIVED],
        )
        return response

    return registry


def tracked(wsgi_app, registry: Registry, trusted_proxies: frozenset[str] = frozenset()):
    """WSGI middleware: every request's id and arrival, and the model requests in flight.

    Around the app rather than in Flask hooks: a request with a model call is
    counted out whatever happens inside, and the id is on every answer.
    """

    def app(environ, start_response):
        environ[_RECEIVED] = time.time()
        # A new id, or a trusted proxy's X-Request-ID (nginx makes unique ones);
        # echoed back, written in the access log and in the JSON answer. A
        # client's own id is not taken: ids must stay unique in the request log,
        # whose readers page by them.
        incoming = environ.get("HTTP_X_REQUEST_ID") if environ.get("REMOTE_ADDR") in trusted_proxies else None
        request_id = incoming if incoming and _REQUEST_ID.fullmatch(incoming) else registry.new_request_id()
        environ[_ID] = request_id

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        if environ.get("PATH_INFO") not in WORK_ROUTES:
            return wsgi_app(environ, start)
        registry._count_in_flight(1)
        try:
            return wsgi_app(environ, start)
        finally:
            registry._count_in_flight(-1)

    return app


def request_id() -> str:
    """This request's id (the caller's X-Request-ID if it was sane)."""
    return request.environ[_ID]


def received() -> float:
    """When this request reached the app: server clock, Unix epoch seconds."""
    return request.environ[_RECEIVED]


def get_registry(app: Flask | None = None) -> Registry:
    """This worker's registry (of ``app``, else of the app handling this request)."""
    return (app or current_app).extensions["workers"]
