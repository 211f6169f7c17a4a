"""`make cluster` (python -m harness.cluster): it says what runs where, serves the page through
nginx from every host, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from harness.launch import ROOT, find_nginx, find_redis_server, free_port
from tests.waiting import as_from_a_terminal, hosts_listed, wait_for


def port_free_on_every_host() -> int:
    """A port that nobody listens on at 127.0.0.2, .3 or .4."""
    while True:
        port = free_port("127.0.0.2")
        if all(free_port_is(f"127.0.0.{n}", port) for n in (3, 4)):
            return port


def free_port_is(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start_cluster_command(port: int, *args: str) -> tuple[subprocess.Popen, list[str]]:
    """`python -m harness.cluster` on nginx port `port`, 1 worker a host, and what it printed up to
    its "Ctrl-C" line (everything runs by then); the caller ends it."""
    command = subprocess.Popen(
        [sys.executable, "-m", "harness.cluster", "--port", str(port), "--listen", "127.0.0.1",
         "--workers", "1", "--host-port", str(port_free_on_every_host()), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=as_from_a_terminal,
    )  # fmt: skip
    printed = []
    for line in command.stdout:
        printed.append(line)
        if "Ctrl-C" in line:
            break
    return command, printed


@pytest.mark.slow
def test_the_cluster_command_serves_every_host_and_ctrl_c_leaves_nothing_behind():
    if find_redis_server() is None or find_nginx() is None:
        pytest.skip("redis-server or nginx is not installed (make redis nginx): cluster tests skipped")
    port = free_port()
    command, printed = start_cluster_command(port)
    try:
        text = "".join(printed)
        assert "redis-server" in text and "nginx" in text and "?token=" in text, text
        assert re.findall(r"^\s+(host-\d)\s", text, re.M) == ["host-1", "host-2", "host-3"], text
        logs = Path(re.search(r"logs in (\S+)", text)[1])
        running = psutil.Process(command.pid).children(recursive=True)
        assert len(running) >= 3 * 2 + 2  # 3 masters and their workers, redis-server, nginx
        hosts = wait_for(
            lambda: hosts_listed(f"http://127.0.0.1:{port}"),
            10,
            "every host's worker listed through nginx",
            until=lambda hosts: len(hosts) == 3,
        )
        assert hosts == {"host-1", "host-2", "host-3"}
    finally:
        command.send_signal(signal.SIGINT)
        command.wait(60)
        command.stdout.close()
    assert command.returncode == 0
    _, alive = psutil.wait_procs(running, timeout=10)
    assert alive == [] and not logs.exists()
