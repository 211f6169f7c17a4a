"""Every command in the README and the guides runs as written from a fresh clone after `make run`'s
set-up: none needs an activated virtual environment, and the cheap ones are run here.

What "cheap" means for each kind of command:

- `curl …` and the guide's `work …` lines: run as written, with bash, against a real server (its
  address put in for localhost:2431), except TensorFlow's (seconds of loading, 300 MB a worker);
- `.venv/bin/python -m MODULE ARGS` (and `train.py`): the module is imported in the venv and its own
  argument parser takes ARGS, then it stops before doing the work (minutes of benchmarks);
- `make …`: `make -n` knows the target and its variables;
- `.venv/bin/python -m pytest …`: collected, not run;
- `docker …`: tests/docker builds and runs the image for real; here each `--build-arg` is an `ARG`
  of the Dockerfile and each `-e` a documented setting.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from harness.launch import running_server

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/teaching.md", "docs/testing.md", "models/README.md")
VENV_PYTHON = ".venv/bin/python"
DOC_ADDRESS = "localhost:2431"

# Inline `code` that is a command: the venv's python, make (with variables before it).
INLINE = re.compile(r"`((?:\.venv/bin/python|python3?|make|(?:[A-Z_]+=\S+ )+make) [^`]*)`")
FENCE = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.S | re.M)
FUNCTION = re.compile(r"\w+\(\) \{")  # `work() { curl … }`: defined for the commands after it
# Commands the documents give for other software, run in its folder: Redis built from source.
ELSEWHERE = {"make && make install"}
PLACEHOLDER = re.compile(r"[<…]|\bREF\b")  # `kill -TTIN <master pid>`, `--against REF…`: not runnable

# Imports the module and parses its arguments with its own parser, then stops: the command as
# written is accepted, without its minutes of work.
PARSE_ONLY = """
import argparse, runpy, sys
parse = argparse.ArgumentParser.parse_args
def parse_then_stop(self, *args, **kwargs):
    parse(self, *args, **kwargs)
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = parse_then_stop
target, sys.argv = sys.argv[1], sys.argv[1:]
if target.endswith(".py"):
    runpy.run_path(target, run_name="__main__")
else:
    runpy.run_module(target, run_name="__main__", alter_sys=True)
