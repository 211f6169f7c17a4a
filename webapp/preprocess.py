"""Any picture of a digit -> the 28x28 MNIST-format array the model was trained on.

MNIST digits are white ink on black, scaled so the longest side of the ink fits
a 20x20 box (anti-aliased), and placed in 28x28 so that the centre of mass sits
at pixel (14, 14). Drawings from a canvas and photos of paper are nothing like
that; ``to_mnist`` makes them so. ``normalize`` is the last step for both
training (train.py) and serving, so the two cannot drift apart.

Pure functions of numpy arrays and Pillow images: no Flask, no TensorFlow.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter

from .errors import ApiError

SIZE = 28  # MNIST images are 28x28 ...
BOX = 20  # ... with the ink scaled to fit a 20x20 box,
CENTRE = 14.0  # and its centre of mass at (14, 14) (measured on the test set).

# Ink weaker than this fraction of the strongest ink is paper texture, JPEG
# noise or shadow, not a stroke.
NOISE_FLOOR = 0.2
# A drawing whose strongest ink differs from the background by less than this
# (0..1) is blank paper or a blank canvas.
MIN_CONTRAST = 0.15
# ... and so is one whose ink covers fewer pixels than this fraction of the image.
MIN_INK_FRACTION = 0.0005
# A photo's ground (paper in uneven light) is estimated on a copy this many px on its long side,
# as the lightest level in a window this wide (~10 % of the picture).
BACKGROUND_SIDE = 96
BACKGROUND_WINDOW = 9
PHOTO_FLOOR = 0.35
# Marks joined to a picture's edge are found on a copy this many px on its long side, and kept
# if they are more than this share of the ink (then the digit itself touches the edge).
EDGE_SIDE = 160
EDGE_MOST = 0.7
# A larger picture is first reduced (by a whole factor, averaging: as a JPEG is decoded reduced,
# webapp/decode.py) to at most this many px a side: the model needs 28x28, and every step below
# works on float copies of the whole picture (a 5.9 KB all-black 6 Mpx PNG took seconds and
# 220 MB at full size).
WORKING_SIDE = 1024
# MNIST scales a digit's longest side to 20 px and keeps its aspect, so a digit written a fifth as
# wide as tall (a narrow hand's 8 or 0) becomes a bar that reads as a 1. Ink narrower than this
# share of its height, and wider than twice its strokes (so not a 1's single stroke), is first
# stretched sideways to this share.
LEAST_ASPECT = 0.4


def normalize(images: np.ndarray) -> np.ndarray:
    """0-255 MNIST-format image(s), [..., 28, 28] -> float32 [..., 28, 28, 1] in [0, 1]."""
    x = np.asarray(images, dtype=np.float32)
    return (x / 255.0).reshape(x.shape[:-2] + (SIZE, SIZE, 1))


def to_ink(image: Image.Image) -> np.ndarray:
    """A picture -> uint8 ink array: 255 where the pen pressed hardest, 0 on the ground.

    A canvas gives strokes on a transparent ground: the alpha channel is the ink,
    whatever the colour. Anything else is read as grey (on white, where it has
    alpha), and the border decides the polarity: MNIST is light on dark, a
    drawing is usually dark on light. On a dark ground the result is cropped to
    where ink can be.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        box = rgba.getbbox()  # of the pixels that are not fully transparent
        if box is None:
            return np.zeros((rgba.height, rgba.width), np.uint8)
        if _clear_of_the_edges(box, rgba.size):
            # Transparent all round, as every canvas drawing is: the alpha
            # channel is the ink, and there is none outside the box.
            return _stretch(np.array(rgba.crop(box).getchannel("A")), background=0)
        alpha = np.array(rgba.getchannel("A"))
        if _border_level(alpha) < 128:
            return _stretch(alpha, background=0)
        # Opaque ground: composite on white and read the grey values.
        grey = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L")
    else:
        grey = image.convert("L")
    return _stretch(_flatten(grey), background=0)


