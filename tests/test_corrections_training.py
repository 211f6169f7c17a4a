"""Corrections stored through the route, read back by train.py --extra: deduplicated, agreed, counted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from digits import sets
from digits.drawing import data_url
from digits.extra import load_corrections
from webapp import create_app, review
from webapp.model import Model
from webapp.preprocess import normalize

ROOT = Path(__file__).resolve().parent.parent


def train(*args: str) -> subprocess.CompletedProcess:
    """python train.py ARGS, as a person would run it."""
    return subprocess.run(
        [sys.executable, "train.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def corrections(tmp_path_factory, mnist_test):
    """A folder with 4 corrections through POST /api/corrections: 3 drawings, one of them given two labels,
    one sent twice, all approved, and a half-written one (no record) as a crash would leave."""
    folder = tmp_path_factory.mktemp("corrections")
    client = create_app({"TESTING": True, "CORRECTIONS": str(folder)}).test_client()
    images, labels = mnist_test
    drawings = [data_url(d) for d in sets.drawn(images[:3], seed=7)]
    sent = [(0, int(labels[0])), (0, int(labels[0])), (1, int(labels[1])), (2, int(labels[2])), (2, 5)]
    for i, label in sent:
        response = client.post("/api/corrections", json={"image": drawings[i], "label": label})
        assert response.status_code == 201, response.get_json()
    review.main([str(folder), "approve", "--all"])  # the teacher's review
    approved = folder / "approved"
    (approved / "0123-4.28.png").write_bytes(next(approved.glob("*.28.png")).read_bytes())
    return folder


def test_each_drawing_counts_once_and_one_given_two_labels_not_at_all(corrections):
    images, labels, counts = load_corrections(corrections)
    assert counts == {"found": 4, "used": 2, "duplicates": 0, "conflicting": 1, "unreadable": 0}
    assert images.shape == (2, 28, 28) and len(labels) == 2


def test_train_extra_folds_them_in_and_the_card_says_how_many(corrections, tmp_path):
    out = tmp_path / "model"
    result = train(
        "--limit",
        "300",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--extra",
        str(corrections),
        "--extra-weight",
        "5",
        "--drawn",
        "30",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    card = json.loads((out / "model_card.json").read_text())
    # MNIST, redrawn, font digits, scribbles (0.2 per MNIST digit), corrections
    assert card["training_images"] == 2 * 300 + 120 + 60 + 2 * 5
    assert card["corrections"]["used"] == 2 and card["corrections"]["weight"] == 5
    assert "**2 used** of 4 stored" in (out / "README.md").read_text()


def test_train_extra_with_no_such_folder_is_a_clear_error(tmp_path):
    result = train("--extra", str(tmp_path / "nope"), "--out", str(tmp_path))
    assert result.returncode == 2 and "no such folder of corrections" in result.stderr


def test_fine_tuning_the_shipped_model_on_corrections_keeps_it_and_learns_them(corrections, tmp_path):
    """A lesson's retraining: --fine-tune starts from the model in --out, in minutes, not from scratch."""
    out = tmp_path / "model"
    shutil.copytree(ROOT / "models", out)
    result = train(
        "--limit",
        "1000",
        "--fine-tune",
        "--out",
        str(out),
        "--extra",
        str(corrections),
        "--extra-weight",
        "20",
        "--drawn",
        "30",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    card = json.loads((out / "model_card.json").read_text())
    assert card["fine_tuned"] and card["epochs"] == 2
    assert card["test_accuracy"] >= 0.99  # still the shipped model, not one trained on 1,000 digits
    assert "fine-tuning the model that was there" in (out / "README.md").read_text()
    images, labels, _ = load_corrections(corrections)
    read = Model("litert", out).load().probabilities(normalize(images)).argmax(axis=1)
    assert (read == labels).all()


def test_fine_tuning_without_a_model_is_a_clear_error(tmp_path):
    result = train("--fine-tune", "--out", str(tmp_path))
    assert result.returncode == 2 and "no mnist_cnn.keras" in result.stderr
