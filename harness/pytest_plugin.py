"""A pytest plugin for browser tests of this app: a real server, and a Chromium to drive it.

Installed with this repository (`pip install -e path/to/mnist-serving`), pytest loads it by
itself (the `pytest11` entry point in pyproject.toml); this repository's own suite loads it
with `-p harness.pytest_plugin`. It gives:

- ``server``: a real gunicorn of this app (4 worker processes, all ready) on a free loopback
  port, for the whole session; ``server.url``, ``server.token`` (the teacher's);
- ``base_url``: that server's address, so pytest-playwright's ``page.goto("/")`` goes there
  (unless ``--base-url`` names another server, which is then used instead of starting one);
- ``browser_type_launch_args``: Playwright's own Chromium where it is installed, else the
  system's (``chromium``, ``chromium-browser``, ``google-chrome``), or ``CHROMIUM_PATH``; with
  the flags a headless Chromium needs as root or without a GPU (harness/browser.py).

A ``conftest.py`` of the suite's own that defines a fixture of the same name wins over these.
"""

from __future__ import annotations

import pytest

from harness import pytest_fixtures


def pytest_configure(config: pytest.Config) -> None:
    # After pytest-playwright's own base_url and browser_type_launch_args: among plugins, the
    # fixture registered last wins.
    if not config.pluginmanager.is_registered(pytest_fixtures):
        config.pluginmanager.register(pytest_fixtures, "mnist-serving-fixtures")
