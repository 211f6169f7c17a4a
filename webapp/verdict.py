"""Is this drawing a readable digit? The "not sure" verdict of /api/predict.

Decided from measured features of the 28x28 MNIST-format image (so the same for a canvas
drawing, an upload and a photo) and from the model's calibrated confidence:

- **a dot or a dab** (too little ink): one round blob; scaled to MNIST's 20 px box its
  stroke is as thick as it is long.
- **too small**: a digit drawn so small that the pen fills it in; after scaling, its
  stroke is thicker than a fifth of the digit's height (drawn digits: under 0.2 in 99.5 %).
- **not a digit** (a scribble): strokes crossing so often that their cores enclose more holes
  than any digit has (an 8 has two); or colouring in, a line of pixels crossing more strokes
  than one through any digit does; or ink as dense as a scribble's, and a model that, once
  calibrated, is not sure of any digit.
- **which digit** (the model is not sure): its calibrated confidence is low, or the two likeliest
  digits are close; the reason names them ("7 or 1?").

Every "not sure" answer also names the likeliest digits (``alternatives``, best first).

The thresholds and the temperature were measured by ``python -m digits.calibrate``, which
prints how often each rule fires on good drawings (MNIST test, drawn-style digits) and on
dots, tiny digits and scribbles, and writes the temperature to models/calibration.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CALIBRATION_FILE = "calibration.json"

# Ink: pixels of the 28x28 image at least half-strength.
INK_LEVEL = 128
# Stroke thickness over the ink's longest side. Good drawings: 99.5 % under 0.20
# (drawn-style set), MNIST test under 0.19; digits drawn 12-45 px with the 20 px pen: 0.22-0.40.
TOO_SMALL = 0.23
# Drawn within a quarter of the picture's side, a lower bar: digits drawn 12-45 px with the
# 20 px pen that stay under TOO_SMALL have 0.2-0.23 (the drawn and font sets, 110-250 px
# tall, and photos of paper all span more than a third of the picture).
SMALL_EXTENT = 0.25
TOO_SMALL_IN_LITTLE_SPACE = 0.2
# A dot: as thick as too small, and one compact blob (ink covers this much of its box).
DOT_FILL = 0.7
DOT_RATIO = 0.34
# A scribble: the strokes' cores (pixels this dark) enclosing this many holes or more, counted
# as 1 - the Euler number of the 8-connected core (holes less extra pieces). An 8 has 2. At the
# core, the gaps between crossing strokes stay open where the half-strength ink (INK_LEVEL)
# fills them in: three or more holes there fire on 0.24 % of MNIST test and 0.34 % of drawn
# digits, and catch about three scribbles in four.
CORE_LEVEL = 230
SCRIBBLE_HOLES = 3
# Or a scribble: ink as dense as a scribble's (its strokes cover this much of the box) and a
# calibrated confidence below this. Chosen with the holes on a grid (fill 0.55-0.7 x confidence
# 0.5-0.9 x core 128-230 x holes 3-4) over the drawn digits and fonts of python -m
# digits.calibrate: under 1 % of the good drawings pooled (blackletter, dense strokes the model
# is unsure of, fires most), and most scribbles.
SCRIBBLE_FILL = 0.65
SCRIBBLE_CONFIDENCE = 0.75
# Or colouring in: one row or column of pixels crosses this many strokes or more (a line
# through an 8 or a 3 crosses 3, rarely 4: 5 or more in 0.1 % of drawn digits).
SCRIBBLE_CROSSINGS = 5
# Too thick for its size, yet spanning this much of the picture: scribbled over, not small.
# (Tiny digits and dots drawn with the page's pen span 0.07-0.23 of the canvas; scribbles 0.5-0.9.)
SCRIBBLE_EXTENT = 0.4
# Not sure which digit: a calibrated confidence under this, or the two likeliest digits closer
# than this (calibrated). Chosen by python -m digits.calibrate on its tuning sets only (the most
# scribbles caught while firing on at most 1 % more of each set of good drawings).
UNSURE_CONFIDENCE = 0.2
UNSURE_MARGIN = 0.0
# The alternatives: the likeliest digits, best first, until they hold this much of the
# calibrated probability (two at least, three at most).
ALTERNATIVES_COVER = 0.95

REASONS = {
    "too_little_ink": "Too little ink to read, a dot or a dab: draw a whole digit, bigger.",
    "too_small": "The digit is too small to read: draw it bigger, to fill the box.",
    "not_a_digit": "Is that a digit? It does not look like one: clear and draw a single digit.",
    "which_digit": "{alternatives}? The model cannot tell: draw it again, more clearly.",
}


def in_words(digits: list[int]) -> str:
    """[7, 1] -> "7 or 1"; [7, 1, 9] -> "7, 1 or 9"."""
    names = [str(d) for d in digits]
    return " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def reason_in_words(code: str, alternatives: list[int]) -> str:
    """The reason a person reads: REASONS[code], with the alternatives where it names them."""
    return REASONS[code].format(alternatives=in_words(alternatives))


@dataclass(frozen=True)
class Shape:
    """Measured features of a 28x28 image's ink."""

    ink: int  # pixels of ink
    thickness: float  # mean stroke width in pixels: 2 x area / perimeter
    fill: float  # ink pixels over the ink's bounding box
    ratio: float  # thickness over the bounding box's longest side
    holes: int = 0  # holes the strokes' cores enclose, less extra pieces: 1 - Euler number
    crossings: int = 0  # the most strokes one row or column of pixels crosses


