"""`python -m lab`: writes its results and leaves no server behind, even when interrupted."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness.launch import get_json
from lab import matrix
from serving.config import ROOT
from tests.waiting import as_from_a_terminal, wait_for

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Watched:
    """The lab command in a subprocess, and every process it started (pid, start time)."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lab", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=as_from_a_terminal,
        )
        self.seen: dict[int, float] = {}
        self.lines: list[str] = []
        self._watching = True
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        # gunicorn runs in its own session, but it is still our child: its workers are grandchildren.
        while self._watching:
            try:
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    self.seen.setdefault(child.pid, child.create_time())
            except psutil.Error:
                pass
            time.sleep(0.05)  # a sampler, not a wait: how often the process tree is looked at

    def read_until(self, text: str) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"the command ended before printing {text!r}:\n{''.join(self.lines)}")

    def finish(self, timeout: float = 240) -> int:
        out, _ = self.process.communicate(timeout=timeout)
        self.lines.append(out)
        self._watching = False
        self._watcher.join()
        return self.process.returncode

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def server_url(self) -> str:
        """The address of the last gunicorn the command said it started (its master's BIND)."""
        pid = int(re.findall(r"master pid (\d+)", self.output)[-1])
        return "http://" + psutil.Process(pid).environ()["BIND"]

    def alive(self) -> list[int]:
        """Started processes still running (a reused pid does not count)."""
        alive = []
        for pid, created in self.seen.items():
            try:
                process = psutil.Process(pid)
                if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        return alive

    def survivors(self, grace: float = 5.0) -> list[int]:
        """[] once every started process has ended; fails naming those still running after `grace` s."""
        return wait_for(self.alive, grace, "every process the command started to end", until=lambda a: not a)


def test_a_tiny_matrix_writes_json_table_and_chart_and_stops_every_server(tmp_path: Path):
    out = tmp_path / "lab"
    run = Watched(
        "--modes", "single,threads", "--workloads", "python,predict-litert",
        "--requests", "6", "--concurrency", "2", "--ms", "10", "--no-pools", "--out", str(out),
    )  # fmt: skip
    assert run.finish() == 0, run.output
    results = json.loads((out / "results.json").read_text())
    rows = {(r["mode"], r["workload"]): r for r in results["rows"]}
    assert set(rows) == {(m, w) for m in ("single", "threads") for w in ("python", "predict-litert")}
    for row in rows.values():
        assert row["ok"] == 6 and row["errors"] == 0 and row["rps"] > 0
        assert row["pids"] == 1 and row["p50_ms"] <= row["p95_ms"]
    assert rows["single", "python"]["threads_seen"] == 1
    assert results["machine"]["cores"] >= 1 and results["command"].startswith("python -m lab")
    assert (out / "throughput.png").read_bytes().startswith(PNG_MAGIC)
    assert "| python | single | 1 x 1 |" in (out / "results.md").read_text()
    assert "| predict-litert | threads | 1 x 4 |" in run.output  # the table is printed too
    # Each step says the cores spare before it, and how long the rest will take.
    assert re.search(r"\[2/2\] threads: [\d.]+ cores spare, about \d+ s left at the pace so far", run.output)
    assert all(0 <= row["spare_cores"] <= results["machine"]["cores"] for row in rows.values())
    masters = {r["master_pid"] for r in results["rows"]}
    assert masters <= set(run.seen), "the watcher saw every gunicorn master"
    assert run.survivors() == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_matrix_stops_its_server_and_writes_nothing(tmp_path: Path, signum):
    out = tmp_path / "lab"
    # 200 io requests of 50 ms one at a time: 10 s of load, interrupted in the middle.
    run = Watched(
        "--modes", "single", "--workloads", "io", "--requests", "200", "--concurrency", "1",
        "--no-pools", "--out", str(out),
    )  # fmt: skip
    run.read_until("io: warming up")
    url = run.server_url()
    # Into the timed load: the warm-up is 4 requests on this one worker; 200 follow.
    wait_for(
        lambda: sum(w["requests"] for w in get_json(url + "/api/workers")[1].get("workers", [])),
        60,
        "20 io requests served, most of them the timed load's",
        until=lambda served: served >= 20,
    )
    assert len(run.seen) >= 2, "a gunicorn master and its worker are running"
    run.process.send_signal(signum)
    assert run.finish(timeout=60) == 130, run.output
    assert "every server it started is stopped" in run.output
    assert run.survivors() == []
    assert not out.exists()


