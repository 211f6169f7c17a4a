"""What a live class can throw at the server, and what the server does: prints a table.

    python -m bench.abuse            # every scenario, under a minute
    python -m bench.abuse --only slow,lab

Each scenario is one finding of the "safe in a live class" review, measured on
real gunicorn servers on free loopback ports (and a real nginx, if installed):
the attack, bounded in count and time, and what predictions (or the pool) did
meanwhile. The tests (tests/api/test_live_class.py, test_hostile.py) assert the mechanisms;
this prints the figures the README quotes. Loopback only.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import struct
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from PIL import Image

from bench.serving import save
from digits import dataset, sets
from digits.drawing import data_url
from harness import launch
from serving.config import PROXY_SECRET_HEADER

PARTIAL = (
    b"POST /inference HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
)


def scan_bomb(side: int = 1024, scans: int = 10_000) -> bytes:
    """A progressive JPEG of ``side``² flat grey, its smallest scan (12 bytes: an all-zero
    AC refinement) repeated ``scans`` times: tiny, and every scan walks the whole picture."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, "JPEG", progressive=True, quality=90)
    raw = buffer.getvalue()
    starts = [m.start() for m in re.finditer(rb"\xff\xda", raw)]
    smallest = min((raw[a:b] for a, b in zip(starts, [*starts[1:], len(raw) - 2], strict=True)), key=len)
    return raw[:-2] + smallest * scans + b"\xff\xd9"


def text_chunk_png(chunks: int = 90_000) -> bytes:
    """A 28x28 PNG with ``chunks`` empty text chunks before its pixels (1.35 MB: its data URL
    fits in MAX_BODY_BYTES)."""
    buffer = io.BytesIO()
    Image.new("L", (28, 28)).save(buffer, "PNG")
    raw = buffer.getvalue()
    text = struct.pack(">I", 3) + b"tEXtk\x00v" + struct.pack(">I", zlib.crc32(b"tEXtk\x00v"))
    return raw[:33] + text * chunks + raw[33:]  # after the signature and IHDR


def black_png(side: int = 2448) -> bytes:
    """A 5.9 KB PNG of 6 Mpx of black."""
    buffer = io.BytesIO()
    Image.new("L", (side, side)).save(buffer, "PNG")
    return buffer.getvalue()


