"""POST /api/corrections against a real gunicorn: stored once, bounded, strict, nothing lost."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from digits import sets
from digits.drawing import data_url
from harness.launch import get_json, post_json, running_server

MAX_COUNT = 3


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A 2-worker server storing corrections in a folder of at most MAX_COUNT."""
    folder = tmp_path_factory.mktemp("corrections") / "store"
    logs = tmp_path_factory.mktemp("gunicorn")
    with running_server(
        MODE="processes",
        WORKERS="2",
        CORRECTIONS=str(folder),
        CORRECTIONS_MAX_COUNT=str(MAX_COUNT),
        log_dir=logs,
    ) as server:
        yield server, folder


@pytest.fixture(scope="module")
def drawings(mnist_test):
    """Eight drawn digits as data URLs, with their labels."""
    images, labels = mnist_test
    return [data_url(d) for d in sets.drawn(images[:8], seed=3)], [int(v) for v in labels[:8]]


def correct(server, body: dict) -> tuple[int, dict]:
    status, raw = post_json(f"{server.url}/api/corrections", body)
    return status, json.loads(raw)


def snapshot(folder) -> list[tuple]:
    """Every correction the folder keeps (its ledger's rows)."""
    with contextlib.closing(sqlite3.connect(folder / "corrections.sqlite")) as db:
        return db.execute("SELECT * FROM corrections ORDER BY id").fetchall()


def test_corrections_are_off_unless_a_folder_is_named(server, drawings):
    status, body = correct(server, {"image": drawings[0][0], "label": 7})
    assert status == 404 and body["error"]["code"] == "corrections_off"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"label": 10}, 400, "bad_label"),
        ({"label": -1}, 400, "bad_label"),
        ({"label": "7"}, 400, "bad_label"),
        ({"label": True}, 400, "bad_label"),
        ({"label": None}, 400, "bad_label"),
        ({"image": None}, 400, "bad_image"),
        ({"image": "data:image/png;base64,AAAA"}, 415, "bad_image"),
        ({"image": "not a data url"}, 400, "bad_data_url"),
        ({"request_id": "<script>"}, 400, "bad_request_id"),
    ],
)
def test_a_bad_correction_is_a_clear_4xx_and_stores_nothing(store, drawings, change, status, code):
    server, folder = store
    before = snapshot(folder)
    got, body = correct(server, {"image": drawings[0][0], "label": 7, **change})
    assert (got, body["error"]["code"]) == (status, code), body
    assert body["error"]["message"]
    assert snapshot(folder) == before


def test_a_correction_without_its_drawing_or_label_is_refused(store, drawings):
    server, _ = store
    assert correct(server, {"label": 3})[1]["error"]["code"] == "missing_image"
    assert correct(server, {"image": drawings[0][0]})[1]["error"]["code"] == "missing_label"
    blank = data_url(Image.new("RGBA", (280, 280)))
    assert correct(server, {"image": blank, "label": 3})[1]["error"]["code"] == "empty_drawing"


def test_a_correction_is_stored_with_its_28x28_input_and_no_personal_data(store, mnist_test):
    server, folder = store
    # A PNG carrying text a camera or an editor could add: the stored copy has none of it.
    image = next(sets.drawn(mnist_test[0][100:101], seed=1))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe, 12 Privet Drive")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    status, body = correct(server, {"image": url, "label": 1})
    assert status == 201 and body["stored"] and body["new"], body
    name = body["id"]
    rows = {row[0]: row for row in snapshot(folder)}
    _, label, client, _, request_id, small, state = rows[name]
    assert (label, client, request_id, state) == (1, "127.0.0.1", None, "pending")
    with Image.open(io.BytesIO(small)) as image:  # the 28x28 input alone: never the upload
        assert image.size == (28, 28)
    assert not any(b"Jane Doe" in p.read_bytes() for p in folder.iterdir() if p.is_file())
    # The same drawing again: stored once.
    status, again = correct(server, {"image": url, "label": 1})
    assert status == 201 and again["id"] == name and not again["new"]


def test_a_full_folder_refuses_new_corrections_and_keeps_every_one_it_has(store, drawings):
    server, folder = store
    urls, labels = drawings
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: correct(server, {"image": urls[i], "label": labels[i]}), range(8)))
    stored = [b for s, b in results if s == 201]
    refused = [b for s, b in results if s != 201]
    assert len(snapshot(folder)) == MAX_COUNT  # one from the test before, and no more than the cap
    assert all(b["error"]["code"] == "corrections_full" for b in refused)
    assert len(stored) == MAX_COUNT - 1
    before = snapshot(folder)
    status, body = correct(server, {"image": urls[0], "label": 3})
    assert status == 409 and "nothing was stored" in body["error"]["message"]
    assert snapshot(folder) == before


def test_the_workers_serve_the_models_calibration_and_say_corrections_are_on(store):
    server, _ = store
    models = Path(__file__).resolve().parents[2] / "models"
    calibration = json.loads((models / "calibration.json").read_text())
    status, body = get_json(f"{server.url}/api/workers")
    assert status == 200 and body["settings"]["corrections"] is True
    # The master's checked copy of models/ carries calibration.json to every worker.
    assert body["model"]["temperature"] == calibration["temperature"]
