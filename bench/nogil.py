"""Threads without the GIL, measured: the normal build against the free-threaded one.

    python -m bench.nogil                      # the free-threaded python of harness/freethreaded.py
    python -m bench.nogil --ft /path/python3.14t --repeats 5

Runs the lab's `python` workload (webapp/lab_api/burn.py, the very same loop) in child
interpreters and prints a Markdown table:

- the same burst of N threads x MS ms of CPU in one process: wall time over one thread
  alone (1.0: side by side; N: taking turns), on the normal build, on the free-threaded
  one with the GIL forced back on (PYTHON_GIL=1: the same interpreter, taking turns) and
  on the free-threaded one without it;
- single-thread speed: a fixed amount of pure-Python work, seconds (lower is faster);
- memory: PSS of one process holding N threads against N processes, numpy imported
  where the interpreter has it (a worker imports it too).

Figures depend on what else the cores do: the run is re-runnable, read ratios side by side.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXED_WORK = 20_000  # rounds of the burn loop's inner 200 additions: ~0.2 s on one quiet core


def _burn():
    """webapp/lab_api/burn.py's burn_python, loaded as a file: no package, no Flask needed."""
    spec = importlib.util.spec_from_file_location("_burn", ROOT / "webapp" / "lab_api" / "burn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.burn_python


def _gil() -> bool:
    return sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True


# -- what runs in the child interpreter (standard library only) ----------------


def probe_burst(threads: int, ms: float) -> dict:
    burn = _burn()
    barrier = threading.Barrier(threads + 1)

    def one():
        barrier.wait()
        burn(ms)

    pool = [threading.Thread(target=one) for _ in range(threads)]
    for t in pool:
        t.start()
    cpu = time.process_time()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "gil": _gil()}


def probe_speed() -> dict:
    started = time.perf_counter()
    x = 0
    for _ in range(FIXED_WORK):
        for i in range(200):
            x += i * i
    return {"seconds": time.perf_counter() - started}


def probe_hold(threads: int) -> None:
    """Import numpy if there, start `threads` idle threads, say so, wait for stdin to close."""
    if importlib.util.find_spec("numpy"):
        import numpy  # noqa: F401

    done = threading.Event()
    pool = [threading.Thread(target=done.wait) for _ in range(threads)]
    for t in pool:
        t.start()
    print("ready", flush=True)
    sys.stdin.read()
    done.set()


# -- the orchestrator (normal venv) ---------------------------------------------


def child(python: str, *args: str, env: dict | None = None) -> dict:
    out = subprocess.run(
        [python, str(Path(__file__)), "--probe", *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    return json.loads(out.stdout)


def pss(python: str, processes: int, threads: int) -> float:
    """MB of PSS of `processes` interpreters holding `threads` threads each."""
    import psutil

    procs = [
        subprocess.Popen(
            [python, str(Path(__file__)), "--probe", "hold", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(processes)
    ]
    try:
        for proc in procs:
            proc.stdout.readline()
        return sum(psutil.Process(p.pid).memory_full_info().pss for p in procs) / 2**20
    finally:
        for proc in procs:
            proc.stdin.close()
            proc.wait(30)


def measure(builds: dict[str, tuple[str, dict]], ms: float, repeats: int, counts: tuple[int, ...]) -> dict:
    results = {}
    for label, (python, env) in builds.items():
        row = {"python": python}
        alone = statistics.median(
            child(python, "burst", "1", str(ms), env=env)["wall"] for _ in range(repeats)
        )
        for n in counts:
            runs = [child(python, "burst", str(n), str(ms), env=env) for _ in range(repeats)]
            wall = statistics.median(r["wall"] for r in runs)
            row[f"x{n}"] = round(wall / alone, 2)
            row[f"cpu{n}"] = round(statistics.median(r["cpu"] / r["wall"] for r in runs) * 100)
            row["gil"] = runs[0]["gil"]
        row["speed_s"] = round(
            statistics.median(child(python, "speed", env=env)["seconds"] for _ in range(repeats)), 3
        )
        print(f"  {label}: {row}", file=sys.stderr, flush=True)
        results[label] = row
    return results


def table(results: dict, counts: tuple[int, ...], ms: float) -> str:
    head = " | ".join(f"{n} threads: wall / one (CPU %)" for n in counts)
    lines = [
        f"| build | GIL | {head} | single thread, s |",
        "|---|---|" + "---:|" * (len(counts) + 1),
    ]
    for label, r in results.items():
        cells = " | ".join(f"x{r[f'x{n}']:.2f} ({r[f'cpu{n}']} %)" for n in counts)
        lines.append(f"| {label} | {'on' if r['gil'] else 'off'} | {cells} | {r['speed_s']:.3f} |")
    return "\n".join(lines) + f"\n\n(each thread: {ms:.0f} ms of CPU in the lab's python loop)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--probe"]:
        kind, *rest = argv[1:]
        if kind == "hold":
            probe_hold(int(rest[0]))
            return 0
        answer = probe_burst(int(rest[0]), float(rest[1])) if kind == "burst" else probe_speed()
        print(json.dumps(answer))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.nogil", description=__doc__.splitlines()[0])
    parser.add_argument("--ft", help="a free-threaded python (default: harness/freethreaded.py finds one)")
    parser.add_argument("--ms", type=float, default=200, help="CPU ms per thread (200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; medians (3)")
    parser.add_argument("--threads", default="2,4", help="thread counts (2,4)")
    parser.add_argument("--memory", type=int, default=4, help="N of N threads vs N processes (4)")
    args = parser.parse_args(argv)
    from harness import freethreaded

    ft = args.ft or freethreaded.venv_python() or freethreaded.find()
    if ft is None:
        print(
            "no free-threaded Python: make freethreaded builds one (harness/freethreaded.py)", file=sys.stderr
        )
        return 1
    counts = tuple(int(n) for n in args.threads.split(","))
    builds = {
        f"normal {sys.version.split()[0]}": (sys.executable, {}),
        "free-threaded, PYTHON_GIL=1": (ft, {"PYTHON_GIL": "1"}),
        "free-threaded": (ft, {"PYTHON_GIL": "0"}),
    }
    print(f"measuring on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} ...", file=sys.stderr)
    results = measure(builds, args.ms, args.repeats, counts)
    print(table(results, counts, args.ms))
    n = args.memory
    print(
        f"\n| memory (PSS, MB) | one process, {n} threads | {n} processes, 1 thread each |\n|---|---:|---:|"
    )
    for label, python in ((f"normal {sys.version.split()[0]}", sys.executable), ("free-threaded", ft)):
        print(f"| {label} | {pss(python, 1, n):.0f} | {pss(python, n, 1):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
