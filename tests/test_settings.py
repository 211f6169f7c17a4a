"""Every setting is checked the same way at start: a bad one is one line naming it, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("WORKERS", "abc", "WORKERS='abc' is not a whole number"),
        ("TIMEOUT", "abc", "TIMEOUT='abc' is not a whole number"),  # gunicorn's own: was a traceback
        ("GRACEFUL_TIMEOUT", "-3", "GRACEFUL_TIMEOUT=-3 is outside"),
        ("LIMIT_REQUEST_LINE", "1e3", "LIMIT_REQUEST_LINE='1e3' is not a whole number"),
    ],
)
def test_a_bad_setting_is_one_line_that_names_it(setting: str, value: str, says: str) -> None:
    done = check_config({setting: value})
    assert done.returncode != 0
    assert says in done.stderr and "Traceback" not in done.stderr, done.stderr


def check_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    """gunicorn's own check of its configuration (and so of every setting), with ``env`` set."""
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--check-config"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


GOOD_SECRET = "a-secret-the-proxy-sends-" * 2


@pytest.mark.parametrize(
    ("secret", "mode", "says"),
    [
        (None, 0o600, "cannot read it (No such file or directory)"),
        ("short-one", 0o600, "the secret must be 32-256 letters, digits or '._~+/=-' (it has 9 characters)"),
        (GOOD_SECRET + " with a space", 0o600, "the secret must be 32-256"),
        (GOOD_SECRET, 0o640, "has mode 640: other users could read the secret. Run: chmod 600"),
        (GOOD_SECRET, 0o604, "has mode 604"),
    ],
)
def test_a_bad_proxy_secret_file_is_one_line_that_names_it(tmp_path, secret, mode, says) -> None:
    path = tmp_path / "proxy-secret"
    if secret is not None:
        path.write_text(secret + "\n")
        path.chmod(mode)
    done = check_config({"PROXY_SECRET_FILE": str(path)})
    assert done.returncode != 0
    assert f"PROXY_SECRET_FILE={path}" in done.stderr and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and (secret is None or secret not in done.stderr), done.stderr


def test_a_proxy_secret_file_of_its_owner_alone_is_taken(tmp_path) -> None:
    path = tmp_path / "proxy-secret"
    path.write_text(GOOD_SECRET + "\n")
    path.chmod(0o600)
    done = check_config({"PROXY_SECRET_FILE": str(path)})
    assert done.returncode == 0, done.stderr
