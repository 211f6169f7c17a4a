"""Evaluation sets made from MNIST test digits, each by its own method, none used in training.

- ``drawn``: each digit's skeleton (digits.drawing.mnist_strokes) redrawn as the page draws it,
  a round pen of 14-26 px on a transparent 280x280 canvas, at a random size (110-250 px) and
  place, with a little hand tremor: good drawings the "not sure" verdict must leave alone.
- ``dots``, ``tiny``, ``scribbles``, ``loops``, ``hatching``: drawings that are not a readable
  digit: a dot or a dab, a digit drawn in 12-45 px with the 20 px pen (the pen fills it), a
  random zig-zag, a looping scrawl, colouring in.
- ``photos``: a digit written on paper and photographed: paper texture, light falling off
  across the page, a soft shadow, a slight tilt and perspective, blur and JPEG.

Every generator takes a seed and gives the same images for it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFilter

from digits.drawing import CANVAS_SIZE, PEN, PEN_WIDTH, Stroke, mnist_strokes

INK = (*ImageColor.getrgb(PEN["ink"]), 255)  # the page's pen colour


def render(strokes: list[Stroke], box: tuple[float, float, float], width: float, size: int = CANVAS_SIZE):
    """Strokes in [0, 1] units drawn into a (left, top, side) box of a transparent canvas
    with a round pen of ``width`` px, as the page's canvas draws them."""
    left, top, side = box
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    r = width / 2
    for stroke in strokes:
        points = [(left + x * side, top + y * side) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=INK, width=round(width), joint="curve")
        for px, py in points:
            pen.ellipse((px - r, py - r, px + r, py + r), fill=INK)
    return image


def unit_box(strokes) -> list[np.ndarray]:
    """Strokes scaled and shifted so the ink's longer side spans [0, 1], the shorter centred."""
    points = np.array([p for s in strokes for p in s], float)
    low, high = points.min(axis=0), points.max(axis=0)
    span = max(high - low)
    offset = low - (span - (high - low)) / 2  # keep the aspect: centre the shorter side
    return [(np.array(stroke, float) - offset) / max(span, 1e-6) for stroke in strokes]


def skeleton_strokes(digit: np.ndarray, rng: np.random.Generator, tremor: float = 0.004) -> list[Stroke]:
    """MNIST skeleton strokes, shifted so the ink spans [0, 1], with a little tremor."""
    return [[tuple(p) for p in s + rng.normal(0, tremor, s.shape)] for s in unit_box(mnist_strokes(digit))]


def drawn(images: np.ndarray, seed: int = 0) -> Iterator[Image.Image]:
    """Good drawings: each digit redrawn with the page's kind of pen, size and place varied
    (one at a time: 5,000 canvases would take 1.5 GB)."""
    rng = np.random.default_rng(seed)
    for digit in images:
        width = rng.uniform(14, 26)
        side = rng.uniform(110, 250) - width
        left, top = rng.uniform(width / 2, CANVAS_SIZE - side - width / 2, 2)
        yield render(skeleton_strokes(digit, rng), (left, top, side), width)


def dots(n: int, seed: int = 0) -> list[Image.Image]:
    """A tap or a short dab of the 20 px pen anywhere on the canvas."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x, y = rng.uniform(40, 240, 2)
        length = rng.uniform(0, 12)
        angle = rng.uniform(0, np.pi)
        end = (x + length * np.cos(angle), y + length * np.sin(angle))
        stroke = [(x / CANVAS_SIZE, y / CANVAS_SIZE), (end[0] / CANVAS_SIZE, end[1] / CANVAS_SIZE)]
        out.append(render([stroke], (0, 0, CANVAS_SIZE), PEN_WIDTH))
    return out


def tiny(images: np.ndarray, seed: int = 0) -> list[Image.Image]:
    """Digits drawn 12-45 px tall with the 20 px pen, which fills them in."""
    rng = np.random.default_rng(seed)
    out = []
    for digit in images:
        side = rng.uniform(12, 45)
        left, top = rng.uniform(30, CANVAS_SIZE - side - 30, 2)
        out.append(render(skeleton_strokes(digit, rng, 0), (left, top, side), PEN_WIDTH))
    return out


def scribbles(n: int, seed: int = 0) -> list[Image.Image]:
    """A random zig-zag of 12-40 turns over a 120-240 px patch: ink that is no digit."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        box = _patch(rng)
        points = rng.uniform(0, 1, (int(rng.integers(12, 41)), 2))
        out.append(render([[tuple(p) for p in points]], box, PEN_WIDTH))
    return out


