"""Against a real gunicorn with 4 worker processes: every worker visible, faults survived."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from digits.drawing import data_url, draw_like_a_pen
from harness.launch import post_json
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def drawing(mnist_test):
    return data_url(draw_like_a_pen(mnist_test[0][0]))


def fire(url: str, body: dict, count: int, concurrency: int) -> list[tuple[int, bytes]]:
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda _: post_json(url, body), range(count)))


def test_the_workers_endpoint_lists_four_live_workers(stored_server):
    server = stored_server  # each store in turn
    # Each worker reuses its list for LIVE_WORKERS_MAX_AGE (0.2 s): one that
    # answered while the last worker was starting may not list it yet.
    workers = wait_for(server.workers, 10, "four workers listed", until=lambda ws: len(ws) == 4)
    assert len({w["pid"] for w in workers}) == 4
    for worker in workers:
        assert worker["ready"] and worker["rss_bytes"] > 0 and worker["threads"] >= 1


def test_concurrent_requests_are_answered_by_several_processes(server, drawing):
    answers = fire(server.url + "/api/predict", {"image": drawing}, count=64, concurrency=8)
    assert all(status == 200 for status, _ in answers)
    bodies = [json.loads(body) for _, body in answers]
    assert {b["digit"] for b in bodies} == {7}
    assert len({b["worker"]["pid"] for b in bodies}) >= 2


def test_the_shared_request_log_sees_every_workers_requests(stored_server, drawing):
    server = stored_server  # each store in turn
    client = f"log-{time.time_ns()}"
    answers = fire(
        server.url + "/api/predict", {"image": drawing, "client_id": client}, count=32, concurrency=8
    )
    sent = {json.loads(body)["request_id"] for _, body in answers}

    def rows() -> list[dict]:
        with urllib.request.urlopen(f"{server.url}/api/requests?client_id={client}") as response:
            return json.loads(response.read())["requests"]

    # Each worker writes its rows a moment after answering: wait for them, not for the moment.
    rows = wait_for(
        rows,
        10,
        f"the 32 rows of {client} in /api/requests",
        until=lambda rs: {r["request_id"] for r in rs} == sent,
    )
    assert len({r["pid"] for r in rows}) >= 2


def metric(url: str, sample: str) -> float:
    """One sample's value in /metrics (0 if absent)."""
    with urllib.request.urlopen(url + "/metrics") as response:
        for line in response.read().decode().splitlines():
            if line.startswith(sample + " "):
                return float(line.split()[-1])
    return 0.0


def published_counts(server, drawing) -> dict[int, int]:
    """Every worker's figures as published, known from the workers themselves: {pid: requests served}.

    Each /api/predict answer carries its worker's count of model requests. Once the
    workers list shows every worker at its last answer's count, each worker has
    published since then, and with that count went everything it answered before
    (a worker writes its counts and its /metrics figures together). So the figures
    read next are settled, however late earlier tests' requests were published.
    """
    counts: dict[int, int] = {}

    def answer_from_every_worker() -> dict[int, int]:
        for _, body in fire(server.url + "/api/predict", {"image": drawing}, count=8, concurrency=8):
            worker = json.loads(body)["worker"]
            counts[worker["pid"]] = max(counts.get(worker["pid"], 0), worker["requests"])
        return counts

    wait_for(
        answer_from_every_worker, 30, "an answer from each of the 4 workers", until=lambda c: len(c) == 4
    )
    wait_for(
        lambda: {w["pid"]: w["requests"] for w in server.workers()},
        10,
        f"the workers list at each worker's last answered count {counts}",
        until=lambda listed: listed == counts,
    )
    return counts


