"""Corrections stored by the server (POST /api/corrections, CORRECTIONS=<folder>) as training data.

``train.py --extra DIR`` reads them here: only complete corrections (the record, written last,
and the 28x28 image), each drawing once (the same pixels stored twice count once), and none
whose drawing was given two different labels (people disagree: leave it out).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image


def load_corrections(folder: Path | str) -> tuple[np.ndarray, np.ndarray, dict]:
    """(uint8 [n, 28, 28] images, uint8 [n] labels, counts: found, used, duplicates, conflicting)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of corrections")
    labels_of: dict[bytes, set[int]] = defaultdict(set)
    pixels_of: dict[bytes, np.ndarray] = {}
    found = broken = 0
    for record in sorted(folder.glob("*.json")):
        found += 1
        small = record.with_suffix(".28.png")
        try:
            label = int(json.loads(record.read_text())["label"])
            with Image.open(small) as image:
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
