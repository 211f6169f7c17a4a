"""The lab's workloads behave as named, against real gunicorn servers."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.launch import post_json, running_server

MS = 150


@pytest.fixture(scope="module")
def threaded():
    """One worker process with 4 threads: where the GIL shows."""
    with running_server(MODE="threads") as server:
        yield server


def wall_time_of(url: str, bodies: list[dict]) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda b: post_json(url + "/api/lab/work", b), bodies))
    assert all(status == 200 for status, _ in answers), answers
    return time.perf_counter() - started, [json.loads(body) for _, body in answers]


def test_python_work_in_two_threads_takes_about_twice_as_long(threaded):
    one, _ = wall_time_of(threaded.url, [{"kind": "python", "ms": MS}])
    two, answers = wall_time_of(threaded.url, [{"kind": "python", "ms": MS}] * 2)
    assert len({a["worker"]["thread_id"] for a in answers}) == 2  # two threads, one process
    assert len({a["worker"]["pid"] for a in answers}) == 1
    assert two / one > 1.6, f"one {one:.3f} s, two {two:.3f} s"
    for answer in answers:
        assert answer["thread_cpu_seconds"] == pytest.approx(MS / 1000, rel=0.3)


def test_io_work_in_two_threads_overlaps(threaded):
    one, _ = wall_time_of(threaded.url, [{"kind": "io", "ms": MS}])
    two, answers = wall_time_of(threaded.url, [{"kind": "io", "ms": MS}] * 2)
    assert two / one < 1.4, f"one {one:.3f} s, two {two:.3f} s"
    a, b = (x["timing"] for x in answers)
    assert a["started"] < b["finished"] and b["started"] < a["finished"]  # they overlapped


def test_tensorflow_loads_in_the_background_then_runs_the_real_model(threaded):
    # The first request starts the load and is told to come back; nothing waits
    # for TensorFlow inside a request, where gunicorn's timeout could kill it.
    status, body = post_json(threaded.url + "/api/lab/work", {"kind": "tensorflow", "ms": 50})
    assert status == 503
    error = json.loads(body)["error"]
    assert error["code"] == "tensorflow_loading" and error["worker"] == threaded.workers()[0]["pid"]
    assert "TensorFlow" in error["message"]
    deadline = time.monotonic() + 120
    while status == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
        status, body = post_json(threaded.url + "/api/lab/work", {"kind": "tensorflow", "ms": 50})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["batch_size"] >= 1 and answer["worker"]["runtime"] == "litert"
    assert answer["cpu_seconds"] > 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "python", "ms": 10_000}, "bad_ms"),
        ({"kind": "python", "ms": -1}, "bad_ms"),
        ({"kind": "python", "ms": "50"}, "bad_ms"),
        ({"kind": "python"}, "bad_ms"),
        ({"kind": "gpu", "ms": 10}, "bad_kind"),
        ({"ms": 10}, "bad_kind"),
    ],
)
def test_the_cap_and_bad_workloads_are_refused(client, body, code):
    response = client.post("/api/lab/work", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_lab_off_is_404():
    from webapp import create_app

    app = create_app({"TESTING": True, "LAB": False, "DEFER_MODEL": True})
    response = app.test_client().post("/api/lab/work", json={"kind": "io", "ms": 1})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "lab_off"


def test_workers_can_be_added_and_removed_live():
    with running_server(MODE="processes", WORKERS="2") as server:
        # wait_ready() reads until every worker is listed; a single read may be a
        # worker's cached list from before the last one booted.
        before = {w["pid"] for w in server.wait_ready()}
        status, body = post_json(server.url + "/api/lab/workers", {"action": "add"}, token=server.token)
        assert status == 202 and json.loads(body)["target"] == 3
        live = server.wait_ready(workers=3, timeout=30)
        new = {w["pid"] for w in live} - before
        assert len(new) == 1
        status, _ = post_json(server.url + "/api/lab/workers", {"action": "remove"}, token=server.token)
        assert status == 202
        deadline = time.monotonic() + 30
        while len(server.workers()) != 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(server.workers()) == 2


def test_the_worker_count_stays_within_bounds():
    with running_server(MODE="processes", WORKERS="1") as server:
        status, body = post_json(server.url + "/api/lab/workers", {"action": "remove"}, token=server.token)
        assert status == 409 and json.loads(body)["error"]["code"] == "worker_limit"


def test_threads_mode_cannot_scale_processes(threaded):
    status, body = post_json(threaded.url + "/api/lab/workers", {"action": "add"}, token=threaded.token)
    assert status == 409 and json.loads(body)["error"]["code"] == "not_scalable"