def test_every_workers_figures_reach_metrics_and_the_workers_list(server, mnist_test, drawing):
    host = server.workers()[0]["host"]  # every series names its host
    answered = f'mnist_http_requests_total{{host="{host}",method="POST",route="/inference",status="200"}}'
    timed = f'mnist_http_request_duration_seconds_count{{host="{host}",route="/inference"}}'
    served_before = sum(published_counts(server, drawing).values())
    before = metric(server.url, answered), metric(server.url, timed)
    answers = fire(server.url + "/inference", {"images": mnist_test[0][0].tolist()}, count=40, concurrency=8)
    assert all(status == 200 for status, _ in answers)
    # Each worker writes its figures within PUBLISH_EVERY (0.05 s) of a change, and
    # each reuses its workers list for 0.2 s: wait for the figures, exactly 40 more.
    wanted = (before[0] + 40, before[1] + 40, served_before + 40)
    wait_for(
        lambda: (
            metric(server.url, answered),
            metric(server.url, timed),
            sum(w["requests"] for w in server.workers()),
        ),
        10,
        f"(answered, timed, served) in /metrics and the workers list to reach {wanted}",
        until=lambda seen: seen == wanted,
    )


def test_a_worker_shows_busy_while_it_works_and_idle_after(stored_server):
    """Lab requests of 200 ms back to back: one worker is busy nearly all the time."""
    server = stored_server  # each store in turn
    stop = threading.Event()

    def keep_one_busy() -> list[int]:
        statuses = []
        while not stop.is_set():  # until the test has seen it busy
            statuses.append(post_json(server.url + "/api/lab/work", {"kind": "io", "ms": 200})[0])
        return statuses

    with ThreadPoolExecutor(1) as pool:
        work = pool.submit(keep_one_busy)
        seen = []

        def in_flight() -> int:
            seen.append(sum(w["in_flight"] for w in server.workers()))
            return seen[-1]

        try:
            wait_for(
                in_flight, 10, "one request in flight in the workers list", until=lambda n: n == 1, every=0.02
            )
        finally:
            stop.set()
        # One at a time; but a worker publishes its count up to 0.05 s late, so the
        # next request's worker may already show busy while the last still does.
        assert max(seen) <= 2, seen
        assert set(work.result()) == {200}
    # Each worker publishes within 0.05 s and reuses its list for 0.2 s: wait until
    # eight lists in a row (from whichever workers answer) show every worker idle.
    wait_for(
        lambda: [w["pid"] for _ in range(8) for w in server.workers() if w["busy"]],
        10,
        "every worker idle in eight workers lists in a row",
        until=lambda busy: not busy,
    )


def test_inference_answers_the_reference_repos_request(server, mnist_test):
    images, labels = mnist_test
    for i in range(3):
        status, body = post_json(server.url + "/inference", {"images": images[i].tolist()})
        assert status == 200 and body.decode() == str(labels[i])


def test_a_killed_worker_is_replaced_and_requests_keep_succeeding(server, drawing):
    before = {w["pid"] for w in server.wait_ready(workers=4)}
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    answers = fire(server.url + "/api/predict", {"image": drawing}, count=40, concurrency=4)
    assert all(status == 200 for status, _ in answers)
    pids = wait_for(
        lambda: {w["pid"] for w in server.workers() if w["ready"]},
        30,
        f"four ready workers without the killed {victim}",
        until=lambda pids: victim not in pids and len(pids) == 4,
    )
    assert len(pids - before) == 1


def test_gunicorn_refuses_an_oversized_request_line_with_json(server):
    status, body = post_json(server.url + "/api/requests?since=" + "x" * 5000, {})
    assert status == 414
    error = json.loads(body)["error"]
    assert error["code"] == "uri_too_long" and "too large" in error["message"].lower()


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/api/workers", 200),
        ("GET", "/", 200),
        ("GET", "/static/js/app.js", 200),
        ("GET", "/no-such-page", 404),
        ("POST", "/inference", 415),
    ],
)
def test_every_answer_carries_the_security_headers_once(server, method, path, status):
    body = b"x" if method == "POST" else None
    request = urllib.request.Request(server.url + path, method=method, data=body)
    try:
        response = urllib.request.urlopen(request)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        headers = response.headers
        assert response.status == status
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert len(headers.get_all(name)) == 1
