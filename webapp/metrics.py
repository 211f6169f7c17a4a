"""This worker's figures, shared with every worker through Prometheus' files, and /metrics.

Each gunicorn worker keeps its figures in Prometheus' multiprocess files (one
small mmap file per process in PROMETHEUS_MULTIPROC_DIR): requests served,
requests in flight, start and last-request times, answers by route, method and
status. Any worker can read all of them (webapp/workers.py lists the live
workers from them; /metrics sums them). A request only changes Python numbers;
a thread of each worker writes them to the files within PUBLISH_EVERY seconds
(an mmap write costs a few µs, and a request made seven). The master removes a
dead worker's live figures (``mark_process_dead`` in gunicorn.conf.py).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import logging
import os
import shutil
import tempfile
import threading
import time

from flask import Flask, current_app, request

from . import tracking

log = logging.getLogger(__name__)

PUBLISH_EVERY = 0.05  # seconds a change may wait to reach the metric files
# Methods /metrics names; any other is counted as "other".
_METHOD_LABELS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


class WorkerMetrics:
    """This process's counters, published to its metric files by a thread of its own."""

    def __init__(self, metrics_dir: str, host: str):
        self.metrics_dir, self.host = metrics_dir, host
        self.pid = os.getpid()
        self.started = time.time()
        self._served = itertools.count(1)
        self._in_flight = 0
        self._served_count = 0
        self._last_request: float | None = None
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
        self.ready = False  # the model is loaded and warm
        try:
            self._make_metrics()
        except OSError as err:
            self._stop_sharing(err)
        threading.Thread(target=self._publish_forever, name="metrics", daemon=True).start()
        atexit.register(self.publish)

    def _make_metrics(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        # Every series names its host (HOST_NAME) beside the pid prometheus_client adds.
        live = {"labelnames": ["host"], "registry": None, "multiprocess_mode": "liveall"}
        host = self.host
        self.g_started = Gauge("mnist_worker_started_seconds", "Worker start time", **live).labels(host)
        self.g_served = Gauge("mnist_worker_requests", "Model requests served", **live).labels(host)
        self.g_in_flight = Gauge("mnist_worker_in_flight", "Model requests in progress", **live).labels(host)
        self.g_last = Gauge("mnist_worker_last_request_seconds", "Last model request time", **live).labels(
            host
        )
        self.g_ready = Gauge("mnist_worker_ready", "1 once the model is warm", **live).labels(host)
        self.requests = Counter(
            "mnist_http_requests",
            "HTTP requests answered",
            ["host", "route", "method", "status"],
            registry=None,
        )
        self.latency = Histogram(
            "mnist_http_request_duration_seconds",
            "Time from request received to answer",
            ["host", "route"],
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
        self.ready = True
        if self.shared:
            try:
                self.g_ready.set(1)
            except OSError as err:
                self._stop_sharing(err)

    def in_flight(self) -> int:
        """Model requests this process is handling right now (all its threads)."""
        return self._in_flight

    def figures(self) -> dict:
        """This worker's live figures as they are now, named as in the metric files."""
        return {
            "mnist_worker_started_seconds": self.started,
            "mnist_worker_requests": self._served_count,
            "mnist_worker_in_flight": self._in_flight,
            "mnist_worker_ready": int(self.ready),
            "mnist_worker_last_request_seconds": self._last_request,
        }

    def count_in_flight(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta
        self._change()

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
                        self.host, route, method, str(status)
                    )
                counter.inc(count)
            for route, seconds in durations:
                histogram = self._histograms.get(route)
                if histogram is None:
                    histogram = self._histograms[route] = self.latency.labels(self.host, route)
                histogram.observe(seconds)
            self.g_in_flight.set(in_flight)
            self.g_served.set(served)
            if last is not None:
                self.g_last.set(last)

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
    which WorkerMetrics turns into "serve on, without metric files". Growing past
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

    # prometheus_client has no public way to say how its files are made: its values module opens
    # each through this name (tests/unit/test_framework_pins.py checks it still does).
    values.MmapedDict = PreallocatedFile


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


def init_app(app: Flask) -> WorkerMetrics:
    """This worker's metrics; every request counted in them."""
    metrics_dir = _ensure_metrics_dir()
    _preallocate_metric_files()
    metrics = app.extensions["metrics"] = WorkerMetrics(metrics_dir, app.config["HOST_NAME"])
    tracking.init_app(app, metrics.count_in_flight)

    @app.after_request
    def _answered(response):
        # Here, not in tracking: the route (Flask's matched rule) is known
        # only while the request is open.
        this = request._get_current_object()  # one proxy lookup, not three
        rule = this.url_rule
        method = this.method
        metrics.answered(
            rule.rule if rule else "unmatched",
            # gunicorn takes any token as a method: a label per token would be a
            # new series forever, so labels come from a closed set.
            method if method in _METHOD_LABELS else "other",
            response.status_code,
            time.time() - this.environ[tracking.RECEIVED],
        )
        return response

    return metrics


def get_metrics(app: Flask | None = None) -> WorkerMetrics:
    """This worker's metrics (of ``app``, else of the app handling this request)."""
    return (app or current_app).extensions["metrics"]
