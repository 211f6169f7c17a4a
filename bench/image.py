"""The container image's figures, measured here: size, build times, start to ready, stop.

    .venv/bin/python -m bench.image                # builds (cached, after an app change), size, 5 starts
    .venv/bin/python -m bench.image --cold         # and a build with no cache (packages downloaded again)
    .venv/bin/python -m bench.image --tensorflow   # and the image with TensorFlow (WITH_TENSORFLOW=1)

Against the tests' private dockerd (harness/docker.py: vfs storage, which copies every layer
whole, so builds here are slower than on a usual overlay2 Docker), with the debian:bookworm-slim
base made there. Each build is `docker build --network host -t mnist-serving .` of a copy of this
clone; "after an app change" edits webapp/__init__.py in that copy. Start to ready: from
`docker run` to the first 200 from /readyz; stop: `docker stop` to the container's exit.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from harness.docker import Docker, build_step, ensure_base, running_dockerd
from harness.launch import free_port, get_json

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "mnist-serving"
NOT_IN_CONTEXT = (".git", ".venv", "data", "test-results", "run", "__pycache__")


def build(docker: Docker, context: Path, *args: str) -> float:
    """Seconds `docker build` takes."""
    started = time.monotonic()
    docker.stream("build", "--network", "host", *args, ".", cwd=context, show=build_step)
    return time.monotonic() - started


def size_mb(docker: Docker, image: str) -> float:
    return json.loads(docker.run("image", "inspect", image).stdout)[0]["Size"] / 1e6


def started_at(docker: Docker, name: str) -> float:
    """When the container's process started (after its file system was made), as time.time()."""
    stamp = docker.run("inspect", "-f", "{{.State.StartedAt}}", name).stdout.strip()
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", stamp).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def start_and_stop(docker: Docker, image: str) -> tuple[float, float, float]:
    """Seconds from `docker run` to /readyz 200, from the process's start to it, and from
    `docker stop` to exited."""
    port = free_port()
    name = f"mnist-serving-bench-{port}"
    started = time.monotonic()
    docker.run("run", "-d", "--name", name, "--network", "host", "-e", f"BIND=127.0.0.1:{port}", image)
    try:
        while get_json(f"http://127.0.0.1:{port}/readyz", timeout=2)[0] != 200:
            if time.monotonic() - started > 120:
                raise RuntimeError(f"not ready in 120 s:\n{docker.run('logs', name).stderr[-3000:]}")
            time.sleep(0.05)
        ready, ready_at = time.monotonic() - started, time.time()
        stopping = time.monotonic()
        docker.run("stop", "-t", "30", name, timeout=60)
        return ready, ready_at - started_at(docker, name), time.monotonic() - stopping
    finally:
        docker.run("rm", "-f", name, check=False)


def spread(values: list[float]) -> str:
    return (
        f"{statistics.median(values):.1f} s (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5, help="containers started and stopped (default 5)")
    parser.add_argument("--cold", action="store_true", help="also build with --no-cache (minutes)")
    parser.add_argument(
        "--tensorflow", action="store_true", help="also build WITH_TENSORFLOW=1 (minutes, GBs)"
    )
    args = parser.parse_args()
    rows = []
    with running_dockerd() as docker, tempfile.TemporaryDirectory(prefix="mnist-image-") as tmp:
        ensure_base(docker)
        context = Path(tmp, "clone")
        shutil.copytree(ROOT, context, symlinks=True, ignore=shutil.ignore_patterns(*NOT_IN_CONTEXT))
        if args.cold:
            rows.append(
                (
                    "build, nothing cached (the base image present)",
                    f"{build(docker, context, '--no-cache', '-t', IMAGE):.0f} s",
                )
            )
        build(docker, context, "-t", IMAGE)  # whatever is not cached yet
        rows.append(("build, everything cached", f"{build(docker, context, '-t', IMAGE):.1f} s"))
        with open(context / "webapp" / "__init__.py", "a") as source:
            source.write(f"# changed {time.time()}\n")
        rows.append(
            ("build after an app change (packages cached)", f"{build(docker, context, '-t', IMAGE):.0f} s")
        )
        rows.append(("image size", f"{size_mb(docker, IMAGE):.0f} MB"))
        start_and_stop(docker, IMAGE)  # a first start pages the image in
        times = [start_and_stop(docker, IMAGE) for _ in range(args.starts)]
        rows.append(("`docker run` to /readyz 200", spread([ready for ready, _, _ in times])))
        rows.append(("of which gunicorn's start to /readyz 200", spread([server for _, server, _ in times])))
        rows.append(("`docker stop` to exited (SIGTERM, graceful)", spread([stop for _, _, stop in times])))
        if args.tensorflow:
            seconds = build(docker, context, "--build-arg", "WITH_TENSORFLOW=1", "-t", f"{IMAGE}:tensorflow")
            rows.append(
                ("build WITH_TENSORFLOW=1 (its packages downloaded, the rest cached)", f"{seconds:.0f} s")
            )
            rows.append(("image size WITH_TENSORFLOW=1", f"{size_mb(docker, IMAGE + ':tensorflow'):.0f} MB"))
    print("\n| mnist-serving image | measured |\n|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
