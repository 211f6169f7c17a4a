"""Hostile class, round two (issue 23): each hole, pinned down against a real gunicorn."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis
from PIL import Image

from bench.abuse import PARTIAL, black_png, jpeg_data_url, png_data_url, scan_bomb, text_chunk_png
from digits import sets
from digits.drawing import data_url
from digits.extra import load_corrections
from harness.cluster import running_cluster
from harness.launch import (
    NGINX_HOSTS_SITE,
    ROOT,
    free_port,
    get_json,
    post_json,
    running_nginx,
    running_redis,
    running_server,
    start,
)
from tests.waiting import wait_for

PER_MINUTE, PER_CLIENT = 3, 4


@pytest.fixture(scope="module")
def corrections_server(tmp_path_factory):
    """A 2-worker server keeping corrections, PER_MINUTE a minute and PER_CLIENT per client address
    (each test sends from addresses of its own)."""
    folder = tmp_path_factory.mktemp("corrections") / "store"
    with running_server(
        MODE="processes",
        WORKERS="2",
        CORRECTIONS=str(folder),
        CORRECTIONS_PER_MINUTE=str(PER_MINUTE),
        CORRECTIONS_PER_CLIENT=str(PER_CLIENT),
    ) as server:
        yield server, folder


@pytest.fixture(scope="module")
def drawings(mnist_test):
    """Forty different drawn digits as data URLs, with their labels."""
    images, labels = mnist_test
    return [data_url(d) for d in sets.drawn(images[:40], seed=5)], [int(v) for v in labels[:40]]


def post_from(server, source: str, path: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    """POST JSON from the loopback address ``source`` (a student of its own): (status, JSON)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


# -- 1. a scan bomb: refused from its markers, before a pixel is decoded ----------------------


@pytest.mark.parametrize("route", ["/api/predict", "/api/corrections"])
def test_a_jpeg_of_thousands_of_scans_is_refused_before_decoding(corrections_server, route):
    server, _ = corrections_server
    started = time.monotonic()
    status, raw = post_json(server.url + route, {"image": jpeg_data_url(scan_bomb()), "label": 3}, timeout=60)
    assert (status, json.loads(raw)["error"]["code"]) == (422, "too_many_scans")
    assert time.monotonic() - started < 10  # the old code spent ~15 s of a worker's CPU on it


def test_a_progressive_jpeg_as_encoders_write_it_is_still_read(corrections_server, mnist_test):
    server, _ = corrections_server
    images, labels = mnist_test
    buffer = io.BytesIO()
    Image.fromarray(images[0]).resize((280, 280)).save(buffer, "JPEG", progressive=True, quality=90)
    status, raw = post_json(server.url + "/api/predict", {"image": jpeg_data_url(buffer.getvalue())})
    assert status == 200 and json.loads(raw)["digit"] == labels[0], raw


# -- 2. corrections: a quota and a rate per client, decided before decoding; reviewed before training


def test_one_client_gets_its_share_of_corrections_and_no_more(corrections_server, drawings):
    server, _ = corrections_server
    urls, labels = drawings
    sent = [
        post_from(server, "127.0.0.21", "/api/corrections", {"image": urls[i], "label": labels[i]})
        for i in range(5)
    ]
    assert [status for status, _ in sent] == [201] * PER_MINUTE + [429] * (5 - PER_MINUTE)
    assert sent[-1][1]["error"]["code"] == "corrections_too_fast"
    # Refused before the image is decoded: a broken one gets the same 429, not a 415.
    broken = {"image": "data:image/png;base64,AAAA", "label": 1}
    assert (
        post_from(server, "127.0.0.21", "/api/corrections", broken)[1]["error"]["code"]
        == "corrections_too_fast"
    )
    # Another student is not held up by this one; the teacher has no limit.
    assert (
        post_from(server, "127.0.0.22", "/api/corrections", {"image": urls[9], "label": labels[9]})[0] == 201
    )
    for i in range(10, 10 + PER_CLIENT + 1):
        status, body = post_from(
            server, "127.0.0.23", "/api/corrections", {"image": urls[i], "label": labels[i]}, server.token
        )
        assert status == 201, body


