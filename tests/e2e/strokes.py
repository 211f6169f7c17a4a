"""Digits as pen strokes, and drawing them on the page's canvas like a person would.

A stroke is a list of (x, y) points in [0, 1] x [0, 1] of the canvas. ``mnist_strokes``
turns an MNIST image into strokes: the ink is thinned to a one-pixel skeleton
(Zhang-Suen), and the skeleton is walked into polylines, each one pen-down ... pen-up.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from playwright.sync_api import Page

Point = tuple[float, float]
Stroke = list[Point]

INK_THRESHOLD = 100  # MNIST pixels brighter than this are ink
CANVAS_SIZE = 280  # the page's canvas, internal pixels
PEN_WIDTH = 20  # its pen, internal pixels (static/js/canvas.js LINE_WIDTH)

# Hand-drawn shapes, as someone would draw them with a mouse.
DIGIT_STROKES: dict[str, list[Stroke]] = {
    "1": [[(0.52, 0.18), (0.5, 0.5), (0.48, 0.84)]],
    "0": [[(0.5 + 0.22 * np.sin(t), 0.5 - 0.32 * np.cos(t)) for t in np.linspace(0, 2 * np.pi * 1.04, 40)]],
    "7": [[(0.25, 0.22), (0.75, 0.22), (0.45, 0.82)]],
}


# -- drawing on the page ------------------------------------------------------


def draw_strokes(page: Page, strokes: list[Stroke], steps: int = 4) -> None:
    """Draw strokes on the canvas with the mouse: down, moves, up for each."""
    box = page.get_by_test_id("canvas").bounding_box()
    assert box, "the canvas is not visible"

    def at(point: Point) -> tuple[float, float]:
        return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]

    for stroke in strokes:
        page.mouse.move(*at(stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(point), steps=steps)
        page.mouse.up()


def draw_digit(page: Page, digit: str) -> None:
    """Draw one of the hand-made digits of DIGIT_STROKES."""
    draw_strokes(page, DIGIT_STROKES[digit])


def touch_strokes(page: Page, strokes: list[Stroke], steps: int = 4) -> None:
    """Draw strokes with a finger: real touch input through the DevTools protocol."""
    box = page.get_by_test_id("canvas").bounding_box()
    assert box, "the canvas is not visible"
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, point: Point | None) -> None:
        points = []
        if point is not None:
            x, y = box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]
            points = [{"x": x, "y": y, "radiusX": 4, "radiusY": 4, "force": 1, "id": 0}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    for stroke in strokes:
        touch("touchStart", stroke[0])
        for a, b in zip(stroke, stroke[1:], strict=False):
            for i in range(1, steps + 1):
                f = i / steps
                touch("touchMove", (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f))
        touch("touchEnd", None)
    cdp.detach()


def ink_pixels(page: Page) -> int:
    """How many pixels of the canvas carry ink (alpha > 0)."""
    return page.get_by_test_id("canvas").evaluate(
        """canvas => {
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n += 1;
            return n;
        }"""
    )


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


def render_strokes(strokes: list[Stroke], size: int = CANVAS_SIZE, width: int = PEN_WIDTH) -> Image.Image:
    """What the canvas shows after these strokes, approximately: black round pen on transparent."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    r = width / 2
    for stroke in strokes:
        points = [(x * size, y * size) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=(17, 17, 17, 255), width=width, joint="curve")
        for px, py in points:
            pen.ellipse((px - r, py - r, px + r, py + r), fill=(17, 17, 17, 255))
    return image
