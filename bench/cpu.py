"""Where a loaded worker's time goes: worker CPU per request under wrk, ours beside the ceiling.

    python -m bench.cpu                                  # both routes, concurrency 16, 8 s each
    python -m bench.cpu --routes /inference --seconds 4

Starts the ceiling (bench/ceiling.py) and ours (LiteRT), 4 worker processes
each, drives each route with wrk and reads the workers' CPU time (psutil)
before and after: CPU milliseconds per request, context switches per request,
and how the machine's time was split. Requests/s depend on everything else
the 2 cores do (wrk, the kernel); CPU per request is what a change to the
app moves. Compare two versions of the code by running this in each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import psutil

from bench import speed
from bench.serving import check_wrk, request_bodies, run_wrk, write_request

# The speed benchmark's servers, without TensorFlow (the app's own changes show in LiteRT).
SERVERS = ("ceiling", "ours, litert")


def _workers(server) -> list[psutil.Process]:
    return psutil.Process(server.pid).children()


def _cpu(procs: list[psutil.Process]) -> tuple[float, int]:
    """Seconds of CPU and context switches of these processes so far."""
    seconds = switches = 0
    for proc in procs:
        times, ctx = proc.cpu_times(), proc.num_ctx_switches()
        seconds += times.user + times.system
        switches += ctx.voluntary + ctx.involuntary
    return seconds, switches


def measure(server, route: str, body: bytes, concurrency: int, seconds: int, work: Path) -> dict:
    body_path, lua = write_request(work, body)
    run_wrk(server.url + route, body_path, lua, 4, 1)  # warm up
    procs = _workers(server)
    cpu_before, switches_before = _cpu(procs)
    machine_before = psutil.cpu_times()
    result = run_wrk(server.url + route, body_path, lua, concurrency, seconds)
    cpu_after, switches_after = _cpu(procs)
    machine_after = psutil.cpu_times()
    requests = result["rps"] * seconds
    total = sum(machine_after) - sum(machine_before)

    def share(field: str) -> float:
        return 100 * (getattr(machine_after, field) - getattr(machine_before, field)) / total

    return {
        "rps": result["rps"],
        "cpu_ms": 1000 * (cpu_after - cpu_before) / requests,
        "switches": (switches_after - switches_before) / requests,
        "user": share("user"),
        "system": share("system"),
        "softirq": share("softirq"),
        "idle": share("idle"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", default="/inference,/api/predict")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args(argv)
    if not check_wrk():
        return 2
    bodies = request_bodies()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in SERVERS:
            server, _ = speed.start(name, speed.SERVERS[name], Path(tmp))
            try:
                for route in args.routes.split(","):
                    row = measure(server, route, bodies[route], args.concurrency, args.seconds, Path(tmp))
                    rows.append((route, name, row))
                    print(f"  {name:14} {route:12} {row['rps']:6.0f} req/s  {row['cpu_ms']:.3f} ms CPU/req")
            finally:
                server.stop()
    print(
        f"\nconcurrency {args.concurrency}, {args.seconds} s each\n\n"
        "| route | server | req/s | worker CPU ms/request | context switches/request | "
        "machine user / system / softirq / idle % |\n|---|---|---:|---:|---:|---:|"
    )
    for route, name, r in sorted(rows, key=lambda row: row[0]):
        print(
            f"| `{route}` | {name} | {r['rps']:.0f} | {r['cpu_ms']:.3f} | {r['switches']:.1f} | "
            f"{r['user']:.0f} / {r['system']:.0f} / {r['softirq']:.0f} / {r['idle']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