def test_a_client_past_its_quota_is_refused_for_good(corrections_server, drawings):
    server, folder = corrections_server
    urls, labels = drawings
    with sqlite3.connect(folder / "corrections.sqlite") as db:  # PER_CLIENT sent an hour ago
        db.executemany(
            "INSERT INTO corrections (id, label, client, at) VALUES (?, 1, '127.0.0.24', ?)",
            [(f"old-{i}", time.time() - 3600) for i in range(PER_CLIENT)],
        )
    status, body = post_from(
        server, "127.0.0.24", "/api/corrections", {"image": urls[20], "label": labels[20]}
    )
    assert (status, body["error"]["code"]) == (429, "corrections_quota")


def review(folder, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "webapp.review", str(folder), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip


def test_nothing_reaches_training_before_the_teacher_approves_it(corrections_server, drawings):
    server, folder = corrections_server
    urls, labels = drawings
    for i, source in ((30, "127.0.0.31"), (31, "127.0.0.31"), (32, "127.0.0.32")):
        assert post_from(server, source, "/api/corrections", {"image": urls[i], "label": labels[i]})[0] == 201
    with pytest.raises(FileNotFoundError, match="review them first"):
        load_corrections(folder)
    listed = review(folder).stdout
    assert "127.0.0.31: 2 pending" in listed and "127.0.0.32: 1 pending" in listed
    assert "2 approved" in review(folder, "approve", "--from", "127.0.0.31").stdout
    images, got, counts = load_corrections(folder)
    assert counts["used"] == 2 and sorted(got) == sorted(labels[30:32])
    review(folder, "reject", "--all")
    assert "0 pending" in review(folder).stdout


# -- 8. the CORRECTIONS folder checked as STATE_DIR; train.py --extra reads plain, small files only


def test_a_corrections_folder_others_can_write_is_refused_at_start(tmp_path):
    folder = tmp_path / "open"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    server = start(CORRECTIONS=str(folder))
    try:
        assert server.process.wait(60) != 0
        assert f"CORRECTIONS={folder} has mode 777" in server.log()
    finally:
        server.stop()


@pytest.mark.parametrize("plant", ["fifo", "large"])
def test_train_extra_names_a_planted_file_and_stops(tmp_path, plant):
    approved = tmp_path / "approved"
    approved.mkdir()
    if plant == "fifo":
        os.mkfifo(approved / "x-1.28.png")
    else:
        (approved / "x-1.28.png").write_bytes(b"\x89PNG" + bytes(50_000_000))
    (approved / "x-1.json").write_text('{"label": 1}')
    result = subprocess.run(
        [sys.executable, "train.py", "--extra", str(tmp_path), "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "x-1.28.png" in result.stderr and "remove it" in result.stderr


# -- 3. a hostile entry in the shared store: skipped and counted, never a 500 ---------------------


HOSTILE_ROWS = [
    b"not json",
    b"[1, 2]",
    b'{"request_id": "x"}',
    json.dumps(["r-null", None, "/api/predict", 200, "h", 1, "t", 1, 1.0, 1.0, 1.0, 1, 0.9, 1, 0, None])
    .replace('"r-null"', "null")
    .encode(),
]
HOSTILE_WORKERS = {
    "evil:1": b"garbage",
    "evil:2": json.dumps({"pid": "1]", "host": "evil"}).encode(),
    "evil:3": json.dumps({"pid": 3, "host": "<img src=x>"}).encode(),
}


@pytest.fixture(scope="module")
def redis_store_server(redis_server, tmp_path_factory):
    """A 2-worker server whose log and worker list are in a Redis database of this module's own
    (the session's redis-server holds other modules' rows in database 0)."""
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    with running_server(MODE="processes", WORKERS="2", STORE=url) as server:
        yield server, redis.Redis.from_url(url)


def test_hostile_entries_in_redis_are_skipped_and_counted(redis_store_server):
    server, db = redis_store_server
    post_json(server.url + "/inference", {"images": [[0] * 28] * 28})
    wait_for(lambda: db.xlen("mnist:requests") == 1)  # stored by its worker's writer thread
    for raw in HOSTILE_ROWS:
        db.xadd("mnist:requests", {"r": raw})
    for member, raw in HOSTILE_WORKERS.items():
        db.set("mnist:worker:" + member, raw, ex=30)
        db.sadd("mnist:workers", member)
    db.sadd("mnist:workers", b"\xff\xfe:1")
    for _ in range(3):  # on whichever worker answers
        status, page = get_json(server.url + "/api/requests")
        assert status == 200, page
        assert [row["route"] for row in page["requests"]] == ["/inference"]
        assert page["log"]["skipped"] >= len(HOSTILE_ROWS) and page["log"]["ok"]
        status, workers = get_json(server.url + "/api/workers")
        assert status == 200 and {w["host"] for w in workers["workers"]} == {workers["settings"]["host"]}


def test_the_clusters_redis_asks_every_client_for_its_password():
    with running_cluster(hosts=1, workers=1) as cluster:
        stranger = redis.Redis(host=cluster.redis.host, port=cluster.redis.port)
        with pytest.raises(redis.AuthenticationError):
            stranger.set("mnist:workers", "x")
        conf = cluster.redis.folder / "redis.conf"
        assert conf.stat().st_mode & 0o777 == 0o600 and cluster.redis.password in conf.read_text()
        assert cluster.redis.password not in " ".join(psutil.Process(cluster.redis.process.pid).cmdline())
        status, workers = get_json(cluster.url + "/api/workers")  # the hosts use it, with the password
        assert status == 200 and workers["count"] == 1


# -- 4. the shared log: no key loses an append, and its health is the writer's -------------------


def logged_row(n: int) -> dict:
    return {
        "request_id": f"r{n}", "route": "/inference", "status": 200, "host": "h", "pid": 1,
        "thread": "MainThread", "thread_id": 1, "received": 1.0, "started": 1.0, "finished": 1.0,
    }  # fmt: skip


SABOTAGE = {
    "seq deleted (or evicted)": lambda db: db.delete("mnist:requests:seq"),
    "seq not a number": lambda db: db.set("mnist:requests:seq", "garbage"),
    "seq overflowed": lambda db: db.set("mnist:requests:seq", str(2**63 - 1)),
    "seq a list": lambda db: (db.delete("mnist:requests:seq"), db.lpush("mnist:requests:seq", "x")),
    "stream a string": lambda db: (db.delete("mnist:requests"), db.set("mnist:requests", "x")),
    "stream past 2^53": lambda db: db.xadd("mnist:requests", {"r": "[]"}, id=f"{2**62}-0"),
}


@pytest.mark.parametrize("sabotage", SABOTAGE)
def test_no_key_in_redis_loses_an_append(sabotage):
    from webapp.redisstore import RedisStore

    with running_redis() as server:
        db = redis.Redis.from_url(server.url)
        log = RedisStore(server.url, 100)
        for n in range(10):
            log.record(logged_row(n))
        log.flush()
        SABOTAGE[sabotage](db)
        for n in range(10, 20):
            log.record(logged_row(n))
        log.flush()
        ids = [row["request_id"] for row in log.since(limit=100)]
        assert ids[-10:] == [f"r{n}" for n in range(10, 20)]
        assert log.status() == {"ok": True, "problem": None, "lost": 0, "skipped": log.status()["skipped"]}


def test_the_logs_health_is_its_writers_whatever_the_heartbeat_says():
    from webapp.redisstore import RedisStore

    with running_redis() as server:
        db = redis.Redis.from_url(server.url)
        log = RedisStore(server.url, 100)
        entry = {
            "pid": os.getpid(), "host": "h", "started": 1.0, "requests": 0, "in_flight": 0, "busy": False,
            "ready": True, "last_request": None, "cpu_seconds": 0.0, "rss_bytes": 1, "pss_bytes": None,
            "threads": 1,
        }  # fmt: skip
        log.list_worker(lambda: entry)
        db.execute_command("ACL", "SETUSER", "default", "-@scripting")  # the writer's appends fail
        for n in range(5):
            log.record(logged_row(n))
        log.flush()
        wait_for(lambda: db.exists(f"mnist:worker:h:{os.getpid()}"))  # heartbeats get through
        time.sleep(1.5)  # three more of them
        status = log.status()
        assert not status["ok"] and status["lost"] == 5 and "no permissions" in status["problem"], status
        db.execute_command("ACL", "SETUSER", "default", "+@all")
        log.record(logged_row(5))
        # (flush() does not wait while the store is said to be down)
        wait_for(lambda: [r["request_id"] for r in log.since()] == ["r5"])
        assert log.status()["ok"]


# -- 5. MODE=async has a request deadline too --------------------------------------------------

HALF_SENT = (
    b"POST /inference HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
)


def test_half_sent_requests_cannot_hold_every_connection_of_an_async_server():
    with running_server(MODE="async", REQUEST_TIMEOUT="2") as server:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(100)]  # every greenlet
        try:
            for connection in held:
                connection.sendall(PARTIAL)  # headers, and 1 byte of 5,000
            time.sleep(0.5)
            started = time.monotonic()
            status, digit = post_json(server.url + "/inference", {"images": [[0] * 28] * 28}, timeout=20)
            assert status == 200 and digit.strip().isdigit()
            assert time.monotonic() - started < 15  # the deadline (2 s), not for ever
            assert held[0].recv(100) == b""  # the server closed the half-sent ones
        finally:
            for connection in held:
                connection.close()
        assert "took over 2 s (REQUEST_TIMEOUT)" in server.log()


# -- 7. nothing the server writes is for other users; no log holds the token ----------------------


def test_make_starts_logs_are_private_and_hold_no_token(tmp_path):
    port = free_port()
    run = tmp_path / "run"
    run.mkdir()
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "STATE_DIR": str(tmp_path / "state"),
        "LAB_TOKEN": "t" * 32,
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--daemon",
            "--pid",
            str(run / "gunicorn.pid"),
            "--access-logfile",
            str(run / "access.log"),
            "--error-logfile",
            str(run / "error.log"),
        ],
        cwd=ROOT,
        env={**env, "WORKERS": "1"},
        check=True,
        timeout=60,
    )  # fmt: skip  (as `make start`)
    try:
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/api/workers")[0] == 200, timeout=60)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/?token={'t' * 32}", timeout=10).read()
        wait_for(lambda: "GET / HTTP/1.1" in (run / "access.log").read_text())
        # All but the pid file, which gunicorn makes 0644 on purpose: a pid is no secret (ps shows it).
        for path in [*run.glob("*.log"), *(tmp_path / "state").rglob("*")]:
            assert path.stat().st_mode & 0o077 == 0, f"{path} is {path.stat().st_mode & 0o777:o}"
        assert "t" * 32 not in (run / "access.log").read_text()
    finally:
        os.kill(int((run / "gunicorn.pid").read_text()), signal.SIGTERM)


