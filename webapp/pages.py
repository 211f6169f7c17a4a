"""The drawing page.

Its Content-Security-Policy (no inline script or style, nothing from other hosts)
is sent with every answer by webapp/security.py; the page keeps to it: HTML from
templates/, JavaScript and CSS from static/.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from flask import Blueprint, current_app, make_response, render_template
from markupsafe import Markup

from .joining import page_address, qr_svg
from .openapi import describe
from .schemas import PageQuery
from .teacher import is_teacher, keep_token_from_url

bp = Blueprint("pages", __name__)

# The page's pen: its canvas size, width and ink, and how long it waits after a stroke. The page
# reads them from its canvas' attributes; the tools that draw like it (digits/drawing.py) from
# this file.
PEN_FILE = Path(__file__).with_name("pen.json")
PEN = json.loads(PEN_FILE.read_text())


@functools.cache
def _jquery_in(static_folder: str) -> str:
    names = sorted(path.name for path in (Path(static_folder) / "vendor").glob("jquery-*.min.js"))
    return f"vendor/{names[-1]}"


def jquery_file() -> str:
    """The vendored jQuery, whose version is in its file name (static/vendor/jquery-X.Y.Z.min.js).

    Looked up once per process, not on every page view."""
    return _jquery_in(current_app.static_folder)


@bp.get("/")
@describe(
    media="text/html", answer={"type": "string"}, query=PageQuery, also={303: "to the page without the token"}
)
def index():
    """The page: draw a digit, watch the workers answer"""
    redirect = keep_token_from_url()
    if redirect:
        return redirect
    # The teacher's page (the token's cookie) shows the server's shape; a student's does not.
    response = make_response(
        render_template("index.html", jquery=jquery_file(), teacher=is_teacher(), pen=PEN)
    )
    response.vary.add("Cookie")
    return response


@bp.get("/class")
@describe(media="text/html", answer={"type": "string"})
def class_view():
    """The class view for a projector: the page's address as a QR code, the workers, everyone's requests"""
    address = page_address()
    return render_template(
        "class.html", jquery=jquery_file(), address=address, qr=Markup(qr_svg(address.url))
    )
