"""The shipped model reads drawn digits, and the sets that say so are what they claim to be."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from digits import pen, sets
from digits.evaluate import HELD_APART, accuracy, drawn_sets
from webapp.model import Model
from webapp.preprocess import normalize

MODELS = Path(__file__).resolve().parent.parent / "models"
CARD = json.loads((MODELS / "model_card.json").read_text())


@pytest.fixture(scope="module")
def inputs():
    """Every source of digits/evaluate.py, as the model card's figures were measured."""
    return drawn_sets()


@pytest.fixture(scope="module")
def report(inputs):
    return accuracy(Model("litert", MODELS).load().probabilities, inputs)


def test_the_shipped_model_reads_drawn_digits_at_98_percent(report):
    assert report["all"]["accuracy"] >= 0.98
    sources = report["sources"]
    for style in ("print", "italic", "script"):
        assert sources[style]["accuracy"] >= 0.99, style
        assert min(sources[style]["per_digit"].values()) >= 0.95, style
    # Blackletter's 6 (a stem, a detached flag, a box) is read as a 5 or an 8 half the time.
    assert sources["blackletter"]["accuracy"] >= 0.9


def test_the_model_card_gives_the_figures_the_sets_give(report):
    assert report == CARD["drawn"]


def test_every_source_has_every_digit_in_equal_numbers(inputs):
    for name, (x, y) in inputs.items():
        assert x.shape[1:] == (28, 28) and x.dtype == np.uint8, name
        counts = np.bincount(y, minlength=10)
        if name != HELD_APART:  # font glyphs in turn; the MNIST test digits are drawn at random
            assert counts.min() == counts.max(), (name, counts)
        assert (x.reshape(len(x), -1).max(axis=1) > 128).all(), f"{name}: a drawing without ink"


def test_each_style_draws_its_own_fonts():
    for style, fonts in sets.FONT_STYLES.items():
        glyphs = sets.font_glyphs(style)
        assert [(f, d) for f, d, _ in glyphs] == [(f, d) for f in fonts for d in range(10)]
        for _, _, strokes in glyphs:
            points = np.array([p for s in strokes for p in s])
            assert points.min() >= -1e-9 and points.max() <= 1 + 1e-9


def test_pen_redrawing_is_reproducible_and_reads_as_the_digit(mnist_test):
    images, labels = mnist_test
    first = pen._redraw_chunk((images[:200], labels[:200], 7))
    again = pen._redraw_chunk((images[:200], labels[:200], 7))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, pen._redraw_chunk((images[:200], labels[:200], 8)))
    read = Model("litert", MODELS).load().probabilities(normalize(first)).argmax(axis=1)
    assert (read == labels[:200]).mean() >= 0.95


def test_ones_get_flags_and_feet_sevens_bars_and_nothing_else_does():
    rng = np.random.default_rng(0)
    stem = [np.array([[0.5, 0.0], [0.5, 1.0]])]
    counts = {d: sum(len(pen._extras(stem, d, rng)) - 1 for _ in range(400)) for d in (1, 7, 3)}
    assert 150 < counts[1] < 450  # a flag on half the 1s, a foot on half of those
    assert 50 < counts[7] < 150  # a bar on a quarter of the 7s
    assert counts[3] == 0