def test_nginx_logs_no_token_and_keeps_its_logs_private(server):
    with running_nginx([server.env["BIND"]], site=NGINX_HOSTS_SITE) as url:
        urllib.request.urlopen(f"{url}/?token=secret-{'x' * 24}", timeout=10).read()
        port = int(url.rsplit(":", 1)[1])
        nginx = next(
            c.pid for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == "LISTEN"
        )
        command = next(
            p.cmdline()
            for p in [psutil.Process(nginx), *psutil.Process(nginx).parents()]
            if "-p" in p.cmdline()
        )
        logs = Path(command[command.index("-p") + 1])  # nginx's prefix, where running_nginx puts its logs
        wait_for(lambda: "GET / HTTP/1.1" in (logs / "access.log").read_text())
        assert "secret-" not in (logs / "access.log").read_text()
        assert (logs / "access.log").stat().st_mode & 0o777 == 0o600


# -- 9. an answer is written whole: a host killed under load never leaves a cut answer -------------


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("mode", ["processes", "threads", "async"])
def test_each_answer_leaves_in_one_write(mode, tmp_path):
    """Headers and body in one write: a worker killed between two writes cannot leave nginx holding
    headers without a body (which it can neither resend nor finish)."""
    with running_server(MODE=mode, WORKERS="1") as server:
        worker = psutil.Process(server.pid).children()[0].pid
        trace = tmp_path / "trace"
        strace = subprocess.Popen(
            ["strace", "-f", "-qq", "-s", "100000", "-e", "trace=write,sendto,sendmsg", "-o", str(trace),
             "-p", str(worker)]
        )  # fmt: skip

        def answers() -> list[str]:
            text = trace.read_text() if trace.exists() else ""
            return [line for line in text.splitlines() if '"HTTP/1.1 ' in line]

        try:
            # Attached once an answer shows in the trace (however long a busy machine takes).
            wait_for(lambda: get_json(server.url + "/healthz") and answers(), timeout=60)
            traced = len(answers())
            status, _ = post_json(server.url + "/inference", {"images": [[0] * 28] * 28})
            get_json(server.url + "/api/workers")
            with urllib.request.urlopen(server.url + "/static/js/poll.js", timeout=10) as static:
                assert static.read() == (ROOT / "static" / "js" / "poll.js").read_bytes()  # a file, whole
            time.sleep(0.5)
        finally:
            strace.terminate()
            strace.wait(10)
        written = answers()
        assert status == 200 and len(written) >= traced + 3, written
        for line in written:  # strace shows the bytes of each write, \r as \\r
            _, blank, body = line.partition("\\r\\n\\r\\n")
            assert blank and not body.startswith('"'), f"the head written alone: {line[:300]}"


