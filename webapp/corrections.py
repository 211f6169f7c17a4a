"""POST /api/corrections: the person says which digit a drawing really is; kept for the teacher's review.

Off unless CORRECTIONS names a folder (a public demo stores nothing). A correction is a
teacher's tool, not an anonymous upload, so nothing a student sends reaches training by
itself:

    CORRECTIONS/corrections.sqlite   pending corrections: the 28x28 image the model saw (a
                                     ~300-byte PNG: never the upload), the label, when, the
                                     answer it corrects, and the client address that sent it
    CORRECTIONS/approved/            what the teacher approved (python -m webapp.review):
                                     <id>.28.png and <id>.json, the files train.py --extra reads

A correction is named by the SHA-256 of its 28x28 input and its label, so the same drawing
corrected twice is kept once. Each client address may have CORRECTIONS_PER_CLIENT corrections
and send CORRECTIONS_PER_MINUTE a minute (429 past either; the teacher is exempt), and the
folder holds CORRECTIONS_MAX_COUNT in all and CORRECTIONS_MAX_BYTES (409 past either, deleting
nothing). All of that is decided before the image is decoded, and again, exactly, in the one
SQLite transaction that stores it. The folder must be this server's user's and private (0700),
as STATE_DIR: nobody else can plant a file or a link in it.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import sqlite3
import stat
import time
from pathlib import Path

import numpy as np
from flask import Blueprint, Flask, current_app

from serving.state import check_state_dir

from . import decode
from .errors import ApiError
from .lab_api.limits import client_address
from .openapi import describe
from .parsing import read_json
from .png import grey_png
from .preprocess import preprocess
from .schemas import Correction, CorrectionBody
from .teacher import is_teacher

log = logging.getLogger(__name__)

bp = Blueprint("corrections", __name__)

LEDGER = "corrections.sqlite"
APPROVED = "approved"
RATE_WINDOW = 60  # seconds over which CORRECTIONS_PER_MINUTE is counted
SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    id TEXT PRIMARY KEY,
    label INTEGER NOT NULL,
    client TEXT NOT NULL,
    at REAL NOT NULL,
    request_id TEXT,
    image BLOB,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS corrections_by_client ON corrections (client, at);
"""


def check_folder(folder: str | os.PathLike) -> Path:
    """The CORRECTIONS folder, made 0700 if missing, else it must be ours, private and no link."""
    return check_state_dir(folder, "CORRECTIONS")


def connect(folder: Path) -> sqlite3.Connection:
    """The ledger of a checked folder; a link or anything but a plain file in its place is refused."""
    path = folder / LEDGER
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise OSError(errno.ELOOP, f"{path} is not a plain file (a link?): remove it")
    except FileNotFoundError:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return db


def init_app(app: Flask) -> None:
    """Check the CORRECTIONS folder if it is set: a folder that cannot be used is an error at start."""
    folder = app.config["CORRECTIONS"]
    if folder:
        connect(check_folder(folder)).close()


def _folder() -> Path:
    folder = current_app.config["CORRECTIONS"]
    if not folder:
        raise ApiError(
            "corrections_off",
            "This server does not store corrections (start it with CORRECTIONS=<folder>).",
            404,
        )
    return Path(folder)


def _check_room(db: sqlite3.Connection, client: str | None, needed: int) -> None:
    """409 if the folder is full, 429 if this client (None: the teacher) has sent its share."""
    config = current_app.config
    count = db.execute("SELECT count(*) FROM corrections WHERE state != 'rejected'").fetchone()[0]
    size = db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    if count >= config["CORRECTIONS_MAX_COUNT"] or size + needed > config["CORRECTIONS_MAX_BYTES"]:
        raise ApiError(
            "corrections_full",
            f"The corrections folder is full ({count:,} kept, {size / 1e6:.1f} MB); nothing was stored. "
            "The teacher reviews them (python -m webapp.review) and trains with them.",
            409,
        )
    if client is None:
        return
    sent, recent = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE at > ?) FROM corrections WHERE client = ?",
        (time.time() - RATE_WINDOW, client),
    ).fetchone()
    if sent >= config["CORRECTIONS_PER_CLIENT"]:
        raise ApiError(
            "corrections_quota",
            f"You have sent {sent} corrections, as many as one person may "
            f"(CORRECTIONS_PER_CLIENT); the teacher reviews them.",
            429,
            retry_after=RATE_WINDOW,
        )
    if recent >= config["CORRECTIONS_PER_MINUTE"]:
        raise ApiError(
            "corrections_too_fast",
            f"You sent {recent} corrections in the last minute; at most "
            f"{config['CORRECTIONS_PER_MINUTE']} a minute are kept. Try again in a minute.",
            429,
            retry_after=RATE_WINDOW,
        )


def store(
    db: sqlite3.Connection, pixels: np.ndarray, label: int, answer: str | None, client: str | None
) -> tuple[str, bool]:
    """Keep one correction, pending review; (its id, whether it was new). 409/429 as _check_room."""
    name = f"{hashlib.sha256(pixels.tobytes()).hexdigest()[:32]}-{label}"
    small = grey_png(pixels)
    db.execute("BEGIN IMMEDIATE")  # one writer at a time, across every worker: the caps are exact
    try:
        if db.execute("SELECT 1 FROM corrections WHERE id = ?", (name,)).fetchone():
            return name, False
        _check_room(db, client, len(small))
        db.execute(
            "INSERT INTO corrections (id, label, client, at, request_id, image) VALUES (?, ?, ?, ?, ?, ?)",
            (name, label, client or "teacher", time.time(), answer, small),
        )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return name, True


def _unwritable(folder: Path, err: Exception) -> ApiError:
    if isinstance(err, OSError) and err.errno == errno.ENOSPC or "full" in str(err):
        return ApiError(
            "corrections_full", "The disk of the corrections folder is full; nothing was stored.", 409
        )
    log.warning("could not store a correction in %s: %s", folder, err)
    return ApiError("corrections_unwritable", "The server could not store the correction (its disk).", 507)


@bp.post("/api/corrections")
@describe(body=CorrectionBody, answer=Correction, status=201, errors=(400, 404, 409, 413, 415, 422, 429, 507))
def correct() -> Correction:
    """Keep a drawing and the digit it really is, for the teacher's review (CORRECTIONS set)

    404 corrections_off unless the server was started with CORRECTIONS=<folder>; 409
    corrections_full past CORRECTIONS_MAX_COUNT or CORRECTIONS_MAX_BYTES, and 429 past a
    client's CORRECTIONS_PER_CLIENT or CORRECTIONS_PER_MINUTE, storing nothing (decided
    before the image is decoded). Nothing reaches training before the teacher approves it.
    """
    folder = _folder()
    body = read_json(CorrectionBody)
    client = None if is_teacher() else client_address()
    try:
        db = connect(folder)
    except (OSError, sqlite3.Error) as err:
        raise _unwritable(folder, err) from None
    try:
        _check_room(db, client, 0)  # before any decoding
        image = decode.image_from_data_url(body.image, current_app.config["MAX_IMAGE_PIXELS"])
        pixels = preprocess(image)
        name, new = store(db, pixels, body.label, body.request_id, client)
    except (OSError, sqlite3.Error) as err:
        raise _unwritable(folder, err) from None
    finally:
        db.close()
    log.info("correction %s %s", name, "kept for review" if new else "already kept")
    return {"stored": True, "id": name, "label": body.label, "new": new}, 201
