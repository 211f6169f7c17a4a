"""Speed against the ceiling: ours vs a parse-only Flask app, under the same gunicorn, side by side.

    python -m bench.speed                 # concurrency 1, 4, 16, 64; about 3 minutes
    python -m bench.speed --duration 3 --concurrency 16

The ceiling (bench/ceiling.py) only parses the same JSON request: what this
machine's gunicorn + Flask can serve at all. Ours runs the whole request:
validation, decoding, preprocessing, the model, the request log and metrics.
The ratio is ours / ceiling for the same route and concurrency. Also prints
each server's time from start to all workers ready, and PSS per worker.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.serving import POST_LUA, RESULTS, request_bodies, run_wrk
from webapp import launch

SERVERS = {
    "ceiling": {"app": "bench.ceiling:app"},
    "ours, litert": {"RUNTIME": "litert"},
    "ours, tensorflow": {"RUNTIME": "tensorflow"},
}


def measure(name: str, settings: dict, bodies: dict, args, work: Path) -> tuple[list[dict], dict]:
    started = time.perf_counter()
    server = launch.start(MODE="processes", ACCESS_LOG="", log_dir=work, **settings)
    try:
        server.wait_ready(timeout=120)
        ready_s = time.perf_counter() - started
        lua = work / "post.lua"
        lua.write_text(POST_LUA)
        rows = []
        for route, body in bodies.items():
            body_path = work / "body.json"
            body_path.write_bytes(body)
            run_wrk(server.url + route, body_path, lua, 4, 1)  # warm up
            for concurrency in args.concurrency:
                result = run_wrk(server.url + route, body_path, lua, concurrency, args.duration)
                rows.append({"server": name, "route": route, "concurrency": concurrency, **result})
                print(
                    f"  {name:17} {route:12} c={concurrency:<3} {result['rps']:8.0f} req/s  "
                    f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
                    f"errors {result['errors']}",
                    flush=True,
                )
        workers = server.workers()
        pss = [w["pss_bytes"] or w["rss_bytes"] for w in workers]
        info = {
            "ready_s": round(ready_s, 2),
            "pss_mb": round(statistics.median(pss) / 2**20, 1) if pss else None,
        }
    finally:
        server.stop()
    return rows, info


def table(rows: list[dict]) -> str:
    ceiling = {(r["route"], r["concurrency"]): r["rps"] for r in rows if r["server"] == "ceiling"}
    lines = [
        "| route | conc. | server | req/s | p50 ms | p99 ms | × ceiling |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["route"], r["concurrency"])):
        ratio = r["rps"] / ceiling[(r["route"], r["concurrency"])]
        lines.append(
            f"| `{r['route']}` | {r['concurrency']} | {r['server']} | {r['rps']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {ratio:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,4,16,64", type=lambda s: [int(c) for c in s.split(",")])
    parser.add_argument("--duration", type=int, default=4, help="whole seconds per measurement (4)")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("bench: needs wrk (apt-get install wrk, or brew install wrk)", file=sys.stderr)
        return 2
    bodies = request_bodies()
    rows, servers = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, settings in SERVERS.items():
            print(f"{name}: starting", flush=True)
            server_rows, servers[name] = measure(name, settings, bodies, args, Path(tmp))
            rows += server_rows
    print("\n" + table(rows) + "\n")
    print("| server | start → all 4 workers ready | PSS per worker |\n|---|---:|---:|")
    for name, info in servers.items():
        pss = f"{info['pss_mb']:.0f} MB" if info["pss_mb"] else "–"
        print(f"| {name} | {info['ready_s']:.1f} s | {pss} |")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"speed-{stamp}.json"
    path.write_text(json.dumps({"rows": rows, "servers": servers, "args": vars(args)}, indent=2))
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
