"""MNIST training digits redrawn with a pen: train.py's stroke-style augmentation.

People draw on the page with a round pen of constant width; MNIST digits were written with
a pen on paper and scanned. Each training digit's skeleton (digits.drawing.mnist_strokes) is
redrawn here as strokes, varied the way drawings vary: pen width against the digit's size,
slant, rotation, aspect, a stroke stopped short (a 6 or a 0 left open), a flag and a foot on
a 1, a bar across a 7, corners instead of curves, a pen lifted mid-stroke, ticks at stroke
ends. Print digits of outline fonts are redrawn the same way from their skeletons. Each
drawing then goes through the server's own preprocessing, so the model trains on exactly
what the server will give it. digits/evaluate.py measures on digits made by other methods
(single-stroke fonts), which this never draws.

Rendering 60,000 drawings takes minutes, so the result is cached under data/pen/, keyed by the
digits, the seed and the code that draws them.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

from digits import sources
from digits.drawing import Stroke
from digits.sets import render, skeleton_strokes
from digits.sets import scribbles as zig_zags
from webapp.preprocess import preprocess

SIZE = 140  # the canvas drawn on: half the page's; the preprocessing scales it to 20 px anyway
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "data" / "pen"
DRAWING_CODE = [ROOT / name for name in ("digits/pen.py", "digits/sets.py", "digits/drawing.py")]
DRAWING_CODE.append(ROOT / "webapp" / "preprocess.py")


def _affine(strokes: list[Stroke], rng: np.random.Generator) -> list[np.ndarray]:
    """Slant, rotate and stretch the strokes about the glyph's centre."""
    slant = np.tan(np.radians(rng.uniform(-18, 18)))
    angle = np.radians(rng.uniform(-10, 10))
    aspect = rng.uniform(0.75, 1.25)
    c, s = np.cos(angle), np.sin(angle)
    m = np.array([[c, -s], [s, c]]) @ np.array([[aspect, -slant], [0, 1]])
    return [(np.array(stroke) - 0.5) @ m.T + 0.5 for stroke in strokes]


