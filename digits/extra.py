"""Corrections the teacher approved (POST /api/corrections, then python -m webapp.review) as training data.

``train.py --extra DIR`` reads them here, from DIR/approved/ (DIR itself if it is that folder):
never the pending ones, which no one has reviewed. Only complete corrections (the record,
written last, and the 28x28 image), each drawing once (the same pixels stored twice count
once), and none whose drawing was given two different labels (people disagree: leave it out).
A file that is not a plain file (a FIFO would hang the reader, a link point anywhere) or is
larger than a correction can be is an error that names it: someone put it there.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

APPROVED = "approved"  # webapp/corrections.py's
MAX_FILE_BYTES = 4096  # a 28x28 grey PNG is at most ~900 bytes, its record ~200


def read_small(path: Path) -> bytes:
    """A correction's file: a plain file (opened without following a link or waiting on a
    FIFO) of at most MAX_FILE_BYTES; anything else is an OSError that says what it is."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, f"{path} is a link, not a correction: remove it") from None
        raise
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"{path} is not a plain file (a FIFO or a device?): remove it")
        if info.st_size > MAX_FILE_BYTES:
            raise OSError(
                errno.EFBIG, f"{path} is {info.st_size:,} bytes, larger than a correction can be: remove it"
            )
        return file.read(MAX_FILE_BYTES + 1)


def load_corrections(folder: Path | str) -> tuple[np.ndarray, np.ndarray, dict]:
    """(uint8 [n, 28, 28] images, uint8 [n] labels, counts: found, used, duplicates, conflicting)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of corrections")
    if (folder / APPROVED).is_dir():
        folder = folder / APPROVED
    elif folder.name != APPROVED:
        raise FileNotFoundError(
            f"{folder}: no approved corrections in it: review them first (python -m webapp.review {folder})"
        )
    for path in folder.iterdir():
        if path.suffix in (".json", ".png"):
            read_small(path)  # every file checked before any is used: one planted file stops the run
    labels_of: dict[bytes, set[int]] = defaultdict(set)
    pixels_of: dict[bytes, np.ndarray] = {}
    found = broken = 0
    for record in sorted(folder.glob("*.json")):
        found += 1
        small = record.with_suffix(".28.png")
        try:
            label = int(json.loads(read_small(record))["label"])
            with Image.open(io.BytesIO(read_small(small))) as image:
                pixels = np.array(image.convert("L"))
        except (OSError, ValueError, KeyError, TypeError):
            broken += 1
            continue
        if pixels.shape != (28, 28) or not 0 <= label <= 9:
            broken += 1
            continue
        key = hashlib.sha256(pixels.tobytes()).digest()
        pixels_of[key] = pixels
        labels_of[key].add(label)
    agreed = [key for key, labels in labels_of.items() if len(labels) == 1]
    images = np.array([pixels_of[k] for k in agreed], np.uint8).reshape(-1, 28, 28)
    labels = np.array([next(iter(labels_of[k])) for k in agreed], np.uint8)
    counts = {
        "found": found,
        "used": len(agreed),
        "duplicates": found - broken - sum(len(v) for v in labels_of.values()),
        "conflicting": len(labels_of) - len(agreed),
        "unreadable": broken,
    }
    return images, labels, counts
