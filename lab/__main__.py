"""Compare the serving modes from the command line: every MODE x every workload.

    .venv/bin/python -m lab                                   # the whole matrix (a few minutes): docs/lab/
    .venv/bin/python -m lab --modes single,processes --requests 40     # partial: a scratch folder
    .venv/bin/python -m lab --workloads python,io --no-pools --out /tmp/lab
    .venv/bin/python -m lab --pools-only --out /tmp/lab          # claim 3 only (about a minute)

For each mode it starts gunicorn on a free loopback port, waits until ready, warms
every worker up, fires the same fixed load, and measures throughput, p50/p95
latency, distinct PIDs and threads, and CPU utilisation (over 100 % = parallel).
Then the pools experiment (claims 3 and 4): two TensorFlow requests at once against
one alone, in threads under three sizes of TensorFlow's pools, and in two processes.
Prints a Markdown table and writes results.json, results.md, throughput.png and
pools.png to --out: by default docs/lab/ for the whole matrix (the guide's numbers), a
new scratch folder (printed) for a partial run, so a trial never overwrites them.
Every server it started is stopped, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from harness import freethreaded
from lab import matrix
from serving.config import MODES, ROOT
from webapp import machine as machine_cpu

DEFAULT_OUT = ROOT / "docs" / "lab"
NOTES = (
    "req/s: answered requests per second at the fixed load; x single: throughput over MODE=single's "
    "(for `tensorflow`, model images/s: each worker sizes its batch to take `--ms` alone, the batch "
    "column); p50/p95: latency seen by the client; call ms: median server time of the model call "
    "(predict) or of the work (lab); CPU %: the server's processes' CPU time over the wall time, "
    "100 % = one core busy; client CPU %: the load generator's, on the same cores; "
    "requests per PID: how the workers' race for accept() shared the load."
)


def _names(allowed) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} (got {text!r})")
        return names

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=".venv/bin/python -m lab", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=200, help="requests per mode and workload (200)")
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (8)")
    p.add_argument(
        "--modes",
        type=_names(MODES),
        default=",".join(matrix.MODE_ORDER),
        help="comma-separated MODEs (%(default)s)",
    )
    p.add_argument(
        "--workloads",
        type=_names(matrix.WORKLOADS),
        default=",".join(matrix.WORKLOADS),
        help="comma-separated workloads (%(default)s)",
    )
    p.add_argument("--ms", type=float, default=50, help="milliseconds of work per lab request, 1-200 (50)")
    p.add_argument(
        "--no-pools",
        dest="pools",
        action="store_false",
        help="skip the pools experiment (two TensorFlow requests at once vs one alone)",
    )
    p.add_argument("--pools-only", action="store_true", help="run only the pools experiment")
    p.add_argument(
        "--check",
        action="store_true",
        help="before the class: measure the cores other work leaves spare, say which claims can show now",
    )
    p.add_argument("--check-seconds", type=float, default=3, help="how long --check measures (3)")
    p.add_argument(
        "--pool-ms",
        type=float,
        default=100,
        help="ms of TensorFlow work per request in the pools experiment (100)",
    )
    p.add_argument(
        "--repeats", type=int, default=5, help="alone/together pairs per setup in the pools experiment (5)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the JSON, Markdown and PNGs go (default: docs/lab/ for the whole matrix, the "
        "guide's numbers; a new scratch folder for a partial run, which never overwrites them)",
    )
    return p


# What a run measures: any of these changed from its default makes it a partial run.
MEASURED = (
    "requests", "concurrency", "modes", "workloads", "ms", "pools", "pools_only", "pool_ms", "repeats",
)  # fmt: skip


def output_folder(args: argparse.Namespace) -> Path:
    """--out; else docs/lab/ for the whole matrix with its defaults (`make lab`: the shipped
    results the guide quotes), and a new scratch folder for anything less, said on stdout."""
    if args.out is not None:
        return args.out
    defaults = parser().parse_args([])
    partial = [name for name in MEASURED if getattr(args, name) != getattr(defaults, name)]
    if not partial:
        return DEFAULT_OUT
    scratch = Path(tempfile.mkdtemp(prefix="mnist-lab-"))
    print(
        f"a partial run ({', '.join('--' + n.replace('_', '-') for n in partial)}): results go to {scratch}; "
        f"{_shown(DEFAULT_OUT)}/ keeps the whole matrix's (--out {_shown(DEFAULT_OUT)} to replace them)",
        flush=True,
    )
    return scratch


def _shown(path: Path) -> str:
    """A path as the repository sees it: no machine's home folder in the committed JSON."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _interrupted(signum, _frame):
    # SIGTERM takes the same way out as Ctrl-C: through every finally that stops a server.
    raise KeyboardInterrupt(signal.Signals(signum).name)


_STARTED = time.monotonic()


def say(text: str) -> None:
    """A progress line, with the seconds since the command started."""
    print(f"{time.monotonic() - _STARTED:5.0f} s  {text}", flush=True)


