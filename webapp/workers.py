"""Every live worker of this server, whichever worker is asked; and who this worker is.

This server's list is read from every worker's metric files (webapp/metrics.py), so
/api/workers answers the same wherever it lands; a dead worker's figures are
removed by the master, so it drops off. CPU, memory and thread counts come from
the OS (psutil). With a shared store (STORE=redis://...), each worker also lists
itself there, and the other hosts' workers are read from it (webapp/store.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import MappingProxyType

import psutil
from flask import Flask, current_app

from .metrics import WorkerMetrics, merge_metric_files
from .store import Store

_STATS_TTL = 1.0  # seconds a worker's CPU/memory reading is reused


class WorkerList:
    """This worker, described; and a reader of every live worker's figures."""

    def __init__(self, metrics: WorkerMetrics, host: str, store: Store):
        self.metrics = metrics
        self.host = host
        self.store = store
        self.pid = metrics.pid
        self.started = metrics.started
        self._this_thread = threading.local()
        self._stats_cache: dict[int, tuple[float, dict]] = {}
        self._live_cache: tuple[float, list[dict]] | None = None
        store.list_worker(self._describe_live_self)

    def describe_self(self) -> Mapping:
        """pid, thread name and id, host and start of this worker and thread (read-only)."""
        described = getattr(self._this_thread, "described", None)
        if described is None:  # once per thread: none of it changes
            described = self._this_thread.described = MappingProxyType(
                {
                    "pid": self.pid,
                    "thread": threading.current_thread().name,
                    "thread_id": threading.get_native_id(),
                    "host": self.host,
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
        workers = self._read_live_workers() + self.store.other_hosts_workers(self.host)
        self._live_cache = (time.monotonic(), workers)
        return workers

    def _read_live_workers(self) -> list[dict]:
        self.metrics.publish()  # this worker's own figures as they are now
        by_pid: dict[int, dict] = {}
        for metric in merge_metric_files(self.metrics.metrics_dir, "gauge_liveall_*.db", accumulate=False):
            for sample in metric.samples:
                try:
                    pid = int(sample.labels.get("pid", 0))
                except ValueError:  # not a file a worker wrote: skip its figures
                    continue
                by_pid.setdefault(pid, {})[sample.name] = sample.value
        workers = []
        for pid, values in sorted(by_pid.items()):
            stats = self._process_stats(pid)
            if stats is None:  # gone, and the master has not reaped it yet
                continue
            workers.append(self._entry(pid, values, stats))
        return workers

    def _describe_live_self(self) -> dict | None:
        """This worker's entry in the list, from its own figures (for the shared store)."""
        stats = self._process_stats(self.pid)
        return stats and self._entry(self.pid, self.metrics.figures(), stats)

    def _entry(self, pid: int, values: dict, stats: dict) -> dict:
        """One worker's entry in the list, from its figures (named as in the metric files)."""
        in_flight = int(values.get("mnist_worker_in_flight", 0))
        last = values.get("mnist_worker_last_request_seconds")
        return {
            "pid": pid,
            "host": self.host,  # this server's own workers
            "started": round(values.get("mnist_worker_started_seconds", 0.0), 3),
            "requests": int(values.get("mnist_worker_requests", 0)),
            "in_flight": in_flight,
            "busy": in_flight > 0,
            "ready": bool(values.get("mnist_worker_ready", 0)),
            "last_request": round(last, 3) if last else None,
            **stats,
        }

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


def init_app(app: Flask, metrics: WorkerMetrics, store: Store) -> WorkerList:
    app.extensions["workers"] = workers = WorkerList(metrics, app.config["HOST_NAME"], store)
    return workers


def get_workers(app: Flask | None = None) -> WorkerList:
    """The live-worker reader (of ``app``, else of the app handling this request)."""
    return (app or current_app).extensions["workers"]
