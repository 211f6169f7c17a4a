"""Handwriting from outside training, each source split by writer or by design, never by sample.

Training (train.py, digits/pen.py) sees MNIST, MNIST's skeletons redrawn with a pen, and print
digits of the outline fonts that come with matplotlib. These sources are none of that:

- ``sklearn``: scikit-learn's bundled copy of the UCI handwritten-digits test set: 1,797 digits
  that 13 people wrote on a form (of 43; the other 30 are in UCI's training set, not shipped),
  scanned, normalized to 32x32 by NIST's programs and stored as 8x8 counts of ink. Not MNIST's
  writers (MNIST: US Census employees and students); upsampled to a smooth drawing on the
  page's canvas. No writer ids ship with it: split into contiguous halves in the file's order.
- ``debian fonts``: handwriting fonts Debian packages ship, each made from one person's hand,
  none a Google Fonts design (those are kept for an outside test): rendered as filled outlines
  (never skeletonized or redrawn, as training does its fonts), split by font.
- ``stroke models``: strokes drawn here for styles MNIST's writers rarely drew: a 1 with a long
  flag (and a foot), a crossed 7, open and closed 4s, a 9 with a straight stem, and every digit
  in a narrow and a wide hand. Held out whole: nothing is chosen on them.
- ``three-stroke scribbles``: three random strokes: no digit, to be answered "not sure".

``tune`` parts are where the verdict's thresholds are chosen (digits/calibrate.py); ``held out``
parts are only measured. Every generator takes a seed and gives the same drawings for it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from digits.drawing import CANVAS_SIZE, PEN_WIDTH
from digits.sets import INK, render, unit_box

PARTS = ("tune", "held out")

# -- scikit-learn's digits: 13 writers --------------------------------------------------------


def sklearn_digits(part: str, seed: int = 0) -> tuple[list[Image.Image], np.ndarray]:
    """The part's digits (first or second half of the file) as canvas drawings, and labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    half = len(data.target) // 2
    pick = slice(0, half) if part == "tune" else slice(half, None)
    rng = np.random.default_rng(seed)
    images = [_upsampled(counts, rng) for counts in data.images[pick]]
    return images, data.target[pick].astype(np.int64)


def _upsampled(counts: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """An 8x8 grid of ink counts (0-16) -> a drawing 110-250 px tall on a transparent canvas:
    the counts smoothed up (bicubic), then given a pen's edge (the ink above a level, ramped)."""
    side = int(rng.uniform(110, 250))
    smooth = Image.fromarray((counts * 15.9).astype(np.uint8)).resize((side, side), Image.BICUBIC)
    smooth = np.asarray(smooth.filter(ImageFilter.GaussianBlur(side / 40)), np.float64) / 255
    # The edge of the stroke: where the strokes come out about as thick for their size as the
    # page's pen draws them (thickness over height: median 0.14 here, drawn digits 0.10).
    level = rng.uniform(0.45, 0.6)
    alpha = np.clip((smooth - level) / 0.08, 0, 1)
    return _on_canvas((alpha * 255).astype(np.uint8), rng)


def _on_canvas(alpha: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Ink (uint8 alpha) placed anywhere on a transparent canvas in the page's pen colour."""
    h, w = alpha.shape
    canvas = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), (0, 0, 0, 0))
    ink = Image.new("RGBA", (w, h), INK)
    ink.putalpha(Image.fromarray(alpha))
    left = int(rng.integers(4, max(5, CANVAS_SIZE - w - 4)))
    top = int(rng.integers(4, max(5, CANVAS_SIZE - h - 4)))
    canvas.alpha_composite(ink, (left, top))
    return canvas


# -- handwriting fonts from Debian packages -------------------------------------------------

