"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint

from .metrics import get_metrics
from .model import get_model
from .openapi import describe
from .schemas import Health, Ready
from .store import get_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@describe(answer=Health)
def healthz() -> Health:
    """200 while the process is up"""
    return {"status": "ok", "pid": get_metrics().pid}


@bp.get("/readyz")
@describe(answer=Ready, also={503: "not ready"})
def readyz() -> tuple[Ready, int]:
    """200 once this worker's model is loaded and warmed up, else 503

    What does not stop predictions is said, not failed on: whether the request
    log is being written (a full disk) and whether this worker shares its metrics.
    """
    model = get_model()
    metrics = get_metrics()
    status = 200 if model.ready else 503
    return {
        "ready": model.ready,
        "pid": metrics.pid,
        "model": model.describe(),
        "request_log": get_store().status(),
        "metrics_shared": metrics.shared,
    }, status


@bp.get("/metrics")
@describe(media="text/plain", answer={"type": "string"})
def metrics():
    """Prometheus text format, aggregated over all workers"""
    body, content_type = get_metrics().metrics_text()
    return body, 200, {"Content-Type": content_type}