# -- 6. a frozen host behind nginx is skipped after seconds, not after gunicorn's 30 s ---------------


def test_a_frozen_host_costs_a_prediction_seconds_and_then_nothing():
    with running_cluster(hosts=2, workers=1) as cluster:
        frozen = psutil.Process(cluster.hosts[0].pid)
        processes = [frozen, *frozen.children()]
        for process in processes:
            process.suspend()  # SIGSTOP: the kernel still accepts its connections
        try:
            seconds, statuses = [], []
            for _ in range(6):
                started = time.monotonic()
                statuses.append(
                    post_json(cluster.url + "/inference", {"images": [[0] * 28] * 28}, timeout=60)[0]
                )
                seconds.append(time.monotonic() - started)
        finally:
            for process in processes:
                process.resume()
        assert statuses == [200] * 6
        # The read timeout of a prediction (3 s) once, then the frozen host is left out (max_fails):
        # before, each prediction sent to it waited 35 s (nginx's read timeout).
        assert max(seconds) < 20 and sum(s > 3 for s in seconds) <= 1, seconds


# -- 10. lows ------------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="nginx's workers change user only when it runs as root")
def test_nginx_serves_when_roots_temporary_folder_is_private(server, tmp_path, monkeypatch):
    private = tmp_path / "private-tmp"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # TMPDIR=<a 0700 folder>, as CI systems give
    with running_nginx([server.env["BIND"]], site=NGINX_HOSTS_SITE) as url:
        big = {"images": [[255.0] * 28] * 28, "padding": "x" * 20_000}  # buffered in nginx's temp folder
        assert post_json(url + "/inference", big)[0] in (200, 400)
        assert get_json(url + "/api/workers")[0] == 200


