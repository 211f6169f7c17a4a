"""The framework behaviour our code relies on where no public way exists: each pin fails on the
upgrade that takes it away, instead of a quiet change in what the server does.

- gunicorn's workers build every response through the name ``wsgi.Response`` and write its
  body through ``Response._emit_body``, and answer their own errors with ``util.write_error``
  (serving/wire.py: the head goes with the body; gunicorn's errors are JSON).
- gunicorn's worker and response classes do not use the names our subclasses add
  (serving/deadlines.py, serving/wire.py).
- prometheus_client's values module opens each metric file through the name ``MmapedDict``
  (webapp/metrics.py: files allocated up front, so a full disk is an error, not SIGBUS).
- msgspec says which field is wrong in these words (webapp/parsing.py).
"""

from __future__ import annotations

import importlib.util
import inspect
from importlib.metadata import version
from pathlib import Path

import msgspec
import pytest
from gunicorn.http import wsgi
from gunicorn.workers import base, gthread, sync

from serving import deadlines, wire
from webapp import parsing


def test_gunicorn_builds_responses_by_the_module_name_and_writes_bodies_through_emit_body():
    assert "response_class = Response" in inspect.getsource(wsgi.create), version("gunicorn")
    assert "self._emit_body(" in inspect.getsource(wsgi.Response.write), version("gunicorn")
    for worker in (sync.SyncWorker, gthread.ThreadWorker):
        calls = [line for line in inspect.getsource(worker).splitlines() if "wsgi.create(" in line]
        assert calls, f"{worker.__name__} no longer calls wsgi.create ({version('gunicorn')})"


def test_gunicorn_answers_its_own_errors_with_util_write_error():
    assert "util.write_error(" in inspect.getsource(base.Worker.handle_error), version("gunicorn")


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (wire.WholeResponse, wsgi.Response),
        (deadlines.DeadlineSyncWorker, sync.SyncWorker),
        (deadlines.DeadlineThreadWorker, gthread.ThreadWorker),
    ],
)
def test_the_names_our_gunicorn_subclasses_add_are_not_gunicorns(ours, theirs):
    added = {
        name for klass in ours.__mro__ if klass.__module__.startswith("serving.") for name in vars(klass)
    }
    added -= {"__module__", "__doc__", "__dict__", "__weakref__", "__qualname__", "__annotations__"}
    overridden = {"send_headers", "close", "_emit_body", "init_process", "handle"}  # on purpose
    clashes = {name for name in added - overridden if hasattr(theirs, name)}
    assert not clashes, f"gunicorn {version('gunicorn')} now has {clashes}"


def test_prometheus_client_opens_its_files_through_the_name_mmapeddict():
    # Read, not imported: prometheus_client picks its multiprocess mode when first imported, and
    # an import here, before any app set PROMETHEUS_MULTIPROC_DIR, left later tests' /metrics empty.
    package = importlib.util.find_spec("prometheus_client")  # a top-level name: found, not imported
    source = (Path(package.submodule_search_locations[0]) / "values.py").read_text()
    assert "MmapedDict(" in source, version("prometheus_client")


class _Body(msgspec.Struct):
    image: str
    rows: list[list[int]] = []


@pytest.mark.parametrize(
    ("raw", "pattern", "field"),
    [
        (b"{}", parsing._MISSING, "image"),
        (b'{"image": 3}', parsing._AT, "image"),
        (b'{"image": "x", "rows": [[1, "a"]]}', parsing._AT, "rows"),
    ],
)
def test_msgspec_names_the_wrong_field_in_the_words_we_read(raw, pattern, field):
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.json.Decoder(_Body).decode(raw)
    found = pattern.fullmatch(str(refused.value))
    assert found and field in found.groups(), f"msgspec {version('msgspec')}: {refused.value}"
