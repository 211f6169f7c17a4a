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
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--check-config"],
        cwd=ROOT,
        env={**os.environ, setting: value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert says in done.stderr and "Traceback" not in done.stderr, done.stderr