def _open_ends(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Now and then stop a stroke short, or carry it on past its end: loops left open, overshoot."""
    out = []
    for s in strokes:
        if len(s) > 6 and rng.random() < 0.3:
            cut = int(len(s) * rng.uniform(0.05, 0.2))
            s = s[cut:] if rng.random() < 0.5 else s[: len(s) - cut]
        out.append(s)
    return out


def _simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Ramer-Douglas-Peucker: the fewest points within ``tolerance`` of the line."""
    if len(points) < 3:
        return points
    a, b = points[0], points[-1]
    ab = b - a
    norm = np.hypot(*ab)
    rel = points - a
    distance = (
        np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / norm if norm else np.hypot(rel[:, 0], rel[:, 1])
    )
    i = int(distance.argmax())
    if distance[i] <= tolerance:
        return np.array([a, b])
    return np.concatenate([_simplify(points[: i + 1], tolerance)[:-1], _simplify(points[i:], tolerance)])


def _angular(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Now and then straight lines and corners instead of curves: boxy and blackletter hands."""
    if rng.random() < 0.35:
        tolerance = rng.uniform(0.03, 0.12)
        return [_simplify(s, tolerance) for s in strokes]
    return strokes


def _pen_lifts(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Now and then a stroke drawn in two, the pen lifted and put down a little off: a gap."""
    if rng.random() >= 0.2:
        return strokes
    longest = max(range(len(strokes)), key=lambda i: len(strokes[i]))
    s = strokes[longest]
    if len(s) < 6:
        return strokes
    cut = int(rng.integers(2, len(s) - 2))
    shift = rng.normal(0, 0.03, 2)
    return [*strokes[:longest], s[:cut], s[cut:] + shift, *strokes[longest + 1 :]]


def _ticks(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Now and then a short tick at stroke ends: serifs, a pen landing or leaving."""
    if rng.random() >= 0.2:
        return strokes
    out = list(strokes)
    for s in strokes:
        for end in (s[0], s[-1]):
            if rng.random() < 0.5:
                angle = rng.uniform(0, 2 * np.pi)
                length = rng.uniform(0.04, 0.1)
                out.append(np.array([end, end + length * np.array([np.cos(angle), np.sin(angle)])]))
    return out


def _extras(strokes: list[np.ndarray], label: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Strokes MNIST's American writers seldom made: a flag and a foot on a 1, a bar on a 7."""
    points = np.concatenate(strokes)
    top = points[points[:, 1].argmin()]
    bottom = points[points[:, 1].argmax()]
    height = bottom[1] - top[1]
    extra = []
    if label == 1 and rng.random() < 0.5:
        length = height * rng.uniform(0.2, 0.4)
        angle = np.radians(rng.uniform(20, 60))  # down and to the left of the top
        extra.append(np.array([top + [-length * np.cos(angle), length * np.sin(angle)], top]))
        if rng.random() < 0.5:
            half = height * rng.uniform(0.15, 0.3)
            extra.append(np.array([bottom - [half, 0], bottom + [half, 0]]))
    if label == 7 and rng.random() < 0.25:
        y = top[1] + height * rng.uniform(0.45, 0.6)
        near = points[np.abs(points[:, 1] - y).argmin()]
        half = height * rng.uniform(0.12, 0.22)
        extra.append(np.array([near - [half, 0], near + [half, 0]]))
    return strokes + extra


def redraw(image: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """One digit (white on black, square: MNIST's 28 px or a font's glyph) redrawn with a pen,
    as the server's 28x28 input (uint8)."""
    strokes = _open_ends(_affine(skeleton_strokes(image, rng, tremor=0.006), rng), rng)
    strokes = _ticks(_pen_lifts(_angular(_extras(strokes, int(label), rng), rng), rng), rng)
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    span = max(high - low) or 1.0
    side = SIZE * rng.uniform(0.5, 0.8)
    width = side * rng.uniform(0.05, 0.25)
    fitted = [[tuple(p) for p in (s - low) / span] for s in strokes]
    margin = (SIZE - side) / 2
    return preprocess(render(fitted, (margin, margin, side), width, size=SIZE))


# Outline fonts that come with matplotlib (a dependency already): print digits in 21 faces.
# Their skeletons, redrawn with the pen, are print-style drawings; the evaluation's fonts
# (Hershey's single-stroke fonts, digits/evaluate.py) share no face with them.
FONT_FACES = (
    *(f"DejaVuSans{v}.ttf" for v in ("", "-Bold", "-Oblique", "-BoldOblique")),
    *(f"DejaVuSansMono{v}.ttf" for v in ("", "-Bold", "-Oblique", "-BoldOblique")),
    *(f"DejaVuSerif{v}.ttf" for v in ("", "-Bold", "-Italic", "-BoldItalic")),
    *(f"STIXGeneral{v}.ttf" for v in ("", "Bol", "Italic", "BolIta")),
    *(f"cm{v}10.ttf" for v in ("r", "b", "ss", "ti", "tt")),
)
GLYPH = 56  # px: each digit of each face rendered this big, then skeletonized


def font_glyphs() -> tuple[np.ndarray, np.ndarray]:
    """Every digit of FONT_FACES, white on black in GLYPH x GLYPH px (uint8), and the digits."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    images, labels = [], []
    for face in FONT_FACES:
        font = ImageFont.truetype(str(folder / face), int(GLYPH * 0.78))
        for digit in range(10):
            image = Image.new("L", (GLYPH, GLYPH), 0)
            draw = ImageDraw.Draw(image)
            left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font)
            draw.text(
                ((GLYPH - right - left) / 2, (GLYPH - bottom - top) / 2), str(digit), fill=255, font=font
            )
            images.append(np.asarray(image))
            labels.append(digit)
    return np.array(images), np.array(labels, np.uint8)


def font_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` print digits: font_glyphs in turn, each redrawn with the pen's variations."""
    glyphs, digits = font_glyphs()
    pick = np.arange(n) % len(glyphs)
    return redrawn(glyphs[pick], digits[pick], seed), digits[pick]


def _redraw_chunk(args) -> np.ndarray:
    images, labels, seed = args
    rng = np.random.default_rng(seed)
    return np.array([redraw(x, y, rng) for x, y in zip(images, labels, strict=True)]).reshape(-1, 28, 28)


def redrawn(images: np.ndarray, labels: np.ndarray, seed: int, processes: int | None = None) -> np.ndarray:
    """Every digit redrawn once (cached in data/pen/), in parallel, printing progress."""
    # Keyed by the digits and by the code that draws them: this module, the strokes and the pen
    # (digits/sets.py, digits/drawing.py) and the server's preprocessing.
    code = b"".join(path.read_bytes() for path in DRAWING_CODE)
    key = hashlib.sha256(images.tobytes() + labels.tobytes() + code).hexdigest()[:12]
    path = CACHE / f"pen-{seed}-{len(images)}-{key}.npy"
    if path.is_file():
        print(f"pen-drawn digits: {path} (cached)")
        return np.load(path)
    chunk = 500
    jobs = [
        (images[i : i + chunk], labels[i : i + chunk], seed * 1_000_003 + i)
        for i in range(0, len(images), chunk)
    ]
    started = time.perf_counter()
    out = []
    with multiprocessing.get_context("spawn").Pool(processes or os.cpu_count()) as pool:
        for done, part in enumerate(pool.imap(_redraw_chunk, jobs), 1):
            out.append(part)
            elapsed = time.perf_counter() - started
            left = elapsed / done * (len(jobs) - done)
            print(
                f"\rredrawing digits with a pen: {min(done * chunk, len(images)):,}/{len(images):,},"
                f" {left:.0f} s left",
                end="",
                file=sys.stderr,
            )
    print(file=sys.stderr)
    result = np.concatenate(out)
    CACHE.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: a run stopped while saving must not leave a cut file to load next time.
    partial = path.with_suffix(f".{os.getpid()}.partial")
    with open(partial, "wb") as file:
        np.save(file, result)
    os.replace(partial, path)
    return result


# Scribbles are drawn from these seeds up: the evaluation's (digits/evaluate.py, digits/calibrate.py)
# are all below 1000, so the model never trains on a scribble it is judged by.
SCRIBBLE_SEEDS = 1000


def scribbles(n: int, seed: int) -> np.ndarray:
    """``n`` random scribbles as the server's 28x28 inputs: no digit. Half three-stroke scribbles
    (digits/sources.py), half zig-zags (digits/sets.py), with the page's pen; training gives
    them the target "every digit alike", so the model itself is unsure of ink that is no digit."""
    strokes = sources.three_strokes(n // 2, SCRIBBLE_SEEDS + seed)
    images = strokes + zig_zags(n - n // 2, 2 * SCRIBBLE_SEEDS + seed)
    return np.array([preprocess(image) for image in images]).reshape(-1, 28, 28)
