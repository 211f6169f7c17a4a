"""Fixtures for the page's browser tests: a loaded page, and MNIST digits worth tracing."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from digits.drawing import data_url, mnist_strokes
from digits.strokes import render_strokes
from harness.launch import Server, post_json, start

SURE = 0.9  # a traced digit must be read this surely to be picked for the test


@pytest.fixture()
def lab_page(page: Page, server) -> Page:
    """The teacher's page (opened with the server's token), with the server's workers on
    its panel (it is live)."""
    page.goto(f"/?token={server.token}")
    expect(page.get_by_test_id("worker").first).to_be_visible()
    return page


@pytest.fixture()
def stored_lab_page(page: Page, stored_server) -> Page:
    """The teacher's page of the shared server with each store in turn (SQLite, Redis)."""
    page.goto(f"{stored_server.url}/?token={stored_server.token}")
    expect(page.get_by_test_id("worker").first).to_be_visible()
    return page


@pytest.fixture()
def start_server(tmp_path):
    """Start servers of the test's own (``start_server(port=..., **env)``); all stopped after it.

    For tests that stop, restart or reconfigure a server, which the shared one must not be.
    """
    servers: list[Server] = []

    def _start(port: int | None = None, **env: str) -> Server:
        server = start(port=port, log_dir=tmp_path, **env)
        servers.append(server)
        server.wait_ready()
        return server

    yield _start
    for server in servers:
        server.stop()


def _predict(url: str, image) -> dict:
    """The server's answer for a picture (an error answer has no 'digit')."""
    return json.loads(post_json(url + "/api/predict", {"image": data_url(image)})[1])


@pytest.fixture(scope="session")
def traceable_digits(mnist_test, server) -> list[tuple[int, int]]:
    """(index, label): for each digit, the first MNIST test image that the shipped model
    reads right both as it is and traced as strokes (rendered off-screen), the traced
    one with confidence to spare: the browser's strokes differ a little from these."""
    images, labels = mnist_test
    chosen: dict[int, int] = {}
    for index in range(2000):
        label = int(labels[index])
        if label in chosen:
            continue
        raw = _predict(server.url, _as_canvas(images[index]))
        traced = _predict(server.url, render_strokes(mnist_strokes(images[index])))
        if raw.get("digit") == label and traced.get("digit") == label and traced["confidence"] >= SURE:
            chosen[label] = index
        if len(chosen) == 10:
            break
    return sorted((index, label) for label, index in chosen.items())


def _as_canvas(image):
    """An MNIST image as a canvas would hold it: dark ink, alpha = ink."""
    from PIL import Image

    rgba = Image.new("RGBA", (28, 28), (0, 0, 0, 0))
    rgba.putalpha(Image.fromarray(image, "L"))
    return rgba.resize((280, 280), Image.Resampling.BILINEAR)
