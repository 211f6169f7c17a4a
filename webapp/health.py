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
    """200 once this worker's model is loaded and warmed up, else 503."""
    model = current_app.extensions["model"]
    status = 200 if model.ready else 503
    return {"ready": model.ready, "pid": registry_of(current_app).pid, "model": model.describe()}, status


@bp.get("/metrics")
def metrics():
    """Prometheus text format, aggregated over all workers."""
    body, content_type = registry_of(current_app).metrics_text()
    return body, 200, {"Content-Type": content_type}
