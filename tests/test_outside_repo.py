"""docs/testing.md's set-up for another team's repository runs as written, and its example passes
there: a folder of its own (no conftest.py, no pytest settings of ours), a virtual environment of
its own, this repository installed into it, and a real server started by the plugin.

One liberty, for a test that must not download: the pinned packages come from this repository's
.venv (a .pth file) instead of from PyPI, so `pip install` runs offline (`--no-deps --no-index`),
while the editable install of this repository and its pytest plugin is real.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "testing.md"
OFFLINE = ["--no-deps", "--no-build-isolation", "--no-index"]


def _documented() -> tuple[list[str], str]:
    """The set-up block (```sh outside-repo) and the example (the first ```python block after
    its heading)."""
    text = DOC.read_text()
    setup = re.search(r"^```sh outside-repo\n(.*?)^```", text, re.S | re.M)[1].splitlines()
    example_part = text[text.index("## Example: draw a digit") :]
    example = re.search(r"^```python\n(.*?)^```", example_part, re.S | re.M)[1]
    return setup, example


def _run(line: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    words = line.replace("path/to/mnist-serving", str(ROOT)).split()
    if words[1:4] == ["-m", "pip", "install"]:
        words += OFFLINE
    return subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def _python(repo: Path, code: str) -> str:
    """What their virtual environment's python prints for ``code``."""
    done = subprocess.run([repo / ".venv/bin/python", "-c", code], capture_output=True, text=True)
    return done.stdout.strip()


@pytest.mark.slow
def test_the_documented_example_passes_in_a_repository_of_its_own(tmp_path: Path) -> None:
    setup, example = _documented()
    repo = tmp_path / "their-repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_example.py").write_text(example)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV"))}
    assert setup[0] == "python3 -m venv .venv"

    outputs = []
    for line in setup:
        if line.startswith("python3 -m venv"):
            # The interpreter this suite runs on stands for their python3.
            done = subprocess.run([sys.executable, "-m", "venv", ".venv"], cwd=repo, capture_output=True)
            purelib = _python(repo, "import sysconfig; print(sysconfig.get_paths()['purelib'])")
            (Path(purelib) / "pinned-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        else:
            done = _run(line, repo, env)
        outputs.append(done)
        assert done.returncode == 0, f"{line}:\n{done.stdout}\n{done.stderr}"

    # Their harness is this checkout's, through the editable install (the .pth holds no harness).
    assert _python(repo, "import harness; print(harness.__file__)").startswith(str(ROOT))
    assert re.search(r"1 passed", outputs[-1].stdout), outputs[-1].stdout