"""


def _statements(block: str) -> list[str]:
    """A shell block's commands: continued lines (`\\`, or an open quote) joined, comments kept."""
    statements, current = [], ""
    for line in block.splitlines():
        current = f"{current}\n{line}" if current else line
        if current.endswith("\\"):
            continue
        try:
            shlex.split(current, comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        if current.strip():
            statements.append(current)
        current = ""
    return statements


def documented_commands() -> list[tuple[str, str]]:
    """(document, command) for every shell command in the documents, in order, each once."""
    found = []
    for name in DOCS:
        text = (ROOT / name).read_text()
        for block in FENCE.findall(text):
            found += [(name, statement) for statement in _statements(block)]
        prose = FENCE.sub("", text)
        found += [(name, " ".join(span.split())) for span in INLINE.findall(prose)]
    first = {}
    for name, command in found:
        first.setdefault(command, name)
    return [(name, command) for command, name in first.items()]


def _words(command: str) -> list[str]:
    return shlex.split(command.replace("\\\n", " "), comments=True)


def _program(command: str) -> tuple[dict[str, str], list[str]]:
    """The variables set before the program, and the program's words (`time` left out)."""
    words = _words(command)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    if words[:1] == ["time"]:
        words.pop(0)
    return env, words


def _kind(command: str) -> str:
    env, words = _program(command)
    if PLACEHOLDER.search(command):
        return "placeholder"
    if command in ELSEWHERE:
        return "elsewhere"
    if not words:
        return "comment"
    if words[0] == "make":
        return "make"
    if words[0] == "docker":
        return "docker"
    if words[0] == VENV_PYTHON:
        return "pytest" if words[1:3] == ["-m", "pytest"] else "python"
    if words[0] in ("python", "python3") and words[1:3] != ["-m", "json.tool"] and words[1:2] != ["-c"]:
        return "bare python"
    if "tensorflow" in command:
        return "tensorflow"
    return "shell"


COMMANDS = documented_commands()


def _ids(commands):
    return [f"{doc}: {command.splitlines()[0][:60]}" for doc, command in commands]


def _of_kind(*kinds: str) -> list[tuple[str, str]]:
    return [(doc, command) for doc, command in COMMANDS if _kind(command) in kinds]


def test_the_documents_have_commands_of_every_kind() -> None:
    kinds = {_kind(command) for _, command in COMMANDS}

    assert {"make", "python", "pytest", "shell"} <= kinds
    assert any("--pools-only" in command for _, command in COMMANDS)  # the guide's line of issue 15


def test_no_command_needs_an_activated_virtual_environment() -> None:
    bare = [f"{doc}: {command}" for doc, command in COMMANDS if _kind(command) == "bare python"]

    assert not bare, "write .venv/bin/python (or a make target), not python:\n" + "\n".join(bare)


@pytest.mark.parametrize(("doc", "command"), _of_kind("make"), ids=_ids(_of_kind("make")))
def test_each_make_command_names_a_target_make_knows(doc: str, command: str) -> None:
    env, words = _program(command)

    done = subprocess.run(
        ["make", "-n", *words[1:]], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("doc", "command"), _of_kind("python"), ids=_ids(_of_kind("python")))
def test_each_python_command_imports_and_takes_its_arguments(doc: str, command: str) -> None:
    env, words = _program(command)
    target = words[2] if words[1] == "-m" else words[1]
    args = words[3:] if words[1] == "-m" else words[2:]
    source = ROOT / target if target.endswith(".py") else Path(importlib.util.find_spec(target).origin)
    if source.name == "__init__.py":  # a package runs its __main__.py
        source = source.with_name("__main__.py")
    # Only a module that parses its arguments with argparse stops before its work here.
    assert "argparse" in source.read_text(), f"{target} cannot be checked without running it"

    done = subprocess.run(
        [str(ROOT / VENV_PYTHON), "-c", PARSE_ONLY, target, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize(("doc", "command"), _of_kind("pytest"), ids=_ids(_of_kind("pytest")))
def test_each_pytest_command_collects_its_tests(doc: str, command: str) -> None:
    _, words = _program(command)

    done = subprocess.run(
        [str(ROOT / VENV_PYTHON), *words[1:], "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\d+ tests? collected", done.stdout)


@pytest.mark.parametrize(("doc", "command"), _of_kind("docker"), ids=_ids(_of_kind("docker")))
def test_each_docker_command_passes_what_the_image_takes(doc: str, command: str) -> None:
    words = _words(command)
    args = set(re.findall(r"^ARG (\w+)", (ROOT / "Dockerfile").read_text(), re.M))
    settings = set(re.findall(r"^\| `([A-Z_]+)`", (ROOT / "README.md").read_text(), re.M))
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "--build-arg":
            assert value.split("=")[0] in args, value
        if flag in ("-e", "--env"):
            assert value.split("=")[0] in settings, value
    assert any(word.partition(":")[0] == "mnist-serving" for word in words)  # the image, by its name


@pytest.fixture(scope="module")
def doc_server(tmp_path_factory):
    """A server of its own (the shell commands add and remove a worker)."""
    with running_server(MODE="processes", WORKERS="2", log_dir=tmp_path_factory.mktemp("gunicorn")) as srv:
        yield srv


def _functions(doc: str) -> str:
    """The shell functions a document defines (the guide's `work`), for the commands after them."""
    return "\n".join(command for name, command in COMMANDS if name == doc and FUNCTION.match(command))


SHELL = [(doc, command) for doc, command in _of_kind("shell") if not FUNCTION.match(command)]


@pytest.mark.parametrize(("doc", "command"), SHELL, ids=_ids(SHELL))
def test_each_shell_command_runs_against_a_real_server(doc: str, command: str, doc_server) -> None:
    address = doc_server.url.removeprefix("http://")
    script = f"{_functions(doc)}\n{command}".replace(DOC_ADDRESS, address)

    done = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env={**os.environ, "LAB_TOKEN": doc_server.token},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "no answer"
    assert '"error"' not in done.stdout, done.stdout
