"""A live class against real gunicorn servers: curious students, a hostile local user, an unlucky operator.

Each test is one finding of the "safe in a live class" review: the request or
the accident that took the server down (or let a student steer it), and what
must happen instead.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from harness import launch
from harness.launch import ROOT, free_port, get_json, post_json, running_server, start
from serving.state import OWNER, PREFIX
from tests.waiting import SteadyLoad, accepted, all_replaced, wait_for

MODELS = ROOT / "models"


def inference_body(mnist_test) -> dict:
    return {"images": mnist_test[0][0].tolist()}


# -- 1. the pool: a cap that holds, and only the teacher steers it ----------------------


def test_students_cannot_add_or_remove_workers(server):
    for action in ("add", "remove"):
        status, body = post_json(server.url + "/api/lab/workers", {"action": action})
        assert status == 403 and json.loads(body)["error"]["code"] == "not_teacher"
        status, body = post_json(server.url + "/api/lab/workers", {"action": action}, token="x" * 32)
        assert status == 403
    assert get_json(server.url + "/api/workers")[1]["settings"]["teacher"] is False


def test_the_teachers_address_keeps_the_token_in_a_cookie(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", f"/?token={server.token}")
    response = connection.getresponse()
    response.read()
    assert response.status == 303 and response.getheader("Location") == "/"
    cookie = response.getheader("Set-Cookie")
    assert cookie.startswith(f"lab_token={server.token}")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    request = urllib.request.Request(server.url + "/api/workers", headers={"Cookie": cookie.split(";")[0]})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.loads(answer.read())["settings"]["teacher"] is True
    connection.request("GET", "/?token=not-the-token-at-all")
    response = connection.getresponse()
    response.read()
    assert response.status == 303 and response.getheader("Set-Cookie") is None


def test_the_cap_holds_under_any_number_of_concurrent_adds():
    with running_server(MODE="processes", WORKERS="2") as server:
        add = lambda _: post_json(server.url + "/api/lab/workers", {"action": "add"}, token=server.token)  # noqa: E731
        with ThreadPoolExecutor(30) as pool:
            statuses = [status for status, _ in pool.map(add, range(60))]
        assert statuses.count(202) == 6, statuses  # 2 -> 8, no more
        assert set(statuses) == {202, 409}
        # The master forks a worker as it handles each TTIN: once it has handled all
        # six, every worker it will start is among its children.
        wait_for(
            lambda: server.log_path.read_text().count("Handling signal: ttin"),
            30,
            "the master handling six TTIN",
            until=lambda handled: handled >= 6,
        )
        assert len(server.wait_ready(workers=8, timeout=60)) == 8
        assert len(psutil.Process(server.pid).children()) == 8
        # And the page can shrink it back.
        status, body = post_json(server.url + "/api/lab/workers", {"action": "remove"}, token=server.token)
        assert status == 202 and json.loads(body)["target"] == 7


# -- 2. the state folder -----------------------------------------------------------------


def _gunicorn(env: dict, port: int, out=subprocess.PIPE) -> subprocess.Popen:
    """gunicorn as `make run` starts it (no STATE_DIR unless given), on a free port."""
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "PYTHONUNBUFFERED": "1", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env={k: v for k, v in env.items() if v is not None},
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_the_state_folder_is_private_and_unpredictable_and_stale_ones_are_cleaned():
    tmp = Path(tempfile.gettempdir())
    dead = tmp / f"{PREFIX}dead-server"
    dead.mkdir()
    (dead / OWNER).write_text(json.dumps({"pid": 2**22 + 1, "started": 0}))
    reused = tmp / f"{PREFIX}reused-pid"  # a live pid, but not the process that made it
    reused.mkdir()
    (reused / OWNER).write_text(json.dumps({"pid": os.getpid(), "started": 12345.0}))
    starting = tmp / f"{PREFIX}starting-now"  # no owner record yet, and new: left alone
    starting.mkdir()
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "gunicorn.log"
    out = open(log, "w")  # noqa: SIM115 - closed below
    process = _gunicorn({"STATE_DIR": None}, port, out)
    try:
        wait_for(
            lambda: get_json(f"http://127.0.0.1:{port}/readyz")[0],
            60,
            "/readyz answering 200",
            until=lambda status: status == 200,
        )
        state = Path(log.read_text().split("state in ", 1)[1].split()[0])
        assert state.name.startswith(PREFIX) and str(process.pid) not in state.name
        info = os.lstat(state)
        assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.geteuid()
        assert stat.S_IMODE(os.stat(state / "requests.sqlite").st_mode) == 0o600
        assert not dead.exists() and not reused.exists()
        assert starting.exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        shutil.rmtree(starting, ignore_errors=True)
        out.close()
        shutil.rmtree(log.parent, ignore_errors=True)
    assert not state.exists()  # a temporary folder of ours is removed on exit


@pytest.mark.parametrize("problem", ["world-writable", "not ours", "a link"])
def test_a_named_state_folder_must_be_ours_and_private(tmp_path, problem):
    folder = tmp_path / "state"
    if problem == "world-writable":
        folder.mkdir(mode=0o777)
        folder.chmod(0o777)
    elif problem == "not ours":
        if os.geteuid() != 0:
            pytest.skip("needs root to give a folder to another user")
        folder.mkdir(mode=0o700)
        os.chown(folder, 65534, 65534)
    else:
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    process = _gunicorn({"STATE_DIR": str(folder)}, free_port())
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert f"STATE_DIR={folder}" in output, output[-2000:]


def test_a_damaged_metric_file_is_set_aside_never_a_500(server):
    damaged = server.state_dir / "metrics" / "gauge_liveall_99999.db"
    damaged.write_bytes(b"\x00\x01garbage!!!!")
    try:
        for route in ("/api/workers", "/metrics"):
            for _ in range(8):  # every worker meets it
                status, _ = (
                    get_json(server.url + route) if route != "/metrics" else (_get(server, route), None)
                )
                assert status == 200
        assert len(server.workers()) == 4
        assert "set aside" in server.log()
    finally:
        damaged.unlink(missing_ok=True)
        for leftover in (server.state_dir / "metrics").glob("*.damaged"):
            leftover.unlink()


def _get(server, route: str) -> int:
    try:
        with urllib.request.urlopen(server.url + route, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


# -- 3. a damaged model and `make reload` -----------------------------------------------------


def test_a_damaged_model_and_a_reload_keep_the_last_good_model_serving(tmp_path, mnist_test):
    models = tmp_path / "models"
    shutil.copytree(MODELS, models, ignore=shutil.ignore_patterns("*.png", "*.json", "*.md"))
    body = inference_body(mnist_test)
    with running_server(MODE="processes", MODEL_DIR=str(models)) as server:
        good = get_json(server.url + "/api/workers")[1]["model"]["sha256"]
        before = {w["pid"] for w in server.workers()}
        with SteadyLoad(server.url + "/inference", body) as load:
            load.answers(50)  # the load is flowing
            tflite = models / "mnist_cnn.tflite"
            tflite.write_bytes(tflite.read_bytes()[:5000])  # half-copied
            os.kill(server.pid, signal.SIGHUP)
            # Every worker is replaced, and the new ones serve the last good model.
            all_replaced(server, before, 60)
            load.answers(50)
        assert load.failed == [] and load.ok > 100
        assert server.process.poll() is None
        assert get_json(server.url + "/api/workers")[1]["model"]["sha256"] == good
        assert "keep serving the last good model" in server.log_path.read_text()


def test_a_damaged_model_at_start_is_a_clear_error(tmp_path):
    (tmp_path / "mnist_cnn.tflite").write_bytes(b"not a model")
    process = _gunicorn({"STATE_DIR": str(tmp_path / "state"), "MODEL_DIR": str(tmp_path)}, free_port())
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "does not load" in output, output[-2000:]


# -- 4. TensorFlow loads where no timeout can hit it ----------------------------------------


def test_a_tensorflow_burst_never_costs_a_worker_its_heartbeat():
    # A timeout shorter than TensorFlow's import: loading it inside a request
    # would get every worker killed.
    with running_server(MODE="processes", TIMEOUT="3") as server:
        before = {w["pid"] for w in server.wait_ready()}
        url = server.url + "/api/lab/work"
        body = {"kind": "tensorflow", "ms": 20}

        def ask():
            status, answer = post_json(url, body, token=server.token, timeout=30)
            answer = json.loads(answer)
            assert status != 503 or answer["error"]["code"] == "tensorflow_loading", answer
            return status, answer

        def until_answered(_):
            return wait_for(
                ask,
                120,
                "an answer other than 503 'tensorflow_loading'",
                until=lambda answer: answer[0] != 503,
                every=0.5,  # TensorFlow takes seconds to load: no need to ask more often
            )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(until_answered, range(8)))
        assert all(status == 200 for status, _ in answers), answers
        assert {w["pid"] for w in server.workers()} == before  # nobody was killed
        assert "WORKER TIMEOUT" not in server.log_path.read_text()


# -- 6. lab work is capped: predictions keep answering ---------------------------------------


def _lab_from(port: int, source: str, work: dict) -> tuple[int, dict]:
    """One lab request from the loopback address ``source``: a student of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        connection.request("POST", "/api/lab/work", json.dumps(work), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("students", [1, 64])
def test_predictions_keep_answering_during_any_lab_burst(server, mnist_test, students):
    body = inference_body(mnist_test)
    lab = {"kind": "python", "ms": 200}
    sources = [f"127.0.0.{10 + i % students}" for i in range(64)]
    with ThreadPoolExecutor(70) as pool:
        burst = [pool.submit(_lab_from, server.port, source, lab) for source in sources]
        # The burst is in once its first answers come back: 429s, the lab's slots are full.
        wait_for(lambda: [b for b in burst if b.done()], 30, "the burst's first answers")
        started = time.monotonic()
        predictions = [pool.submit(post_json, server.url + "/inference", body, 10) for _ in range(6)]
        answered = [p.result() for p in predictions]
        took = time.monotonic() - started
        results = [b.result() for b in burst]
    assert [status for status, _ in answered] == [200] * 6
    # Without the caps: 64 x 200 ms of queued work on 4 workers, over 3 s.
    assert took < 2.5, f"6 predictions took {took:.1f} s behind the burst"
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) <= 64 - 50  # most were told to come back
    refused = next(answer for status, answer in results if status == 429)["error"]
    assert refused["code"] == "lab_busy"