FONT_DIR = Path("/usr/share/fonts")
# (package, file, design): fonts drawn from one person's handwriting. Left out: fonts-klee
# (Klee One), fonts-leckerli-one, fonts-yusei-magic, fonts-comic-neue and fonts-nanum-extra,
# which are Google Fonts designs; fonts-rufscript, whose origin could not be checked here.
DEBIAN_FONTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "tune": (
        ("fonts-bwht", "opentype/bwht/BecauseWeBuild-Regular.otf", "Because We Build"),
        ("fonts-bwht", "opentype/bwht/BecauseWeConnect-Regular.otf", "Because We Connect"),
        ("fonts-bwht", "opentype/bwht/BecauseWeCreate-Regular.otf", "Because We Create"),
        ("fonts-tlwg-purisa-ttf", "truetype/tlwg/Purisa.ttf", "Purisa"),
        ("fonts-sjfonts", "truetype/sjfonts/Delphine.ttf", "Delphine"),
    ),
    "held out": (
        ("fonts-bwht", "opentype/bwht/BecauseWeLearn-Regular.otf", "Because We Learn"),
        ("fonts-bwht", "opentype/bwht/BecauseWeMentor-Regular.otf", "Because We Mentor"),
        ("fonts-bwht", "opentype/bwht/BecauseWeOrganize-Regular.otf", "Because We Organize"),
        ("fonts-dkg-handwriting", "truetype/fifthhorseman/dkg.ttf", "dkg handwriting"),
        ("fonts-breip", "truetype/breip/Breip.ttf", "Breip"),
        ("fonts-femkeklaver", "truetype/femkeklaver/femkeklaver.ttf", "Femke Klaver"),
        ("fonts-humor-sans", "truetype/humor-sans/Humor-Sans.ttf", "Humor Sans"),
        ("fonts-sjfonts", "truetype/sjfonts/SteveHand.ttf", "Steve Hand"),
        ("fonts-seto", "truetype/seto/setofont.ttf", "Seto"),
    ),
}


def missing_fonts() -> list[str]:
    """The Debian packages whose font files are not installed (apt-get install them)."""
    return sorted(
        {pkg for fonts in DEBIAN_FONTS.values() for pkg, f, _ in fonts if not (FONT_DIR / f).is_file()}
    )


