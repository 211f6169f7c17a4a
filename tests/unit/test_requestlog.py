"""The shared request log keeps about the latest rows, in order, whatever is thrown at it."""

from __future__ import annotations

from pathlib import Path

from webapp.requestlog import _PRUNE_EVERY, RequestLog


def row(n: int, **extra) -> dict:
    return {"request_id": f"r{n}", "route": "/inference", "status": 200, "pid": 1, "digit": n % 10, **extra}


def test_rows_come_back_oldest_first_and_the_oldest_are_deleted(tmp_path: Path) -> None:
    log = RequestLog(tmp_path / "log.sqlite", size=50)
    for n in range(1000):
        log.record(row(n))
        if n % 97 == 0:
            log.flush()  # several transactions, as under load
    log.flush()
    rows = log.since(limit=1000)
    assert 50 <= len(rows) <= 50 + _PRUNE_EVERY
    assert [r["request_id"] for r in rows] == [f"r{n}" for n in range(1000 - len(rows), 1000)]
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [r["request_id"] for r in log.since("r990")] == [f"r{n}" for n in range(991, 1000)]


def test_a_row_that_cannot_be_stored_does_not_stop_the_writer(tmp_path: Path) -> None:
    log = RequestLog(tmp_path / "log.sqlite")
    log.record(row(1, confidence=object()))  # not a type SQLite can store
    log.flush()
    log.record(row(2))
    log.flush()
    assert [r["request_id"] for r in log.since()] == ["r2"]