def test_closing_make_clusters_terminal_stops_everything(tmp_path):
    cluster = subprocess.Popen(
        [sys.executable, "-m", "harness.cluster", "--hosts", "1", "--workers", "1",
         "--port", str(free_port()), "--listen", "127.0.0.1", "--host-port", str(free_port("127.0.0.2"))],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        output = ""
        while "Ctrl-C" not in output:
            line = cluster.stdout.readline()
            assert line, output
            output += line
        children = psutil.Process(cluster.pid).children(recursive=True)
        cluster.send_signal(signal.SIGHUP)  # what a closing terminal sends
        assert cluster.wait(60) == 0
        psutil.wait_procs(children, timeout=30)
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        if cluster.poll() is None:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(10)
        cluster.stdout.close()


def test_a_bogus_cookie_cannot_poll_the_hosts_without_limit(server):
    with running_nginx([server.env["BIND"]], site=NGINX_HOSTS_SITE) as url:

        def poll(cookie: str | None) -> tuple[int, str]:
            request = urllib.request.Request(
                url + "/api/workers", headers={"Cookie": cookie} if cookie else {}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    return answer.status, answer.headers.get("X-Cache", "")
            except urllib.error.HTTPError as err:
                assert json.loads(err.read())["error"]["code"] == "too_many_requests"
                return err.code, ""

        started = time.monotonic()
        bogus = [poll("lab_token=bogus") for _ in range(60)]
        passed = [status for status, _ in bogus].count(200)
        # limit_req: a burst of 16, then 8 a second (however slow this machine made the loop).
        assert 60 - passed > 0 and passed <= 16 + 8 * (time.monotonic() - started) + 1, passed
        assert {status for status, _ in [poll(None) for _ in range(10)]} == {200}  # students: cached


def test_a_png_of_thousands_of_text_chunks_is_refused_before_pillow_parses_them(corrections_server):
    server, _ = corrections_server
    started = time.monotonic()
    status, raw = post_json(server.url + "/api/predict", {"image": png_data_url(text_chunk_png())})
    assert (status, json.loads(raw)["error"]["code"]) == (400, "bad_image")
    assert "chunks" in json.loads(raw)["error"]["message"] and time.monotonic() - started < 10


def test_a_huge_plain_png_is_read_reduced(corrections_server, mnist_test):
    server, _ = corrections_server
    status, raw = post_json(server.url + "/api/predict", {"image": png_data_url(black_png())})
    assert (status, json.loads(raw)["error"]["code"]) == (422, "empty_drawing")
    images, labels = mnist_test  # a digit in a picture as large: still read, from the reduced copy
    buffer = io.BytesIO()
    Image.fromarray(255 - images[1]).resize((2400, 2400)).save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    status, raw = post_json(server.url + "/api/predict", {"image": url})
    assert status == 200 and json.loads(raw)["digit"] == labels[1], raw


def inference_total(url: str) -> float:
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("mnist_http_requests_total{") and 'route="/inference"' in line
    )


def test_dead_workers_metric_files_are_folded_and_their_totals_kept():
    with running_server(MODE="processes", WORKERS="2") as server:
        metrics = server.state_dir / "metrics"
        sent = 0
        for _ in range(5):  # five workers die, each after answering
            for _ in range(4):
                assert post_json(server.url + "/inference", {"images": [[0] * 28] * 28})[0] == 200
                sent += 1
            time.sleep(0.3)  # its figures reach its files (within PUBLISH_EVERY, 0.05 s)
            victim = server.workers()[0]["pid"]
            os.kill(victim, signal.SIGKILL)
            wait_for(lambda v=victim: v not in {w["pid"] for w in server.wait_ready()}, timeout=60)
        wait_for(lambda: inference_total(server.url) == sent)  # no answer lost from the totals
        files = sorted(p.name for p in metrics.glob("*.db"))
        dead = [name for name in files if "archive" not in name and "liveall" not in name]
        assert len(dead) <= 2 * 2 and "counter_archive.db" in files, files  # the live workers' and two