def png_data_url(raw: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def jpeg_data_url(raw: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(raw).decode()


def _digit() -> dict:
    images, _ = dataset.load("test")
    return {"images": images[0].tolist()}


def _timed(url: str, body: dict, n: int) -> tuple[list[int], list[float]]:
    """n /inference requests one after another: their statuses and seconds."""
    statuses, seconds = [], []
    for _ in range(n):
        started = time.monotonic()
        statuses.append(launch.post_json(url + "/inference", body, timeout=60)[0])
        seconds.append(time.monotonic() - started)
    return statuses, seconds


def _latency(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"


def _row(scenario: str, attack: str, result: str) -> dict:
    print(f"  {scenario}: {result}", flush=True)
    return {"scenario": scenario, "attack": attack, "result": result}


def pool(body: dict) -> list[dict]:
    with launch.running_server(MODE="processes", WORKERS="2") as server:

        def add(_):
            return launch.post_json(server.url + "/api/lab/workers", {"action": "add"}, token=server.token)

        with ThreadPoolExecutor(30) as workers:
            statuses = [status for status, _ in workers.map(add, range(300))]
        time.sleep(3)
        live = len(psutil.Process(server.pid).children())
        anonymous = launch.post_json(server.url + "/api/lab/workers", {"action": "remove"})[0]
    return [
        _row(
            "pool cap",
            "300 concurrent 'add' as the teacher, on 2 workers",
            f"{statuses.count(202)} accepted, {statuses.count(409)} refused (409): {live} workers (cap 8)",
        ),
        _row("pool control", "'remove' without the token", f"HTTP {anonymous} (teacher only)"),
    ]


def _lab_from(port: int, source: str) -> int:
    """One python 200 ms lab request from the loopback address ``source`` (a student)."""
    return _post_from(port, source, "/api/lab/work", {"kind": "python", "ms": 200})


def lab(body: dict) -> list[dict]:
    rows = []
    for who, sources in (
        ("one client", ["127.0.0.1"] * 64),
        ("64 students", [f"127.0.0.{10 + i}" for i in range(64)]),
    ):
        with launch.running_server(MODE="processes") as server:
            with ThreadPoolExecutor(70) as clients:
                burst = [clients.submit(_lab_from, server.port, source) for source in sources]
                time.sleep(0.3)
                statuses, seconds = _timed(server.url, body, 12)
                lab_statuses = [b.result() for b in burst]
        rows.append(
            _row(
                f"lab burst, {who}",
                f"64 concurrent python 200 ms lab requests from {who}, 4 workers",
                f"12 predictions meanwhile: {statuses.count(200)} answered, {_latency(seconds)}; "
                f"lab: {lab_statuses.count(200)} ran, {lab_statuses.count(429)} got 429",
            )
        )
    return rows


def _held(port: int, url: str, body: dict, connections: int, probes: int) -> tuple[list[int], list[float]]:
    """``connections`` connections that send half a request to ``port``, and ``probes`` requests
    to ``url`` meanwhile: their statuses and seconds."""
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    for s in clients:
        s.sendall(PARTIAL)
    time.sleep(0.5)
    try:
        return _timed(url, body, probes)
    finally:
        for s in clients:
            s.close()


def slow(body: dict) -> list[dict]:
    rows = []
    for mode, connections, probes in (("processes", 4, 12), ("threads", 4, 12), ("async", 100, 8)):
        with launch.running_server(MODE=mode) as server:
            statuses, seconds = _held(server.port, server.url, body, connections, probes)
        rows.append(
            _row(
                f"slow clients, {mode}",
                f"{connections} connections that send half a request, then nothing (REQUEST_TIMEOUT 10 s)",
                f"{probes} requests: {statuses.count(200)} answered in {sum(seconds):.1f} s, "
                f"{_latency(seconds)}",
            )
        )
    if launch.find_nginx():
        with (
            launch.running_server(MODE="processes") as server,
            launch.running_nginx([f"127.0.0.1:{server.port}"]) as url,
        ):
            statuses, seconds = _held(int(url.rsplit(":", 1)[1]), url, body, 64, 12)
        rows.append(
            _row(
                "slow clients, behind nginx",
                "64 such connections to nginx (deploy/nginx.conf), 4 workers behind it",
                f"12 requests: {statuses.count(200)} answered in {sum(seconds):.1f} s, {_latency(seconds)}",
            )
        )
    return rows


def tensorflow(body: dict) -> list[dict]:
    with launch.running_server(MODE="processes", TIMEOUT="5") as server:
        before = {w["pid"]: w["pss_bytes"] for w in server.wait_ready()}
        started = time.monotonic()
        url = server.url + "/api/lab/work"

        def until_answered(_):
            while time.monotonic() - started < 300:
                status, _ = launch.post_json(
                    url, {"kind": "tensorflow", "ms": 20}, token=server.token, timeout=30
                )
                if status != 503:
                    return status
                time.sleep(0.5)
            return 0

        with ThreadPoolExecutor(8) as clients:
            futures = [clients.submit(until_answered, i) for i in range(8)]
            # Predictions while the workers load TensorFlow.
            statuses, seconds = _timed(server.url, body, 40)
            answered = [f.result() for f in futures]
        loaded_after = time.monotonic() - started
        # Every worker, loaded: one more round until each has answered.
        while True:
            status, raw = launch.post_json(
                url, {"kind": "tensorflow", "ms": 20}, token=server.token, timeout=30
            )
            after = {w["pid"]: w["pss_bytes"] for w in server.workers()}
            if status == 200 and len(after) == len(before):
                break
            time.sleep(0.5)
        time.sleep(1.5)
        after = {w["pid"]: w["pss_bytes"] for w in server.workers()}
        killed = len(set(before) - set(after))
        grown = [after[pid] - before[pid] for pid in before if pid in after and after[pid] and before[pid]]
    return [
        _row(
            "TensorFlow burst",
            "8 lab tensorflow requests on a fresh 4-worker server, TIMEOUT 5 s",
            f"answered {answered.count(200)}/8 after {loaded_after:.1f} s, {killed} workers killed; "
            f"40 predictions meanwhile: {_latency(seconds)}",
        ),
        _row(
            "TensorFlow memory",
            "PSS of a worker before and after the lab loaded TensorFlow in it",
            f"+{statistics.median(grown) / 2**20:.0f} MB per worker (median of {len(grown)})"
            if grown
            else "n/a",
        ),
    ]


def master(body: dict) -> list[dict]:
    server = launch.start(MODE="processes")
    try:
        server.wait_ready()
        workers = [w["pid"] for w in server.workers()]
        os.kill(server.pid, signal.SIGKILL)
        killed = time.monotonic()
        while any(
            psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in workers
        ):
            if time.monotonic() - killed > 30:
                break
            time.sleep(0.05)
        gone = time.monotonic() - killed
    finally:
        server.stop()
    return [
        _row("kill -9 master", "SIGKILL to the gunicorn master", f"its 4 workers gone {gone:.2f} s later")
    ]


def scans(body: dict) -> list[dict]:
    bomb = {"image": jpeg_data_url(scan_bomb(1024, 100_000))}
    with launch.running_server(MODE="processes") as server:
        with ThreadPoolExecutor(4) as attackers:
            started = time.monotonic()
            sent = [
                attackers.submit(launch.post_json, server.url + "/api/predict", bomb, 60) for _ in range(4)
            ]
            statuses, seconds = _timed(server.url, body, 12)
            refused = [f.result()[0] for f in sent]
            spent = time.monotonic() - started
    return [
        _row(
            "scan bomb",
            f"4 concurrent progressive JPEGs of 100,000 repeated scans "
            f"({len(bomb['image']) * 3 // 4 / 1e6:.1f} MB) on /api/predict, 4 workers",
            f"{refused.count(422)}/4 refused (422 too_many_scans) in {spent:.2f} s; "
            f"12 predictions meanwhile: {statuses.count(200)} answered, {_latency(seconds)}",
        )
    ]


def _post_from(
    port: int, source: str, path: str, body: dict, headers: dict | None = None, host: str = "127.0.0.1"
) -> int:
    """POST JSON from the loopback address ``source`` (a student of its own): the status."""
    connection = http.client.HTTPConnection(host, port, timeout=60, source_address=(source, 0))
    try:
        connection.request(
            "POST", path, json.dumps(body), {"Content-Type": "application/json", **(headers or {})}
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def corrections(body: dict) -> list[dict]:
    images, labels = dataset.load("test")
    urls = [data_url(d) for d in sets.drawn(images[:200], seed=11)]
    folder = tempfile.mkdtemp(prefix="mnist-abuse-corrections-")
    try:
        with launch.running_server(MODE="processes", CORRECTIONS=folder) as server:
            started = time.monotonic()
            one = [
                _post_from(server.port, "127.0.0.1", "/api/corrections", {"image": u, "label": 1})
                for u in urls
            ]
            one_s = time.monotonic() - started

            def student(k: int) -> list[int]:
                return [
                    _post_from(server.port, f"127.0.1.{k}", "/api/corrections", {"image": u, "label": 2})
                    for u in urls[k * 12 : k * 12 + 12]
                ]

            with ThreadPoolExecutor(16) as students:
                sent = [students.submit(student, k) for k in range(16)]
                statuses, seconds = _timed(server.url, body, 24)
                many = [status for f in sent for status in f.result()]
            size = sum(p.stat().st_size for p in Path(folder).iterdir())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [
        _row(
            "corrections, one client",
            "one address sends 200 different corrections as fast as it can",
            f"{one.count(201)} kept, {one.count(429)} refused (429) in {one_s:.1f} s; "
            "nothing reaches training before the teacher approves it",
        ),
        _row(
            "corrections, 16 clients",
            "16 addresses send 12 corrections each, at once, 4 workers",
            f"{many.count(201)} kept, {many.count(429)} refused (429); the folder holds {size / 1e3:.0f} KB; "
            f"24 predictions meanwhile: {statuses.count(200)} answered, {_latency(seconds)}",
        ),
    ]


def frozen(body: dict) -> list[dict]:
    from harness.cluster import running_cluster

    with running_cluster(hosts=3, workers=1) as cluster:
        host = psutil.Process(cluster.hosts[0].pid)
        processes = [host, *host.children()]
        for process in processes:
            process.suspend()
        try:
            statuses, seconds = _timed(cluster.url, body, 30)
        finally:
            for process in processes:
                process.resume()
    return [
        _row(
            "frozen host",
            "one of 3 hosts behind nginx (deploy/nginx-hosts.conf) stopped with SIGSTOP",
            f"30 predictions: {statuses.count(200)} answered, {_latency(seconds)}",
        )
    ]


def proxy(body: dict) -> list[dict]:
    from harness.cluster import running_cluster

    images, _ = dataset.load("test")
    urls = [data_url(d) for d in sets.drawn(images[:25], seed=13)]
    folder = tempfile.mkdtemp(prefix="mnist-abuse-proxy-")
    try:
        with running_cluster(hosts=1, workers=1, CORRECTIONS=folder) as cluster:
            host = cluster.hosts[0]
            address, port = host.env["BIND"].rsplit(":", 1)
            forged = [
                _post_from(
                    int(port), "127.0.0.1", "/api/corrections", {"image": u, "label": 1},
                    {"X-Forwarded-For": f"10.0.0.{i}", PROXY_SECRET_HEADER: "a-guess"}, address,
                )
                for i, u in enumerate(urls[:20])
            ]  # fmt: skip
            nginx = int(cluster.url.rsplit(":", 1)[1])
            students = [
                _post_from(nginx, f"127.0.2.{i + 1}", "/api/corrections", {"image": u, "label": 2})
                for i, u in enumerate(urls[20:])
            ]
            with sqlite3.connect(Path(folder) / "corrections.sqlite") as db:
                clients = {client for (client,) in db.execute("SELECT client FROM corrections")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    claimed = sorted(c for c in clients if not c.startswith("127.0.2."))  # the forger's
    return [
        _row(
            "local process as the proxy",
            "a local process sends 20 corrections straight to a host of make cluster, from nginx's "
            "address, each claiming another client (X-Forwarded-For); 5 students through nginx",
            f"{forged.count(201)} kept, {forged.count(429)} refused (429), counted under "
            f"{len(claimed)} address(es) ({', '.join(claimed)}); the students: {students.count(201)} "
            f"kept under {len(clients) - len(claimed)} addresses",
        )
    ]


def _peak_mb(pid: int) -> float:
    """A process's peak resident memory (Linux: VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


def pngs(body: dict) -> list[dict]:
    rows = []
    with launch.running_server(MODE="processes", WORKERS="1") as server:
        worker = psutil.Process(server.pid).children()[0]
        for name, raw in (
            ("all-black 6 Mpx PNG", black_png()),
            ("PNG of 90,000 text chunks", text_chunk_png()),
        ):
            seconds, statuses = [], []
            for _ in range(5):
                started = time.monotonic()
                statuses.append(
                    launch.post_json(server.url + "/api/predict", {"image": png_data_url(raw)})[0]
                )
                seconds.append(time.monotonic() - started)
            rows.append(
                _row(
                    name,
                    f"5 of it ({len(raw) / 1e3:,.1f} KB) on /api/predict, one worker",
                    f"{statuses.count(422)} refused as empty (422), {statuses.count(400)} as not a picture "
                    f"(400): {_latency(seconds)}; worker peak memory {_peak_mb(worker.pid):.0f} MB",
                )
            )
    return rows


SCENARIOS = {
    "pngs": pngs,
    "frozen": frozen,
    "proxy": proxy,
    "scans": scans,
    "corrections": corrections,
    "pool": pool,
    "lab": lab,
    "slow": slow,
    "tensorflow": tensorflow,
    "master": master,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS)
    )
    args = parser.parse_args(argv)
    body = _digit()
    rows = []
    for name in args.only.split(","):
        print(f"{name}…", flush=True)
        rows += SCENARIOS[name.strip()](body)
    print("\n| scenario | attack | what happened |\n|---|---|---|")
    for row in rows:
        print(f"| {row['scenario']} | {row['attack']} | {row['result']} |")
    print(f"\nsaved {save('abuse', {'rows': rows})}")


if __name__ == "__main__":
    main()
