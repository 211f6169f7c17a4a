"""The container image: built from this clone and run here exactly as the README says.

`docker build -t mnist-serving .` then `docker run` of it, against a private dockerd
(harness/docker.py: its own data root under ~/.cache/mnist-serving, so layers are cached between
runs; no bridge, so `--network host` and BIND on a free loopback port). Where no registry is
reachable, the `debian:bookworm-slim` base is made with debootstrap (once, cached). Skipped, with
one line, only where Docker cannot run (not Linux, not root, not installed, no daemon).

Cold (nothing cached) this took under 6 minutes on 2 heavily loaded cores: the base 3, the build
1.5, the checks 1; with the cache about a minute. It prints progress as it goes.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness.docker import DockerUnavailable, build_step, ensure_base, running_dockerd
from harness.launch import free_port, get_json, post_json
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "mnist-serving"
USER = 10001  # the Dockerfile's, and deploy/k8s's runAsUser
MAX_IMAGE_MB = 800

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def say(request):
    """Print a progress line now, past pytest's capture: a person sees the long steps move."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(f"docker: {line}")

    return say


@pytest.fixture(scope="module")
def docker(say):
    """A private dockerd with `debian:bookworm-slim` in it; skipped where Docker cannot run."""
    try:
        with running_dockerd(say) as docker:
            say(f"base image {ensure_base(docker, say)}")
            yield docker
    except DockerUnavailable as err:
        pytest.skip(f"Docker cannot run here: {err}")


@pytest.fixture(scope="module")
def image(docker, say) -> str:
    """`docker build -t mnist-serving .` in this clone (`--network host`: there is no bridge)."""
    say("docker build -t mnist-serving . (a few minutes cold, seconds cached)")
    started = time.monotonic()
    docker.stream("build", "--network", "host", "-t", IMAGE, ".", cwd=ROOT, say=say, show=build_step)
    say(f"built in {time.monotonic() - started:.0f} s")
    # The cache keeps this build's layers and about one more, not every earlier build's (on vfs
    # each layer is a whole copy of the image under it).
    docker.run("image", "prune", "--force")
    docker.run("builder", "prune", "--force", "--keep-storage", "2GB")
    return IMAGE


@pytest.fixture(scope="module")
def container(docker, image, say):
    """`docker run` of the image, as a user runs it, on a free loopback port; ready (/readyz)."""
    stale = docker.run("ps", "--all", "--quiet", "--filter", "name=mnist-serving-test-").stdout.split()
    if stale:  # left by a run that was killed
        docker.run("rm", "--force", *stale)
    port = free_port()
    name = f"mnist-serving-test-{port}"
    started = time.monotonic()
    # Settings from the environment: its port, and lab work long enough to be in flight at a stop.
    settings = ["-e", f"BIND=127.0.0.1:{port}", "-e", "LAB_MAX_MS=5000"]
    docker.run("run", "-d", "--name", name, "--network", "host", *settings, image)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: get_json(url + "/readyz")[0] == 200, 120, "the container's /readyz")
        say(f"ready in {time.monotonic() - started:.1f} s")
        yield {"name": name, "url": url}
    finally:
        docker.run("rm", "-f", name, check=False)


def test_the_image_is_small_runs_as_its_user_and_holds_no_build_tools(docker, image, container):
    config = json.loads(docker.run("image", "inspect", image).stdout)[0]
    assert config["Size"] / 1e6 < MAX_IMAGE_MB, f"{config['Size'] / 1e6:.0f} MB"
    assert config["Config"]["User"] == f"{USER}:{USER}"
    assert config["Config"]["Cmd"] == ["gunicorn", "-c", "gunicorn.conf.py"]  # exec form: gunicorn is PID 1
    assert config["Config"]["Healthcheck"]["Test"] == ["CMD", "python", "healthcheck.py"]
    # Looked for as root in the running container (a new one costs a copy of the image on vfs).
    found = docker.run(
        "exec", "-u", "0", container["name"], "sh", "-c",
        # Compilers, pip, caches, package lists, downloaded packages: none of them.
        "for p in gcc cc c++ g++ clang make pip pip3; do command -v $p; done;"
        " find / -xdev \\( -name '*.whl' -o -name '*.deb' -o -path '*/.cache/pip' -o -name 'pip' -type d"
        " -o -path '/var/lib/apt/lists/*' -type f ! -name lock \\) -print 2>/dev/null;"
        " python -c 'import importlib.util as u; u.find_spec(\"tensorflow\") and print(\"tensorflow\")'",
    ).stdout.split()  # fmt: skip
    assert found == [], found


