"""Shared fixtures: the app through Flask's test client, MNIST's test set, and servers with Redis.

The real gunicorn server (`server`), `base_url` and the Chromium to launch come from
harness/pytest_plugin.py (loaded by pyproject.toml's `-p harness.pytest_plugin`), the plugin
other teams' suites use too.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from digits import dataset, sets
from harness.launch import find_redis_server, running_redis, running_server
from webapp import create_app


@pytest.fixture(scope="session")
def app():
    """The app with the shipped model, as one worker builds it."""
    return create_app({"TESTING": True})


@pytest.fixture()
def client(app):
    """Flask's test client: requests without a server."""
    return app.test_client()


@pytest.fixture(scope="session")
def mnist_test():
    """The 10,000 MNIST test images (uint8 28x28) and labels, fetched if absent."""
    return dataset.load("test")


@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server on a free loopback port, for the whole session; skipped without one."""
    if find_redis_server() is None:
        pytest.skip("redis-server is not installed (make redis): the shared-store tests are skipped")
    with running_redis() as redis_server:
        yield redis_server


@pytest.fixture(scope="session")
def redis_backed_server(tmp_path_factory, redis_server):
    """A real gunicorn with 4 worker processes like `server`, its log and worker list in Redis."""
    logs = tmp_path_factory.mktemp("gunicorn-redis")
    with running_server(MODE="processes", WORKERS="4", STORE=redis_server.url, log_dir=logs) as srv:
        yield srv


@pytest.fixture(params=["sqlite", "redis"])
def stored_server(request):
    """The shared server, with each store in turn: its state folder (SQLite, files) and Redis."""
    return request.getfixturevalue("server" if request.param == "sqlite" else "redis_backed_server")


# -- how long the rest of a long run will take ------------------------------------------------

PROGRESS_EVERY_S = 60  # a line a minute: the suite takes minutes, longer on a busy machine
PROGRESS_FROM = 100  # tests in the run: a targeted run of a few says nothing


class _Progress:
    """'120 of 402 tests in 95 s; about 220 s left at this pace', once a minute, for make test."""

    def __init__(self, total: int, reporter):
        self.total, self.done, self.reporter = total, 0, reporter
        self.started = self.last = time.monotonic()

    def pytest_runtest_logfinish(self, nodeid, location) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_S or self.done >= self.total:
            return
        self.last = now
        spent = now - self.started
        left = spent / self.done * (self.total - self.done)
        self.reporter.ensure_newline()
        self.reporter.write_line(
            f"{self.done} of {self.total} tests in {spent:.0f} s; about {left:.0f} s left at this pace"
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if len(session.items) >= PROGRESS_FROM and reporter is not None:
        session.config.pluginmanager.register(_Progress(len(session.items), reporter), "progress-estimate")


def post_photo(url: str, raw: bytes, **fields: str) -> tuple[int, dict]:
    """POST a JPEG as a multipart file field, as curl -F does; (status, JSON)."""
    boundary = "photoboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="IMG_0001.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url + "/api/predict", b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="session")
def camera_digit(mnist_test, server) -> tuple[bytes, int]:
    """A photo-like JPEG of a digit on paper that the server reads right (upright), and its digit."""
    images, labels = mnist_test
    rng = np.random.default_rng(22)
    for index in range(40):
        raw = sets.photo(images[index], rng, quality=90)
        status, answer = post_photo(server.url, raw)
        # A digit that turned on its side reads as another: a 0, 1 or 8 would prove nothing.
        if status == 200 and answer["digit"] == labels[index] and labels[index] not in (0, 1, 8):
            return raw, int(labels[index])
    pytest.fail("no photo-like image among 40 was read right")
