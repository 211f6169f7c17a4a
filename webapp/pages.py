"""The drawing page."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)

# Everything the page loads comes from this server: no inline script or style,
# no CDN. The model's 28x28 input comes back as a data: URL, hence img-src data:.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def jquery_file() -> str:
    """The vendored jQuery, whose version is in its file name (static/vendor/jquery-X.Y.Z.min.js)."""
    vendor = Path(current_app.static_folder) / "vendor"
    names = sorted(path.name for path in vendor.glob("jquery-*.min.js"))
    return f"vendor/{names[-1]}"


@bp.get("/")
def index():
    """The canvas, the answer and the live panel of workers."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return render_template("index.html", jquery=jquery_file()), 200, headers
