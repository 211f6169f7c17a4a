"""The drawing page."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """The canvas, the answer and the live panel of workers."""
    return render_template("index.html")
