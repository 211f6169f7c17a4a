"""The machine under the server: its cores, and how many of them other work leaves spare.

A claim about parallel work (two processes on two cores) can only show when the cores are
free: with other work holding them, processes read ~100 % CPU and look like threads. So the
page (its header, always) and the lab command measure the cores spare, and say when a claim
cannot show on this machine now, instead of showing a result that looks like a refutation.

"Spare" = cores − the CPU other processes used over the last window (the server's own and,
for the lab command, the load generator's left out), in cores.
"""

from __future__ import annotations

import os
import threading
import time

import psutil
from flask import Flask, current_app

NEEDED_FOR_TWO = 1.5  # spare cores below this: two processes cannot both run all the time
_MIN_WINDOW_S = 0.5  # readings closer than this reuse the last answer


def cores() -> int:
    return os.cpu_count() or 1


def busy_seconds() -> float:
    """CPU seconds every process on this machine has used since boot (all cores)."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return sum(times) - idle - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


def spare(busy_other_s: float, wall_s: float) -> float:
    """Cores spare in a window of wall_s seconds where other processes used busy_other_s."""
    return round(max(0.0, cores() - max(0.0, busy_other_s) / wall_s), 2) if wall_s > 0 else float(cores())


def tree_cpu_seconds(root: psutil.Process) -> float:
    """CPU seconds of a process and its live descendants (a gunicorn master and its workers)."""
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:  # gone meanwhile
            continue
    return total


class SpareCores:
    """What /api/workers says of the machine: read in each worker, over the time since its own
    last reading (about a second while a page polls), the server's own CPU left out."""

    def __init__(self, server_root: int):
        self._root = server_root
        self._lock = threading.Lock()
        # (monotonic, machine busy, server busy): the first reading covers the time since start.
        self._last = (time.monotonic(), busy_seconds(), self._server_seconds())
        self._answer = {"cores": cores(), "spare": None, "window_s": None}

    def _server_seconds(self) -> float:
        try:
            return tree_cpu_seconds(psutil.Process(self._root))
        except psutil.Error:
            return 0.0

    def read(self) -> dict:
        with self._lock:
            now = time.monotonic()
            if now - self._last[0] < _MIN_WINDOW_S:
                return self._answer
            busy, ours = busy_seconds(), self._server_seconds()
            wall = now - self._last[0]
            # A worker that died took its CPU seconds with it: never count that as ours.
            other = (busy - self._last[1]) - max(0.0, ours - self._last[2])
            self._answer = {"cores": cores(), "spare": spare(other, wall), "window_s": round(wall, 2)}
            self._last = (now, busy, ours)
            return self._answer


def init_app(app: Flask) -> None:
    # A worker's parent is the gunicorn master: the server is the master and all it forked.
    app.extensions["machine"] = SpareCores(os.getppid())


def get_spare_cores(app: Flask | None = None) -> SpareCores:
    """This worker's reader of the machine's spare cores."""
    return (app or current_app).extensions["machine"]
