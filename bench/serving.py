"""Serving benchmark: requests/s and p50/p99 latency per MODE x RUNTIME x route x concurrency.

    python -m bench.serving                        # the whole matrix (about 6 minutes)
    python -m bench.serving --modes processes --runtimes litert --duration 3

For each mode and runtime it starts a real gunicorn on a free loopback port,
times start -> all workers ready, warms up, then drives /api/predict (a canvas
PNG, drawn and encoded by Chromium: bench/canvas.py) and /inference (a 28x28
list) with wrk at each concurrency, and reads each worker's PSS. Prints a
Markdown table and writes JSON to bench/results/.
Needs `wrk` (apt-get install wrk, brew install wrk) and a Chromium
(`python -m harness.browser --install`; `make bench` sees to both).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from harness import launch
from serving.config import MODES

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def request_bodies() -> dict[str, bytes]:
    """The tests' payloads: the first MNIST test digit (a 7) as the page sends it, drawn in a
    browser's canvas, and as the reference's 28x28 list."""
    from bench.canvas import browser_drawings
    from digits import dataset

    images, _ = dataset.load("test")
    return {
        "/api/predict": json.dumps({"image": browser_drawings([images[0]])[0]}).encode(),
        "/inference": json.dumps({"images": images[0].tolist()}).encode(),
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * _UNITS[unit]


def run_wrk(
    url: str, body_path: Path, lua_path: Path, concurrency: int, seconds: int, timeout_s: int = 2
) -> dict:
    """One wrk run: requests/s, p50 and p99 latency (ms), errors (an answer slower than
    timeout_s counts as one: wrk gives up on it)."""
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(concurrency, 2)),
            "-c",
            str(concurrency),
            "-d",
            f"{seconds}s",
            "--latency",
            "--timeout",
            f"{timeout_s}s",
            "-s",
            str(lua_path),
            url,
        ],
        capture_output=True,
        text=True,
        env={"WRK_BODY": str(body_path), "PATH": "/usr/bin:/bin"},
        timeout=seconds + 30,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    if "99" not in latency:
        raise RuntimeError(f"wrk gave no latencies:\n{out}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "errors": errors + socket_errors,
    }


def start_server(settings: dict, work: Path) -> tuple[launch.Server, float]:
    """A gunicorn of these settings, all workers ready; and the seconds that took."""
    started = time.perf_counter()
    server = launch.start(ACCESS_LOG="", log_dir=work, **settings)
    try:
        server.wait_ready(timeout=120)
    except BaseException:
        server.stop()
        raise
    return server, time.perf_counter() - started


def server_info(server: launch.Server, ready_s: float) -> dict:
    """Start-to-ready seconds and the median PSS per worker (RSS where PSS is unknown)."""
    pss = [w["pss_bytes"] or w["rss_bytes"] for w in server.workers()]
    return {
        "ready_s": round(ready_s, 2),
        "pss_mb": round(statistics.median(pss) / 2**20, 1) if pss else None,
        "workers": len(pss),
    }


def write_request(work: Path, body: bytes) -> tuple[Path, Path]:
    """The body and the wrk script that posts it, as files for wrk."""
    body_path, lua = work / "body.json", work / "post.lua"
    body_path.write_bytes(body)
    lua.write_text(POST_LUA)
    return body_path, lua


def report(name: str, route: str, concurrency: int, result: dict) -> None:
    print(
        f"  {name} {route:12} c={concurrency:<3} {result['rps']:8.0f} req/s  "
        f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}",
        flush=True,
    )


def bench_server(mode: str, runtime: str, bodies: dict, args, work: Path) -> list[dict]:
    """Start one MODE x RUNTIME server, drive every route x concurrency with wrk, stop it:
    a row per measurement, each with the server's start-to-ready seconds and PSS per worker."""
    server, ready_s = start_server({"MODE": mode, "RUNTIME": runtime}, work)
    label = {"mode": mode, "runtime": runtime}
    rows = []
    try:
        for route, body in bodies.items():
            body_path, lua = write_request(work, body)
            run_wrk(server.url + route, body_path, lua, 4, 1)  # warm up
            for concurrency in args.concurrency:
                result = run_wrk(server.url + route, body_path, lua, concurrency, args.duration)
                rows.append({**label, "route": route, "concurrency": concurrency, **result})
                report(f"{mode:10} {runtime:10}", route, concurrency, result)
        info = server_info(server, ready_s)
    finally:
        server.stop()
    return [{**row, **info} for row in rows]


def check_wrk() -> bool:
    if shutil.which("wrk"):
        return True
    print("bench: needs wrk (apt-get install wrk, or brew install wrk)", file=sys.stderr)
    return False


def save(kind: str, results: dict) -> Path:
    """Write results as bench/results/<kind>-<UTC time>.json."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{kind}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2))
    return path


def markdown(rows: list[dict]) -> str:
    lines = [
        "| mode | runtime | route | conc. | req/s | p50 ms | p99 ms | errors | PSS/worker MB | ready s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['runtime']} | `{r['route']}` | {r['concurrency']} | {r['rps']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
            f"{r['pss_mb']:.0f} | {r['ready_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--runtimes", default="litert,tensorflow")
    parser.add_argument("--concurrency", default="1,4,16", type=lambda s: [int(c) for c in s.split(",")])
    parser.add_argument("--duration", type=int, default=4, help="whole seconds per measurement (4)")
    args = parser.parse_args(argv)
    if not check_wrk():
        return 2
    bodies = request_bodies()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            for runtime in args.runtimes.split(","):
                print(f"{mode} / {runtime}: starting", flush=True)
                rows += bench_server(mode, runtime, bodies, args, Path(tmp))
    print("\n" + markdown(rows))
    print(f"\nwritten to {save('serving', {'rows': rows, 'args': vars(args)})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
