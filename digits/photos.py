"""Accuracy on photos of digits on paper, and on canvas drawings, through the server's preprocessing.

    python -m digits.photos            # 1,000 photo-like images and 1,000 drawings per style
    python -m digits.photos -n 300     # quicker

Photos: digits.sets.photos (paper texture, light falling off, a shadow, tilt, perspective, blur,
JPEG at quality 55-91), decoded as the server decodes them. Drawings: the same MNIST test digits
redrawn in the page's canvas style (digits.sets.drawn) and in the styles of
tests/unit/test_preprocess.py (paper, light on dark, coloured ink). Prints accuracy per set, so a
change to webapp/preprocess.py can be judged on photos and drawings at once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from digits import dataset, sets
from digits.calibrate import verdicts
from digits.drawing import draw_like_a_pen
from webapp.decode import open_image
from webapp.errors import ApiError
from webapp.model import Model
from webapp.preprocess import normalize, preprocess_measured

ROOT = Path(__file__).resolve().parent.parent
STYLES = {
    "canvas, black on transparent": {},
    "canvas, red, thin": {"ink": (200, 30, 30, 255), "pen": 0.4},
    "paper, no alpha (RGB)": {"ink": (20, 20, 60, 255), "ground": (250, 250, 245, 255), "mode": "RGB"},
    "light on dark, greyscale": {"ink": (255, 255, 255, 255), "ground": (0, 0, 0, 255), "mode": "L"},
    "white ground, opaque RGBA": {"ground": (255, 255, 255, 255)},
}


def accuracy(model: Model, pictures, labels: np.ndarray) -> tuple[float, float, float]:
    """(accuracy, share answered "not sure", ms of preprocessing per picture); a picture refused
    as empty counts as wrong."""
    pixels, extents, right, spent = [], [], [], 0.0
    for picture in pictures:
        started = time.perf_counter()
        try:
            x, extent = preprocess_measured(picture)
            right.append(True)
        except ApiError:
            x, extent = np.zeros((28, 28), np.uint8), None
            right.append(False)
        spent += time.perf_counter() - started
        pixels.append(x)
        extents.append(extent)
    pixels = np.array(pixels)
    digits = model.probabilities(normalize(pixels)).argmax(1)
    reasons = verdicts(model, pixels, model.temperature, extents)
    unsure = np.mean([r is not None for r, ok in zip(reasons, right, strict=True) if ok])
    return float(((digits == labels) & np.array(right)).mean()), float(unsure), spent * 1000 / len(labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="images per set (1000)")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    args = parser.parse_args(argv)
    model = Model("litert", args.models).load()
    x, y = dataset.load("test")
    x, y = x[: args.n], y[: args.n]
    rows = {
        "photos of paper (JPEG)": lambda: (open_image(raw, 16_000_000) for raw in sets.photos(x, seed=11)),
        "drawn on the page's canvas": lambda: sets.drawn(x, seed=12),
        **{name: (lambda s=style: (draw_like_a_pen(d, **s) for d in x)) for name, style in STYLES.items()},
    }
    print(f'| set ({args.n:,} MNIST test digits each) | accuracy | "not sure" | preprocessing ms |')
    print("|---|---:|---:|---:|")
    for name, pictures in rows.items():
        acc, unsure, ms = accuracy(model, pictures(), y)
        print(f"| {name} | {acc:.2%} | {unsure:.2%} | {ms:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
