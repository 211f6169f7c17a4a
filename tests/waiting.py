"""How tests wait: on what they can observe, never on a sleep sized to a server's timer.

    rows = wait_for(lambda: requests_of(client), 10, "the 32 rows in /api/requests",
                    until=lambda rows: len(rows) == 32)

A server publishes its figures within 50 ms, caches its workers list for 0.2 s,
boots a worker in a second or ten: a test that sleeps "long enough" for one of
those is red on a busy machine and slow on an idle one. wait_for polls the
observable result instead (the figure in /metrics, the row in /api/requests, the
worker in /api/workers) and returns as soon as it is there; when it never comes,
the failure says what was awaited and the last value seen.
"""

from __future__ import annotations

import http.client
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import psutil

from harness.launch import get_json, post_json

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    timeout: float = 30.0,
    what: str | None = None,
    *,
    until: Callable[[T], object] = bool,
    every: float = 0.05,
) -> T:
    """Call ``condition()`` until ``until(value)`` is true (by default: the value itself); return the value.

    Fails after ``timeout`` seconds with ``what`` was awaited and the last value seen.
    ``condition`` is called at least once, and once more at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            seen = repr(value)
            seen = seen if len(seen) <= 2000 else seen[:2000] + "..."
            raise AssertionError(
                f"waited {timeout:g} s for {what or condition.__doc__ or condition}; last seen: {seen}"
            )
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))


def accepted(port: int, clients: Iterable) -> set[int]:
    """Which of ``clients`` (connected sockets) a process listening on ``port`` has accepted.

    A connection waiting in the listen backlog belongs to no process yet; once a
    gunicorn worker (or nginx) has accepted it, the kernel lists it under that
    process. A sync worker that has accepted a connection is held by it.
    """
    mine = {sock.getsockname()[1] for sock in clients}
    return {
        c.raddr.port
        for c in psutil.net_connections("tcp")
        if c.pid and c.laddr and c.laddr.port == port and c.raddr and c.raddr.port in mine
    }


class SteadyLoad:
    """`concurrency` clients sending /inference back to back until stopped."""

    def __init__(self, url: str, body: dict, concurrency: int = 4):
        self.url, self.body = url, body
        self.ok, self.failed, self.pids = 0, [], set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(concurrency)]

    def _run(self):
        while not self._stop.is_set():
            try:
                status, body = post_json(self.url, self.body, timeout=10)
            except (OSError, http.client.HTTPException) as err:  # a dying worker: reset, cut short
                status, body = 0, str(err).encode()
            with self._lock:
                if status == 200:
                    self.ok += 1
                else:
                    self.failed.append((status, body[:200]))

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(15)

    def answers(self, more: int, timeout: float = 30.0) -> int:
        """Wait until `more` requests beyond those answered so far are answered: the load flows."""
        wanted = self.ok + more
        return wait_for(
            lambda: self.ok, timeout, f"{wanted} answered requests", until=lambda ok: ok >= wanted
        )


def ready_pids(server) -> set[int]:
    """The PIDs of the workers that say their model is loaded and warm."""
    return {w["pid"] for w in server.workers() if w["ready"]}


def all_replaced(server, before: set[int], timeout: float = 30.0) -> set[int]:
    """Wait until the server has its four ready workers again, none of them one of ``before``
    (after a reload); return their PIDs."""
    return wait_for(
        lambda: ready_pids(server),
        timeout,
        f"four ready workers, none of {sorted(before)}",
        until=lambda pids: len(pids) == 4 and not pids & before,
    )


def hosts_listed(url: str) -> set[str]:
    """The hosts whose workers /api/workers at ``url`` lists (with several hosts behind nginx,
    whichever host answers it)."""
    return {w["host"] for w in get_json(url + "/api/workers")[1].get("workers", [])}


def as_from_a_terminal() -> None:
    """A child's Ctrl-C as in a terminal (Popen's preexec_fn): a suite started in the background
    of a non-interactive shell (`make test &`, nohup) ignores SIGINT, every child inherits that,
    and Python then installs no KeyboardInterrupt: a test's Ctrl-C would reach nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
