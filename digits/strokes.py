"""Digits as pen strokes, and drawing them on the page's canvas like a person would.

A stroke is a list of (x, y) points in [0, 1] x [0, 1] of the canvas;
``digits.drawing.mnist_strokes`` turns an MNIST image into strokes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from playwright.sync_api import Page

from digits.drawing import CANVAS_SIZE, PEN_WIDTH, Point, Stroke
from digits.sets import render

# Hand-drawn shapes, as someone would draw them with a mouse.
DIGIT_STROKES: dict[str, list[Stroke]] = {
    "1": [[(0.52, 0.18), (0.5, 0.5), (0.48, 0.84)]],
    "0": [[(0.5 + 0.22 * np.sin(t), 0.5 - 0.32 * np.cos(t)) for t in np.linspace(0, 2 * np.pi * 1.04, 40)]],
    "7": [[(0.25, 0.22), (0.75, 0.22), (0.45, 0.82)]],
    # Two strokes, as most people draw a 4: the first alone reads as a 2.
    "4": [[(0.42, 0.18), (0.26, 0.58), (0.74, 0.58)], [(0.6, 0.32), (0.6, 0.86)]],
}


# -- drawing on the page ------------------------------------------------------


def draw_strokes(page: Page, strokes: list[Stroke], steps: int = 4, pause_ms: float = 0) -> None:
    """Draw strokes on the canvas with the mouse: down, moves, up for each, ``pause_ms`` between
    one stroke's end and the next one's start (a person's pause to move the pen)."""
    box = page.get_by_test_id("canvas").bounding_box()
    assert box, "the canvas is not visible"

    def at(point: Point) -> tuple[float, float]:
        return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]

    for i, stroke in enumerate(strokes):
        if i and pause_ms:
            page.wait_for_timeout(pause_ms)
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


def render_strokes(strokes: list[Stroke], size: int = CANVAS_SIZE, width: int = PEN_WIDTH) -> Image.Image:
    """What the canvas shows after these strokes, approximately: black round pen on transparent."""
    return render(strokes, (0, 0, size), width, size)
