"""Shared fixtures: the app through Flask's test client, and a real gunicorn server."""

from __future__ import annotations

import pytest

from digits import dataset
from harness.browser import LAUNCH_ARGS, find_chromium
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
def server(tmp_path_factory):
    """A real gunicorn with 4 worker processes on a free loopback port, all ready."""
    logs = tmp_path_factory.mktemp("gunicorn")
    with running_server(MODE="processes", WORKERS="4", log_dir=logs) as srv:
        yield srv


@pytest.fixture(scope="session")
def base_url(server):
    """Where Playwright's page.goto("/") goes."""
    return server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Playwright's own Chromium where installed, else the system's (see harness/browser.py)."""
    path = find_chromium()
    extra = {"executable_path": path} if path else {}
    return {**browser_type_launch_args, **extra, "args": LAUNCH_ARGS}


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
