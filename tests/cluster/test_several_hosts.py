"""Several hosts behind nginx, sharing one Redis, with the real parts: redis-server, nginx
(deploy/nginx-hosts.conf) and three gunicorn masters of four workers each (harness/cluster.py).

A host killed under load, Redis stopped, Redis stuck: predictions keep answering, and
what the page reads (the worker list, the log) says what happened, then recovers.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from digits.drawing import data_url, draw_like_a_pen
from digits.strokes import draw_digit
from harness.cluster import running_cluster
from harness.launch import find_nginx, find_redis_server, get_json, post_json
from serving.config import STORE_TIMEOUT
from tests.waiting import SteadyLoad, hosts_listed, wait_for
from webapp.redisstore import HEARTBEAT_EVERY, HEARTBEAT_TTL

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Redis, 3 hosts x 4 workers on 127.0.0.2-4, nginx in front: one cluster for the module."""
    if find_redis_server() is None or find_nginx() is None:
        pytest.skip("redis-server or nginx is not installed (make redis nginx): cluster tests skipped")
    with running_cluster(log_dir=tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def body(mnist_test):
    return {"images": mnist_test[0][0].tolist()}


@pytest.fixture(scope="module")
def drawing(mnist_test):
    return {"image": data_url(draw_like_a_pen(mnist_test[0][0]))}


def log_status(url: str) -> dict:
    """What /api/requests says of the store it reads (whichever host answers it)."""
    return get_json(url + "/api/requests")[1].get("log", {})


def said_unavailable(url: str) -> None:
    """Wait until /api/requests says plainly that the shared store is unavailable."""
    status = wait_for(lambda: log_status(url), 10, "the log saying so", until=lambda s: not s["ok"])
    assert "the shared store" in status["problem"] and "unavailable" in status["problem"], status


def logged_hosts(url: str) -> set[str]:
    return {r["host"] for r in get_json(url + "/api/requests?limit=1000")[1].get("requests", [])}


def test_every_host_serves_logs_and_lists_its_workers_through_one_address(cluster, drawing):
    names = {cluster.name(i) for i in range(3)}
    wait_for(lambda: hosts_listed(cluster.url), 10, "all three hosts listed", until=lambda h: h == names)
    answers = [json.loads(post_json(cluster.url + "/api/predict", drawing)[1]) for _ in range(12)]
    assert {a["worker"]["host"] for a in answers} == names  # nginx spreads them
    # nginx's X-Request-ID (32 hex digits) is the id the hosts answer and log under.
    assert all(len(a["request_id"]) == 32 for a in answers), [a["request_id"] for a in answers]
    sent = {a["request_id"] for a in answers}
    rows = wait_for(
        lambda: get_json(cluster.url + "/api/requests?limit=1000")[1]["requests"],
        10,
        "the 12 predictions in the shared log",
        until=lambda rows: sent <= {r["request_id"] for r in rows},
    )
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # one order across hosts


def test_a_photo_sized_prediction_passes_through_nginx(cluster):
    """Bodies over 16 KB are buffered in nginx's temp files (request buffering on)."""
    noise = np.random.default_rng(0).integers(0, 256, (800, 800), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise, "L").save(buffer, "PNG")
    photo = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert len(photo) > 500_000
    status, answer = post_json(cluster.url + "/api/predict", {"image": photo})
    assert status == 200, answer[:300]


def test_nginx_answers_the_pages_polls_from_a_one_second_cache_but_never_the_teachers(cluster):
    def poll(path: str, **headers) -> tuple[str, dict]:
        request = urllib.request.Request(cluster.url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.headers["X-Cache"], json.loads(answer.read())

    wait_for(lambda: poll("/api/workers")[0], 5, "a poll answered from the cache", until=lambda c: c == "HIT")
    cached, answer = poll("/api/workers")
    assert cached in ("HIT", "MISS", "EXPIRED") and answer["settings"]["teacher"] is False
    teacher, answer = poll("/api/workers", Authorization=f"Bearer {cluster.token}")
    assert teacher == "BYPASS" and answer["settings"]["teacher"] is True
    teacher, _ = poll("/api/requests", Cookie=f"lab_token={cluster.token}")
    assert teacher == "BYPASS"
    # Kept a second, no more: within 3 s of a cached answer the next comes from the hosts.
    wait_for(lambda: poll("/api/requests")[0], 5, "the log polled from the cache", until=lambda c: c == "HIT")
    wait_for(lambda: poll("/api/requests")[0], 3, "the cached log expired", until=lambda c: c != "HIT")


def test_the_page_groups_the_workers_and_the_timeline_by_host(cluster, page: Page):
    page.goto(cluster.url + "/")
    names = sorted(cluster.name(i) for i in range(3))
    expect(page.get_by_test_id("mode-banner")).to_contain_text("3 hosts × 4 processes × 1 thread")
    cards = page.get_by_test_id("worker-panel").get_by_test_id("worker")
    expect(cards).to_have_count(12)
    expect(page.locator(".host-heading")).to_have_text(names)
    in_order = [cards.nth(i).get_attribute("data-host") for i in range(12)]
    assert in_order == sorted(in_order) and set(in_order) == set(names)
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-lanes", "12")
    expect(timeline).to_have_attribute("data-hosts", "3")

    draw_digit(page, "7")
    page.get_by_test_id("burst").click()
    summary = page.get_by_test_id("burst-summary")
    expect(summary).to_have_attribute("data-requests", "16")
    hosts = int(summary.get_attribute("data-hosts"))
    assert hosts >= 2 and f"{hosts} hosts" in summary.inner_text()  # nginx spread the burst


def test_predictions_answer_while_redis_is_down_and_the_log_resumes_when_it_is_back(
    cluster, body, page: Page
):
    names = {cluster.name(i) for i in range(3)}
    page.goto(cluster.url + "/")
    page.get_by_test_id("view-everyone").click()
    problem = page.get_by_test_id("log-problem")
    with SteadyLoad(cluster.url + "/inference", body, concurrency=4) as load:
        load.answers(20)
        expect(problem).to_be_hidden()
        cluster.redis.stop()
        load.answers(60)
        said_unavailable(cluster.url)
        expect(problem).to_contain_text("the shared store")  # the page says it too
        cluster.redis.start()  # empty: nothing was saved
        load.answers(60)
        wait_for(lambda: log_status(cluster.url)["ok"], 10, "the log written again, no host restarted")
        expect(problem).to_be_hidden(timeout=10_000)
        wait_for(lambda: logged_hosts(cluster.url), 10, "rows of every host", until=lambda h: h == names)
        wait_for(lambda: hosts_listed(cluster.url), 10, "every host listed again", until=lambda h: h == names)
    assert load.failed == [] and load.ok > 140


def test_a_stuck_redis_costs_a_prediction_at_most_the_timeout_and_never_a_worker(cluster, drawing):
    pids_before = {w["pid"] for server in cluster.hosts for w in server.workers()}
    cluster.redis.pause()  # SIGSTOP: connections are accepted, nothing is answered
    try:
        took = []
        for _ in range(12):
            started = time.monotonic()
            status, _ = post_json(cluster.url + "/api/predict", drawing)
            took.append(time.monotonic() - started)
            assert status == 200
        # Predictions never wait on the store (rows are stored by a thread of their own);
        # the log waits at most a few STORE_TIMEOUTs, then says the store is unavailable.
        assert max(took) < STORE_TIMEOUT + 1, took
        said_unavailable(cluster.url)
        for _ in range(6):
            started = time.monotonic()
            get_json(cluster.url + "/api/requests")
            get_json(cluster.url + "/api/workers")
            assert time.monotonic() - started < 4 * STORE_TIMEOUT + 1
    finally:
        cluster.redis.resume()
    wait_for(lambda: log_status(cluster.url)["ok"], 10 + HEARTBEAT_EVERY, "the log written again")
    pids_after = {w["pid"] for server in cluster.hosts for w in server.workers()}
    assert pids_after == pids_before  # no worker was killed for a silence of its heartbeat


def test_a_host_killed_under_load_fails_no_request_leaves_the_list_and_comes_back(cluster, body, drawing):
    name = cluster.name(1)
    others = {cluster.name(0), cluster.name(2)}
    with SteadyLoad(cluster.url + "/inference", body, concurrency=4) as load:
        load.answers(20)
        os.killpg(cluster.hosts[1].pid, signal.SIGKILL)  # its master and workers: one process group
        killed = time.monotonic()
        load.answers(100)
        # Its workers' heartbeats expire; the other hosts' workers stay listed.
        wait_for(
            lambda: hosts_listed(cluster.url), HEARTBEAT_TTL + 5, f"{name} gone", until=lambda h: h == others
        )
        assert time.monotonic() - killed < HEARTBEAT_TTL + 5
    assert load.failed == [], load.failed[:5]  # nginx resent what the dead host dropped

    server = cluster.restart(1)
    server.wait_ready()
    # nginx tries a failed host again fail_timeout (5 s) after its last failure.
    answered_by = wait_for(
        lambda: json.loads(post_json(cluster.url + "/api/predict", drawing)[1])["worker"]["host"],
        10,
        f"a prediction answered by {name} again",
        until=lambda host: host == name,
        every=0.1,
    )
    assert answered_by == name
    wait_for(lambda: hosts_listed(cluster.url), 10, f"{name} listed again", until=lambda h: name in h)
