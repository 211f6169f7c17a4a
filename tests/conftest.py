"""Shared fixtures: the app through Flask's test client, and a real gunicorn server."""

from __future__ import annotations

import pytest

from digits import dataset
from harness.browser import LAUNCH_ARGS, find_chromium
from harness.launch import running_server
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
