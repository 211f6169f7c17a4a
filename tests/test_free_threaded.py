"""Threads without the GIL: the app served by gunicorn on Python's free-threaded build
(FREE_THREADED=1, the venv .venv-ft that `make test` makes: harness/freethreaded.py), beside
the normal build. Skipped only where no free-threaded Python can be had."""

from __future__ import annotations

import json
import os
import sys
import threading

import pytest
from playwright.sync_api import expect

from digits.drawing import data_url, draw_like_a_pen
from harness.freethreaded import venv_python
from harness.launch import get_json, post_json, running_server

FT_PYTHON = venv_python()
needs_ft = pytest.mark.skipif(
    FT_PYTHON is None,
    reason="no free-threaded Python with the server's packages (.venv-ft): `make freethreaded` says why",
)
BURST_MS = 200


@pytest.fixture(scope="module")
def ft_server():
    with running_server(python=FT_PYTHON, MODE="threads", timeout=180) as server:
        yield server


@pytest.fixture(scope="module")
def gil_server():
    with running_server(MODE="threads") as server:
        yield server


def two_python_requests_at_once(server) -> list[dict]:
    """Two BURST_MS python lab workloads sent at the same moment; their answers."""
    answers: list[dict] = [{}, {}]
    ready = threading.Barrier(2)

    def send(i):
        ready.wait()
        status, body = post_json(server.url + "/api/lab/work", {"kind": "python", "ms": BURST_MS}, timeout=30)
        assert status == 200, body
        answers[i] = json.loads(body)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def pair_figures(answers: list[dict]) -> dict:
    """The pair's wall span on the server, the overlap of the two intervals, their CPU."""
    starts = [a["timing"]["started"] for a in answers]
    ends = [a["timing"]["finished"] for a in answers]
    return {
        "span": max(ends) - min(starts),
        "overlap": min(ends) - max(starts),
        "cpu": sum(a["thread_cpu_seconds"] for a in answers),
    }


@needs_ft
def test_the_free_threaded_server_runs_without_the_gil(ft_server):
    settings = get_json(ft_server.url + "/api/workers")[1]["settings"]
    assert settings["free_threaded"] is True
    assert settings["gil"] is False, f"GIL turned back on by {settings['gil_enabled_by']}"
    assert settings["gil_enabled_by"] is None
    assert settings["python"].startswith("3.1")
    assert settings["runtime"] == "numpy"  # LiteRT has no free-threaded build
    assert settings["worker_class"] == "gthread" and settings["threads"] == 4


@needs_ft
def test_it_reads_a_seven_on_both_routes(ft_server, mnist_test):
    images, labels = mnist_test
    assert labels[0] == 7
    status, body = post_json(ft_server.url + "/inference", {"images": images[0].tolist()})
    assert (status, body.strip()) == (200, b"7")
    drawing = data_url(draw_like_a_pen(images[0]))
    status, body = post_json(ft_server.url + "/api/predict", {"image": drawing, "client_id": "ft-test"})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["digit"] == 7 and answer["worker"]["runtime"] == "numpy"


@needs_ft
def test_the_tensorflow_workload_says_why_it_is_not_there(ft_server):
    status, body = post_json(ft_server.url + "/api/lab/work", {"kind": "tensorflow", "ms": 50})
    error = json.loads(body)["error"]
    assert status == 409 and error["code"] == "tensorflow_missing"
    assert "free-threaded" in error["message"]
    status, body = post_json(ft_server.url + "/api/lab/work", {"kind": "io", "ms": 20})
    assert status == 200


@needs_ft
def test_two_python_requests_run_side_by_side_in_one_process(ft_server):
    """Without the GIL, two threads of one process run Python at once: the two requests'
    intervals on the server overlap and together they use more CPU than the time they span."""
    answers = two_python_requests_at_once(ft_server)
    assert answers[0]["worker"]["pid"] == answers[1]["worker"]["pid"]
    assert answers[0]["worker"]["thread"] != answers[1]["worker"]["thread"]
    pair = pair_figures(answers)
    assert pair["overlap"] > 0, pair
    if pair["cpu"] <= pair["span"]:
        spare = get_json(ft_server.url + "/api/workers")[1]["machine"]
        pytest.xfail(f"no spare core to run both at once: {pair}, machine {spare}, load {os.getloadavg()}")
    assert pair["cpu"] > pair["span"], pair


