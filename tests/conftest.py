"""Shared fixtures: the app through Flask's test client, MNIST's test set, and servers with Redis.

The real gunicorn server (`server`), `base_url` and the Chromium to launch come from
harness/pytest_plugin.py (loaded by pyproject.toml's `-p harness.pytest_plugin`), the plugin
other teams' suites use too.
"""

from __future__ import annotations

import pytest

from digits import dataset
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
