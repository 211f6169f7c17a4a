"""Speed against the ceiling: ours vs a parse-only Flask app, under the same gunicorn, side by side.

    python -m bench.speed                 # concurrency 1, 4, 16, 64; about 4 minutes
    python -m bench.speed --duration 3 --concurrency 16

The ceiling (bench/ceiling.py) only parses the same JSON request: what this
machine's gunicorn + Flask can serve at all. Ours runs the whole request:
validation, decoding, preprocessing, the model, the request log and metrics.
The ratio is ours / ceiling for the same route and concurrency. Also prints
each server's time from start to all workers ready, and PSS per worker.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.serving import check_wrk, measure_server, request_bodies, save

SERVERS = {
    "ceiling": {"app": "bench.ceiling:app"},
    "ours, litert": {"RUNTIME": "litert"},
    "ours, tensorflow": {"RUNTIME": "tensorflow"},
}


def measure(name: str, settings: dict, bodies: dict, args, work: Path) -> tuple[list[dict], dict]:
    """One server of the comparison, always 4 worker processes."""
    return measure_server({"server": name}, {"MODE": "processes", **settings}, bodies, args, work)


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
    if not check_wrk():
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
    path = save("speed", {"rows": rows, "servers": servers, "args": vars(args)})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