def test_one_client_runs_at_most_two_lab_workloads_at_once_the_teacher_more(server):
    lab = {"kind": "io", "ms": 200}
    with ThreadPoolExecutor(3) as pool:
        student = list(pool.map(lambda _: post_json(server.url + "/api/lab/work", lab), range(3)))
    assert sorted(status for status, _ in student) == [200, 200, 429]
    with ThreadPoolExecutor(3) as pool:
        teacher = list(
            pool.map(lambda _: post_json(server.url + "/api/lab/work", lab, token=server.token), range(3))
        )
    assert [status for status, _ in teacher] == [200] * 3


def test_a_429_says_when_to_come_back(server):
    connection = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=5) for _ in range(3)]
    for c in connection:
        c.request(
            "POST",
            "/api/lab/work",
            json.dumps({"kind": "io", "ms": 200}),
            {"Content-Type": "application/json"},
        )
    responses = [c.getresponse() for c in connection]
    refused = [r for r in responses if r.status == 429]
    assert refused and refused[0].getheader("Retry-After") == "1"
    for r in responses:
        r.read()


# -- 10. kill -9 of the master ---------------------------------------------------------------


def test_workers_leave_within_two_seconds_of_the_masters_death():
    server = start(MODE="processes")
    try:
        server.wait_ready()
        workers = [w["pid"] for w in server.workers()]
        os.kill(server.pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_for(
            lambda: [pid for pid in workers if _running(pid)],
            10,
            "every worker gone",
            until=lambda running: not running,
        )
        assert time.monotonic() - killed < 3
        # The port is free again: a restart can bind it (a closing connection may hold
        # it for a moment; before, the orphaned workers held it for ~15 s).
        wait_for(lambda: _can_bind(server.port), 5, f"port {server.port} free to bind")
    finally:
        server.stop()


def _can_bind(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# -- low: gunicorn's own errors and request ids ------------------------------------------------


def test_gunicorns_own_errors_carry_the_security_headers(server):
    for raw, status in (
        (b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(60)) + b"\r\n", 431),
        (b"NOT A REQUEST\r\n\r\n", 400),
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(raw)
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 %d" % status), head
        assert b"Content-Security-Policy:" in head and b"X-Content-Type-Options: nosniff" in head
        assert json.loads(body)["error"]["code"]


def test_a_clients_own_request_id_never_enters_the_log(server, mnist_test):
    body = json.dumps(inference_body(mnist_test)).encode()
    ids = []
    for _ in range(2):
        request = urllib.request.Request(
            server.url + "/inference", body, {"Content-Type": "application/json", "X-Request-ID": "mine-1"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            ids.append(answer.headers["X-Request-ID"])
    assert "mine-1" not in ids and len(set(ids)) == 2


# -- 7. a full disk under the state folder ------------------------------------------------------


@pytest.fixture()
def small_disk(tmp_path):
    """A 16 MB tmpfs of our own (root only), unmounted after."""
    mount = tmp_path / "disk"
    mount.mkdir(mode=0o700)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    # Unbuffered: a write the disk refuses fails here, and no buffered rest fails again on close.
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_degrades_the_log_and_never_the_predictions(small_disk, mnist_test):
    body = inference_body(mnist_test)
    state = small_disk / "state"
    with running_server(MODE="processes", STATE_DIR=str(state)) as server:
        before = {w["pid"] for w in server.wait_ready()}
        filler = _fill(small_disk)
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: post_json(server.url + "/inference", body)[0], range(300)))
        assert statuses == [200] * 300
        # A worker that starts on the full disk serves too (no SIGBUS, no crash loop).
        victim = next(iter(before))
        os.kill(victim, signal.SIGKILL)
        master_process = psutil.Process(server.pid)

        def replaced():
            """a fourth worker process again, none of them the victim"""
            pids = {p.pid for p in master_process.children()}
            return len(pids) == 4 and victim not in pids and pids

        replacement = next(iter(wait_for(replaced, 30) - before))
        # It cannot write metric files, so it is not in the worker list, but it serves.
        ready = wait_for(
            lambda: [
                r
                for r in (get_json(server.url + "/readyz")[1] for _ in range(8))
                if r.get("pid") == replacement
            ],
            30,
            f"the replacement {replacement} ready in /readyz",
        )
        assert ready[0]["ready"] and ready[0]["metrics_shared"] is False
        statuses = [post_json(server.url + "/inference", body)[0] for _ in range(100)]
        assert statuses == [200] * 100
        ready = [get_json(server.url + "/readyz")[1] for _ in range(12)]
        assert any(not r["request_log"]["ok"] and "full" in r["request_log"]["problem"] for r in ready), ready
        log = server.log_path.read_text()
        assert "SIGBUS" not in log and "Traceback" not in log
        assert log.count("Booting worker") <= 6  # the four, the replacement, and no loop
        # Said when it starts (and again only after it recovered), not per row: 400 were dropped.
        assert log.count("cannot be written") <= 10
        # Room again: the log resumes by itself.
        filler.unlink()
        latest = get_json(server.url + "/api/requests?limit=1")[1]["latest"]
        for _ in range(40):
            post_json(server.url + "/inference", body)
        page = wait_for(
            lambda: get_json(f"{server.url}/api/requests?since={latest}")[1]["requests"],
            10,
            "rows written again in /api/requests",
        )
        assert len(page) >= 1
        assert "written again" in server.log_path.read_text()


# -- 5. slow clients ----------------------------------------------------------------------------

PARTIAL = (
    b"POST /inference HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
)


def _slow_clients(port: int, n: int) -> list[socket.socket]:
    """n connections that send part of a request and then say nothing."""
    clients = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(PARTIAL)
        clients.append(s)
    return clients


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except (TimeoutError, OSError):
        return False


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_slow_clients_hold_a_worker_only_until_the_request_timeout(mode, mnist_test):
    body = inference_body(mnist_test)
    with running_server(MODE=mode, REQUEST_TIMEOUT="2") as server:
        slow = _slow_clients(server.port, 4)  # as many as the server has workers (or threads)
        try:
            wait_for(
                lambda: accepted(server.port, slow),
                10,
                "the server holding the 4 slow clients",
                until=lambda ports: len(ports) == 4,
            )
            started = time.monotonic()
            statuses = [post_json(server.url + "/inference", body, timeout=20)[0] for _ in range(12)]
            took = time.monotonic() - started
            assert statuses == [200] * 12
            # Before: 30 s (workers killed by the heartbeat timeout), or never (threads).
            assert took < 8, f"12 requests took {took:.1f} s behind 4 slow clients"
            assert all(_closed_within(s, 5) for s in slow)
        finally:
            for s in slow:
                s.close()
        assert {w["pid"] for w in server.workers()} == {w["pid"] for w in server.wait_ready()}
        assert "WORKER TIMEOUT" not in server.log_path.read_text()


def test_behind_nginx_slow_clients_cost_gunicorn_nothing(mnist_test):
    if launch.find_nginx() is None:
        pytest.skip("nginx is not installed (make nginx)")
    body = inference_body(mnist_test)
    with running_server(MODE="processes") as server:
        with launch.running_nginx([f"127.0.0.1:{server.port}"]) as url:
            port = int(url.rsplit(":", 1)[1])
            slow = _slow_clients(port, 16)  # four times the workers
            try:
                wait_for(
                    lambda: accepted(port, slow),
                    10,
                    "nginx holding the 16 slow clients",
                    until=lambda ports: len(ports) == 16,
                )
                started = time.monotonic()
                statuses = [post_json(url + "/inference", body, timeout=20)[0] for _ in range(12)]
                took = time.monotonic() - started
            finally:
                for s in slow:
                    s.close()
            assert statuses == [200] * 12
            assert took < 3, f"12 requests took {took:.1f} s through nginx beside 16 slow clients"


# -- every server knows its host (the first step to several hosts) ---------------------------------


def test_host_name_is_on_every_worker_block_log_row_and_metric(mnist_test):
    body = inference_body(mnist_test)
    with running_server(MODE="processes", WORKERS="2", HOST_NAME="class-room-3") as server:
        post_json(server.url + "/inference", body)
        assert {w["host"] for w in server.wait_ready()} == {"class-room-3"}
        page = wait_for(lambda: get_json(server.url + "/api/requests")[1]["requests"], 10, "a logged request")
        assert {row["host"] for row in page} == {"class-room-3"}
        status, answer = post_json(server.url + "/api/lab/work", {"kind": "io", "ms": 1})
        assert status == 200 and json.loads(answer)["worker"]["host"] == "class-room-3"
        metrics = wait_for(
            lambda: urllib.request.urlopen(server.url + "/metrics", timeout=5).read().decode(),
            10,
            "the answered requests in /metrics",
            until=lambda text: "mnist_http_requests_total{" in text,
        )
        series = [line for line in metrics.splitlines() if line.startswith("mnist_") and "{" in line]
        assert series and all('host="class-room-3"' in line for line in series), series[:5]


@pytest.mark.parametrize("name", ["two words", "x" * 64, "-leading-dash", "ünïcode"])
def test_a_bad_host_name_is_a_clear_error_at_start(name):
    process = _gunicorn({"HOST_NAME": name, "STATE_DIR": None}, free_port())
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0 and "HOST_NAME=" in output, output[-2000:]


@pytest.mark.parametrize(
    ("store", "said"),
    [
        ("redis//127.0.0.1:6379", "use redis://host:port/db"),
        ("http://127.0.0.1:6379/0", "use redis://host:port/db"),
        ("redis://127.0.0.1:6379/99", "use redis://host:port/db"),
        ("redis://127.0.0.1:notaport/0", "use redis://host:port/db"),
        (f"redis://127.0.0.1:{free_port()}/0", "Redis does not answer"),  # nobody listens there
    ],
)
def test_a_bad_or_unreachable_store_is_a_clear_error_at_start(store, said):
    process = _gunicorn({"STORE": store, "STATE_DIR": None}, free_port())
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0 and "STORE=" in output and said in output, output[-2000:]
    assert "Booting worker" not in output  # never a half-working server
