"""Where the request log and the live worker list are kept: one interface, two backends.

``STORE`` unset (the default): this server's state folder, for one machine with
nothing to install: the log in SQLite (webapp/requestlog.py), the worker list in
the workers' Prometheus files (webapp/workers.py reads them).

``STORE=redis://host:port/db``: one Redis shared by several hosts
(webapp/redisstore.py): every host's rows in one log, and every host's workers in
one list, each worker listed by heartbeats that expire.

Either way a problem with the store (a full disk, Redis down) never stops a
prediction: rows are dropped and ``status()`` says so, until it works again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import msgspec
from flask import Flask, current_app

from .schemas import LoggedRequest


class Store(Protocol):
    """What the request log and the worker list need of the place they are kept."""

    def record(self, row: dict) -> None:
        """Queue one answered request's row (stored off the request's path)."""

    def flush(self, timeout: float = 5.0) -> None:
        """Store what this process queued, and wait (at most timeout s) until it is stored."""

    def since(
        self, request_id: str | None = None, client_id: str | None = None, limit: int = 1000
    ) -> list[dict]:
        """The newest ``limit`` rows after ``request_id`` (every kept row if it is unknown),
        oldest first, each with ``seq``, which orders them; none if the store cannot be read."""

    def status(self) -> dict:
        """Whether rows are being stored: {"ok", "problem", "lost", "skipped"}."""

    def list_worker(self, describe: Callable[[], dict]) -> None:
        """Keep this worker in the list that other hosts read, as ``describe()`` says it is."""

    def other_hosts_workers(self, host: str) -> list[dict]:
        """The live workers of every host but ``host`` (whose list is its own files)."""


def checked(entries: list, kind: type = LoggedRequest) -> tuple[list[dict], int]:
    """The entries read from a store that are what ``kind`` (LoggedRequest, LiveWorker) says, and
    how many were not: another user of a shared Redis can write anything, and a bad entry must
    cost the page nothing but itself (never a 500, a pid the page cannot show, a null id)."""
    good = []
    for entry in entries:
        try:
            good.append(msgspec.convert(entry, kind))
        except (msgspec.ValidationError, TypeError):
            continue
    return good, len(entries) - len(good)


def init_app(app: Flask) -> Store:
    """The app's store, as STORE says."""
    size = app.config["REQUEST_LOG_SIZE"]
    if app.config["STORE"]:
        from .redisstore import RedisStore

        store = RedisStore(app.config["STORE"], size)
    else:
        from .requestlog import RequestLog

        store = RequestLog(Path(app.config["STATE_DIR"]) / "requests.sqlite", size)
    app.extensions["store"] = store
    return store


def get_store(app: Flask | None = None) -> Store:
    """The store (of ``app``, else of the app handling this request)."""
    return (app or current_app).extensions["store"]
