"""Hostile class, round two (issue 23): each hole, pinned down against a real gunicorn."""

from __future__ import annotations

import io
import json
import time

import pytest
from PIL import Image

from bench.abuse import jpeg_data_url, scan_bomb
from harness.launch import post_json, running_server


@pytest.fixture(scope="module")
def corrections_server(tmp_path_factory):
    """A 2-worker server storing corrections (module-wide: each test uses its own drawings)."""
    folder = tmp_path_factory.mktemp("corrections") / "store"
    with running_server(MODE="processes", WORKERS="2", CORRECTIONS=str(folder)) as server:
        yield server, folder


# -- 1. a scan bomb: refused from its markers, before a pixel is decoded ----------------------


@pytest.mark.parametrize("route", ["/api/predict", "/api/corrections"])
def test_a_jpeg_of_thousands_of_scans_is_refused_before_decoding(corrections_server, route):
    server, _ = corrections_server
    started = time.monotonic()
    status, raw = post_json(server.url + route, {"image": jpeg_data_url(scan_bomb()), "label": 3}, timeout=60)
    assert (status, json.loads(raw)["error"]["code"]) == (422, "too_many_scans")
    assert time.monotonic() - started < 10  # the old code spent ~15 s of a worker's CPU on it


def test_a_progressive_jpeg_as_encoders_write_it_is_still_read(corrections_server, mnist_test):
    server, _ = corrections_server
    images, labels = mnist_test
    buffer = io.BytesIO()
    Image.fromarray(images[0]).resize((280, 280)).save(buffer, "JPEG", progressive=True, quality=90)
    status, raw = post_json(server.url + "/api/predict", {"image": jpeg_data_url(buffer.getvalue())})
    assert status == 200 and json.loads(raw)["digit"] == labels[0], raw
