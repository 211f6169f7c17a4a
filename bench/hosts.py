"""Several hosts on one machine: what nginx and two more hosts cost and buy, and a class of 300.

    python -m bench.hosts                          # about 4 minutes
    python -m bench.hosts --class-size 0 --repeat 1

Starts two clusters (harness/cluster.py: Redis, gunicorn masters on 127.0.0.2-4 of
--workers workers each, nginx in front with deploy/nginx-hosts.conf): one of one host
and one of three. wrk drives /api/predict (the page's canvas PNG) at --concurrency
on three paths in turn, round after round, so that whatever else the machine does
falls on all of them alike:

- direct to one host (gunicorn, no nginx);
- through nginx to that one host;
- through nginx to three hosts.

Then two faults under the same load through nginx to the three hosts: a rolling
restart (each host stopped gracefully and started again, one after another) and a
host killed (kill -9 of its master and workers) mid-load; each counts the requests
that failed. Then Locust's class (bench/locustfile.py: students drawing, polling the worker list
and everyone's requests, now and then a burst) of --class-size students through nginx
to the three hosts. Prints both tables and writes JSON to bench/results/.
On one machine the hosts share its cores: three of them serve no more than one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.classroom import run_locust
from bench.classroom import table as class_table
from bench.serving import check_wrk, request_bodies, run_wrk, save, write_request
from harness.cluster import running_cluster


def measure(targets: dict[str, str], body_path: Path, lua: Path, args) -> list[dict]:
    """Each target in turn, args.repeat rounds: one row per target, medians of the rounds."""
    rounds: dict[str, list[dict]] = {name: [] for name in targets}
    for url in targets.values():
        run_wrk(url, body_path, lua, 4, 1)  # warm up
    for number in range(args.repeat):
        for name, url in targets.items():
            result = run_wrk(url, body_path, lua, args.concurrency, args.duration)
            rounds[name].append(result)
            print(
                f"  round {number + 1}/{args.repeat}  {name:28} {result['rps']:7.0f} req/s  "
                f"p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}",
                flush=True,
            )
    return [
        {
            "path": name,
            "rps": statistics.median(r["rps"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "errors": sum(r["errors"] for r in results),
            "rounds": [r["rps"] for r in results],
        }
        for name, results in rounds.items()
    ]


def under_load(url: str, body_path: Path, lua: Path, concurrency: int, seconds: int, fault) -> dict:
    """wrk for ``seconds`` while ``fault()`` runs beside it (it starts 1 s in). An answer
    counts as failed if it is an error or takes over 10 s."""
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(run_wrk, url, body_path, lua, concurrency, seconds, 10)
        time.sleep(1)
        fault()
        return load.result()


def rolling_restart(cluster) -> None:
    """Each host in turn: a graceful stop (SIGTERM), started again, ready before the next."""
    for index in range(len(cluster.hosts)):
        cluster.restart(index).wait_ready()


def kill_one(cluster) -> None:
    """kill -9 of host 2's master and workers (its own process group); started again 3 s later."""
    os.killpg(cluster.hosts[1].process.pid, signal.SIGKILL)
    time.sleep(3)
    cluster.restart(1).wait_ready()


def table(rows: list[dict], concurrency: int) -> str:
    lines = [
        f"| `/api/predict`, concurrency {concurrency} | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['path']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="workers per host (4)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=int, default=5, help="whole seconds per measurement (5)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (3)")
    parser.add_argument("--class-size", type=int, default=300, help="Locust students; 0: none (300)")
    parser.add_argument("--class-seconds", type=int, default=60)
    args = parser.parse_args(argv)
    if not check_wrk():
        return 2
    body = request_bodies()["/api/predict"]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        print("starting a cluster of one host and one of three ...", flush=True)
        one = stack.enter_context(running_cluster(hosts=1, workers=args.workers))
        three = stack.enter_context(running_cluster(hosts=3, workers=args.workers))
        targets = {
            "direct to one host": one.hosts[0].url + "/api/predict",
            "nginx → one host": one.url + "/api/predict",
            "nginx → three hosts": three.url + "/api/predict",
        }
        body_path, lua = write_request(work, body)
        rows = measure(targets, body_path, lua, args)
        faults = {}
        for name, fault, seconds in (
            ("rolling restart of the 3 hosts", rolling_restart, 45),
            ("one host killed (kill -9), restarted 3 s later", kill_one, 20),
        ):
            print(f"{name}, under load ...", flush=True)
            result = under_load(
                targets["nginx → three hosts"],
                body_path,
                lua,
                args.concurrency,
                seconds,
                lambda f=fault: f(three),
            )
            faults[name] = {"requests": round(result["rps"] * seconds), "errors": result["errors"]}
        class_rows = []
        if args.class_size:
            print(
                f"{args.class_size} students for {args.class_seconds} s through nginx to 3 hosts ...",
                flush=True,
            )
            class_rows = run_locust(three.url, args.class_size, args.class_seconds, 30, work, processes=2)
    print("\n" + table(rows, args.concurrency))
    print("\n| through nginx to 3 hosts, under load | requests | failed |\n|---|---:|---:|")
    for name, fault in faults.items():
        print(f"| {name} | {fault['requests']} | {fault['errors']} |")
    if class_rows:
        print(f"\nA class of {args.class_size} through nginx to 3 hosts, {args.class_seconds} s:\n")
        print(class_table(class_rows))
    path = save("hosts", {"args": vars(args), "rows": rows, "faults": faults, "class": class_rows})
    print(f"\nwritten to {path}")
    failures = sum(int(r["Failure Count"]) for r in class_rows if r["Name"] == "Aggregated")
    errors = sum(r["errors"] for r in rows) + sum(f["errors"] for f in faults.values())
    return 1 if failures or errors else 0


if __name__ == "__main__":
    sys.exit(main())