@lru_cache(maxsize=64)
def _glyph(path: str, digit: int, size: int) -> np.ndarray:
    """A digit of a font, white on black, cropped to its ink, about ``size`` px tall."""
    font = ImageFont.truetype(path, size)
    image = Image.new("L", (size * 3, size * 3), 0)
    ImageDraw.Draw(image).text((size, size // 2), str(digit), fill=255, font=font)
    box = image.getbbox()
    return np.asarray(image.crop(box)) if box else np.zeros((1, 1), np.uint8)


def debian_fonts(part: str, per_digit: int = 12, seed: int = 0):
    """Each design's ten digits ``per_digit`` times: 110-250 px tall anywhere on the canvas, the
    outline's own stroke or one made bolder (a broader pen); (images, labels, designs)."""
    rng = np.random.default_rng(seed)
    images, labels, designs = [], [], []
    for _, file, design in DEBIAN_FONTS[part]:
        for digit in range(10):
            for _ in range(per_digit):
                height = rng.uniform(110, 250)
                glyph = _glyph(str(FONT_DIR / file), digit, 200)
                scale = height / glyph.shape[0]
                width = max(1, round(glyph.shape[1] * scale))
                if width > CANVAS_SIZE - 10:  # a wide glyph: fit the canvas
                    scale *= (CANVAS_SIZE - 10) / width
                size = (max(1, round(glyph.shape[1] * scale)), max(1, round(glyph.shape[0] * scale)))
                ink = Image.fromarray(glyph).resize(size, Image.LANCZOS)
                bolder = int(rng.integers(0, 3))
                for _ in range(bolder):
                    ink = ink.filter(ImageFilter.MaxFilter(5))
                images.append(_on_canvas(np.asarray(ink), rng))
                labels.append(digit)
                designs.append(design)
    return images, np.array(labels, np.int64), designs


# -- stroke models: styles MNIST's writers rarely drew -----------------------------------------


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 24) -> list:
    """Points on an ellipse from angle ``start`` to ``end`` (degrees; 0 right, 90 down)."""
    t = np.radians(np.linspace(start, end, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in t]


# Every digit once, as many people draw it: x and y in a 1 x 1 box (y down).
PLAIN = {
    0: [_arc(0.5, 0.5, 0.45, 0.5, -90, 275, 40)],
    1: [[(0.5, 0.0), (0.5, 1.0)]],
    2: [_arc(0.5, 0.28, 0.42, 0.28, -160, 20) + [(0.05, 1.0), (0.95, 1.0)]],
    3: [_arc(0.5, 0.25, 0.4, 0.25, -150, 90) + _arc(0.5, 0.75, 0.45, 0.25, -90, 150)],
    4: [[(0.55, 0.0), (0.05, 0.65), (0.95, 0.65)], [(0.72, 0.3), (0.72, 1.0)]],
    5: [[(0.85, 0.0), (0.2, 0.0), (0.17, 0.48)], _arc(0.5, 0.7, 0.4, 0.3, -140, 150)],
    6: [[(0.8, 0.02), (0.45, 0.2), (0.2, 0.5), (0.15, 0.72)] + _arc(0.5, 0.72, 0.35, 0.28, 180, -170)],
    7: [[(0.05, 0.0), (0.95, 0.0), (0.35, 1.0)]],
    8: [_arc(0.5, 0.25, 0.32, 0.25, 90, 450), _arc(0.5, 0.73, 0.42, 0.27, -90, 270)],
    9: [_arc(0.5, 0.28, 0.4, 0.28, 0, 365), [(0.9, 0.3), (0.86, 0.7), (0.7, 1.0)]],
}

# (design, digit, strokes, width over height): styles MNIST's writers drew seldom.
STYLES = (
    ("1 with a long flag", 1, [[(0.05, 0.4), (0.6, 0.0), (0.6, 1.0)]], (0.4, 0.6)),
    (
        "1 with a flag and a foot",
        1,
        [[(0.1, 0.35), (0.55, 0.0), (0.55, 1.0)], [(0.1, 1.0), (0.95, 1.0)]],
        (0.5, 0.7),
    ),
    ("crossed 7", 7, [*PLAIN[7], [(0.3, 0.52), (0.85, 0.52)]], (0.6, 0.8)),
    ("open 4", 4, [[(0.15, 0.0), (0.05, 0.6), (0.95, 0.6)], [(0.7, 0.0), (0.7, 1.0)]], (0.6, 0.85)),
    ("closed 4", 4, [[(0.72, 1.0), (0.72, 0.0), (0.05, 0.65), (0.95, 0.65)]], (0.6, 0.85)),
    (
        "9 with a straight stem",
        9,
        [_arc(0.5, 0.27, 0.4, 0.27, 0, 365), [(0.9, 0.27), (0.9, 1.0)]],
        (0.5, 0.75),
    ),
)
HANDS = {"narrow hand": (0.18, 0.33), "wide hand": (1.0, 1.35)}


def stroke_models(per_style: int = 60, seed: int = 0):
    """STYLES, and every digit of PLAIN in a narrow and a wide hand, ``per_style`` drawings each
    (the hands: per digit): aspect, slant and pen varied; (images, labels, designs)."""
    rng = np.random.default_rng(seed)
    jobs = [
        (design, digit, strokes, aspect)
        for design, digit, strokes, aspect in STYLES
        for _ in range(per_style)
    ]
    jobs += [
        (hand, digit, PLAIN[digit], aspect)
        for hand, aspect in HANDS.items()
        for digit in range(10)
        for _ in range(per_style)
    ]
    images = [_draw(strokes, rng.uniform(*aspect), rng) for _, _, strokes, aspect in jobs]
    return images, np.array([d for _, d, _, _ in jobs], np.int64), [name for name, *_ in jobs]


def _draw(strokes: list, aspect: float, rng: np.random.Generator) -> Image.Image:
    """Strokes drawn with the page's kind of pen: the box's width ``aspect`` x its height,
    slanted up to +-10 degrees, every point moved a little (a hand, not a ruler)."""
    slant = np.tan(np.radians(rng.uniform(-10, 10)))
    moved = []
    for stroke in strokes:
        s = np.array(stroke, float)
        s = s + rng.normal(0, 0.015, s.shape)
        x = 0.5 + (s[:, 0] - 0.5) * aspect - slant * (s[:, 1] - 0.5)
        moved.append(np.stack([x, s[:, 1]], axis=1))
    width = rng.uniform(14, 26)
    side = rng.uniform(110, 250) - width
    left, top = rng.uniform(width / 2 + 4, CANVAS_SIZE - side - width / 2 - 4, 2)
    return render([[tuple(p) for p in s] for s in unit_box(moved)], (left, top, side), width)


# -- no digit at all ---------------------------------------------------------------------------


def three_strokes(n: int, seed: int = 0) -> list[Image.Image]:
    """Random scribbles: three strokes of 2-5 random points each, over a 120-240 px patch,
    with the page's 20 px pen."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        side = rng.uniform(120, 240)
        left, top = rng.uniform(20, CANVAS_SIZE - side - 20, 2)
        strokes = [[tuple(p) for p in rng.uniform(0, 1, (int(rng.integers(2, 6)), 2))] for _ in range(3)]
        out.append(render(strokes, (left, top, side), PEN_WIDTH))
    return out


def page_strokes(
    strokes: list, aspect: float, left: float = 0.25, top: float = 0.15, side: float = 0.7
) -> list:
    """Strokes of PLAIN or STYLES in canvas units ([0, 1]), to draw on the page with the mouse:
    the box's width ``aspect`` x its height, its longer side ``side`` of the canvas."""
    squeezed = [
        np.stack([0.5 + (np.array(s)[:, 0] - 0.5) * aspect, np.array(s)[:, 1]], axis=1) for s in strokes
    ]
    return [[(left + x * side, top + y * side) for x, y in s] for s in unit_box(squeezed)]