def test_the_table_puts_modes_in_teaching_order_with_the_speed_up_over_single():
    rows = [
        _row("python", mode, rps) for mode, rps in [("processes", 38.0), ("single", 19.0), ("threads", 19.5)]
    ]
    lines = matrix.table(rows).splitlines()
    assert [line.split(" | ")[1] for line in lines[2:]] == ["single", "threads", "processes"]
    assert "| 38.0 | 2.00 | 50 | 60 | 52 |" in lines[4]
    assert "| 10/10/10/10 |" in lines[4]  # requests per PID


def test_the_charts_are_pngs(tmp_path: Path):
    rows = [_row(w, m, 10.0 + i) for i, (w, m) in enumerate([("python", "single"), ("io", "threads")])]
    pools = [
        {"mode": mode, "workers": workers, "threads": threads, "intra_op": a, "inter_op": b, "ratio": r,
         "batch_size": 64, "one_ms": 50, "two_ms": 50 * r, "cpu_pct_one": 95, "cpu_pct_two": 90,
         "pids": workers}
        for mode, workers, threads, a, b, r in [
            ("threads", 1, 4, 1, 1, 2.2), ("threads", 1, 4, 1, 2, 1.05), ("threads", 1, 4, 0, 0, 1.7),
            ("processes", 2, 1, 1, 1, 1.0),
        ]
    ]  # fmt: skip
    assert matrix.chart(rows, tmp_path / "t.png").read_bytes().startswith(PNG_MAGIC)
    assert matrix.pools_chart(pools, tmp_path / "p.png").read_bytes().startswith(PNG_MAGIC)
    assert "| threads | 1 x 4 | 0 (TF default) | 0 (TF default) | 64 |" in matrix.pools_table(pools)


def test_percentiles_interpolate_like_numpy():
    assert matrix.percentile([1, 2, 3, 4], 50) == 2.5
    assert matrix.percentile([10], 95) == 10
    assert matrix.percentile(list(range(101)), 95) == 95


def _row(workload: str, mode: str, rps: float) -> dict:
    workers, threads = {"single": (1, 1), "threads": (1, 4), "processes": (4, 1)}[mode]
    return {
        "workload": workload, "mode": mode, "workers": workers, "threads": threads, "rps": rps,
        "p50_ms": 50.0, "p95_ms": 60.0, "call_ms": 52.0, "pids": workers, "threads_seen": workers * threads,
        "cpu_pct": 99.0, "client_cpu_pct": 3.0, "errors": 0,
        "per_pid": {str(1000 + i): 40 // workers for i in range(workers)},
    }  # fmt: skip


def test_the_check_before_the_class_says_for_each_claim_whether_it_can_show_now():
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--check", "--check-seconds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    measured = r"this machine: \d+ cores?, load average [\d.]+; over 1 s, [\d.]+ cores spare"
    assert re.search(measured, done.stdout), done.stdout
    verdicts = re.findall(r"^  claim (\d): .*: (can show|cannot show.*)$", done.stdout, re.M)
    assert [claim for claim, _ in verdicts] == ["1", "2", "3", "4"], done.stdout
    assert verdicts[1][1] == "can show"  # waiting overlaps on any machine


def test_a_partial_run_never_overwrites_the_guides_numbers(tmp_path):
    from lab.__main__ import DEFAULT_OUT, output_folder, parser

    assert output_folder(parser().parse_args([])) == DEFAULT_OUT  # make lab: the whole matrix
    scratch = output_folder(parser().parse_args(["--modes", "threads,async", "--no-pools"]))
    try:
        assert scratch != DEFAULT_OUT and DEFAULT_OUT not in scratch.parents and scratch.is_dir()
    finally:
        scratch.rmdir()
    assert output_folder(parser().parse_args(["--pools-only", "--out", str(tmp_path)])) == tmp_path
