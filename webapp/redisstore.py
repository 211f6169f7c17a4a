"""The request log and the worker list in one Redis shared by several hosts (STORE=redis://...).

Its keys:

    mnist:requests               a stream of rows, each a JSON list in COLUMNS order; its
                                 entry id is <seq>-0, and it keeps the newest REQUEST_LOG_SIZE
    mnist:requests:seq           the last seq given out: one order for every host's rows (a seq key
                                 or a stream that is missing or odd never fails an append: _APPEND)
    mnist:workers                the set of listed workers, "<host>:<pid>"
    mnist:worker:<host>:<pid>    one worker's entry (JSON), rewritten every HEARTBEAT_EVERY s,
                                 gone HEARTBEAT_TTL s after its last heartbeat: a dead host's
                                 workers leave the list by themselves

Rows are stored by the log's writer thread, never on a request's path. Every call
waits at most STORE_TIMEOUT (serving/config.py). After a failure, requests stop asking
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

from serving.config import STORE_TIMEOUT, shown_store, store_client

from .requestlog import COLUMNS, RequestLog
from .schemas import LiveWorker
from .store import checked

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
# No key can make an append fail: the next seq is past both the seq key and the stream's
# last id (the seq key deleted or evicted: allkeys-lru), a seq key that is not a number or
# past 2^53 (a page's JavaScript number) is rewritten, and a stream that is not one, or whose
# last id is past 2^53, starts again (its rows are a live log's: not worth a refusal).
_APPEND = """
local most = 2^53
local kind = redis.call('TYPE', KEYS[1]).ok
local last = 0
if kind == 'stream' then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = tonumber(string.match(info[i + 1], '^(%d+)')) end
  end
end
if (kind ~= 'stream' and kind ~= 'none') or last > most - #ARGV then
  redis.call('DEL', KEYS[1])
  last = 0
end
local seq = redis.pcall('GET', KEYS[2])
seq = type(seq) == 'string' and tonumber(seq) or 0
if seq ~= seq or seq < last or seq > most - #ARGV then seq = last end
for i = 2, #ARGV do
  seq = seq + 1
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], string.format('%d-0', seq), 'r', ARGV[i])
end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[2], string.format('%d', seq))
"""


def stream_row(entry_id: bytes, raw: bytes) -> dict:
    """A stream entry's JSON list -> its row (unchecked); TypeError or ValueError if it is no list.

    A row stored by an older version (fewer columns, still in a shared Redis after an upgrade)
    gets None for the columns it lacks.
    """
    values = orjson.loads(raw)
    values = values + [None] * (len(COLUMNS) - len(values))
    return {"seq": int(entry_id.split(b"-")[0]), **dict(zip(COLUMNS, values, strict=True))}


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
        self._down: str | None = None  # why the last call failed: requests do not wait for Redis
        self._start(size)

    def _call(self, action: Callable, *args, probe: bool = False):
        """action(*args): a failure marks Redis down, a success up. While it is down, only
        ``probe`` calls (this worker's own threads, off any request's path) try it."""
        if self._down and not probe:
            raise Unavailable(f"no answer within {STORE_TIMEOUT} s; this worker keeps trying")
        try:
            result = action(*args)
        except redis.RedisError as err:
            self._down = str(err) or type(err).__name__
            raise
        self._down = None  # requests may ask it again; only the writer's own success clears its problem
        return result

    def status(self) -> dict:
        """As RequestLog's; also not ok while Redis does not answer this worker's reads."""
        status = super().status()
        if status["ok"] and self._down:
            status.update(ok=False, problem=f"{self.cannot} ({self._down})")
        return status

    # -- the request log -----------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> None:
        """As RequestLog's, but no wait at all while the store is unavailable."""
        if not self._down:
            super().flush(min(timeout, 2 * STORE_TIMEOUT))

    def since(
        self, request_id: str | None = None, client_id: str | None = None, limit: int = 1000
    ) -> list[dict]:
        """As RequestLog's; a read that fails is said by status() while it lasts (not as the writer's)."""
        try:
            return self._since(request_id, client_id, limit)
        except redis.RedisError:
            return []

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
                row = self._row(entry_id, fields)
                if row is None:
                    continue
                if request_id and row["request_id"] == request_id:
                    return rows[::-1]
                if not client_id or row["client_id"] == client_id:
                    rows.append(row)
                    if len(rows) == limit:
                        return rows[::-1]
            if len(chunk) < count:
                return rows[::-1]
            top, count = "(" + chunk[-1][0].decode(), min(count * 4, _MOST_READ)

    def _row(self, entry_id: bytes, fields: dict) -> dict | None:
        """One stream entry as a logged request; None (skipped, counted) if it is not one."""
        try:
            row = stream_row(entry_id, fields[b"r"])
        except (KeyError, TypeError, ValueError):  # orjson.JSONDecodeError is a ValueError
            row = None
        good, bad = checked([row])
        self.skipped += bad
        return good[0] if good else None

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
                if self.problem:  # the writer's own append (of no rows) tried again, with no rows waiting
                    self._call(self._append, [STREAM, SEQ], [self.size], probe=True)
                    self._recovered()
            except redis.RedisError:
                pass  # said by status() until it answers again
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
        except redis.RedisError:
            return []  # said by status() until it answers again

    def _read_workers(self, host: str) -> list[dict]:
        members = sorted(m.decode(errors="replace") for m in self._redis.smembers(MEMBERS))
        if not members:
            return []
        entries = self._redis.mget([WORKER + m for m in members])  # this host's too: to drop its dead
        gone = [m for m, entry in zip(members, entries, strict=True) if entry is None]
        if gone:  # their heartbeats expired
            self._redis.srem(MEMBERS, *gone)
        listed, bad = checked([_json(entry) for entry in entries if entry is not None], LiveWorker)
        self.skipped += bad
        return [entry for entry in listed if entry["host"] != host]


def _json(raw: bytes) -> object:
    """A JSON value, or None (not valid: checked() skips it) for bytes that are not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
