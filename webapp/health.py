"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, current_app

from .workers import registry_of

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 while the process is up."""
    return {"status": "ok", "pid": registry_of(current_app).pid}


@bp.get("/readyz")
def readyz():
    """200 once this worker's model is loaded and warmed up, else 503.

    What does not stop predictions is said, not failed on: whether the request
    log is being written (a full disk) and whether this worker shares its metrics.
    """
    model = current_app.extensions["model"]
    registry = registry_of(current_app)
    status = 200 if model.ready else 503
    return {
        "ready": model.ready,
        "pid": registry.pid,
        "model": model.describe(),
        "request_log": current_app.extensions["request_log"].status(),
        "metrics_shared": registry.shared,
    }, status


@bp.get("/metrics")
def metrics():
    """Prometheus text format, aggregated over all workers."""
    body, content_type = registry_of(current_app).metrics_text()
    return body, 200, {"Content-Type": content_type}
