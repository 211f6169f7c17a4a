"""The "not sure" verdict on drawings made by digits/sets.py: rare on good ones, there on the rest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from digits import sets
from digits.calibrate import ece, fit_temperature, model_inputs, verdicts
from webapp import verdict
from webapp.model import Model
from webapp.verdict import (
    Shape,
    alternatives,
    calibrated,
    calibrated_one,
    calibrated_top,
    in_words,
    load_temperature,
    margin,
    reason_in_words,
    shape,
    unsure_reason,
)

MODELS = Path(__file__).resolve().parents[2] / "models"
SCRIBBLED = {"not_a_digit", "which_digit"}  # ink no digit has, or a model unsure which digit


@pytest.fixture(scope="module")
def model():
    return Model("litert", MODELS).load()


@pytest.fixture(scope="module")
def temperature():
    return load_temperature(MODELS)


def test_the_shipped_model_has_a_calibration(temperature):
    assert 0.5 < temperature < 3


def test_the_card_says_not_sure_fires_on_under_2_percent_of_the_drawn_set():
    """The figure python -m digits.calibrate wrote: drawn digits and the four font styles pooled."""
    card = json.loads((MODELS / "model_card.json").read_text())
    assert card["calibration"] == json.loads((MODELS / "calibration.json").read_text())
    assert card["calibration"]["unsure_on_drawn_set"] < 0.02


def test_the_which_digit_thresholds_are_the_ones_calibrate_chose_on_tuning_sets_only():
    which = json.loads((MODELS / "calibration.json").read_text())["which_digit"]
    assert (which["confidence"], which["margin"]) == (verdict.UNSURE_CONFIDENCE, verdict.UNSURE_MARGIN)
    good = json.loads((MODELS / "calibration.json").read_text())["verdict_on_good"]
    held_out = {name for name, r in good.items() if r["part"] == "held out"}
    assert held_out and not held_out & set(which["tuned_on"])
    assert {"MNIST test", "drawn", "stroke models"} <= held_out


def test_a_model_unsure_of_the_digit_is_not_sure_and_names_the_likeliest_in_words():
    neat = Shape(ink=120, thickness=2.0, fill=0.3, ratio=0.1)
    q = [0.46 / 7] * 10  # a scribble: every digit nearly alike
    q[7], q[1], q[9] = 0.19, 0.18, 0.17  # under UNSURE_CONFIDENCE
    assert alternatives(q) == [7, 1, 9]
    assert unsure_reason(neat, max(q), 0.6, margin(q)) == "which_digit"
    assert reason_in_words("which_digit", alternatives(q)).startswith("7, 1 or 9?")
    assert unsure_reason(neat, 0.97, 0.6, 0.95) is None
    q = [0.0] * 10
    q[7], q[1] = 0.8, 0.2
    assert alternatives(q) == [7, 1] and in_words([7, 1]) == "7 or 1"
    assert reason_in_words("not_a_digit", [7, 1]) == verdict.REASONS["not_a_digit"]


def test_good_drawings_are_rarely_unsure(model, temperature, mnist_test):
    images, _ = mnist_test
    pixels, extents, kept = model_inputs(sets.drawn(images[:600], seed=21))
    assert kept.all()
    drawn = verdicts(model, pixels, temperature, extents)
    mnist = verdicts(model, images[:600], temperature)
    assert sum(r is not None for r in drawn) <= 6  # 1 %
    assert sum(r is not None for r in mnist) <= 6


@pytest.mark.parametrize(
    ("make", "at_least", "reasons"),
    [
        (lambda images: sets.dots(60, seed=1), 1.0, {"too_little_ink", "too_small"}),
        (lambda images: sets.tiny(images[:60], seed=2), 0.95, {"too_little_ink", "too_small", "not_a_digit"}),
        (lambda images: sets.scribbles(60, seed=3), 0.6, SCRIBBLED),
        (lambda images: sets.loops(60, seed=3), 0.6, SCRIBBLED),
        (lambda images: sets.hatching(60, seed=3), 0.6, SCRIBBLED),
    ],
    ids=["dots", "tiny digits", "scribbles", "loops", "colouring in"],
)
def test_drawings_that_are_no_readable_digit_are_unsure(
    model, temperature, mnist_test, make, at_least, reasons
):
    pixels, extents, _ = model_inputs(make(mnist_test[0]))
    found = verdicts(model, pixels, temperature, extents)
    caught = [r for r in found if r is not None]
    assert len(caught) >= at_least * len(found), found
    assert set(caught) <= reasons


def test_a_blank_image_has_no_ink_shape():
    assert shape(np.zeros((28, 28), np.uint8)).ink == 0


def test_temperature_scaling_keeps_the_digit_and_fitting_it_lowers_overconfidence():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 2000)
    logits = rng.normal(0, 1, (2000, 10))
    logits[np.arange(2000), labels] += 2.5
    over = np.exp(logits * 3) / np.exp(logits * 3).sum(axis=1, keepdims=True)  # too sure
    t = fit_temperature(over, labels)
    assert t > 1
    fixed = calibrated(over, t)
    assert (fixed.argmax(1) == over.argmax(1)).all()
    assert ece(fixed, labels) < ece(over, labels)


def test_the_calibrated_top_probability_is_the_top_of_the_calibrated_ones() -> None:
    """calibrated_top (per request, plain Python) agrees with calibrated (numpy, for training)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.dirichlet(np.full(10, rng.uniform(0.05, 2)))
        p[rng.integers(10)] = 0.0  # a probability that rounded to nothing
        for temperature in (0.5, 1.0, 1.31, 3.0):
            assert calibrated_top(p.tolist(), temperature) == pytest.approx(calibrated(p, temperature).max())
            expected = calibrated(p, temperature).tolist()
            assert calibrated_one(p.tolist(), temperature) == pytest.approx(expected)


