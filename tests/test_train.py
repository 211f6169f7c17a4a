"""train.py end to end on a small subset: a model and a card that load and predict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from webapp.model import Model
from webapp.preprocess import normalize

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_test):
    """python train.py --limit 2000 --epochs 1 --drawn 60 --out <tmp>, as a person would run it."""
    out = tmp_path_factory.mktemp("model")
    result = subprocess.run(
        [sys.executable, "train.py", "--limit", "2000", "--epochs", "1", "--drawn", "60", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, result.stdout


def test_a_quick_run_writes_both_models_the_card_and_pictures(trained):
    out, stdout = trained
    for name in (
        "mnist_cnn.keras",
        "mnist_cnn.tflite",
        "mnist_cnn.npz",
        "model_card.json",
        "README.md",
        "confusion_matrix.png",
        "misclassified.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert "test accuracy" in stdout


def test_the_card_records_how_the_model_was_made(trained):
    card = json.loads((trained[0] / "model_card.json").read_text())
    assert card["command"].startswith("python train.py --limit 2000 --epochs 1")
    # Each of the 2,000 digits as MNIST has it and once redrawn with a pen, 0.4 font digits
    # redrawn with a pen and 0.2 scribbles for each (digits/pen.py).
    assert card["training_images"] == 2 * 2000 + 800 + 400 and card["epochs"] == 1
    assert card["scribbles"] == 400
    assert card["pen_copies"] == 1 and card["font_share"] == 0.4
    assert len(card["per_digit_accuracy"]) == 10
    assert np.array(card["confusion_matrix"]).sum() == 10_000
    assert set(card["data_sha256"]) == {
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    }
    drawn = card["drawn"]
    assert set(drawn["sources"]) == {"print", "italic", "script", "blackletter", "mnist redrawn"}
    assert all(len(source["per_digit"]) == 10 for source in drawn["sources"].values())
    assert all(source["images"] == 60 for source in drawn["sources"].values())
    for key in (
        "test_accuracy",
        "seed",
        "parameters",
        "training_seconds",
        "weights_sha256",
        "tensorflow_version",
        "keras_version",
    ):
        assert key in card


@pytest.mark.parametrize("runtime", ["litert", "tensorflow", "numpy"])
def test_the_written_model_loads_and_predicts(trained, mnist_test, runtime):
    images, _ = mnist_test
    model = Model(runtime, trained[0]).load().warm_up()
    probabilities = model.probabilities(normalize(images[:8]))
    assert probabilities.shape == (8, 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