def test_with_the_gil_the_two_take_turns(gil_server):
    """The normal build: the same two requests overlap in time but take turns at the GIL, so
    their CPU together never exceeds the time they span."""
    answers = two_python_requests_at_once(gil_server)
    assert answers[0]["worker"]["pid"] == answers[1]["worker"]["pid"]
    settings = get_json(gil_server.url + "/api/workers")[1]["settings"]
    assert settings["gil"] is True and settings["python"] == ".".join(map(str, sys.version_info[:3]))
    pair = pair_figures(answers)
    assert pair["overlap"] > 0, pair
    assert pair["cpu"] <= pair["span"] * 1.05, pair


@needs_ft
def test_the_page_says_the_gil_is_off(ft_server, page):
    page.goto(ft_server.url)
    gil = page.get_by_test_id("mode-banner").get_by_test_id("gil")
    expect(gil).to_have_attribute("data-gil", "off")
    expect(gil).to_contain_text("GIL off")


def test_the_page_says_the_gil_is_on_on_the_normal_build(gil_server, page):
    page.goto(gil_server.url)
    gil = page.get_by_test_id("mode-banner").get_by_test_id("gil")
    expect(gil).to_have_attribute("data-gil", "on")
    expect(gil).to_contain_text(f"Python {'.'.join(map(str, sys.version_info[:3]))}, GIL on")


# What free-threaded Python lacks (LiteRT, TensorFlow, gevent, orjson), taken away on the normal
# build: the same fallbacks, chosen by what is importable.


def test_without_orjson_or_litert_the_app_answers_with_numpy_and_the_json_module(monkeypatch, mnist_test):
    from flask.json.provider import DefaultJSONProvider

    from serving import config
    from webapp import create_app, jsonio

    monkeypatch.setattr(jsonio, "orjson", None)
    monkeypatch.setattr(
        config, "importable", lambda package: package not in config.NEEDS.values() or package == "numpy"
    )
    app = create_app({"TESTING": True, **config.load({})})
    assert isinstance(app.json, DefaultJSONProvider) and app.config["RUNTIME"] == "numpy"
    client = app.test_client()
    images, labels = mnist_test
    assert (
        client.post("/inference", json={"images": images[0].tolist()}).get_data(as_text=True).strip() == "7"
    )
    workers = client.get("/api/workers").get_json()
    assert workers["model"]["runtime"] == "numpy" and workers["settings"]["gil"] is True
    refused = client.post("/api/lab/work", json={"kind": "tensorflow", "ms": 10})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "tensorflow_missing"


def test_a_mode_or_runtime_whose_package_is_missing_is_a_clear_error(monkeypatch):
    from serving import config

    monkeypatch.setattr(config, "importable", lambda package: package == "numpy")
    with pytest.raises(config.ConfigError, match="MODE=async needs gevent"):
        config.concurrency({"MODE": "async"})
    with pytest.raises(config.ConfigError, match="RUNTIME=litert needs ai_edge_litert"):
        config.load({"RUNTIME": "litert"})
    assert config.load({})["RUNTIME"] == "numpy"


def test_the_module_that_turns_the_gil_back_on_is_named(monkeypatch):
    """CPython's warning, as the free-threaded build gives it when an extension not marked
    safe loads, names the module; /api/workers' settings repeat it."""
    import warnings

    from webapp import gil

    monkeypatch.setattr(gil, "FREE_THREADED_BUILD", True)
    monkeypatch.setattr(gil, "enabled", lambda: True)
    monkeypatch.setattr(gil, "_turned_on_by", [])
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    gil._watch()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(
            "The global interpreter lock (GIL) has been enabled to load module 'pyspng._pyspng_c', which "
            "has not declared that it can run safely without the GIL.",
            RuntimeWarning,
            stacklevel=1,
        )
    assert gil.settings()["gil_enabled_by"] == "pyspng._pyspng_c"


def test_the_ft_venv_gets_the_server_packages_that_have_builds_for_it():
    from harness import freethreaded

    names = {line.split("==")[0] for line in freethreaded.serve_requirements()}
    assert {"numpy", "pillow", "msgspec", "flask", "gunicorn", "psutil", "pyspng"} <= names
    assert not names & {"orjson", "gevent", "ai-edge-litert"}


def test_a_named_python_that_is_not_free_threaded_is_refused(monkeypatch):
    from harness import freethreaded

    monkeypatch.setenv("FREE_THREADED_PYTHON", sys.executable)
    with pytest.raises(SystemExit, match="not a free-threaded python"):
        freethreaded.find()
