"""A private Docker daemon for the container image's test and benchmark, and its base image.

    from harness.docker import running_dockerd, ensure_base

    with running_dockerd() as docker:
        ensure_base(docker)  # debian:bookworm-slim: pulled, or made with debootstrap
        docker.stream("build", "--network", "host", "-t", "mnist-serving", ".")

The daemon is Debian's dockerd with its own data root, exec root and socket under
~/.cache/mnist-serving/docker (outside the clone, so layers stay cached between runs on one
machine), without a bridge or iptables rules: containers use ``--network host``. One at a time
per machine (a lock); run nice, as its vfs storage copies whole layers.

Where no registry is reachable, ``debian:bookworm-slim`` is made the way Debian's own is:
``debootstrap --variant=minbase bookworm``, slimmed (no docs, man pages, locales or package
lists) and ``docker import``-ed. Either way this test base also gets what this machine needs to
reach the package indexes: its trusted certificate authorities, its pip settings and its apt
proxy settings. Those go into the test's base image only, never into the Dockerfile.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mnist-serving"
DOCKER_CACHE = CACHE / "docker"
BASE_IMAGE = "debian:bookworm-slim"
RAW_BASE = "mnist-serving-test/bookworm-slim-raw"  # before this machine's settings are added
BASE_LABEL = "org.mnist-serving.test-base"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What Debian's slim images leave out (debuerreotype --slim), for the rootfs and later installs.
SLIM_DPKG = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
"""
_APT_CLEAN = (
    '"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin"'
)
SLIM_APT = f"""\
DPkg::Post-Invoke {{ {_APT_CLEAN}; }};
APT::Update::Post-Invoke {{ {_APT_CLEAN}; }};
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
"""
SLIM_REMOVE = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/groff")
# pip settings that say where packages come from and how to get there.
PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "proxy")
# apt settings this machine may need to reach Debian's archive (a proxy, an archive snapshot).
APT_KEYS = (
    "Acquire::http::Proxy",
    "Acquire::https::Proxy",
    "Acquire::Check-Valid-Until",
    "Acquire::Check-Date",
)

Say = Callable[[str], None]


class DockerUnavailable(Exception):
    """Docker cannot run on this machine (not Linux, not root, not installed, no daemon)."""


def find(name: str) -> str | None:
    """A program on the PATH or where Debian puts it (/usr/sbin is often not on a user's PATH)."""
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )


def find_cli() -> str | None:
    """The docker command of dockerd's own package (Debian: /usr/bin/docker beside /usr/sbin/dockerd):
    its BuildKit client matches the daemon's, where a newer command without its buildx plugin
    falls back to the legacy builder. Else whichever docker is on the PATH."""
    dockerd = find("dockerd")
    if dockerd:
        for folder in (Path(dockerd).parent, Path(dockerd).parent.parent / "bin"):
            if os.access(folder / "docker", os.X_OK):
                return str(folder / "docker")
    return find("docker")


def build_step(line: str) -> bool:
    """A line of `docker build` that starts a step (BuildKit's "#7 [app 2/3] COPY ...", the
    legacy builder's "Step 2/9 : ...") or says one failed."""
    return bool(re.match(r"#\d+ \[|Step \d+/\d+ :|ERROR|#\d+ ERROR", line))


