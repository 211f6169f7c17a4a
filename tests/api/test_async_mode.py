"""MODE=async: one process, one thread, gevent's greenlets. What waits overlaps; what computes
blocks the loop. Against a real gunicorn with its gevent worker."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.launch import get_json, post_json, running_server
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def async_server():
    with running_server(MODE="async") as server:
        yield server


def _together(server, work: dict, n: int = 2) -> list[dict]:
    with ThreadPoolExecutor(n) as pool:
        answers = list(
            pool.map(lambda _: post_json(server.url + "/api/lab/work", work, token=server.token), range(n))
        )
    assert [status for status, _ in answers] == [200] * n, answers
    return [json.loads(body) for _, body in answers]


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["timing"]["started"] < b["timing"]["finished"] and b["timing"]["started"] < a["timing"]["finished"]
    )


def test_the_server_runs_gevents_worker_in_one_process(async_server):
    assert len(async_server.wait_ready()) == 1
    settings = get_json(async_server.url + "/api/workers")[1]["settings"]
    assert settings["worker_class"] == "gevent" and settings["presets"]["async"]["greenlets"] > 1
    status, digit = post_json(async_server.url + "/inference", {"images": [[0] * 28] * 28})
    assert status == 200 and digit.strip().isdigit()


def test_io_overlaps_on_one_thread(async_server):
    a, b = _together(async_server, {"kind": "io", "ms": 200})
    assert a["worker"]["pid"] == b["worker"]["pid"]
    assert a["worker"]["thread_id"] == b["worker"]["thread_id"]  # one OS thread
    assert _overlap(a, b)  # a greenlet that sleeps lets the other run


def test_python_blocks_the_loop(async_server):
    a, b = _together(async_server, {"kind": "python", "ms": 150})
    # The second starts only when the first has finished: nothing yields the loop.
    assert not _overlap(a, b)


def test_tensorflow_loads_without_stopping_the_loop(async_server):
    def ask() -> tuple[int, bytes]:
        answer = post_json(
            async_server.url + "/api/lab/work", {"kind": "tensorflow", "ms": 20}, token=async_server.token
        )
        # While TensorFlow loads in an OS thread, the loop answers at once.
        health = time.monotonic()
        assert post_json(async_server.url + "/inference", {"images": [[0] * 28] * 28})[0] == 200
        assert time.monotonic() - health < 2.0
        return answer

    status, body = wait_for(
        ask,
        120,
        "TensorFlow loaded: the workload not answered 503",
        until=lambda answer: answer[0] != 503,
        every=0.3,
    )
    assert status == 200, body
