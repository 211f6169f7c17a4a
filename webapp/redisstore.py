"""The request log and the worker list in one Redis shared by several hosts (STORE=redis://...).

Its keys:

    mnist:requests               a stream of rows, each a JSON list in COLUMNS order; its
                                 entry id is <seq>-0, and it keeps the newest REQUEST_LOG_SIZE
    mnist:requests:seq           the last seq given out (INCRBY): one order for every host's rows
    mnist:workers                the set of listed workers, "<host>:<pid>"
    mnist:worker:<host>:<pid>    one worker's entry (JSON), rewritten every HEARTBEAT_EVERY s,
                                 gone HEARTBEAT_TTL s after its last heartbeat: a dead host's
                                 workers leave the list by themselves

Rows are stored by the log's writer thread, never on a request's path. Every call
waits at most STORE_TIMEOUT (webapp/config.py). After a failure, requests stop asking
Redis (/api/requests and /api/workers answer at once, without it; status() says the
store is unavailable) while this worker's own threads, off any request's path, keep
trying: the heartbeat every HEARTBEAT_EVERY s, the writer with each batch of rows
(dropped and counted meanwhile). The first that succeeds brings the requests back to
Redis: the log resumes by itself. So a Redis that is down or stuck costs a request at
most one STORE_TIMEOUT, once, and never a worker.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable

import orjson
import redis

from .config import STORE_TIMEOUT, shown_store, store_client
from .requestlog import COLUMNS, RequestLog

log = logging.getLogger(__name__)

STREAM, SEQ = "mnist:requests", "mnist:requests:seq"
MEMBERS, WORKER = "mnist:workers", "mnist:worker:"
HEARTBEAT_EVERY = 0.5  # seconds between a worker's heartbeats
HEARTBEAT_TTL = 3  # seconds a worker stays listed after its last heartbeat
# Rows read at a time, newest first: a page polling every second finds its last row among
# the newest few, so the first read is small and each next one 4 times larger.
_FIRST_READ, _MOST_READ = 16, 256
# Appends rows: gives them the next seqs and trims the stream to its size, in one
# atomic step whichever host calls it. KEYS: stream, seq; ARGV: size, rows...
_APPEND = """
local n = redis.call('INCRBY', KEYS[2], #ARGV - 1) - (#ARGV - 1)
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], (n + i - 1) .. '-0', 'r', ARGV[i])
end
"""


def _row(values: list) -> dict:
    """A stored row -> its dict; a row stored by an older version (fewer columns, still in a
    shared Redis after an upgrade) gets None for the columns it lacks."""
    return dict(zip(COLUMNS, values + [None] * (len(COLUMNS) - len(values)), strict=True))


class Unavailable(redis.ConnectionError):
    """Redis failed, and has not answered this worker's own threads since: a request does not ask it."""


class RedisStore(RequestLog):
    """The request log (RequestLog's queue and writer thread) and the worker list, in Redis."""

    errors = (redis.RedisError,)

    def __init__(self, url: str, size: int = 1000):
        self.url = url
        self.cannot = f"the shared store {shown_store(url)} is unavailable"
        self._redis = store_client(url)
        self._append = self._redis.register_script(_APPEND)
        self._down = False  # the last call failed: requests do not wait for Redis
        self._start(size)

    def _call(self, action: Callable, *args, probe: bool = False):
        """action(*args): a failure marks Redis down, a success up. While it is down, only
        ``probe`` calls (this worker's own threads, off any request's path) try it."""
        if self._down and not probe:
            raise Unavailable(f"no answer within {STORE_TIMEOUT} s; this worker keeps trying")
        try:
            result = action(*args)
        except redis.RedisError:
            self._down = True
            raise
        self._down = False
        if self.problem:
            self._recovered()  # say it is back (before any row is written again)
        return result

    # -- the request log -----------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> None:
        """As RequestLog's, but no wait at all while the store is unavailable."""
        if not self._down:
            super().flush(min(timeout, 2 * STORE_TIMEOUT))

    def _store(self, rows: list[tuple]) -> None:
        payload = [orjson.dumps(row) for row in rows]
        self._call(self._append, [STREAM, SEQ], [self.size, *payload], probe=True)

    def _since(self, request_id: str | None, client_id: str | None, limit: int) -> list[dict]:
        # Newest first, until the row of request_id, or `limit` rows of the client: those
        # are the newest `limit` after it, whatever lies further back.
        rows: list[dict] = []
        top, count = "+", _FIRST_READ
        while True:
            chunk = self._call(self._redis.xrevrange, STREAM, top, "-", count)
            for entry_id, fields in chunk:
                row = _row(orjson.loads(fields[b"r"]))
                if request_id and row["request_id"] == request_id:
                    return rows[::-1]
                if not client_id or row["client_id"] == client_id:
                    rows.append({"seq": int(entry_id.split(b"-")[0]), **row})
                    if len(rows) == limit:
                        return rows[::-1]
            if len(chunk) < count:
                return rows[::-1]
            top, count = "(" + chunk[-1][0].decode(), min(count * 4, _MOST_READ)

    # -- the worker list -----------------------------------------------------------

    def list_worker(self, describe: Callable[[], dict | None]) -> None:
        """Heartbeats of this worker, described by describe(), every HEARTBEAT_EVERY s."""
        threading.Thread(target=self._beat_forever, args=(describe,), name="heartbeat", daemon=True).start()

    def _beat_forever(self, describe: Callable[[], dict | None]) -> None:
        key = None
        while True:
            try:
                entry = describe()
                if entry:
                    member = f"{entry['host']}:{entry['pid']}"
                    if key is None:
                        key = WORKER + member
                        atexit.register(self._unlist, key, member)  # a stopped worker leaves at once
                    self._call(self._beat, key, member, entry, probe=True)
            except redis.RedisError as err:
                self._failed(err, 0)
            except Exception:  # noqa: BLE001 - the heartbeat must live on
                log.exception("heartbeat to %s failed", shown_store(self.url))
            time.sleep(HEARTBEAT_EVERY)

    def _beat(self, key: str, member: str, entry: dict) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(key, orjson.dumps(entry), ex=HEARTBEAT_TTL)
        pipe.sadd(MEMBERS, member)
        pipe.execute()

    def _unlist(self, key: str, member: str) -> None:
        try:
            self._call(self._redis.pipeline(transaction=False).delete(key).srem(MEMBERS, member).execute)
        except redis.RedisError:
            pass  # its heartbeat expires instead

    def other_hosts_workers(self, host: str) -> list[dict]:
        """Every listed worker of the other hosts, by host and pid; none while Redis is unavailable."""
        try:
            return self._call(self._read_workers, host)
        except redis.RedisError as err:
            self._failed(err, 0)
            return []

    def _read_workers(self, host: str) -> list[dict]:
        members = sorted(m.decode() for m in self._redis.smembers(MEMBERS))
        if not members:
            return []
        entries = self._redis.mget([WORKER + m for m in members])  # this host's too: to drop its dead
        gone = [m for m, entry in zip(members, entries, strict=True) if entry is None]
        if gone:  # their heartbeats expired
            self._redis.srem(MEMBERS, *gone)
        listed = (orjson.loads(entry) for entry in entries if entry is not None)
        return [entry for entry in listed if entry["host"] != host]
