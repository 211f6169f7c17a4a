"""What every answered model or lab request leaves behind: its row in the shared log,
this worker's count, and the worker block of its JSON answer."""

from __future__ import annotations

from flask import current_app, request

from .metrics import get_metrics
from .store import get_store
from .tracking import received, request_id
from .workers import get_workers


def log_answer(cid: str | None, started: float, finished: float, **fields) -> int:
    """Add an answered request to the shared log that /api/requests reads, and count it
    as this worker's: returns the worker's new total."""
    me = get_workers().describe_self()
    get_store().record(
        {
            "request_id": request_id(),
            "client_id": cid,
            "route": request.url_rule.rule,
            "status": 200,
            "host": me["host"],
            "pid": me["pid"],
            "thread": me["thread"],
            "thread_id": me["thread_id"],
            "received": received(),
            "started": started,
            "finished": finished,
            **fields,
        }
    )
    return get_metrics().served_one()


def worker_info(served: int) -> dict:
    """Who answered, for a JSON answer: this process and thread, and its answers so far."""
    return {
        **get_workers().describe_self(),
        "requests": served,
        "runtime": current_app.config["RUNTIME"],
    }