def test_it_predicts_a_7_by_both_apis(container, mnist_test):
    drawing = base64.b64encode((ROOT / "docs" / "digit.png").read_bytes()).decode()  # the README's 7
    status, body = post_json(container["url"] + "/api/predict", {"image": "data:image/png;base64," + drawing})
    assert status == 200 and json.loads(body)["digit"] == 7, body
    images, labels = mnist_test
    assert labels[0] == 7
    status, body = post_json(container["url"] + "/inference", {"images": images[0].tolist()})
    assert (status, body) == (200, b"7")  # the reference repo's answer: the digit, as text


def test_every_server_process_runs_as_the_images_user_not_root(docker, container):
    wait_for(  # 4 worker processes, as make run; /readyz answered as soon as one was
        lambda: get_json(container["url"] + "/api/workers")[1].get("workers", []), 60, "4 workers",
        until=lambda workers: len(workers) == 4,
    )  # fmt: skip
    # The container's PID 1, seen from here: gunicorn's master, its 4 workers below it.
    master = psutil.Process(int(docker.run("inspect", "-f", "{{.State.Pid}}", container["name"]).stdout))
    assert "gunicorn" in " ".join(master.cmdline()), master.cmdline()
    processes = [master, *master.children(recursive=True)]
    assert len(processes) >= 5
    assert {p.uids().real for p in processes} == {USER}, [(p.pid, p.uids()) for p in processes]


def test_docker_sees_it_healthy(docker, container):
    # HEALTHCHECK: every 10 s, deploy/healthcheck.py asks /readyz at BIND's address.
    health = wait_for(
        lambda: docker.run("inspect", "-f", "{{json .State.Health}}", container["name"]).stdout,
        45,
        "docker's health check to pass",
        until=lambda out: json.loads(out)["Status"] == "healthy",
        every=1,
    )
    assert json.loads(health)["Log"][-1]["ExitCode"] == 0


def test_the_labs_tensorflow_workload_says_why_it_is_not_there(container):
    status, body = post_json(container["url"] + "/api/lab/work", {"kind": "tensorflow", "ms": 10})
    error = json.loads(body)["error"]
    assert status == 409 and error["code"] == "tensorflow_missing", body
    assert "WITH_TENSORFLOW=1" in error["message"]
    status, _ = post_json(container["url"] + "/api/lab/work", {"kind": "python", "ms": 10})
    assert status == 200


def test_docker_stop_lets_the_request_in_flight_finish(docker, container):
    """Last: it stops the container. SIGTERM to gunicorn (PID 1), which finishes what it serves."""
    answers = []
    in_flight = threading.Thread(
        target=lambda: answers.append(
            post_json(container["url"] + "/api/lab/work", {"kind": "io", "ms": 2000}, timeout=30)
        )
    )
    in_flight.start()
    wait_for(  # a worker has it (and sleeps 2 s on it)
        lambda: any(w["busy"] for w in get_json(container["url"] + "/api/workers")[1].get("workers", [])),
        10,
        "the lab request on a worker",
    )
    docker.run("stop", "-t", "30", container["name"], timeout=60)
    in_flight.join(30)
    assert answers and answers[0][0] == 200, answers
    state = json.loads(docker.run("inspect", "-f", "{{json .State}}", container["name"]).stdout)
    logs = docker.run("logs", container["name"]).stderr
    assert state["ExitCode"] == 0 and not state["OOMKilled"], (state, logs[-3000:])
    assert "Handling signal: term" in logs and re.search(r"Shutting down: Master", logs), logs[-3000:]
