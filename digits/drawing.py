"""MNIST test digits re-drawn the way people draw them: a round pen on a canvas or paper.

The tests, the benchmarks and the lab send these as realistic canvas drawings.
``mnist_strokes`` turns a digit into pen strokes, which the browser tests draw
on the page and bench/canvas.py draws in a real browser's canvas.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
Stroke = list[Point]  # (x, y) points in [0, 1] x [0, 1] of the canvas, pen down to pen up

INK_THRESHOLD = 100  # MNIST pixels brighter than this are ink
PEN = json.loads((Path(__file__).resolve().parent.parent / "webapp" / "pen.json").read_text())
CANVAS_SIZE = PEN["canvas_px"]  # the page's canvas, internal pixels
PEN_WIDTH = PEN["pen_px"]  # its pen, internal pixels


def draw_like_a_pen(
    digit: np.ndarray,
    canvas: tuple[int, int] = (CANVAS_SIZE, CANVAS_SIZE),
    box: tuple[int, int, int] = (40, 40, 200),
    pen: float = 0.55,
    ink: tuple[int, int, int, int] = (0, 0, 0, 255),
    ground: tuple[int, int, int, int] = (0, 0, 0, 0),
    mode: str = "RGBA",
) -> Image.Image:
    """A 28x28 MNIST digit traced with a round pen into a (left, top, size) box of a canvas.

    Every inked MNIST pixel becomes a disc of radius pen x (pixel size): strokes of
    constant width with round ends, as a canvas' lineCap='round' draws them.
    """
    left, top, size = box
    scale = size / 28
    radius = pen * scale
    image = Image.new("RGBA", canvas, ground)
    pen_draw = ImageDraw.Draw(image)
    for y, x in zip(*np.nonzero(digit > 100), strict=True):
        cx, cy = left + (x + 0.5) * scale, top + (y + 0.5) * scale
        pen_draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=ink)
    return image.convert(mode) if mode != "RGBA" else image


def data_url(image: Image.Image, fmt: str = "PNG") -> str:
    """A Pillow image as the data URL canvas.toDataURL() would give."""
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


# -- MNIST images -> strokes ---------------------------------------------------

_NEIGHBOURS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]  # P2..P9


def skeleton(image: np.ndarray, threshold: int = INK_THRESHOLD) -> np.ndarray:
    """Zhang-Suen thinning of the ink of a 2-D uint8 image: a bool one-pixel-wide skeleton."""
    s = np.pad(image > threshold, 1)
    changed = True
    while changed:
        changed = False
        for phase in (0, 1):
            p = [np.roll(np.roll(s, -dy, 0), -dx, 1) for dy, dx in _NEIGHBOURS]
            p2, p3, p4, p5, p6, p7, p8, p9 = p
            count = sum(n.astype(int) for n in p)
            ring = p + [p2]
            transitions = sum(((~a) & b).astype(int) for a, b in zip(ring, ring[1:], strict=False))
            if phase == 0:
                cond = ~(p2 & p4 & p6) & ~(p4 & p6 & p8)
            else:
                cond = ~(p2 & p4 & p8) & ~(p2 & p6 & p8)
            remove = s & (count >= 2) & (count <= 6) & (transitions == 1) & cond
            if remove.any():
                s = s & ~remove
                changed = True
    return s[1:-1, 1:-1]


def _graph(skel: np.ndarray) -> dict[tuple[int, int], set[tuple[int, int]]]:
    """8-connected pixel graph, without diagonals that an orthogonal pair already joins."""
    pixels = set(zip(*np.nonzero(skel), strict=True))
    graph: dict[tuple[int, int], set[tuple[int, int]]] = {p: set() for p in pixels}
    for y, x in pixels:
        for dy, dx in _NEIGHBOURS:
            q = (y + dy, x + dx)
            if q not in pixels:
                continue
            if dy and dx and ((y + dy, x) in pixels or (y, x + dx) in pixels):
                continue  # the corner pixel already connects them
            graph[(y, x)].add(q)
    return graph


def _walks(graph: dict[tuple[int, int], set[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """Cover every edge once with polylines that start at ends, then junctions, then loops."""
    used: set[frozenset] = set()
    order = sorted(graph, key=lambda p: (len(graph[p]) != 1, len(graph[p]) < 3, p))
    walks = []
    for start in order:
        for first in sorted(graph[start]):
            if frozenset((start, first)) in used:
                continue
            path = [start, first]
            used.add(frozenset((start, first)))
            while True:
                here = path[-1]
                ahead = [q for q in sorted(graph[here]) if frozenset((here, q)) not in used]
                if not ahead or (len(graph[here]) > 2 and here != start):
                    break
                used.add(frozenset((here, ahead[0])))
                path.append(ahead[0])
            walks.append(path)
    # Lone pixels (a dot) are strokes too.
    walks += [[p] for p in sorted(graph) if not graph[p]]
    return walks


def mnist_strokes(image: np.ndarray) -> list[Stroke]:
    """A 28x28 MNIST image -> strokes in canvas units ([0, 1]), the 28 px grid filling the canvas."""
    size = image.shape[0]
    strokes = []
    for walk in _walks(_graph(skeleton(image))):
        strokes.append([((x + 0.5) / size, (y + 0.5) / size) for y, x in walk])
    return strokes
