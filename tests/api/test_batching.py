"""MODE=batched: concurrent requests share model calls, and each gets its own answer."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from digits.drawing import data_url, draw_like_a_pen
from harness.launch import post_json, running_server
from webapp.model import Model
from webapp.preprocess import normalize, preprocess

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def batched():
    with running_server(MODE="batched", BATCH_MAX_DELAY_MS="5") as server:
        yield server


@pytest.fixture(scope="module")
def model():
    return Model("litert", MODELS).load()


def test_concurrent_digits_are_batched_and_never_mixed_up(batched, mnist_test, model):
    images, labels = mnist_test
    # Ten digits of each class, so a mix-up would show as a wrong digit.
    picks = np.concatenate([np.flatnonzero(labels == d)[:10] for d in range(10)])
    np.random.default_rng(3).shuffle(picks)
    bodies = [{"image": data_url(draw_like_a_pen(images[i]))} for i in picks]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: post_json(batched.url + "/api/predict", b), bodies))
    assert all(status == 200 for status, _ in answers)
    answers = [json.loads(body) for _, body in answers]
    # What the same model says of each drawing alone, in this process.
    alone = model.probabilities(normalize(np.stack([preprocess(draw_like_a_pen(images[i])) for i in picks])))
    assert [a["digit"] for a in answers] == alone.argmax(axis=1).tolist()
    shared = [a for a in answers if a["batch_size"] > 1]
    assert shared, "no two requests shared a model call"
    by_batch = {}
    for a in shared:
        by_batch.setdefault(a["batch_id"], []).append(a)
    for members in by_batch.values():  # one call: the same start and end for all its requests
        assert len({(m["timing"]["started"], m["timing"]["finished"]) for m in members}) == 1


def test_inference_answers_stay_with_their_requests(batched, mnist_test, model):
    images = mnist_test[0][:96]
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda image: post_json(batched.url + "/inference", {"images": image.tolist()}), images)
        )
    got = [int(body) for _, body in answers]
    assert got == model.probabilities(normalize(images)).argmax(axis=1).tolist()