def _ring(mask: np.ndarray, top: int, left: int, side: int) -> None:
    """A square outline of ink, 2 px wide: a digit's loop."""
    mask[top : top + side, left : left + side] = 255
    mask[top + 2 : top + side - 2, left + 2 : left + side - 2] = 0


def test_holes_count_the_loops_an_8_has_two_and_a_scribble_more() -> None:
    zero = np.zeros((28, 28), np.uint8)
    _ring(zero, 4, 8, 12)
    eight = zero.copy()
    _ring(eight, 14, 8, 10)  # a second loop touching the first
    grid = np.zeros((28, 28), np.uint8)
    for k in (4, 10, 16, 22):  # a # of four lines each way: nine enclosed squares
        grid[k : k + 2, 4:24] = 255
        grid[4:24, k : k + 2] = 255
    one = np.zeros((28, 28), np.uint8)
    one[4:24, 13:15] = 255
    assert [shape(m).holes for m in (one, zero, eight, grid)] == [0, 1, 2, 9]
    # A loop that is not closed is no hole; a second piece of ink takes one off the count.
    zero[4:6, 12:14] = 0
    assert shape(zero).holes == 0
    one[25:27, 2:4] = 255
    assert shape(one).holes == -1


def test_ink_with_more_holes_than_a_digit_has_is_not_a_digit() -> None:
    grid = np.zeros((28, 28), np.uint8)
    for k in (4, 10, 16, 22):
        grid[k : k + 2, 4:24] = 255
        grid[4:24, k : k + 2] = 255
    assert unsure_reason(shape(grid), confidence=0.99, extent=0.6) == "not_a_digit"


def test_holes_are_counted_where_the_strokes_are_dark_not_in_their_grey_rims() -> None:
    """Where strokes cross, the gaps between them fill with grey (anti-aliasing): a hole
    there still counts, at the strokes' cores."""
    grid = np.zeros((28, 28), np.uint8)
    for k in (4, 10, 16, 22):
        grid[k : k + 2, 4:24] = 255
        grid[4:24, k : k + 2] = 255
    grid[grid == 0] = 150  # every gap greyed over: at half strength, no hole is left
    grid[:4], grid[24:], grid[:, :4], grid[:, 24:] = 0, 0, 0, 0
    assert shape(grid).holes == 9


def test_a_line_across_more_strokes_than_any_digit_has_is_colouring_in() -> None:
    """A column of pixels through an 8 crosses three strokes; one through colouring in, five."""
    eight = np.zeros((28, 28), np.uint8)
    _ring(eight, 4, 8, 12)
    _ring(eight, 14, 8, 10)
    hatched = np.zeros((28, 28), np.uint8)
    for k in (4, 8, 12, 16, 20):  # five strokes, one above the other: no loop among them
        hatched[k : k + 2, 6:22] = 255
    assert shape(eight).crossings == 3
    assert shape(hatched).crossings == 5
    assert shape(hatched).holes <= 0
    assert unsure_reason(shape(eight), confidence=0.99, extent=0.6) is None
    assert unsure_reason(shape(hatched), confidence=0.99, extent=0.6) == "not_a_digit"


def test_thick_strokes_in_a_corner_of_the_picture_are_a_digit_drawn_too_small() -> None:
    """A stroke a fifth of the digit's height is a digit when it spans half the pad, a digit
    the pen filled in when it spans a fifth."""
    thick = Shape(ink=150, thickness=3.6, fill=0.5, ratio=0.21)
    assert unsure_reason(thick, confidence=0.99, extent=0.5) is None
    assert unsure_reason(thick, confidence=0.99, extent=0.2) == "too_small"
