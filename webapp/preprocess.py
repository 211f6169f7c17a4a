"""Any picture of a digit -> the 28x28 MNIST-format array the model was trained on.

MNIST digits are white ink on black, scaled so the longest side of the ink fits
a 20x20 box (anti-aliased), and placed in 28x28 so that the centre of mass sits
at pixel (14, 14). Drawings from a canvas and photos of paper are nothing like
that; ``to_mnist`` makes them so. ``normalize`` is the last step for both
training (train.py) and serving, so the two cannot drift apart.

Pure functions of numpy arrays and Pillow images: no Flask, no TensorFlow.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

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


def normalize(images: np.ndarray) -> np.ndarray:
    """0-255 MNIST-format image(s), [..., 28, 28] -> float32 [..., 28, 28, 1] in [0, 1]."""
    x = np.asarray(images, dtype=np.float32)
    return (x / 255.0).reshape(x.shape[:-2] + (SIZE, SIZE, 1))


def to_ink(image: Image.Image) -> np.ndarray:
    """A picture -> float32 ink map in [0, 1], 1 where the pen was, whatever the colours.

    A canvas gives strokes on a transparent ground: the alpha channel is the ink.
    Anything else is composited to grey, and the border decides the polarity:
    MNIST is light on dark, a drawing is usually dark on light.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        if _border(alpha).mean() < 0.5:
            # Transparent ground: ink is where paint is, of any colour.
            return _remove_background(alpha)
        # Opaque ground: composite on white and read the grey values below.
        grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        grey = grey * alpha + (1.0 - alpha)
    else:
        grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    background = float(np.median(_border(grey)))
    ink = background - grey if background > 0.5 else grey - background
    return _remove_background(np.clip(ink, 0.0, None))


def _border(a: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels, where a drawing's ground shows."""
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _remove_background(ink: np.ndarray) -> np.ndarray:
    """Stretch ink to [0, 1] and zero what is too faint to be a stroke."""
    peak = float(ink.max()) if ink.size else 0.0
    if peak < MIN_CONTRAST:
        return np.zeros_like(ink)
    ink = ink / peak
    ink[ink < NOISE_FLOOR] = 0.0
    return ink


def to_mnist(ink: np.ndarray) -> np.ndarray:
    """Ink map (any size, 1 = ink) -> uint8 28x28: cropped, 20 px box, centred by mass.

    Raises ApiError ``empty_drawing`` (422) when there is (next to) no ink.
    """
    if np.count_nonzero(ink) < max(1, MIN_INK_FRACTION * ink.size):
        raise ApiError(
            "empty_drawing",
            "The drawing is empty: draw a digit (or upload a picture of one) and try again.",
            422,
        )
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Pillow's Lanczos filter widens with the scale factor, so a large drawing
    # is anti-aliased like MNIST's originals rather than sampled.
    small = np.asarray(Image.fromarray(crop.astype(np.float32), "F").resize(size, Image.LANCZOS))
    small = np.clip(small, 0.0, 1.0)
    return _centre_by_mass(small)


def _centre_by_mass(small: np.ndarray) -> np.ndarray:
    """Place a <=20x20 ink patch in 28x28 so its centre of mass lands on (14, 14)."""
    h, w = small.shape
    mass = small.sum()
    cy = (small.sum(axis=1) @ np.arange(h)) / mass
    cx = (small.sum(axis=0) @ np.arange(w)) / mass
    # MNIST shifted by whole pixels; keep the patch inside the frame.
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[top : top + h, left : left + w] = small
    return np.round(out * 255.0).astype(np.uint8)


def preprocess(image: Image.Image) -> np.ndarray:
    """A decoded picture of a digit -> uint8 28x28 in MNIST's format."""
    return to_mnist(to_ink(image))
