"""The drawing page.

Its Content-Security-Policy (no inline script or style, nothing from other hosts)
is sent with every answer by webapp/security.py; the page keeps to it: HTML from
templates/, JavaScript and CSS from static/.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)


def jquery_file() -> str:
    """The vendored jQuery, whose version is in its file name (static/vendor/jquery-X.Y.Z.min.js)."""
    vendor = Path(current_app.static_folder) / "vendor"
    names = sorted(path.name for path in vendor.glob("jquery-*.min.js"))
    return f"vendor/{names[-1]}"


@bp.get("/")
def index():
    """The canvas, the answer and the live panel of workers."""
    return render_template("index.html", jquery=jquery_file())