def run(args: argparse.Namespace) -> dict:
    """The whole matrix (and the pools experiment): the results as one dict."""
    started = time.perf_counter()
    chosen = matrix.workloads(args.workloads, args.ms)
    results = {
        "command": shlex.join(["python", "-m", "lab", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": matrix.machine(),
        "settings": {k: (_shown(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rows": [],
        "pools": [],
    }
    say(
        f"lab: {len(args.modes)} mode(s) x {len(chosen)} workload(s), {args.requests} requests each "
        f"at concurrency {args.concurrency}; {results['machine']['cores']} cores "
        f"({results['machine']['cpu']}), load average {results['machine']['load_average'][0]}"
    )
    # One step a server: each mode, then each setup of the pools experiment (claims 3 and 4: two
    # TensorFlow requests at once vs one alone). How long the rest takes, at the pace so far, is
    # said before each step: a busy machine makes it minutes longer than the guide's figure.
    pool_setups = matrix.POOL_SETUPS if args.pools else ()
    steps = [("mode", mode) for mode in args.modes]
    # Threads without the GIL, beside threads: on the free-threaded Python of .venv-ft, if made.
    nogil = [w for w in chosen if w.name in matrix.NOGIL_WORKLOADS]
    if "threads" in args.modes and nogil:
        ft = freethreaded.venv_python()
        if ft:
            steps.append(("nogil", ft))
        else:
            say(f"{matrix.NOGIL}: skipped, no free-threaded Python with the server's packages")
    steps += [("pools", setup) for setup in pool_setups]
    with tempfile.TemporaryDirectory(prefix="mnist-lab-") as logs:
        for number, (kind, step) in enumerate(steps, 1):
            name = {"mode": step, "nogil": matrix.NOGIL}.get(kind, "pools")
            spare, left = spare_now(0.5), _left(started, number - 1, len(steps))
            say(f"[{number}/{len(steps)}] {name}: {spare:.1f} cores spare{left}")
            if kind == "mode":
                rows = matrix.run_mode(step, chosen, args.requests, args.concurrency, Path(logs), say)
                results["rows"] += rows
            elif kind == "nogil":
                results["rows"] += matrix.run_mode(
                    "threads", nogil, args.requests, args.concurrency, Path(logs), say, python=step
                )
            else:
                results["pools"] += matrix.pools(args.pool_ms, args.repeats, Path(logs), say, setups=(step,))
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_average_after"] = matrix.machine()["load_average"]
    return results


# (claim, what it needs to show): the claims about parallel work need a second free core.
CLAIMS = (
    ("claim 1: python work in processes reads ~200 % CPU, in threads ~100 %", True),
    ("claim 2: io work overlaps in threads", False),
    ("claim 3: TensorFlow with TF_INTER_OP=2 overlaps two calls in one process", True),
    ("claim 4: processes serve more than threads", True),
)


def spare_now(seconds: float) -> float:
    """Cores that other work leaves spare, over `seconds` of this machine (this process left out)."""
    busy, own = machine_cpu.busy_seconds(), time.process_time()
    time.sleep(seconds)
    return machine_cpu.spare(machine_cpu.busy_seconds() - busy - (time.process_time() - own), seconds)


def check(seconds: float) -> int:
    """Before the class: can each claim show on this machine now? One line a claim."""
    cores, load = machine_cpu.cores(), matrix.machine()["load_average"][0]
    spare = spare_now(seconds)
    print(f"this machine: {cores} cores, load average {load}; over {seconds:.0f} s, {spare:.1f} cores spare")
    busy = cores >= 2 and spare < machine_cpu.NEEDED_FOR_TWO
    for claim, needs_cores in CLAIMS:
        if cores < 2 and needs_cores:
            verdict = "cannot show: one core"
        elif needs_cores and busy:
            verdict = f"cannot show now: it needs a second free core, other work holds {cores - spare:.1f}"
        else:
            verdict = "can show"
        print(f"  {claim}: {verdict}")
    if busy:
        print("Wait until the other work stops (top shows what it is), or teach from the guide's figures.")
    return 0


def _left(started: float, done: int, steps: int) -> str:
    """', about N s left' at the pace of the steps done so far (nothing before the first)."""
    if not done:
        return ""
    left = (time.perf_counter() - started) / done * (steps - done)
    return f", about {left:.0f} s left at the pace so far"


def write(results: dict, out: Path) -> list[Path]:
    """results.json, results.md, throughput.png (and pools.png) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    m = results["machine"]
    where = f"{m['cores']} cores, {m['cpu']}; {results['date'][:10]}"
    written = [out / "results.json", out / "results.md"]
    written[0].write_text(json.dumps(results, indent=2) + "\n")
    markdown = [
        f"Measured with `{results['command']}` on {where} (load average {m['load_average'][0]} "
        f"before, {m['load_average_after'][0]} after; {results['seconds']:.0f} s).",
        "",
    ]
    if results["rows"]:
        written.append(matrix.chart(results["rows"], out / "throughput.png", where))
        markdown += [matrix.table(results["rows"]), "", NOTES, ""]
    if results["pools"]:
        written.append(matrix.pools_chart(results["pools"], out / "pools.png", where))
        markdown += [matrix.pools_table(results["pools"]), ""]
    written[1].write_text("\n".join(markdown))
    return written


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not 1 <= args.ms <= 200 or not 1 <= args.pool_ms <= 200:
        parser().error("--ms and --pool-ms must be 1-200 (the server's LAB_MAX_MS)")
    if args.requests < 1 or args.concurrency < 1 or args.repeats < 1:
        parser().error("--requests, --concurrency and --repeats must be at least 1")
    if args.pools_only:
        if not args.pools:
            parser().error("--pools-only and --no-pools leave nothing to run")
        args.modes = []
    if args.check:
        return check(args.check_seconds)
    args.out = output_folder(args)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        results = run(args)
    except KeyboardInterrupt:
        matrix.stop_all()
        print("\nlab: interrupted; every server it started is stopped", file=sys.stderr, flush=True)
        return 130
    finally:
        matrix.stop_all()
    written = write(results, args.out)
    print()
    print((args.out / "results.md").read_text())
    print("written: " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
