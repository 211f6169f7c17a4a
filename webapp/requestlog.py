"""The shared log of recent answered requests, of every client on every worker.

SQLite in WAL mode (standard library): each worker appends through one writer
thread, in small transactions, off the request's path; any worker reads
everything. SQLite's locking means concurrent workers never interleave or
garble rows. The latest ``size`` rows are kept, and at most _SLACK more: the
writer whose rows bring the log past size + _SLACK deletes the oldest, in the
same transaction, so however many workers write, no reader sees more.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path

from serving.state import server_lock

from .schemas import LoggedRequest

log = logging.getLogger(__name__)

# The log's columns: LoggedRequest's fields after seq, in its order (older rows in Redis, written
# with fewer, are padded with None: a new column goes last).
COLUMNS = tuple(name for name in LoggedRequest.__annotations__ if name != "seq")
SCHEMA = f"""
-- A new row's seq is the largest + 1, and the newest rows are never deleted,
-- so seq only grows (without AUTOINCREMENT's extra write per row).
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY,
    {", ".join(COLUMNS)}
);
"""
# No index on request_id: keeping one up to date cost 2 µs of every row's 4.6,
# while since() finds a recent id by reading back from the newest rows (2 µs)
# and even an unknown one by reading the whole ~1,000 (35 µs), a few times a second.
_LINGER = 0.05  # seconds a row may wait for others to share its transaction
_SLACK = 200  # rows kept over size before the oldest are deleted (in all, not per worker)
# Deletes the oldest rows, down to size, once there are size + _SLACK: one statement
# per transaction, whose constant test SQLite makes before touching a row, so it costs
# a few µs when there is nothing to delete. seq has no gaps (rows go from the oldest
# end only), so MAX - MIN + 1 is the number of rows, each read from the primary key
# alone (in one SELECT, MAX and MIN together scan the whole table).
_PRUNE = """
DELETE FROM requests
WHERE seq <= (SELECT MAX(seq) FROM requests) - :size
  AND (SELECT MAX(seq) FROM requests) - (SELECT MIN(seq) FROM requests) + 1 > :size + :slack
