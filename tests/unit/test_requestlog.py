"""The shared request log keeps about the latest rows, in order, whatever is thrown at it,
in either store: SQLite in the state folder, or a real Redis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from serving.config import store_client
from webapp.requestlog import _SLACK, RequestLog


@pytest.fixture(params=["sqlite", "redis"])
def open_log(request, tmp_path: Path) -> Callable[..., RequestLog]:
    """open_log(size=...): one worker's log; each call another worker's, on the same store."""
    if request.param == "sqlite":
        return lambda size=1000: RequestLog(tmp_path / "log.sqlite", size)
    from webapp.redisstore import RedisStore

    url = request.getfixturevalue("redis_server").url.rpartition("/")[0] + "/1"  # not the servers' db 0
    store_client(url).flushdb()  # a store of this test's own
    return lambda size=1000: RedisStore(url, size)


def row(n: int, **extra) -> dict:
    """A row as a worker logs it (a row that is not one is skipped when read: test_hostile.py)."""
    return {
        "request_id": f"r{n}",
        "route": "/inference",
        "status": 200,
        "host": "h",
        "pid": 1,
        "thread": "MainThread",
        "thread_id": 1,
        "received": 1.0,
        "started": 1.0,
        "finished": 1.0,
        "digit": n % 10,
        **extra,
    }


def test_rows_come_back_oldest_first_and_the_oldest_are_deleted(open_log) -> None:
    log = open_log(size=50)
    for n in range(1000):
        log.record(row(n))
        if n % 97 == 0:
            log.flush()  # several transactions, as under load
    log.flush()
    rows = log.since(limit=1000)
    assert 50 <= len(rows) <= 50 + _SLACK
    assert [r["request_id"] for r in rows] == [f"r{n}" for n in range(1000 - len(rows), 1000)]
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [r["request_id"] for r in log.since("r990")] == [f"r{n}" for n in range(991, 1000)]


def test_every_worker_together_keeps_at_most_200_more_rows(open_log) -> None:
    # One log per gunicorn worker, all on one store: 8 writers, each short of 200 rows.
    logs = [open_log(size=50) for _ in range(8)]
    n = 0
    for _ in range(3):
        for log in logs:
            for _ in range(150):
                log.record(row(n))
                n += 1
            log.flush()
            kept = logs[0].since(limit=10_000)
            assert 50 <= len(kept) <= 50 + _SLACK == 250
            assert [r["request_id"] for r in kept] == [f"r{i}" for i in range(n - len(kept), n)]


def test_a_row_that_cannot_be_stored_does_not_stop_the_writer(open_log) -> None:
    log = open_log()
    log.record(row(1, confidence=object()))  # not a type SQLite can store
    log.flush()
    log.record(row(2))
    log.flush()
    assert [r["request_id"] for r in log.since()] == ["r2"]


def test_since_a_request_reads_back_past_any_number_of_rows_and_filters_by_client(open_log) -> None:
    log = open_log(size=1000)
    for n in range(600):  # more rows than several reads of the Redis log (16, 64, 256)
        log.record(row(n, client_id="even" if n % 2 == 0 else "odd"))
    log.flush()
    assert [r["request_id"] for r in log.since("r50", limit=1000)] == [f"r{n}" for n in range(51, 600)]
    assert [r["request_id"] for r in log.since("r50", "odd", limit=3)] == ["r595", "r597", "r599"]
    evens = log.since("r99", "even", limit=1000)
    assert [r["request_id"] for r in evens] == [f"r{n}" for n in range(100, 600, 2)]
    assert [r["request_id"] for r in log.since("unknown", limit=2)] == ["r598", "r599"]


def test_a_row_an_older_version_left_in_a_shared_redis_reads_with_none_for_new_columns() -> None:
    import orjson

    from webapp.redisstore import stream_row

    older = ["rid", "tab-1", "/api/predict", 200, "host", 1, "t", 2, 1.0, 1.1, 1.2, 7, 0.9, 1, 3, None]
    row = stream_row(b"5-0", orjson.dumps(older))
    assert row["request_id"] == "rid" and row["kind"] is None
    assert row["name"] is None and row["drawing"] is None
