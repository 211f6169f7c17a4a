"""digits/sources.py: handwriting from outside training, split by writer or design, never by sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digits import sources
from digits.evaluate import outside_report, outside_sets, outside_tables
from webapp.model import Model
from webapp.verdict import load_temperature

# Google Fonts designs that Debian also packages: reserved for an outside test, never used here.
GOOGLE_FONTS_IN_DEBIAN = {"fonts-klee", "fonts-leckerli-one", "fonts-yusei-magic", "fonts-comic-neue"}


@pytest.fixture(scope="module")
def outside():
    if missing := sources.missing_fonts():
        pytest.fail(f"apt-get install {' '.join(missing)} (README: People's handwriting)")
    return outside_sets()


def test_each_source_is_split_by_writer_or_design_never_by_sample():
    tune, held_out = ({design for *_, design in sources.DEBIAN_FONTS[part]} for part in sources.PARTS)
    assert len(tune) == 5 and len(held_out) == 9 and not tune & held_out
    files = [file for part in sources.PARTS for _, file, _ in sources.DEBIAN_FONTS[part]]
    assert len(set(files)) == len(files)
    packages = {pkg for part in sources.PARTS for pkg, _, _ in sources.DEBIAN_FONTS[part]}
    assert not packages & GOOGLE_FONTS_IN_DEBIAN
    first, labels_1 = sources.sklearn_digits("tune")
    second, labels_2 = sources.sklearn_digits("held out")
    assert len(first) + len(second) == 1797  # two contiguous halves of the file: each digit once
    for labels in (labels_1, labels_2):
        assert set(labels) == set(range(10))


def test_every_source_has_every_digit_with_ink(outside):
    for name, s in outside.items():
        labels = s["labels"]
        assert len(labels) == len(s["pixels"]) == len(s["designs"]), name
        if labels.min() >= 0:
            assert set(labels) == set(range(10)), name
        assert (s["pixels"].reshape(len(labels), -1).max(axis=1) > 128).all(), name
    styles = {d for d in outside["stroke models"]["designs"]}
    assert {"1 with a flag and a foot", "crossed 7", "closed 4", "narrow hand", "wide hand"} <= styles


def test_stroke_models_are_reproducible_and_as_narrow_as_asked():
    a, labels, designs = sources.stroke_models(2, seed=3)
    b, _, _ = sources.stroke_models(2, seed=3)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))
    for image, design in zip(a, designs, strict=True):
        left, top, right, bottom = image.getchannel("A").getbbox()
        if design == "narrow hand":
            assert (right - left) < 0.5 * (bottom - top)


def test_the_report_gives_every_figure_per_source_and_names_the_part(outside):
    models = Path(__file__).resolve().parent.parent / "models"
    report = outside_report(Model("litert", models).load(), outside, load_temperature(models))
    for name, r in report.items():
        assert r["part"] in sources.PARTS and 0 <= r["unsure"] <= 1, name
        if "per_digit" in r:
            assert set(r["per_digit"]) == {str(d) for d in range(10)}
            assert 0 <= r["wrong_and_sure"] <= r["wrong_at_90"] <= 1 - r["accuracy"] + 1e-9
            assert set(r["per_design"]) == set(outside[name]["designs"])
    text = outside_tables(report)
    assert "stroke models | narrow hand" in text and "held out" in text
    # What the issue found, measured here: styles read right; a narrow hand, read as 1s at
    # 83.7 % before its ink was stretched (webapp/preprocess.py), reads at 90.7 %: what is left
    # are digits hardly wider than the pen, read as 1s.
    designs = report["stroke models"]["per_design"]
    for style in ("1 with a long flag", "crossed 7", "open 4", "closed 4", "9 with a straight stem"):
        assert designs[style]["accuracy"] >= 0.95, style
    assert designs["narrow hand"]["accuracy"] >= 0.88