def shape(pixels: np.ndarray) -> Shape:
    """The ink features of a uint8 28x28 MNIST-format image."""
    mask = pixels >= INK_LEVEL
    ink = int(np.count_nonzero(mask))
    if not ink:
        return Shape(0, 0.0, 0.0, 0.0)
    # Ink edges: between unlike neighbours, and where ink meets the picture's border
    # (as if padded with blank; np.pad itself costs more than the rest of this). A line
    # down a column (across a row) crosses half as many strokes as it meets edges.
    column_edges = (mask[1:] != mask[:-1]).sum(axis=0) + mask[0] + mask[-1]
    row_edges = (mask[:, 1:] != mask[:, :-1]).sum(axis=1) + mask[:, 0] + mask[:, -1]
    perimeter = int(column_edges.sum() + row_edges.sum())
    crossings = max(int(column_edges.max()), int(row_edges.max())) // 2
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    thickness = 2 * ink / perimeter
    holes = 1 - _euler(pixels >= CORE_LEVEL)
    return Shape(ink, thickness, ink / (height * width), thickness / max(height, width), holes, crossings)


def _euler(mask: np.ndarray) -> int:
    """The Euler number (pieces - holes) of 8-connected ink, from its 2x2 patterns (Gray's
    bit quads): (singles - triples - 2 x diagonal pairs) / 4, the mask framed by blank."""
    m = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    m[1:-1, 1:-1] = mask
    quads = np.bincount((m[:-1, :-1] + 2 * m[:-1, 1:] + 4 * m[1:, :-1] + 8 * m[1:, 1:]).ravel(), minlength=16)
    singles = quads[1] + quads[2] + quads[4] + quads[8]
    triples = quads[7] + quads[11] + quads[13] + quads[14]
    return int(singles - triples - 2 * (quads[6] + quads[9])) // 4


def calibrated_top(probabilities, temperature: float) -> float:
    """The largest of calibrated(probabilities, temperature) for one answer's 10 values, in
    plain Python: max softmax(log p / T) = 1 / sum((p_i / p_max) ** (1 / T))."""
    return max(calibrated_one(probabilities, temperature))


def calibrated_one(probabilities, temperature: float) -> list[float]:
    """calibrated() for one answer's 10 values, in plain Python (a request's few microseconds):
    softmax(log p / T)_i = (p_i / p_max) ** (1 / T) / sum_j (p_j / p_max) ** (1 / T)."""
    top = max(max(probabilities), 1e-12)
    power = 1 / temperature
    scaled = [(max(float(x), 1e-12) / top) ** power for x in probabilities]
    total = sum(scaled)
    return [x / total for x in scaled]


def alternatives(calibrated_probabilities) -> list[int]:
    """The likeliest digits, best first: until they hold ALTERNATIVES_COVER, two to three."""
    order = sorted(range(len(calibrated_probabilities)), key=lambda d: -calibrated_probabilities[d])
    out, held = [], 0.0
    for d in order[:3]:
        if len(out) >= 2 and held >= ALTERNATIVES_COVER:
            break
        out.append(d)
        held += calibrated_probabilities[d]
    return out


def margin(calibrated_probabilities) -> float:
    """How far the likeliest digit is ahead of the next (calibrated)."""
    first, second = sorted(calibrated_probabilities, reverse=True)[:2]
    return first - second


def calibrated(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature-scaled probabilities: softmax(log p / T), for [..., 10]."""
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-12, None)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def unsure_reason(
    s: Shape,
    confidence: float,
    extent: float | None = None,
    lead: float = 1.0,
    which: tuple[float, float] = (UNSURE_CONFIDENCE, UNSURE_MARGIN),
) -> str | None:
    """Why this drawing is not a readable digit (a key of REASONS), or None if it is one.

    ``extent``: the ink's longest side over the picture's shorter side, when known: dense ink
    that spans much of the picture is a scribble, not a digit drawn too small. ``confidence``
    and ``lead``: the calibrated confidence, and its margin over the next digit; ``which``: the
    thresholds of "which digit" (digits.calibrate tries others).
    """
    if s.ratio >= TOO_SMALL and extent is not None and extent >= SCRIBBLE_EXTENT:
        return "not_a_digit"
    if s.ratio >= DOT_RATIO and s.fill >= DOT_FILL:
        return "too_little_ink"
    if s.ratio >= TOO_SMALL:
        return "too_small"
    if s.ratio >= TOO_SMALL_IN_LITTLE_SPACE and extent is not None and extent < SMALL_EXTENT:
        return "too_small"
    dense_and_unsure = s.fill >= SCRIBBLE_FILL and confidence < SCRIBBLE_CONFIDENCE
    if s.holes >= SCRIBBLE_HOLES or s.crossings >= SCRIBBLE_CROSSINGS or dense_and_unsure:
        return "not_a_digit"
    if confidence < which[0] or lead < which[1]:
        return "which_digit"
    return None


def load_temperature(model_dir: Path) -> float:
    """The temperature fitted for the model in model_dir (1.0, none, if it has no calibration)."""
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return 1.0
    return float(json.loads(path.read_text())["temperature"])
