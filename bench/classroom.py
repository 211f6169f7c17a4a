"""A class of 100 on one server: Locust, headless, for a bounded time; prints a table.

    python -m bench.classroom                       # 100 students, 60 s, MODE=processes
    python -m bench.classroom --users 30 --duration 30 --mode threads

Starts a real gunicorn on a free loopback port (or uses --host), draws the
students' digits in a headless Chromium canvas as the page does (see
bench/canvas.py), runs bench/locustfile.py, and prints requests/s, failures and
p50/p95/p99 per route.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.serving import save
from harness import launch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DRAWING_COUNT = 12  # different digits the class sends


def write_drawings(out: Path) -> Path:
    """The class's digits, drawn and encoded by Chromium's canvas, as a JSON list of data URLs."""
    from bench.canvas import browser_drawings
    from digits import dataset

    images, _ = dataset.load("test")
    path = out / "drawings.json"
    path.write_text(json.dumps(browser_drawings(list(images[:DRAWING_COUNT]))))
    return path


def run_locust(
    host: str, users: int, duration: int, spawn_rate: int, out: Path, processes: int = 1
) -> list[dict]:
    """Run Locust headless against host, in ``processes`` load-generating processes (one
    Python process tops out near 400 requests/s, and its own delays would count as the
    server's); return its per-route stats rows."""
    prefix = out / "locust"
    drawings = write_drawings(out)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "--processes",
            str(processes),
            "-u",
            str(users),
            "-r",
            str(spawn_rate),
            "-t",
            f"{duration}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--stop-timeout",
            "10",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CLASSROOM_DRAWINGS": str(drawings)},
        check=False,
        timeout=duration + 120,
    )
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def table(rows: list[dict]) -> str:
    lines = [
        "| route | requests | failures | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        name = "**all**" if r["Name"] == "Aggregated" else f"`{r['Type']} {r['Name']}`"
        lines.append(
            f"| {name} | {r['Request Count']} | {r['Failure Count']} | {float(r['Requests/s']):.1f} | "
            f"{r['50%']} | {r['95%']} | {r['99%']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (60)")
    parser.add_argument("--spawn-rate", type=int, default=20, help="students joining per second (20)")
    parser.add_argument("--mode", default="processes", help="MODE of the server started (processes)")
    parser.add_argument("--host", help="use this running server instead of starting one")
    parser.add_argument("--processes", type=int, default=1, help="Locust processes generating the load (1)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        try:
            if args.host:
                host = args.host
            else:
                print(f"starting gunicorn, MODE={args.mode} ...", flush=True)
                server = launch.start(MODE=args.mode, log_dir=Path(tmp))
                server.wait_ready()
                host = server.url
            print(f"{args.users} students for {args.duration} s against {host} ...", flush=True)
            rows = run_locust(host, args.users, args.duration, args.spawn_rate, Path(tmp), args.processes)
        finally:
            if server:
                server.stop()
    print("\n" + table(rows))
    print(f"\nwritten to {save('classroom', {'args': vars(args), 'rows': rows})}")
    failures = sum(int(r["Failure Count"]) for r in rows if r["Name"] == "Aggregated")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
