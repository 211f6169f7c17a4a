"""Speed against the ceiling: ours vs a parse-only Flask app, under the same gunicorn, side by side.

    python -m bench.speed                 # concurrency 1, 4, 16, 64; about 5 minutes
    python -m bench.speed --concurrency 16 --repeat 5
    python -m bench.speed --against main~3   # this tree and other commits, side by side
    python -m bench.speed --routes /api/predict --concurrency 16 --against A B C

The ceiling (bench/ceiling.py) only parses the same JSON request: what this
machine's gunicorn + Flask can serve at all. Ours runs the whole request:
validation, decoding, preprocessing, the model, the request log and metrics.

All three servers (ceiling, ours with LiteRT, ours with TensorFlow) run at once,
4 worker processes each, and are measured in turn, round after round, so that
whatever else the machine does falls on all of them alike. Each figure is the
median of the rounds; "x ceiling" is the median of the rounds' ratios. Also
prints each server's time from start to all workers ready, and PSS per worker.

--against REF... adds, per REF, ours with LiteRT from a git worktree of that
commit, measured in the same rounds: an A/B of changes on a noisy machine.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.serving import (
    check_wrk,
    report,
    request_bodies,
    run_wrk,
    save,
    server_info,
    start_server,
    write_request,
)
from harness.launch import Server

SERVERS = {
    "ceiling": {"app": "bench.ceiling:app"},
    "ours, litert": {"RUNTIME": "litert"},
    "ours, tensorflow": {"RUNTIME": "tensorflow"},
}


def start(name: str, settings: dict, tmp: Path) -> tuple[Server, float]:
    """A server of these settings, 4 processes, in a folder of its own under tmp; and its start-up seconds."""
    work = tmp / name.replace(", ", "-").replace(" ", "-")
    work.mkdir()
    return start_server({"MODE": "processes", **settings}, work)


@contextlib.contextmanager
def worktree(ref: str, tmp: Path):
    """A checkout of ref beside this one (git worktree), removed after."""
    path = Path(tempfile.mkdtemp(prefix="against-", dir=tmp))
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(path), ref], check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], check=False)


def measure(servers: dict, bodies: dict, args, work: Path) -> list[dict]:
    """Every route x concurrency, each server in turn, args.repeat rounds: one row per server."""
    rows = []
    for route, body in bodies.items():
        body_path, lua = write_request(work, body)
        for server in servers.values():
            run_wrk(server.url + route, body_path, lua, 4, 1)  # warm up
        for concurrency in args.concurrency:
            rounds: dict[str, list[dict]] = {name: [] for name in servers}
            for _ in range(args.repeat):
                for name, server in servers.items():
                    result = run_wrk(server.url + route, body_path, lua, concurrency, args.duration)
                    rounds[name].append(result)
                    report(f"{name:16}", route, concurrency, result)
            ceiling = [r["rps"] for r in rounds["ceiling"]]
            for name, results in rounds.items():
                ratios = [r["rps"] / c for r, c in zip(results, ceiling, strict=True)]
                rows.append(
                    {
                        "server": name,
                        "route": route,
                        "concurrency": concurrency,
                        "rps": statistics.median(r["rps"] for r in results),
                        "p50_ms": statistics.median(r["p50_ms"] for r in results),
                        "p99_ms": statistics.median(r["p99_ms"] for r in results),
                        "errors": sum(r["errors"] for r in results),
                        "ratio": statistics.median(ratios),
                        "rounds": [r["rps"] for r in results],
                    }
                )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| route | conc. | server | req/s | p50 ms | p99 ms | × ceiling |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["route"], r["concurrency"])):
        lines.append(
            f"| `{r['route']}` | {r['concurrency']} | {r['server']} | {r['rps']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['ratio']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,4,16,64", type=lambda s: [int(c) for c in s.split(",")])
    parser.add_argument("--duration", type=int, default=3, help="whole seconds per measurement (3)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of measurements (3)")
    parser.add_argument(
        "--against", metavar="REF", nargs="+", default=[], help="also ours (LiteRT) of these commits"
    )
    parser.add_argument("--routes", nargs="+", help="only these routes (default: all)")
    args = parser.parse_args(argv)
    if not check_wrk():
        return 2
    bodies = {route: body for route, body in request_bodies().items() if route in (args.routes or [route])}
    servers, ready_s = {}, {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        todo = dict(SERVERS)
        for ref in args.against:
            root = stack.enter_context(worktree(ref, Path(tmp)))
            todo[f"ours, {ref}"] = {"RUNTIME": "litert", "root": root}
        try:
            for name, settings in todo.items():
                print(f"{name}: starting", flush=True)
                servers[name], ready_s[name] = start(name, settings, Path(tmp))
            rows = measure(servers, bodies, args, Path(tmp))
            # PSS after the load
            info = {name: server_info(server, ready_s[name]) for name, server in servers.items()}
        finally:
            for server in servers.values():
                server.stop()
    print("\n" + table(rows) + "\n")
    print("| server | start → all 4 workers ready | PSS per worker |\n|---|---:|---:|")
    for name, each in info.items():
        pss = f"{each['pss_mb']:.0f} MB" if each["pss_mb"] else "–"
        print(f"| {name} | {each['ready_s']:.1f} s | {pss} |")
    path = save("speed", {"rows": rows, "servers": info, "args": vars(args)})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
