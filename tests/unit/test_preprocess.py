"""Preprocessing: drawings in any style come out in MNIST's format, and as the right digit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digits import sets
from digits.drawing import draw_like_a_pen
from webapp.decode import open_image
from webapp.errors import ApiError
from webapp.model import Model
from webapp.preprocess import normalize, preprocess, to_mnist

MODELS = Path(__file__).resolve().parents[2] / "models"
SAMPLE = 300

# How people draw: canvases (transparent ground, any ink colour), paper, chalkboards.
STYLES = {
    "canvas": {},
    "canvas, small and off-centre": {"canvas": (400, 300), "box": (250, 20, 120)},
    "canvas, thick pen": {"pen": 0.9},
    "canvas, thin pen": {"pen": 0.45},
    "canvas, red ink": {"ink": (220, 30, 30, 255)},
    "paper, no alpha": {"ink": (20, 20, 60, 255), "ground": (250, 250, 245, 255), "mode": "RGB"},
    "light on dark, greyscale": {"ink": (255, 255, 255, 255), "ground": (0, 0, 0, 255), "mode": "L"},
    "light on transparent": {"ink": (255, 255, 255, 255)},
}


@pytest.fixture(scope="module")
def sample(mnist_test):
    images, labels = mnist_test
    idx = np.random.default_rng(7).choice(len(images), SAMPLE, replace=False)
    return images[idx], labels[idx]


@pytest.fixture(scope="module")
def model():
    return Model("litert", MODELS).load()


@pytest.mark.parametrize("style", STYLES)
def test_redrawn_mnist_digits_come_back_right(sample, model, style):
    images, labels = sample
    pixels = np.stack([preprocess(draw_like_a_pen(image, **STYLES[style])) for image in images])
    accuracy = (model.probabilities(normalize(pixels)).argmax(axis=1) == labels).mean()
    assert accuracy >= 0.98, f"{style}: {accuracy:.1%}"


def test_the_output_is_in_mnist_format(sample):
    pixels = preprocess(draw_like_a_pen(sample[0][0], canvas=(500, 300), box=(300, 60, 150)))
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
    rows, cols = np.nonzero(pixels)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 21  # 20 px box (+ resampling)
    mass = pixels.astype(float) / pixels.sum()
    centre = (mass.sum(axis=1) @ np.arange(28), mass.sum(axis=0) @ np.arange(28))
    assert centre == pytest.approx((14, 14), abs=0.6)


def test_normalize_scales_to_zero_one_with_a_channel_axis():
    x = normalize(np.full((3, 28, 28), 255, np.uint8))
    assert x.shape == (3, 28, 28, 1) and x.dtype == np.float32 and x.max() == 1.0


def _faint_specks() -> np.ndarray:
    """Enough inked pixels to pass the count, so faint and sparse that resizing averages them to 0."""
    ink = np.zeros((280, 280))
    ink[np.arange(8, 280, 34)[:, None], np.arange(8, 280, 34)[None, :]] = 1
    return ink


@pytest.mark.parametrize("ink", [np.zeros((280, 280)), np.pad(np.full((1, 1), 255), 200), _faint_specks()])
def test_an_empty_or_near_empty_drawing_is_refused(ink):
    with pytest.raises(ApiError) as err:
        to_mnist(ink.astype(np.uint8))
    assert err.value.code == "empty_drawing" and err.value.status == 422


def test_photos_of_digits_on_paper_come_back_right(sample, model):
    """Uneven light, a shadow, tilt, blur and JPEG (digits.sets.photos): 92.4 % of 500 with
    python -m digits.photos; without the ground estimate, 35 %."""
    images, labels = sample
    images, labels = images[:150], labels[:150]
    pixels = np.stack([preprocess(open_image(raw, 16_000_000)) for raw in sets.photos(images, seed=5)])
    accuracy = (model.probabilities(normalize(pixels)).argmax(axis=1) == labels).mean()
    assert accuracy >= 0.85, f"photos: {accuracy:.1%}"
