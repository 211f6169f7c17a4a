"""Drawings as the page sends them: MNIST digits traced with the page's pen in a
real Chromium canvas, and PNG-encoded by Chromium's own canvas.toDataURL().

How fast a PNG decodes depends on its encoder: Chromium writes every row with
the Up filter and fast zlib settings, Pillow chooses filters row by row and
compresses harder (the same drawing takes libspng 0.10 ms from Chromium,
0.18 ms from Pillow). The benchmarks measure /api/predict on what browsers send.
"""

from __future__ import annotations

import numpy as np

from digits.drawing import CANVAS_SIZE, PEN_WIDTH, mnist_strokes

INK = "#111111"  # static/js/canvas.js INK

# Strokes in canvas units -> the canvas' data URL; one call per drawing.
_DRAW = """({strokes, width, ink}) => {
    const canvas = document.querySelector('canvas');
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    Object.assign(ctx, {lineWidth: width, lineCap: 'round', lineJoin: 'round'});
    Object.assign(ctx, {strokeStyle: ink, fillStyle: ink});
    for (const stroke of strokes) {
        const points = stroke.map(([x, y]) => [x * canvas.width, y * canvas.height]);
        ctx.beginPath();
        if (points.length === 1) {
            ctx.arc(points[0][0], points[0][1], width / 2, 0, 2 * Math.PI);
            ctx.fill();
            continue;
        }
        ctx.moveTo(...points[0]);
        for (const point of points.slice(1)) ctx.lineTo(...point);
        ctx.stroke();
    }
    return canvas.toDataURL('image/png');
}"""


def draw(page, images: list[np.ndarray]) -> list[str]:
    """PNG data URLs of these 28x28 digits, drawn in a canvas of this Playwright page."""
    page.set_content(f"<canvas width={CANVAS_SIZE} height={CANVAS_SIZE}></canvas>")
    pen = {"width": PEN_WIDTH, "ink": INK}
    return [page.evaluate(_DRAW, {"strokes": mnist_strokes(image), **pen}) for image in images]


def browser_drawings(images: list[np.ndarray]) -> list[str]:
    """draw() in a headless Chromium of its own (see harness/browser.py)."""
    from playwright.sync_api import Error, sync_playwright

    from harness.browser import launch_options

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(**launch_options())
        except Error as error:
            first_line = str(error).strip().splitlines()[0]
            raise SystemExit(
                f"bench: needs a Chromium to draw with ({first_line}); "
                "run: python -m harness.browser --install"
            ) from None
        try:
            return draw(browser.new_page(), images)
        finally:
            browser.close()
