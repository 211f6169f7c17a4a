"""The fixtures of harness/pytest_plugin.py (which registers this module after pytest-playwright)."""

from __future__ import annotations

import pytest

from harness.browser import launch_options
from harness.launch import running_server


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A real gunicorn with 4 worker processes on a free loopback port, all ready; stopped at the
    end of the session (its log in the session's temporary folder)."""
    logs = tmp_path_factory.mktemp("gunicorn")
    with running_server(MODE="processes", WORKERS="4", log_dir=logs) as srv:
        yield srv


@pytest.fixture(scope="session")
def base_url(request, pytestconfig):
    """Where pytest-playwright's ``page.goto("/")`` goes: ``--base-url``, else ``server``."""
    given = pytestconfig.getoption("base_url", None) or pytestconfig.getini("base_url")
    return given or request.getfixturevalue("server").url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch settings, with a Chromium this machine has."""
    return {**browser_type_launch_args, **launch_options()}
