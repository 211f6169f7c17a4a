"""The teacher's address is easy to find at any time, and the class's terminal stays readable:
no access log unless asked for, `make start` prints the address and `make address` prints it
again, an address with a stale token says so. Real gunicorn servers."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import urllib.request

from harness.launch import ROOT, free_port, get_json, running_server
from tests.waiting import wait_for


def _get(url: str, cookie: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status, json.loads(answer.read())


def test_the_terminal_has_no_access_log_unless_asked_for(tmp_path):
    for access_log, lines in ((None, 0), ("-", 5)):
        env = {"ACCESS_LOG": access_log} if access_log else {}
        with running_server(MODE="single", log_dir=tmp_path, **env) as server:
            for _ in range(5):
                get_json(server.url + "/healthz")
            wait_for(lambda s=server, n=lines: s.log().count('"GET /healthz') >= n, 10, "the access log")
            assert server.log().count('"GET /healthz') == lines
            assert "teacher's page" in server.log()  # the address is there, not scrolled away


def test_the_address_is_said_again_by_one_worker(tmp_path):
    with running_server(MODE="processes", WORKERS="3", TEACHER_ADDRESS_EVERY="1", log_dir=tmp_path) as server:
        line = f"teacher's page (the lab's server controls need it): {server.url}/?token={server.token}"
        wait_for(lambda: server.log().count(line) >= 4, 30, "the address said again")
        said_by = {
            entry.split("[", 2)[2].split("]", 1)[0] for entry in server.log().splitlines() if line in entry
        }  # gunicorn's "[time] [pid] [INFO] ..."
        assert len(said_by) == 2, said_by  # the master at start, then one worker of the three


def test_a_stale_token_says_so_and_the_teacher_sees_their_address(tmp_path):
    with running_server(MODE="single", log_dir=tmp_path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("GET", "/?token=" + "x" * 32)  # a token of an earlier server
        response = connection.getresponse()
        response.read()
        assert response.status == 303 and response.getheader("Location") == "/#token-refused"
        assert response.getheader("Set-Cookie") is None
        _, student = _get(server.url + "/api/workers", cookie="lab_token=" + "x" * 32)
        assert student["settings"]["token_refused"] is True and "teacher_address" not in student["settings"]
        _, nobody = _get(server.url + "/api/workers")
        assert nobody["settings"]["token_refused"] is False and "teacher_address" not in nobody["settings"]
        _, teacher = _get(server.url + "/api/workers", cookie=f"lab_token={server.token}")
        assert teacher["settings"]["teacher_address"] == f"{server.url}/?token={server.token}"


def test_make_start_prints_the_teachers_address_and_make_address_again(tmp_path):
    port = free_port()
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "LAB_TOKEN": "t" * 24, "MODE": "single"}
    address = f"teacher's page (the lab's server controls need it): http://127.0.0.1:{port}/?token={'t' * 24}"

    def make(target: str) -> subprocess.CompletedProcess:
        command = ["make", "--no-print-directory", f"RUN_DIR={tmp_path}", target]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    try:
        started = make("start")
        assert started.returncode == 0, started.stderr
        assert address in started.stdout
        assert make("address").stdout.strip() == address
    finally:
        make("stop")
