"""The lab's comparison matrix: every MODE x every workload, under the same fixed load.

For each mode it starts a real gunicorn on a free loopback port (``launch.start``),
waits until every worker is ready, warms every worker up, then fires the same
number of requests at the same concurrency from a pool of client threads, one
new connection per request (so each request goes through gunicorn's accept()).
It records throughput, p50/p95 latency, which PIDs and threads answered, and the
server's CPU utilisation (100 % = one core busy all along).

A second, small experiment measures claims 3 and 4 of the guide: how much longer
two TensorFlow requests at once take than one alone, in MODE=threads for three
sizes of TensorFlow's own thread pools, and in two single-threaded processes.

Functions: ``run_mode`` (one mode, its servers, its workloads), ``measure`` (one
load against one server), ``pools`` (the claims 3-4 experiment), ``table`` and
``pools_table`` (Markdown), ``chart`` and ``pools_chart`` (PNG). ``__main__.py``
is the command line.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from harness import launch
from serving.config import MODES, RUNTIMES
from webapp import machine as machine_cpu

# What the lab fires, in the order of the guide's claims.
WORKLOADS = ("python", "io", "tensorflow", "predict-litert", "predict-tensorflow", "predict-numpy")
# Threads without the GIL: MODE=threads on free-threaded Python (.venv-ft, harness/freethreaded.py),
# a row beside the modes, for what runs there (LiteRT and TensorFlow have no free-threaded builds).
NOGIL = "threads-nogil"
NOGIL_WORKLOADS = ("python", "io", "predict-numpy")
NOGIL_COLOUR = "#e377c2"
# Claims 3 and 4: where two TensorFlow requests at once run. Three sizes of TensorFlow's
# (intra-op, inter-op) pools in one process of threads (0 = TensorFlow's default), then
# two single-threaded processes for comparison.
POOL_SETUPS = (
    {"MODE": "threads", "TF_INTRA_OP": 1, "TF_INTER_OP": 1},
    {"MODE": "threads", "TF_INTRA_OP": 1, "TF_INTER_OP": 2},
    {"MODE": "threads", "TF_INTRA_OP": 0, "TF_INTER_OP": 0},
    {"MODE": "processes", "WORKERS": 2, "TF_INTRA_OP": 1, "TF_INTER_OP": 1},
)
# The modes in teaching order: the baseline, then threads, processes, both, batching.
MODE_ORDER = tuple(MODES)  # as serving/config.py lists them
ROW_ORDER = tuple(row for mode in MODE_ORDER for row in ((mode, NOGIL) if mode == "threads" else (mode,)))
REQUEST_TIMEOUT = 120.0  # seconds; a lab request takes tens of milliseconds
TOO_BUSY = (
    "other work held the cores this needs: processes cannot show their parallel work now "
    "(claims 1, 3 and 4); read this row as the machine's, not as a refutation"
)

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Workload:
    """One kind of request: where it goes, what it sends, which RUNTIME the server needs."""

    name: str
    route: str
    runtime: str  # the server's RUNTIME
    body: bytes
    loads_tensorflow: bool  # its first request in a worker imports TensorFlow (~3 s)


def workloads(names: list[str], ms: float) -> list[Workload]:
    """The named workloads, with their request bodies built once."""
    made = []
    for name in names:
        if name in ("python", "io", "tensorflow"):
            body = json.dumps({"kind": name, "ms": ms}).encode()
            made.append(Workload(name, "/api/lab/work", "litert", body, name == "tensorflow"))
        elif name.startswith("predict-") and name.split("-", 1)[1] in RUNTIMES:
            runtime = name.split("-", 1)[1]
            made.append(Workload(name, "/api/predict", runtime, canvas_body(), runtime == "tensorflow"))
        else:
            raise ValueError(f"unknown workload {name!r}: choose from {', '.join(WORKLOADS)}")
    return made


@functools.cache
def canvas_body() -> bytes:
    """A /api/predict body as the page sends it: an MNIST test 7 drawn with a round pen, as a PNG."""
    # digits/drawing.py is the project's one canvas-like drawer; the tests and bench use it too.
    from digits import dataset
    from digits.drawing import data_url, draw_like_a_pen

    images, _ = dataset.load("test")
    return json.dumps({"image": data_url(draw_like_a_pen(images[0]))}).encode()


# -- one request, many requests ------------------------------------------------


@dataclass
class Answer:
    """One request as the client saw it."""

    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    seconds: float  # client wall time, connect to last byte
    pid: int | None = None
    thread_id: int | None = None
    body: dict | None = None


def post(url: str, route: str, body: bytes, timeout: float = REQUEST_TIMEOUT) -> Answer:
    """POST JSON on a new connection (``Connection: close``) and time it."""
    parts = urlsplit(url)
    started = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("POST", route, body, {"Content-Type": "application/json", "Connection": "close"})
        response = connection.getresponse()
        raw = response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        return Answer(0, time.perf_counter() - started)
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    try:
        answer = json.loads(raw)
    except ValueError:
        return Answer(status, seconds)
    worker = answer.get("worker") or {}
    return Answer(status, seconds, worker.get("pid"), worker.get("thread_id"), answer)


def fire(url: str, route: str, body: bytes, requests: int, concurrency: int) -> list[Answer]:
    """`requests` POSTs with at most `concurrency` in flight; answers in completion order."""
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="lab-client")
    try:
        futures = [pool.submit(post, url, route, body) for _ in range(requests)]
        return [future.result() for future in as_completed(futures)]
    finally:
        # On Ctrl-C, drop what has not started; the server is stopped next anyway.
        pool.shutdown(wait=False, cancel_futures=True)


def fire_together(url: str, route: str, body: bytes, n: int) -> tuple[float, list[Answer]]:
    """n POSTs released at the same moment: (wall seconds until the last answer, answers)."""
    barrier = threading.Barrier(n + 1)

    def one() -> Answer:
        barrier.wait()
        return post(url, route, body)

    with ThreadPoolExecutor(n, thread_name_prefix="lab-pair") as pool:
        futures = [pool.submit(one) for _ in range(n)]
        barrier.wait()
        started = time.perf_counter()
        wait(futures)
        seconds = time.perf_counter() - started
    return seconds, [f.result() for f in futures]


# -- the server's processes ----------------------------------------------------


def server_processes(server: launch.Server) -> list[psutil.Process]:
    """The gunicorn master and its workers."""
    try:
        master = psutil.Process(server.pid)
        return [master, *master.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(server: launch.Server) -> float:
    """CPU time (user + system) used so far by the master and every worker.

    The same counter /api/workers reports per worker as ``cpu_seconds``, read here
    directly: /api/workers caches it for a second, too long for a short run.
    """
    total = 0.0
    for process in server_processes(server):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def worker_pids(server: launch.Server) -> set[int]:
    return {w["pid"] for w in server.workers()}


# -- starting and stopping servers ---------------------------------------------

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Servers started and not yet stopped: stop_all() is the last line of defence.
_running: list[launch.Server] = []


@contextlib.contextmanager
def serving(
    log_dir: Path, ready_timeout: float = 180.0, python: str | None = None, **env: str
) -> Iterator[tuple[launch.Server, float]]:
    """A started, ready server (on `python`, default this one) and its seconds to ready; stopped
    on leaving, however we leave."""
    started = time.perf_counter()
    # The lab measures the mechanism, every worker busy at once: without the
    # caps that keep a classroom server's predictions answering (webapp/lab_api/limits.py).
    caps = {"LAB_MAX_IN_FLIGHT": "4096", "LAB_MAX_PER_CLIENT": "4096"}
    server = launch.start(log_dir=log_dir, python=python or sys.executable, ACCESS_LOG="", **{**caps, **env})
    _running.append(server)
    try:
        server.wait_ready(timeout=ready_timeout)
        yield server, time.perf_counter() - started
    finally:
        stop(server)


def stop(server: launch.Server) -> None:
    """Stop one server and remove its state; a Ctrl-C meanwhile is held until it is done."""
    with _signals_held():
        server.stop(timeout=10)
        shutil.rmtree(server.state_dir, ignore_errors=True)
        _running[:] = [s for s in _running if s is not server]


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM for the block, then deliver them.

    Blocking the signals in this thread would not do: Python runs its handlers in
    the main thread whichever thread the kernel picked, and the client threads
    are still about after a Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {signum: signal.signal(signum, lambda n, _f: held.append(n)) for signum in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


def stop_all() -> None:
    """Stop every server this process started and has not stopped yet."""
    for server in list(_running):
        stop(server)


# -- measuring -----------------------------------------------------------------


def warm_up(server: launch.Server, workload: Workload, slots: int, timeout: float = 180.0) -> dict:
    """Send requests until every live worker has answered one, then one more round of `slots`.

    A worker's first TensorFlow lab request imports TensorFlow and times the model
    to size its batches (``ms`` of work alone); that must not land in the timed run.
    Such workloads go one request at a time first, so each worker times its model
    while the others are idle: four workers timing at once on two cores would each
    pick a smaller batch, and their mode would look faster than it is. Which worker
    takes a request is up to the workers' race for accept(), so we go on until each
    PID was seen.
    """
    started = time.perf_counter()
    want = worker_pids(server)
    seen: set[int] = set()
    sent = 0

    def check(answers: list[Answer]) -> None:
        # 503: a worker loading TensorFlow in the background (webapp/lab_api), not yet there.
        bad = [a for a in answers if a.status not in (200, 503)]
        if bad:
            raise RuntimeError(f"warm-up of {workload.name}: HTTP {bad[0].status} {bad[0].body}")
        seen.update(a.pid for a in answers if a.status == 200)

    if workload.loads_tensorflow:
        while not seen >= want and time.perf_counter() - started < timeout / 2:
            answer = post(server.url, workload.route, workload.body)
            check([answer])
            sent += 1
            if answer.status == 503:
                time.sleep(0.5)
    while not seen >= want:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"warm-up of {workload.name}: workers {sorted(want - seen)} never answered")
        check(fire(server.url, workload.route, workload.body, slots, slots))
        sent += slots
    # One more round with everybody warm: first calls at this concurrency, lazy imports.
    check(fire(server.url, workload.route, workload.body, slots, slots))
    return {"warmup_s": round(time.perf_counter() - started, 2), "warmup_requests": sent + slots}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class OtherWork:
    """The cores whatever else runs on the machine leaves spare from now on: the machine's CPU
    less the server's and this process's (the load generator's)."""

    def __init__(self, server: launch.Server):
        self.server = server
        self.begun = time.perf_counter()
        self.busy, self.served = machine_cpu.busy_seconds(), cpu_seconds(server)
        self.own = time.process_time()

    def spare(self) -> float:
        other = (
            machine_cpu.busy_seconds() - self.busy
            - (cpu_seconds(self.server) - self.served)
            - (time.process_time() - self.own)
        )  # fmt: skip
        return machine_cpu.spare(other, time.perf_counter() - self.begun)


def measure(server: launch.Server, workload: Workload, requests: int, concurrency: int) -> dict:
    """Fire the fixed load at a warm server: throughput, latency, who answered, CPU."""
    cpu_before, client_before = cpu_seconds(server), time.process_time()
    others = OtherWork(server)
    started = time.perf_counter()
    answers = fire(server.url, workload.route, workload.body, requests, concurrency)
    seconds = time.perf_counter() - started
    cpu_used, client_used = cpu_seconds(server) - cpu_before, time.process_time() - client_before
    ok = [a for a in answers if a.status == 200 and a.body is not None]
    latencies = [a.seconds * 1000 for a in ok]
    per_pid = Counter(a.pid for a in ok)
    # Lab tensorflow: images per model call (sized by each worker); predict: requests per call.
    batches = [a.body["batch_size"] for a in ok if a.body.get("batch_size")]
    # Server clock around the model call (predict) or the work (lab): what the call itself costs.
    calls = [1000 * (a.body["timing"]["finished"] - a.body["timing"]["started"]) for a in ok]
    return {
        "requests": requests,
        "concurrency": concurrency,
        "ok": len(ok),
        "errors": len(answers) - len(ok),
        "seconds": round(seconds, 3),
        "rps": round(len(ok) / seconds, 2),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "call_ms": round(percentile(calls, 50), 3),
        "pids": len(per_pid),
        "threads_seen": len({(a.pid, a.thread_id) for a in ok}),
        "per_pid": {str(pid): n for pid, n in sorted(per_pid.items(), key=lambda kv: -kv[1])},
        "cpu_seconds": round(cpu_used, 3),
        # 100 % = one core busy for the whole run; above 100 % something ran in parallel.
        "cpu_pct": round(100 * cpu_used / seconds, 1),
        # The load generator shares the machine's cores with the server.
        "client_cpu_pct": round(100 * client_used / seconds, 1),
        "spare_cores": others.spare(),
        "batch_min": min(batches, default=None),
        "batch_median": statistics.median(batches) if batches else None,
        "batch_max": max(batches, default=None),
        # Only lab requests carry their own images; a predict request reports the shared call's size.
        "images_per_s": round(sum(batches) / seconds, 1)
        if batches and workload.name == "tensorflow"
        else None,
    }


def run_mode(
    mode: str,
    chosen: list[Workload],
    requests: int,
    concurrency: int,
    log_dir: Path,
    say: Say = _quiet,
    python: str | None = None,
) -> list[dict]:
    """One mode: a server per RUNTIME its workloads need, each workload warmed up and measured.
    With `python` (a free-threaded one): the row NOGIL, its workloads on one numpy server."""
    workers, threads = MODES[mode].workers, MODES[mode].threads
    label = NOGIL if python else mode
    groups = {"numpy": chosen} if python else {rt: [w for w in chosen if w.runtime == rt] for rt in RUNTIMES}
    rows = []
    for runtime, group in groups.items():
        # Workloads that import TensorFlow in the workers go last, so the others run without it.
        mine = sorted(group, key=lambda w: w.loads_tensorflow)
        if not mine:
            continue
        say(f"{label} ({workers} process(es) x {threads} thread(s)), RUNTIME={runtime}: starting gunicorn")
        with serving(log_dir, python=python, MODE=mode, RUNTIME=runtime) as (server, ready_s):
            say(f"  ready in {ready_s:.1f} s, master pid {server.pid}, workers {sorted(worker_pids(server))}")
            for workload in mine:
                say(f"  {workload.name}: warming up every worker")
                warm = warm_up(server, workload, max(workers * threads, 2 * workers))
                result = measure(server, workload, requests, concurrency)
                rows.append(
                    {
                        "workload": workload.name,
                        "mode": label,
                        "workers": workers,
                        "threads": threads,
                        "runtime": runtime,
                        "route": workload.route,
                        **result,
                        "ready_s": round(ready_s, 2),
                        **warm,
                        "master_pid": server.pid,
                        "worker_pids": sorted(worker_pids(server)),
                    }
                )
                say(
                    f"  {workload.name}: {result['rps']:.1f} req/s, p50 {result['p50_ms']:.0f} ms, "
                    f"p95 {result['p95_ms']:.0f} ms, {result['pids']} PID(s), "
                    f"{result['threads_seen']} thread(s), CPU {result['cpu_pct']:.0f} %, "
                    f"errors {result['errors']}; {result['spare_cores']:.1f} cores spare meanwhile"
                )
                needs_cores = workers > 1 and workload.name != "io"
                if needs_cores and result["spare_cores"] < machine_cpu.NEEDED_FOR_TWO:
                    say(f"  ! {TOO_BUSY}")
    return rows


def pools(
    ms: float, repeats: int, log_dir: Path, say: Say = _quiet, setups: tuple[dict, ...] = POOL_SETUPS
) -> list[dict]:
    """Claims 3 and 4: two TensorFlow requests at once vs one alone, per entry of ``setups``.

    Alone and together alternate, `repeats` times; the medians are compared. 1.0 means
    the two ran side by side; 2.0 means they took turns.
    """
    (workload,) = workloads(["tensorflow"], ms)
    rows = []
    for setup in setups:
        env = {key: str(value) for key, value in setup.items()}
        preset = MODES[env["MODE"]]
        workers, threads = int(env.get("WORKERS", preset.workers)), preset.threads
        say("pools: " + " ".join(f"{k}={v}" for k, v in env.items()) + ": starting gunicorn")
        with serving(log_dir, **env) as (server, _):
            warm_up(server, workload, 2)
            ones, twos, cpus_one, cpus_two = [], [], [], []
            pair: list[Answer] = []
            others = OtherWork(server)
            for _ in range(repeats):
                before = cpu_seconds(server)
                one, alone = fire_together(server.url, workload.route, workload.body, 1)
                middle = cpu_seconds(server)
                two, pair = fire_together(server.url, workload.route, workload.body, 2)
                cpus_one.append(100 * (middle - before) / one)
                cpus_two.append(100 * (cpu_seconds(server) - middle) / two)
                if any(a.status != 200 for a in [*alone, *pair]):
                    raise RuntimeError(f"pools: a request failed: {[a.status for a in [*alone, *pair]]}")
                ones.append(one)
                twos.append(two)
            one, two = statistics.median(ones), statistics.median(twos)
            spare = others.spare()
            row = {
                "mode": env["MODE"],
                "workers": workers,
                "threads": threads,
                "intra_op": setup["TF_INTRA_OP"],
                "inter_op": setup["TF_INTER_OP"],
                "ms": ms,
                "batch_size": pair[0].body["batch_size"],
                "repeats": repeats,
                "one_ms": round(one * 1000, 1),
                "two_ms": round(two * 1000, 1),
                "ratio": round(two / one, 2),
                "cpu_pct_one": round(statistics.median(cpus_one), 1),
                "cpu_pct_two": round(statistics.median(cpus_two), 1),
                "pids": len({a.pid for a in pair}),
                "threads_seen": len({(a.pid, a.thread_id) for a in pair}),
                "spare_cores": spare,
            }
            rows.append(row)
            say(
                f"  one alone {row['one_ms']:.0f} ms, two at once {row['two_ms']:.0f} ms: "
                f"x{row['ratio']:.2f}, CPU {row['cpu_pct_one']:.0f} % alone, "
                f"{row['cpu_pct_two']:.0f} % for two, on {row['pids']} PID(s); "
                f"{spare:.1f} cores spare meanwhile"
            )
            if spare < machine_cpu.NEEDED_FOR_TWO:
                say(f"  ! {TOO_BUSY}")
    return rows


# -- the machine ---------------------------------------------------------------


def machine() -> dict:
    """Where the numbers come from: CPU model and count, load, versions."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "gunicorn": version("gunicorn"),
        "tensorflow": version("tensorflow-cpu") or version("tensorflow"),
        "litert": version("ai-edge-litert"),
    }


# -- reporting -----------------------------------------------------------------


def throughput(row: dict) -> float:
    """Work done per second: images/s for the tensorflow lab workload, whose requests
    carry batches each worker sized for itself; requests/s for the rest."""
    return row["images_per_s"] if row["workload"] == "tensorflow" and row.get("images_per_s") else row["rps"]


def table(rows: list[dict]) -> str:
    """The matrix as Markdown: one line per workload x mode, grouped by workload."""
    lines = [
        "| workload | mode | procs x threads | req/s | x single | p50 ms | p95 ms | call ms | PIDs | threads "
        "| CPU % | client CPU % | requests per PID | batch | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for name in _ordered({r["workload"] for r in rows}, WORKLOADS):
        group = [r for r in rows if r["workload"] == name]
        single = next((throughput(r) for r in group if r["mode"] == "single"), None)
        for r in sorted(group, key=lambda r: ROW_ORDER.index(r["mode"])):
            speedup = f"{throughput(r) / single:.2f}" if single else "–"
            spread = "/".join(str(n) for n in r["per_pid"].values())
            low, high = r.get("batch_min"), r.get("batch_max")
            batch = "–" if low is None else str(low) if low == high else f"{low}–{high}"
            lines.append(
                f"| {r['workload']} | {r['mode']} | {r['workers']} x {r['threads']} | {r['rps']:.1f} | "
                f"{speedup} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {_ms(r.get('call_ms'))} | {r['pids']} "
                f"| {r['threads_seen']} | "
                f"{r['cpu_pct']:.0f} | {r['client_cpu_pct']:.0f} | {spread} | {batch} | {r['errors']} |"
            )
    return "\n".join(lines)


def pools_table(rows: list[dict]) -> str:
    """Claims 3 and 4 as Markdown: one line per setup."""
    lines = [
        "| mode | procs x threads | TF_INTRA_OP | TF_INTER_OP | batch | one alone ms | two at once ms "
        "| two / one | CPU % (one) | CPU % (two) | PIDs (two) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['workers']} x {r['threads']} | {_pool(r['intra_op'])} "
            f"| {_pool(r['inter_op'])} | {r['batch_size']} | {r['one_ms']:.0f} | {r['two_ms']:.0f} "
            f"| {r['ratio']:.2f} | {r['cpu_pct_one']:.0f} | {r['cpu_pct_two']:.0f} | {r['pids']} |"
        )
    return "\n".join(lines)


def chart(rows: list[dict], path: Path, subtitle: str = "") -> Path:
    """PNG: throughput per mode, one panel per workload (each with its own scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = _ordered({r["workload"] for r in rows}, WORKLOADS)
    modes = _ordered({r["mode"] for r in rows}, ROW_ORDER)
    colours = {**{name: mode.colour for name, mode in MODES.items()}, NOGIL: NOGIL_COLOUR}
    columns = min(len(names), 3)
    lines = -(-len(names) // columns)
    figure, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 3.6 * lines), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        group = {r["mode"]: r for r in rows if r["workload"] == name}
        shown = [m for m in modes if m in group]
        values = [throughput(group[m]) for m in shown]
        bars = ax.bar(shown, values, color=[colours[m] for m in shown])
        for bar, mode in zip(bars, shown, strict=True):
            r = group[mode]
            ax.annotate(
                f"{throughput(r):.0f}\nCPU {r['cpu_pct']:.0f}%",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("images/s (model)" if name == "tensorflow" else "requests/s")
        ax.set_ylim(0, max(values) * 1.3 if values else 1)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    figure.suptitle("Throughput per mode, by workload" + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def pools_chart(rows: list[dict], path: Path, subtitle: str = "") -> Path:
    """PNG for claims 3 and 4: two TensorFlow requests at once / one alone, per setup."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [
        f"{r['mode']} {r['workers']}x{r['threads']}\n"
        f"intra {r['intra_op'] or 'TF'} / inter {r['inter_op'] or 'TF'}"
        for r in rows
    ]
    figure, ax = plt.subplots(figsize=(7.6, 3.8))
    colours = [MODES[r["mode"]].colour for r in rows]
    bars = ax.bar(labels, [r["ratio"] for r in rows], color=colours)
    for bar, r in zip(bars, rows, strict=True):
        x = bar.get_x() + bar.get_width() / 2
        ax.text(x, bar.get_height() + 0.04, f"x{r['ratio']:.2f}", ha="center", va="bottom", fontsize=9)
        ax.text(
            x, bar.get_height() / 2, f"CPU\n{r['cpu_pct_one']:.0f}% alone\n{r['cpu_pct_two']:.0f}% for two",
            ha="center", va="center", fontsize=7, color="white",
        )  # fmt: skip
    ax.axhline(1, color="#55a868", linestyle="--", linewidth=1)
    ax.axhline(2, color="#c44e52", linestyle="--", linewidth=1)
    side = ax.get_yaxis_transform()  # x in axes units, y in data units
    ax.text(1.01, 1, "side by side", transform=side, color="#55a868", fontsize=7, va="center")
    ax.text(1.01, 2, "taking turns", transform=side, color="#c44e52", fontsize=7, va="center")
    ax.set_ylim(0, 2.6)
    ax.set_ylabel("two at once / one alone")
    ax.set_title(
        "Two TensorFlow requests at once / one alone" + (f"\n{subtitle}" if subtitle else ""), fontsize=9
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _ms(value: float | None) -> str:
    """Milliseconds with the digits that matter: 0.061, 1.2, 52."""
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 1 else f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _pool(size: int) -> str:
    return "0 (TF default)" if size == 0 else str(size)


def _ordered(present: set[str], order) -> list[str]:
    return [name for name in order if name in present]