"""
_INSERT = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    # WAL mode is stored in the file (the first worker sets it); switching while
    # another process holds the file can fail at once with "locked", without
    # waiting on the timeout, so retry for a while.
    for attempt in range(50):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.02 * (attempt + 1))
    # WAL with synchronous=NORMAL is safe against corruption; a crash may lose
    # the last few rows, which a live log can spare.
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def create(path: Path) -> None:
    """Create the database and its table, if they are not there (each worker, as it starts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = _connect(path)
    found = {row[1] for row in db.execute("PRAGMA table_info(requests)")}
    if found and found != {"seq", *COLUMNS}:  # a log of an older version, in a named STATE_DIR
        db.execute("DROP TABLE requests")  # a live log: its old rows are not worth a migration
    db.executescript(SCHEMA)
    db.close()


class RequestLog:
    """Append rows from any thread; read the rows after a given request id (the default Store)."""

    # What a store's failures raise, and what status() then says.
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    cannot = "the request log cannot be written"

    def __init__(self, path: Path, size: int = 1000):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._start(size)
        try:
            # One worker at a time: workers booting together would race to switch it to WAL mode.
            with server_lock(self.path.parent, "requests"):
                create(self.path)
        except (sqlite3.Error, OSError) as err:
            self._failed(err, 0)

    def _start(self, size: int) -> None:
        """The queue of rows and the thread that stores them."""
        self.size = size
        # What went wrong storing rows (a full disk), and how many were lost
        # since: /readyz and /api/requests say it; predictions go on regardless.
        self.problem: str | None = None
        self.lost = 0
        self.skipped = 0  # entries read that were not valid rows (webapp/store.py: checked)
        # Rows in COLUMNS order, and flush()es' events. SimpleQueue: put() is a
        # C call, where queue.Queue takes a lock and a condition in Python.
        self._queue: queue.SimpleQueue[tuple | threading.Event] = queue.SimpleQueue()
        self._local = threading.local()
        self._hurry = threading.Event()  # set by flush(): stop lingering
        # Rows queued by this process, and rows the writer has done with (stored or
        # dropped): a flush with nothing outstanding returns at once, without waking
        # the writer (a thread hand-off costs a poll up to the GIL's 5 ms switch interval).
        self._count = itertools.count(1)  # next() is one C call: no count is lost between threads
        self._recorded = self._done = 0
        self._writer = threading.Thread(target=self._write_forever, name="request-log", daemon=True)
        self._writer.start()

    def record(self, row: dict) -> None:
        """Queue one answered request; the writer thread stores it within _LINGER seconds."""
        self._recorded = next(self._count)
        self._queue.put(tuple(map(row.get, COLUMNS)))

    def flush(self, timeout: float = 5.0) -> None:
        """Store everything this process queued, now, and wait (at most timeout s) until it is stored."""
        if self._done >= self._recorded:
            return
        stored = threading.Event()
        self._queue.put(stored)
        self._hurry.set()
        stored.wait(timeout)

    def _gather(self) -> tuple[list[tuple], list[threading.Event]]:
        """The rows that arrive within _LINGER of the first (fewer on a flush), and
        the flushes waiting for them.

        The writer sleeps while rows gather rather than waking for each one:
        a wake-up per request would hand the GIL back and forth with the
        thread that is answering requests.
        """
        items = [self._queue.get()]
        if type(items[0]) is tuple:
            self._hurry.wait(_LINGER)
        self._hurry.clear()
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        rows = [item for item in items if type(item) is tuple]
        return rows, [item for item in items if type(item) is not tuple]

    def status(self) -> dict:
        """Whether rows are being stored: {"ok", "problem", "lost"}, and entries read that were skipped."""
        return {
            "ok": self.problem is None,
            "problem": self.problem,
            "lost": self.lost,
            "skipped": self.skipped,
        }

    def _failed(self, err: Exception, rows: int) -> None:
        self.lost += rows
        if self.problem is None:
            self.problem = f"{self.cannot} ({err})"
            log.warning(
                "pid %d: %s; predictions go on, their rows are dropped until it can be written again",
                os.getpid(),
                self.problem,
            )

    def _recovered(self) -> None:
        log.warning("pid %d: the request log is written again (%d rows were lost)", os.getpid(), self.lost)
        self.problem, self.lost = None, 0

    def _write_forever(self) -> None:
        while True:
            # One transaction per _LINGER, not per request: profiling a loaded
            # sync worker showed a transaction per request costing more CPU
            # than the model call.
            rows, flushes = self._gather()
            try:
                if rows:
                    self._store(rows)
                    if self.problem:
                        self._recovered()
            except self.errors as err:  # a full disk, a damaged file: one warning, then drop rows
                self._failed(err, len(rows))
            except Exception:  # noqa: BLE001 - whatever it is, the writer must live on
                log.exception("pid %d could not store %d request rows", os.getpid(), len(rows))
            finally:
                self._done += len(rows)
                for stored in flushes:
                    stored.set()

    # The worker list of one machine is its workers' metric files (webapp/workers.py).

    def list_worker(self, describe) -> None:
        """Nothing to do: this server's workers list themselves in its metric files."""

    def other_hosts_workers(self, host: str) -> list[dict]:
        """None: this log is one server's."""
        return []

    def _store(self, rows: list[tuple]) -> None:
        """Store rows (in COLUMNS order) in one transaction, and delete the oldest past the limit."""
        self._db = self._db or _connect(self.path)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(_INSERT, rows)
            self._db.execute(_PRUNE, {"size": self.size, "slack": _SLACK})

    def _reader(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = _connect(self.path)
        return db

    def since(
        self, request_id: str | None = None, client_id: str | None = None, limit: int = 1000
    ) -> list[dict]:
        """Rows after ``request_id`` (all kept rows if it is unknown), oldest first; none
        if the log cannot be read (said by status())."""
        try:
            return self._since(request_id, client_id, limit)
        except self.errors as err:
            self._failed(err, 0)
            return []

    def _since(self, request_id: str | None, client_id: str | None, limit: int) -> list[dict]:
        db = self._reader()
        after = 0
        if request_id:
            found = db.execute(
                "SELECT seq FROM requests WHERE request_id = ? ORDER BY seq DESC LIMIT 1", (request_id,)
            ).fetchone()
            after = found[0] if found else 0
        sql = f"SELECT seq, {', '.join(COLUMNS)} FROM requests WHERE seq > ?"
        params: list = [after]
        if client_id:
            sql += " AND client_id = ?"
            params.append(client_id)
        # The newest `limit` rows, returned oldest first.
        sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?) ORDER BY seq"
        params.append(limit)
        from .store import checked  # here: the gunicorn master loads this file alone, outside the package

        names = ("seq", *COLUMNS)
        rows, bad = checked([dict(zip(names, r, strict=True)) for r in db.execute(sql, params)])
        self.skipped += bad
        return rows
