"""The model in models/ is the one its card describes, and it is accurate."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from webapp.model import Model
from webapp.preprocess import normalize

MODELS = Path(__file__).resolve().parent.parent / "models"
CARD = json.loads((MODELS / "model_card.json").read_text())


@pytest.fixture(scope="module")
def predictions(mnist_test):
    """Digits of every runtime on all 10,000 test images."""
    x = normalize(mnist_test[0])
    runtimes = ("litert", "tensorflow", "numpy")
    return {rt: Model(rt, MODELS).load().probabilities(x).argmax(axis=1) for rt in runtimes}


def test_the_shipped_model_reaches_99_4_percent(predictions, mnist_test):
    accuracy = (predictions["litert"] == mnist_test[1]).mean()
    assert accuracy >= 0.994
    assert accuracy == pytest.approx(CARD["tflite_test_accuracy"], abs=1e-4)


def test_both_runtimes_give_the_same_digits(predictions):
    # The .tflite file's weights are int8 (dynamic-range quantization): a digit
    # or two in 10,000 may differ from the float32 Keras model's, no more.
    agreement = (predictions["litert"] == predictions["tensorflow"]).mean()
    assert agreement >= 0.999
    assert agreement == pytest.approx(CARD["tflite_agreement"], abs=1e-4)


def test_numpy_reads_the_same_digits_as_litert(predictions):
    """The runtime of free-threaded Python (the .npz weights in numpy, float32) against the
    default one (int8 weights): the same digit on >= 99.9 % of MNIST's test set."""
    assert (predictions["numpy"] == predictions["litert"]).mean() >= 0.999
    assert (predictions["numpy"] == predictions["tensorflow"]).mean() >= 0.999


def test_the_card_describes_the_files_shipped():
    assert CARD["test_accuracy"] >= 0.994
    assert CARD["command"] == "python train.py"
    for entry in CARD["files"].values():
        digest = hashlib.sha256((MODELS / entry["path"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], entry["path"]


def test_the_card_names_the_weights_a_retraining_reproduces():
    """make train writes the same weights again (seeds, deterministic ops): weights_sha256 is
    the fingerprint to compare, as the .keras file's own bytes carry the time it was saved."""
    import keras

    from train import weights_sha256

    model = keras.models.load_model(MODELS / "mnist_cnn.keras", compile=False)
    assert weights_sha256(model) == CARD["weights_sha256"]


def test_the_model_is_small():
    assert sum(p.stat().st_size for p in MODELS.glob("mnist_cnn.*")) < 5 * 1024 * 1024