def cannot_run() -> str | None:
    """Why a private dockerd cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "Docker's daemon runs on Linux only"
    if os.geteuid() != 0:
        return "a private dockerd needs root"
    if find("dockerd") is None or find_cli() is None:
        return "Docker is not installed (make docker installs Debian's docker.io)"
    return None


@dataclass
class Docker:
    """The docker command line, talking to one daemon."""

    binary: str
    socket: Path
    log_path: Path

    @property
    def env(self) -> dict:
        # BuildKit, as Docker 23 and later build by default.
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_BUILDKIT": "1"}

    def run(
        self, *args: str, check: bool = True, timeout: float = 120, **kwargs
    ) -> subprocess.CompletedProcess:
        """`docker args...`, its output captured as text; raises with that output if it fails."""
        result = subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True, timeout=timeout, **kwargs
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def stream(self, *args: str, say: Say = print, show: Callable[[str], bool] = bool, cwd=None) -> str:
        """`docker args...` with the lines ``show`` picks printed as they come; its whole output."""
        return _stream([self.binary, *args], say, show, env=self.env, cwd=cwd, what=f"docker {args[0]}")

    def has_image(self, name: str) -> bool:
        return self.run("image", "inspect", name, check=False).returncode == 0

    def label(self, image: str, name: str) -> str:
        return self.run(
            "image", "inspect", "-f", f'{{{{index .Config.Labels "{name}"}}}}', image
        ).stdout.strip()


def _stream(command: list[str], say: Say, show: Callable[[str], bool], what: str, **kwargs) -> str:
    """Run ``command``, printing the lines ``show`` picks and, in a quiet stretch, that it still runs."""
    started = last = time.monotonic()
    lines = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, **kwargs
    ) as process:
        for line in process.stdout:
            lines.append(line)
            now = time.monotonic()
            if show(line.rstrip()) or now - last > 20:
                say(f"  [{now - started:4.0f} s] {line.rstrip()[:150]}")
                last = now
    output = "".join(lines)
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed ({process.returncode}):\n{output[-6000:]}")
    return output


@contextlib.contextmanager
def running_dockerd(say: Say = print, timeout: float = 60) -> Iterator[Docker]:
    """Debian's dockerd on a socket of its own for a with-block (one per machine at a time)."""
    reason = cannot_run()
    if reason:
        raise DockerUnavailable(reason)
    DOCKER_CACHE.mkdir(parents=True, exist_ok=True)
    with open(DOCKER_CACHE / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for another run's private dockerd to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        docker = Docker(find_cli(), DOCKER_CACHE / "docker.sock", DOCKER_CACHE / "dockerd.log")
        _stop_leftover(DOCKER_CACHE / "dockerd.pid")
        command = [
            find("dockerd"),
            "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs",
            "--data-root", str(DOCKER_CACHE / "data"), "--exec-root", str(DOCKER_CACHE / "exec"),
            "--host", f"unix://{docker.socket}", "--pidfile", str(DOCKER_CACHE / "dockerd.pid"),
        ]  # fmt: skip
        with open(docker.log_path, "w") as log:
            process = subprocess.Popen(
                ["nice", "-n", "10", *command], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            deadline = time.monotonic() + timeout
            while docker.run("version", check=False, timeout=10).returncode != 0:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = docker.log_path.read_text().strip().splitlines()[-3:]
                    raise DockerUnavailable(f"dockerd did not start: {' / '.join(tail)}")
                time.sleep(0.2)
            yield docker
        finally:
            process.terminate()  # dockerd stops its containers and its containerd
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            # dockerd leaves its network namespace mounted in the exec root: nothing stays mounted.
            netns = DOCKER_CACHE / "exec" / "netns" / "default"
            if os.path.ismount(netns):
                subprocess.run(["umount", str(netns)], check=False)


def _stop_leftover(pidfile: Path) -> None:
    """A dockerd of ours that a killed run left behind holds the data root: stop it."""
    try:
        pid = int(pidfile.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if str(DOCKER_CACHE / "data").encode() in cmdline:
        os.kill(pid, 15)
        for _ in range(300):
            if not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.1)


# -- the base image ------------------------------------------------------------------------


def ensure_base(docker: Docker, say: Say = print) -> str:
    """``debian:bookworm-slim`` with this machine's ways to the package indexes; how it came."""
    how = "cached"
    if not docker.has_image(RAW_BASE):
        how = _pull_or_make_raw(docker, say)
    files = host_settings()
    digest = hashlib.sha256(docker.run("image", "inspect", "-f", "{{.Id}}", RAW_BASE).stdout.encode())
    for name, content in sorted(files.items()):
        digest.update(name.encode() + b"\0" + content + b"\0")
    if docker.has_image(BASE_IMAGE) and docker.label(BASE_IMAGE, BASE_LABEL) == digest.hexdigest():
        return how
    say(f"adding this machine's package-index settings to the test's {BASE_IMAGE}: {', '.join(files)}")
    with tempfile.TemporaryDirectory(prefix="mnist-base-") as context:
        lines = [f"FROM {RAW_BASE}"]
        for index, (target, content) in enumerate(sorted(files.items())):
            Path(context, f"f{index}").write_bytes(content)
            lines.append(f"COPY f{index} {target}")
        lines.append(f"LABEL {BASE_LABEL}={digest.hexdigest()}")
        Path(context, "Dockerfile").write_text("\n".join(lines) + "\n")
        docker.run("build", "--network", "host", "-t", BASE_IMAGE, context, timeout=300)
    return how


def _pull_or_make_raw(docker: Docker, say: Say) -> str:
    say(f"{BASE_IMAGE} is not in the private dockerd yet: trying a registry")
    pulled = docker.run("pull", BASE_IMAGE, check=False, timeout=600)
    if pulled.returncode == 0:
        docker.run("tag", BASE_IMAGE, RAW_BASE)
        return "pulled"
    say(f"no registry reachable ({pulled.stderr.strip().splitlines()[-1][:120]}): making it with debootstrap")
    tarball = CACHE / "debootstrap" / "bookworm-slim.tar"
    how = "debootstrap (cached tarball)"
    if not tarball.exists():
        make_rootfs(tarball, say)
        how = "debootstrap"
    say(f"docker import {tarball} ({tarball.stat().st_size / 1e6:.0f} MB)")
    docker.run(
        "import", "--change", f"ENV PATH={DEFAULT_PATH}", "--change", 'CMD ["bash"]', str(tarball), RAW_BASE,
        timeout=600,
    )  # fmt: skip
    return how


def make_rootfs(tarball: Path, say: Say = print) -> None:
    """Debian bookworm as ``debian:bookworm-slim`` holds it, as a tarball for ``docker import``."""
    debootstrap = find("debootstrap")
    if debootstrap is None:
        raise DockerUnavailable("no registry is reachable and debootstrap is not installed (make docker)")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bookworm-", dir=tarball.parent) as work:
        rootfs = Path(work, "rootfs")
        say("debootstrap --variant=minbase bookworm (about a minute; cached after)")
        _stream(
            ["nice", "-n", "10", debootstrap, "--variant=minbase", "bookworm", str(rootfs)],
            say,
            # Its phases ("I: Installing core packages...", "I: Base system installed successfully."),
            # not each of its hundreds of packages.
            lambda line: line.endswith(("packages...", "base system...", "successfully.")),
            what="debootstrap",
        )
        for folder in SLIM_REMOVE:
            shutil.rmtree(rootfs / folder, ignore_errors=True)
            (rootfs / folder).mkdir()
        for folder in ("var/lib/apt/lists", "var/cache/apt", "var/log"):
            for path in (rootfs / folder).rglob("*"):
                if path.is_file() or path.is_symlink():
                    path.unlink()
        (rootfs / "etc/dpkg/dpkg.cfg.d/docker").write_text(SLIM_DPKG)
        (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(SLIM_APT)
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", f"{tarball}.part", "."], check=True
        )
        os.replace(f"{tarball}.part", tarball)


def host_settings() -> dict[str, bytes]:
    """Files for the test base image: this machine's CAs, pip's and apt's ways to their indexes."""
    files = {}
    pip = _pip_settings()
    ca = pip.pop("cert", None) or ssl.get_default_verify_paths().cafile
    lines = ["[global]"]
    if ca and Path(ca).is_file():
        # Beside, not in, /etc/ssl/certs: installing ca-certificates in a build rewrites that one.
        files["/etc/ssl/host-ca.pem"] = Path(ca).read_bytes()
        lines.append("cert = /etc/ssl/host-ca.pem")
    lines += [f"{key} = {value}" for key, value in pip.items()]
    files["/etc/pip.conf"] = ("\n".join(lines) + "\n").encode()
    apt = _apt_settings()
    if apt:
        files["/etc/apt/apt.conf.d/99host"] = apt.encode()
    return files


def _pip_settings() -> dict[str, str]:
    """pip's settings here (files and PIP_* variables) that name where packages come from."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    settings = {}
    for line in listed.splitlines():
        name, _, value = line.partition("=")
        key = name.rpartition(".")[2]
        with contextlib.suppress(ValueError, SyntaxError):
            value = ast.literal_eval(value)
        if key == "cert":
            settings[key] = value
        elif key in PIP_KEYS:
            # Only what a container can reach too: not this machine's own folders (file://).
            kept = [v for v in value.split() if not v.startswith("file:") and not v.startswith("/")]
            if kept:
                settings[key] = " ".join(kept)
    return settings


def _apt_settings() -> str:
    if find("apt-config") is None:
        return ""
    dumped = subprocess.run([find("apt-config"), "dump"], capture_output=True, text=True, check=False).stdout
    return "".join(line + "\n" for line in dumped.splitlines() if line.split(" ", 1)[0] in APT_KEYS)
