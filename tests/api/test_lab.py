"""The lab's workloads behave as named, against real gunicorn servers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.launch import post_json, running_server
from tests.waiting import wait_for

MS = 150


@pytest.fixture(scope="module")
def threaded():
    """One worker process with 4 threads: where the GIL shows."""
    with running_server(MODE="threads") as server:
        yield server


def at_once(url: str, kind: str, n: int) -> list[dict]:
    """n lab requests of MS ms sent together; their answers."""
    with ThreadPoolExecutor(n) as pool:
        answers = list(
            pool.map(lambda _: post_json(url + "/api/lab/work", {"kind": kind, "ms": MS}), range(n))
        )
    assert all(status == 200 for status, _ in answers), answers
    return [json.loads(body) for _, body in answers]


def served(answer: dict) -> float:
    """Seconds the server spent on one request's work, by its own clock."""
    return answer["timing"]["finished"] - answer["timing"]["started"]


def share(answer: dict) -> float:
    """The part of a core one request's thread had while it worked: its CPU time over its time."""
    return answer["thread_cpu_seconds"] / served(answer)


def span(pair: list[dict]) -> float:
    """Seconds from the first start to the last end of the requests' work."""
    return max(a["timing"]["finished"] for a in pair) - min(a["timing"]["started"] for a in pair)


def overlap(pair: list[dict]) -> float:
    """Seconds the requests' work ran at the same time (negative: a gap between them)."""
    return min(a["timing"]["finished"] for a in pair) - max(a["timing"]["started"] for a in pair)


# Timings are measured a few times and the clearest sample judged: on a shared
# machine one sample can meet another program's burst. What each claim rests on
# is measured by the server for each request (its thread's CPU time, its start
# and end), so that other work on the machine can only make it clearer.
SAMPLES = 3
WHOLE_CORE = 0.85  # a request whose thread had less of a core than this shared it with other work


def test_python_work_in_two_threads_takes_about_twice_as_long(threaded):
    samples = [
        (at_once(threaded.url, "python", 1)[0], at_once(threaded.url, "python", 2)) for _ in range(SAMPLES)
    ]
    for alone, pair in samples:
        assert len({a["worker"]["pid"] for a in pair}) == 1  # one process
        for answer in (alone, *pair):  # each did its MS of pure Python, however long it took
            assert answer["thread_cpu_seconds"] == pytest.approx(MS / 1000, rel=0.3)
        # The GIL: two threads of one process never used more than one core between them.
        used = sum(a["thread_cpu_seconds"] for a in pair) / span(pair)
        assert used < 1.1, f"two threads used {used:.2f} cores"
    # Sent together, they ran at the same time, in two threads, each with only part of
    # the core: the other thread held the GIL the rest of the time.
    alone, pair = max(samples, key=lambda sample: overlap(sample[1]))
    assert len({a["worker"]["thread_id"] for a in pair}) == 2
    assert overlap(pair) > 0.5 * MS / 1000, f"overlapped {overlap(pair):.3f} s"
    shares = [share(a) for a in pair]
    assert max(shares) < 0.65, f"each thread's part of a core: {shares}"
    # So each took about twice as long as one alone, which had a core to itself if the
    # machine had one to spare: that part of the claim needs one (the ratio is the lone
    # request's part of a core over each of the pair's, which the GIL keeps at a half).
    ratios = [sum(served(a) for a in pair) / 2 / served(alone) for alone, pair in samples]
    best = max(range(SAMPLES), key=lambda i: ratios[i])
    alone_share = share(samples[best][0])
    if ratios[best] <= 1.6 and alone_share < WHOLE_CORE:
        pytest.xfail(
            f"the machine was busy: one request alone had {alone_share:.0%} of a core, so two "
            f"took only {ratios[best]:.2f} times as long"
        )
    assert ratios[best] > 1.6, (
        f"two took {ratios} times as long as one; alone had {alone_share:.0%} of a core"
    )


def test_io_work_in_two_threads_overlaps(threaded):
    pairs = [at_once(threaded.url, "io", 2) for _ in range(SAMPLES)]
    for pair in pairs:
        assert len({a["worker"]["pid"] for a in pair}) == 1
        for answer in pair:  # waiting holds no CPU (and no GIL)
            assert answer["thread_cpu_seconds"] < 0.3 * MS / 1000, answer
    pair = min(pairs, key=span)
    assert len({a["worker"]["thread_id"] for a in pair}) == 2
    a, b = (x["timing"] for x in pair)
    assert a["started"] < b["finished"] and b["started"] < a["finished"]  # they overlapped
    # Together in about the time of one (MS), not of two taking turns (2 x MS).
    assert span(pair) < 1.4 * MS / 1000, f"two waits of {MS} ms took {span(pair):.3f} s together"


def test_tensorflow_loads_in_the_background_then_runs_the_real_model(threaded):
    # The first request starts the load and is told to come back; nothing waits
    # for TensorFlow inside a request, where gunicorn's timeout could kill it.
    status, body = post_json(threaded.url + "/api/lab/work", {"kind": "tensorflow", "ms": 50})
    assert status == 503
    error = json.loads(body)["error"]
    assert error["code"] == "tensorflow_loading" and error["worker"] == threaded.workers()[0]["pid"]
    assert "TensorFlow" in error["message"]
    status, body = wait_for(
        lambda: post_json(threaded.url + "/api/lab/work", {"kind": "tensorflow", "ms": 50}),
        120,
        "TensorFlow loaded: the workload not answered 503",
        until=lambda answer: answer[0] != 503,
        every=0.5,  # TensorFlow takes seconds to load: no need to ask more often
    )
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


def test_without_tensorflow_its_workload_is_refused_in_words(client, monkeypatch):
    """The default container image has no TensorFlow: a clear 409, not a load retried forever.
    (tests/docker runs it for real in that image.)"""
    import webapp.lab_api

    monkeypatch.setattr(webapp.lab_api, "tensorflow_installed", lambda: False)
    response = client.post("/api/lab/work", json={"kind": "tensorflow", "ms": 10})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "tensorflow_missing" and "WITH_TENSORFLOW=1" in error["message"]
    assert client.post("/api/lab/work", json={"kind": "io", "ms": 1}).status_code == 200


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
        wait_for(server.workers, 30, "two workers listed", until=lambda workers: len(workers) == 2)


def test_the_worker_count_stays_within_bounds():
    with running_server(MODE="processes", WORKERS="1") as server:
        status, body = post_json(server.url + "/api/lab/workers", {"action": "remove"}, token=server.token)
        assert status == 409 and json.loads(body)["error"]["code"] == "worker_limit"


def test_threads_mode_cannot_scale_processes(threaded):
    status, body = post_json(threaded.url + "/api/lab/workers", {"action": "add"}, token=threaded.token)
    assert status == 409 and json.loads(body)["error"]["code"] == "not_scalable"
