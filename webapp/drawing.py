"""MNIST test digits re-drawn the way people draw them: a round pen on a canvas or paper.

The tests, the benchmarks and the lab send these as realistic canvas drawings.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image, ImageDraw


def draw_like_a_pen(
    digit: np.ndarray,
    canvas: tuple[int, int] = (280, 280),
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