def _flatten(grey: Image.Image) -> np.ndarray:
    """Ink of a picture on an opaque ground (paper, a photo, a chalkboard) -> uint8, 0 on the ground.

    The ground of a photo is not one level: light falls off across the page and a hand casts a
    shadow. Its level is estimated at every point, as the lightest (on a dark ground: the darkest)
    value nearby once strokes are filtered out on a small copy (BACKGROUND_SIDE px, so a window
    of BACKGROUND_WINDOW is ~10 % of the picture: wider than a pen stroke), smoothed and scaled
    back up. The ink is the distance from that level relative to it, so a stroke in the shadow
    counts as much as one in the light. On a clean drawing the ground is flat and this is the
    border-level difference it replaced.
    """
    pixels = np.asarray(grey, dtype=np.float32)
    light_ground = _border_level(np.asarray(grey)) >= 128
    scale = BACKGROUND_SIDE / max(grey.size)
    small = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))), Image.BOX)
    ground = _rank_filter(np.asarray(small), BACKGROUND_WINDOW, np.maximum if light_ground else np.minimum)
    ground = Image.fromarray(ground).filter(ImageFilter.BoxBlur(BACKGROUND_WINDOW // 2))
    ground = np.asarray(ground.resize(grey.size, Image.BILINEAR), dtype=np.float32)
    if light_ground:
        ink = (ground - pixels) / np.maximum(ground, 1.0)
    else:
        ink = (pixels - ground) / np.maximum(255.0 - ground, 1.0)
    # What is left of the ground is weaker than any stroke: the page's edge against a table, a
    # shadow's edge, paper texture (photo-like set: 0.1-0.25 of the ink's strength, pen
    # strokes 0.5-0.9). Below PHOTO_FLOOR of the strongest ink is ground; the rest is stretched
    # to keep the strokes' anti-aliased edges.
    floor = PHOTO_FLOOR * float(ink.max())
    ink = (ink - floor) / max(float(ink.max()) - floor, 1e-6)
    ink = np.clip(ink * 255.0, 0, 255).astype(np.uint8)
    return _off_the_edges(ink)


def _rank_filter(a: np.ndarray, window: int, pick) -> np.ndarray:
    """The largest (pick=np.maximum) or smallest value in a window x window square around each
    pixel, one axis at a time (Pillow's MaxFilter on 96 px: 2.8 ms; this: ~0.05 ms)."""
    half = window // 2
    for axis in (0, 1):
        padded = np.pad(a, [(half, half) if i == axis else (0, 0) for i in (0, 1)], mode="edge")
        n = a.shape[axis]
        out = padded.take(range(0, n), axis=axis)
        for shift in range(1, window):
            out = pick(out, padded.take(range(shift, shift + n), axis=axis))
        a = out
    return a


def _off_the_edges(ink: np.ndarray) -> np.ndarray:
    """Ink without the marks joined to the picture's edge: a photo's table beyond the page, the
    page's own edge, a finger. A digit is drawn inside the picture; if the edge marks are most
    of the ink, the digit is what touches the edge, and all is kept.

    Found on a small copy (EDGE_SIDE px): the ink joined to the border, grown a pixel at a time
    within the ink until it stops growing.
    """
    scale = EDGE_SIDE / max(ink.shape)
    if scale >= 1:
        small = ink > 0
    else:
        size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
        small = np.asarray(Image.fromarray(ink).resize(size, Image.BOX)) > 0
    edge = np.zeros_like(small)
    edge[[0, -1], :] = small[[0, -1], :]
    edge[:, [0, -1]] = small[:, [0, -1]]
    if not edge.any():
        return ink
    for _ in range(small.size):
        grown = edge.copy()
        grown[1:] |= edge[:-1]
        grown[:-1] |= edge[1:]
        grown[:, 1:] |= edge[:, :-1]
        grown[:, :-1] |= edge[:, 1:]
        grown &= small
        if np.array_equal(grown, edge):
            break
        edge = grown
    if np.count_nonzero(edge) > EDGE_MOST * np.count_nonzero(small):
        return ink
    keep = small & ~edge
    # Back to full size, a small pixel wider: a stroke's anti-aliased rim stays.
    keep = Image.fromarray(keep.astype(np.uint8) * 255).resize(ink.shape[::-1], Image.BILINEAR)
    keep = np.asarray(keep) > 0
    return np.where(keep, ink, 0).astype(np.uint8)


def _clear_of_the_edges(box: tuple[int, int, int, int], size: tuple[int, int]) -> bool:
    left, top, right, bottom = box
    return left > 0 and top > 0 and right < size[0] and bottom < size[1]


def _border_level(channel: np.ndarray) -> int:
    """The median of the outermost ring of pixels, where a drawing's ground shows."""
    ring = np.concatenate([channel[0], channel[-1], channel[1:-1, 0], channel[1:-1, -1]])
    return int(np.median(ring))


def _stretch(channel: np.ndarray, background: int) -> np.ndarray:
    """Distance from the background, stretched so the strongest ink is 255; faint ink -> 0.

    ``channel`` is the caller's own copy, and is changed in place where that is quicker.
    """
    if background == 0 and (box := _bbox(channel)) and box != (0, 0, channel.shape[1], channel.shape[0]):
        # Nothing outside the non-zero pixels can become ink: stretch only
        # those (a canvas drawing's ink covers a fifth of it or less). A canvas
        # drawing arrives cropped already (to_ink), and is not copied again.
        left, top, right, bottom = box
        channel = channel[top:bottom, left:right]
    low, high = int(channel.min()), int(channel.max())
    light_ground = background >= 128
    peak = background - low if light_ground else high - background
    if peak < MIN_CONTRAST * 255:
        return np.zeros_like(channel)
    table, floor = _stretch_table(background, peak)
    if floor is None:
        return np.take(table, channel)
    # The table only clears ink below the noise floor (a canvas stroke's full
    # alpha is 255): 3 µs in place instead of a 16 µs lookup.
    return np.multiply(channel, channel >= floor, out=channel)


@lru_cache(maxsize=1024)
def _stretch_table(background: int, peak: int) -> tuple[np.ndarray, int | None]:
    """_stretch's 256-entry lookup table (one per background and peak: few repeat),
    and the level from which it leaves values as they are, if it does nothing else."""
    light_ground = background >= 128
    levels = np.arange(256)
    ink = np.clip(background - levels if light_ground else levels - background, 0, None)
    lut = np.where(ink < NOISE_FLOOR * peak, 0, np.minimum(255, np.round(ink * 255 / peak))).astype(np.uint8)
    floor = int(np.argmax(lut > 0))
    identity = not lut[:floor].any() and np.array_equal(lut[floor:], levels[floor:])
    lut.flags.writeable = False
    return lut, floor if identity else None


def _bbox(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the non-zero pixels, as Pillow's getbbox; None if there are none."""
    return Image.fromarray(ink).getbbox()


def to_mnist(ink: np.ndarray, area: int | None = None, box: tuple | None = None) -> np.ndarray:
    """uint8 ink array (any size) -> uint8 28x28: cropped, 20 px box, centred by mass.

    Raises ApiError ``empty_drawing`` (422) when there is (next to) no ink: fewer
    pixels of it than MIN_INK_FRACTION of ``area``, the whole picture's pixel
    count (the ink array's own by default). ``box``: the ink's bounding box, if known.
    """
    box = box or _bbox(ink)
    # Counted inside the ink's bounding box only: the rest is blank by definition.
    enough = max(1, MIN_INK_FRACTION * (area or ink.size))
    if box is None:
        raise _empty_drawing()
    left, top, right, bottom = box
    crop = ink[top:bottom, left:right]
    if np.count_nonzero(crop) < enough:
        raise _empty_drawing()
    height, width = crop.shape
    if width < LEAST_ASPECT * height:
        width = _unsquashed_width(crop)
    scale = BOX / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Pillow's Lanczos filter widens with the scale factor, so a large drawing
    # is anti-aliased like MNIST's originals rather than sampled. Boxing it down
    # to three times the size first (reducing_gap) halves the time and moves a
    # pixel by 1/255 on average (drawn test digits).
    small = np.asarray(Image.fromarray(crop).resize(size, Image.LANCZOS, reducing_gap=3.0))
    return _centre_by_mass(small)


def _unsquashed_width(crop: np.ndarray) -> int:
    """The width a narrow digit is drawn at: LEAST_ASPECT x its height if its ink is more than
    twice as wide as its strokes (side by side: the loops of an 8, a 7's bar), else its own
    (one stroke: a 1, which MNIST's own writers drew as narrow as their pens)."""
    height, width = crop.shape
    ink = crop > 127
    starts = np.count_nonzero(ink[:, 1:] & ~ink[:, :-1]) + np.count_nonzero(ink[:, 0])
    stroke = np.count_nonzero(ink) / max(starts, 1)  # the mean width of a run of ink across a row
    return max(width, round(LEAST_ASPECT * height)) if width > 2 * stroke else width


_POSITIONS = np.arange(BOX + 1, dtype=np.float64)  # row and column numbers of a resized patch


def _centre_by_mass(small: np.ndarray) -> np.ndarray:
    """Place a <=20x20 uint8 ink patch in 28x28 so its centre of mass lands on (14, 14)."""
    h, w = small.shape
    rows = small.sum(axis=1, dtype=np.float64)
    mass = rows.sum()
    if not mass:  # a few faint specks, averaged away
        raise _empty_drawing()
    cy = float(rows @ _POSITIONS[:h]) / mass
    cx = float(small.sum(axis=0, dtype=np.float64) @ _POSITIONS[:w]) / mass
    # MNIST shifted by whole pixels; keep the patch inside the frame.
    top = min(max(round(CENTRE - cy), 0), SIZE - h)
    left = min(max(round(CENTRE - cx), 0), SIZE - w)
    out = np.zeros((SIZE, SIZE), dtype=np.uint8)
    out[top : top + h, left : left + w] = small
    return out


def _empty_drawing() -> ApiError:
    return ApiError(
        "empty_drawing", "The drawing is empty: draw a digit (or upload a picture of one) and try again.", 422
    )


def _working_size(image: Image.Image) -> Image.Image:
    """The picture, reduced by a whole factor to at most WORKING_SIDE px a side."""
    factor = -(-max(image.size) // WORKING_SIDE)
    if factor == 1:
        return image
    if image.mode in ("1", "P", "I;16"):  # Pillow reduces none of these: as to_ink reads them
        transparent = image.mode == "P" and "transparency" in image.info
        image = image.convert("RGBA" if transparent else "L")
    return image.reduce(factor)


def preprocess(image: Image.Image) -> np.ndarray:
    """A decoded picture of a digit -> uint8 28x28 in MNIST's format."""
    image = _working_size(image)
    return to_mnist(to_ink(image), area=image.width * image.height)


def preprocess_measured(image: Image.Image) -> tuple[np.ndarray, float]:
    """preprocess(), and how big the ink was: its longest side over the picture's shorter side
    (the "not sure" verdict tells a scribble, big, from a digit drawn too small)."""
    image = _working_size(image)
    ink = to_ink(image)
    box = _bbox(ink)
    pixels = to_mnist(ink, area=image.width * image.height, box=box)
    left, top, right, bottom = box  # not None: to_mnist found ink
    return pixels, max(right - left, bottom - top) / min(image.size)