def loops(n: int, seed: int = 0) -> list[Image.Image]:
    """A looping scrawl, one smooth stroke (a sum of 2-4 random waves each way) over a
    120-240 px patch: a scribble without corners."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 300)
    out = []
    for _ in range(n):
        box = _patch(rng)
        waves = int(rng.integers(2, 5))
        xy = [sum(_wave(rng, t) for _ in range(waves)) for _axis in range(2)]
        out.append(render(unit_box([np.stack(xy, axis=1)]), box, PEN_WIDTH))
    return out


def _wave(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A sine of random size (0.1-0.3), frequency (1-7 over t's [0, 1]) and phase."""
    return rng.uniform(0.1, 0.3) * np.sin(2 * np.pi * rng.uniform(1, 7) * t + rng.uniform(0, 6))


def hatching(n: int, seed: int = 0) -> list[Image.Image]:
    """Colouring in: 4-13 strokes back and forth across a 120-240 px patch, in one line."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        box = _patch(rng)
        rows = int(rng.integers(4, 14))
        points = []
        for i, y in enumerate(np.linspace(0, 1, rows) + rng.normal(0, 0.02, rows)):
            start, end = (0, 1) if i % 2 == 0 else (1, 0)
            here = (start + rng.normal(0, 0.03), y)
            points += [here, (end + rng.normal(0, 0.03), y + rng.uniform(-0.1, 0.1))]
        out.append(render([points], box, PEN_WIDTH))
    return out


def _patch(rng: np.random.Generator) -> tuple[float, float, float]:
    """A 120-240 px square somewhere on the canvas, 20 px clear of its edges: (left, top, side)."""
    side = rng.uniform(120, 240)
    left, top = rng.uniform(20, CANVAS_SIZE - side - 20, 2)
    return left, top, side


# -- photos of paper -----------------------------------------------------------------


def photo(digit: np.ndarray, rng: np.random.Generator, quality: int | None = None) -> bytes:
    """A JPEG photo of the digit written in pen on paper: texture, uneven light, a shadow,
    a tilt, a little perspective and blur."""
    w, h = int(rng.integers(320, 640)), int(rng.integers(320, 640))
    paper = rng.uniform(170, 235)
    # Paper: a warm grey with fibres (fine noise) and blotches (coarse noise).
    fine = rng.normal(0, 6, (h, w))
    coarse = np.asarray(
        Image.fromarray(rng.normal(128, 40, (h // 16 + 1, w // 16 + 1)).clip(0, 255).astype(np.uint8)).resize(
            (w, h), Image.BICUBIC
        ),
        np.float64,
    )
    grey = paper + fine + (coarse - 128) * 0.12
    # The pen: the digit's strokes, 3-9 % of the picture's side wide, in the middle half.
    side = rng.uniform(0.35, 0.65) * min(w, h)
    width = rng.uniform(0.045, 0.09) * side
    left, top = rng.uniform(0.2, 0.8) * (w - side), rng.uniform(0.2, 0.8) * (h - side)
    strokes = render(skeleton_strokes(digit, rng, 0.006), (left, top, side), width, size=max(w, h))
    ink_alpha = np.asarray(strokes.getchannel("A"), np.float64)[:h, :w] / 255
    ink_level = rng.uniform(20, 80)
    grey = grey * (1 - ink_alpha) + ink_level * ink_alpha + rng.normal(0, 4, (h, w)) * ink_alpha
    # Light: a gradient across the page, down to 45-90 % at the far side ...
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    t = ((xx / w - 0.5) * np.cos(angle) + (yy / h - 0.5) * np.sin(angle)) + 0.5
    grey *= 1 - rng.uniform(0.1, 0.55) * t.clip(0, 1)
    # ... and a soft shadow (a hand, a phone) over a corner.
    if rng.random() < 0.7:
        cx, cy = rng.choice([0, w]), rng.choice([0, h])
        radius = rng.uniform(0.4, 0.8) * max(w, h)
        distance = np.hypot(xx - cx, yy - cy)
        shade = 1 - rng.uniform(0.25, 0.5) * (1 / (1 + np.exp((distance - radius) / (0.06 * max(w, h)))))
        grey *= shade
    image = Image.fromarray(grey.clip(0, 255).astype(np.uint8))
    # Tilt and perspective: the page's corners moved by up to 6 % of its size.
    image = image.rotate(rng.uniform(-8, 8), resample=Image.BICUBIC, fillcolor=int(paper * 0.8))
    d = 0.06
    quad = [
        c * s
        for corner in ((0, 0), (0, 1), (1, 1), (1, 0))
        for c, s in zip(np.array(corner) + rng.uniform(-d, d, 2) * [1, 1], (w, h), strict=True)
    ]
    image = image.transform((w, h), Image.QUAD, quad, Image.BICUBIC, fillcolor=int(paper * 0.8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.6)))
    # A colour photo: paper and ink slightly tinted.
    tint = rng.uniform(0.92, 1.0, 3)
    rgb = (np.asarray(image, np.float64)[..., None] * tint).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality or int(rng.integers(55, 92)))
    return buffer.getvalue()


def photos(images: np.ndarray, seed: int = 0) -> list[bytes]:
    """Photo-like JPEGs of the digits, one each."""
    rng = np.random.default_rng(seed)
    return [photo(d, rng) for d in images]


# -- stroke fonts: digits as type designers and scribes draw them -------------------------

# The Hershey fonts (1967, public domain; the Hershey-Fonts package) draw every glyph as pen
# strokes: drawn through the page's pen they look like digits a person drew with a mouse, in
# styles MNIST hardly has. Near-duplicate fonts are left out. None of it is used in training.
FONT_STYLES: dict[str, tuple[str, ...]] = {
    "print": ("futural", "futuram", "rowmans", "rowmand", "timesr"),
    "italic": ("timesi", "timesib"),
    "script": ("scripts", "scriptc", "cursive"),
    "blackletter": ("gothiceng", "gothicger", "gothicita"),
}


def font_glyphs(style: str) -> list[tuple[str, int, list[Stroke]]]:
    """(font, digit, strokes in the glyph's own [0, 1] box) of every font of a style."""
    from HersheyFonts import HersheyFonts

    out = []
    for name in FONT_STYLES[style]:
        font = HersheyFonts()
        font.load_default_font(name)
        for digit in range(10):
            strokes = [s for s in font.strokes_for_text(str(digit)) if s]
            out.append((name, digit, [[tuple(p) for p in s] for s in unit_box(strokes)]))
    return out


def fonts(style: str, n: int, seed: int = 0) -> tuple[list[Image.Image], np.ndarray]:
    """``n`` drawings of a style's digits: a round pen of 14-26 px, 110-250 px tall (as ``drawn``:
    the page's pen is 20 px) anywhere on the canvas (centred or off-centre), slanted up to
    +-12 degrees, a little tremor; and their labels."""
    rng = np.random.default_rng(seed)
    glyphs = font_glyphs(style)
    images, labels = [], []
    for i in range(n):
        _, digit, strokes = glyphs[i % len(glyphs)]
        slant = np.tan(np.radians(rng.uniform(-12, 12)))
        moved = []
        for stroke in strokes:
            s = np.array(stroke)
            s[:, 0] = 0.5 + (s[:, 0] - 0.5) - slant * (s[:, 1] - 0.5)
            moved.append([tuple(p) for p in s + rng.normal(0, 0.004, s.shape)])
        width = rng.uniform(14, 26)
        side = rng.uniform(110, 250) - width
        left, top = rng.uniform(width / 2 + 4, CANVAS_SIZE - side - width / 2 - 4, 2)
        images.append(render(moved, (left, top, side), width))
        labels.append(digit)
    return images, np.array(labels)


# What a phone camera writes for each EXIF orientation: the pixels as the sensor saw them
# (Pillow's transpose that undoes the turn), and the tag that says how to show them upright.
_SENSOR_TURNS = {
    1: None,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
    3: Image.Transpose.ROTATE_180,
}


def camera_photo(small: bytes, orientation: int = 1, size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A photo-like JPEG (``photo()``) as a 12 Mpx phone camera writes it: 4000 x 3000, sensor
    noise, quality 95 (3-4 MB), and, for ``orientation`` 6, 8 or 3, stored turned with the EXIF
    tag that turns it upright (a phone held sideways)."""
    upright = Image.open(io.BytesIO(small)).convert("RGB")
    side = min(size)
    # The paper's picture, scaled up into the middle of a frame of its own edge colour.
    frame = Image.new("RGB", size, upright.getpixel((0, 0)))
    frame.paste(upright.resize((side, side), Image.BICUBIC), ((size[0] - side) // 2, (size[1] - side) // 2))
    rng = np.random.default_rng(0)  # the same grain whichever way it is stored
    grain = rng.normal(0, 3.5, (size[1], size[0], 1)).astype(np.float32)  # the sensor's noise, per pixel
    pixels = (np.asarray(frame, np.float32) + grain).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    turn = _SENSOR_TURNS[orientation]
    if turn is not None:
        image = image.transpose(turn)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Phone", "Camera 12MP", orientation  # Make, Model, Orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()
