"""POST /api/corrections: the person says which digit a drawing really is; stored for training.

Off unless CORRECTIONS names a folder (a public demo stores nothing). Each correction is three
files named by the SHA-256 of its 28x28 input and its label, so the same drawing corrected twice
is stored once:

    <hash>-<label>.png        the drawing, re-encoded as PNG (no metadata: EXIF, text chunks)
    <hash>-<label>.28.png     the 28x28 image the model saw
    <hash>-<label>.json       the label, when (to the minute) and the answer it corrects

No client address, client id or user agent is kept. Every file is written to a temporary name
and renamed into place, the record (.json) last: a crash leaves no half correction, and train.py
(--extra) reads only complete ones. The folder is bounded in count and bytes
(CORRECTIONS_MAX_COUNT, CORRECTIONS_MAX_BYTES); a full folder refuses new corrections (409)
and never deletes one already stored.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from flask import Blueprint, Flask, current_app

from . import decode
from .errors import ApiError
from .openapi import describe
from .parsing import read_json
from .png import grey_png
from .preprocess import preprocess
from .schemas import Correction, CorrectionBody

log = logging.getLogger(__name__)

bp = Blueprint("corrections", __name__)

LOCK = ".lock"  # held while a correction is counted and written: workers take turns
RECORD = ".json"


def init_app(app: Flask) -> None:
    """Make the CORRECTIONS folder (0700) if it is set; a folder that cannot be made is an error."""
    folder = app.config["CORRECTIONS"]
    if folder:
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)


def _folder() -> Path:
    folder = current_app.config["CORRECTIONS"]
    if not folder:
        raise ApiError(
            "corrections_off",
            "This server does not store corrections (start it with CORRECTIONS=<folder>).",
            404,
        )
    return Path(folder)


def _png(image) -> bytes:
    """The decoded drawing as a plain PNG: pixels only, whatever metadata the upload carried."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    """Write data to path atomically: a temporary file in the same folder, fsync'd, renamed."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _usage(folder: Path) -> tuple[int, int]:
    """(complete corrections, bytes of every file) in the folder."""
    count = size = 0
    for entry in os.scandir(folder):
        if entry.is_file():
            size += entry.stat().st_size
            count += entry.name.endswith(RECORD)
    return count, size


def store(
    folder: Path, original: bytes, pixels: np.ndarray, label: int, answer: str | None
) -> tuple[str, bool]:
    """Store one correction; (its name, whether it was new). Raises 409 when the folder is full."""
    name = f"{hashlib.sha256(pixels.tobytes()).hexdigest()[:32]}-{label}"
    small = grey_png(pixels)
    record = json.dumps(
        {"label": label, "stored": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), "request_id": answer}
    ).encode()
    config = current_app.config
    with open(folder / LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / f"{name}{RECORD}").exists():
            return name, False
        count, size = _usage(folder)
        needed = len(original) + len(small) + len(record)
        if count >= config["CORRECTIONS_MAX_COUNT"] or size + needed > config["CORRECTIONS_MAX_BYTES"]:
            raise ApiError(
                "corrections_full",
                f"The corrections folder is full ({count:,} stored, {size / 1e6:.1f} MB); "
                "nothing was stored. Train with them (train.py --extra) and empty it.",
                409,
            )
        _write(folder / f"{name}.png", original)
        _write(folder / f"{name}.28.png", small)
        _write(folder / f"{name}{RECORD}", record)  # last: the correction is complete
    return name, True


@bp.post("/api/corrections")
@describe(body=CorrectionBody, answer=Correction, status=201, errors=(400, 404, 409, 413, 415, 422, 507))
def correct() -> Correction:
    """Store a drawing and the digit it really is, for training (when CORRECTIONS names a folder)

    404 corrections_off unless the server was started with CORRECTIONS=<folder>; 409
    corrections_full past CORRECTIONS_MAX_COUNT or CORRECTIONS_MAX_BYTES, storing nothing.
    """
    folder = _folder()
    body = read_json(CorrectionBody)
    image = decode.image_from_data_url(body.image, current_app.config["MAX_IMAGE_PIXELS"])
    pixels = preprocess(image)
    label = body.label
    try:
        name, new = store(folder, _png(image), pixels, label, body.request_id)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise ApiError(
                "corrections_full", "The disk of the corrections folder is full; nothing was stored.", 409
            ) from None
        log.warning("could not store a correction in %s: %s", folder, err)
        raise ApiError(
            "corrections_unwritable", "The server could not store the correction (its disk).", 507
        ) from None
    log.info("correction %s %s", name, "stored" if new else "already stored")
    return {"stored": True, "id": name, "label": label, "new": new}, 201
