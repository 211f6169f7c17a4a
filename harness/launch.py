"""Start a real gunicorn server of this app on a free loopback port, and stop it.

Used by the tests, the benchmarks and the lab command, and importable by other
teams' test suites:

    from harness.launch import running_server

    with running_server(MODE="threads") as server:
        requests.get(server.url + "/api/workers")
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from serving.config import PROXY_SECRET_HEADER

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5.0) -> tuple[int, dict]:
    """GET a JSON answer: (status, body); status 0 if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            return err.code, json.loads(err.read())
        except ValueError:
            return err.code, {}
    except (OSError, ValueError):
        return 0, {}


def post_json(url: str, body: dict, timeout: float = 10.0, token: str | None = None) -> tuple[int, bytes]:
    """POST a JSON body (as the teacher, with ``token``): (status, raw answer), 4xx/5xx included."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@dataclass
class Server:
    """A gunicorn master and its workers, started by ``start``."""

    process: subprocess.Popen
    url: str
    port: int
    env: dict
    log_path: Path
    state_dir: Path
    _log_file: object = field(repr=False, default=None)

    @property
    def token(self) -> str:
        """The teacher's token: the lab's server controls need it (webapp/teacher.py)."""
        return self.env["LAB_TOKEN"]

    @property
    def pid(self) -> int:
        """The gunicorn master's pid (send it HUP, TTIN, TTOU)."""
        return self.process.pid

    def workers(self) -> list[dict]:
        return get_json(self.url + "/api/workers")[1].get("workers", [])

    def wait_ready(self, workers: int | None = None, timeout: float = 60.0) -> list[dict]:
        """Wait until `workers` workers (default: as configured) are live and warm."""
        deadline = time.monotonic() + timeout
        want = workers
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            status, body = get_json(self.url + "/api/workers", timeout=2)
            if status == 200:
                want = want or body["settings"]["workers"]
                # Its own: with a shared store (STORE) the list holds every host's workers.
                host = body["settings"].get("host")
                live = [w for w in body["workers"] if w["ready"] and w.get("host", host) == host]
                if len(live) >= want:
                    return live
            time.sleep(0.1)
        raise TimeoutError(f"{want or '?'} workers not ready after {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-5000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the master (graceful), SIGKILL the group if it lingers; remove its state."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self._log_file:
            self._log_file.close()
        shutil.rmtree(self.state_dir, ignore_errors=True)  # the log too, unless log_dir was elsewhere


def start(
    host: str = "127.0.0.1",
    port: int | None = None,
    log_dir: Path | None = None,
    app: str | None = None,
    root: Path = ROOT,
    python: str = sys.executable,
    **env: str,
) -> Server:
    """Start gunicorn with gunicorn.conf.py and the given environment overrides.

    ``app`` serves another WSGI app (e.g. "bench.ceiling:app") under the same settings;
    ``root`` another checkout of the project (bench.speed --against); ``python`` another
    interpreter with gunicorn (the free-threaded one of .venv-ft: harness/freethreaded.py).
    """
    port = port or free_port(host)
    state_dir = Path(tempfile.mkdtemp(prefix="mnist-server-"))
    # Named after the host too: several hosts on one port (make cluster) each keep their own.
    log_path = Path(log_dir or state_dir) / f"gunicorn-{env.get('HOST_NAME') or host}-{port}.log"
    full_env = {
        **os.environ,
        "BIND": f"{host}:{port}",
        "STATE_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "LAB_TOKEN": secrets.token_urlsafe(24),
        **{k: str(v) for k, v in env.items()},
    }
    log_file = open(log_path, "w")  # noqa: SIM115 - closed in Server.stop
    process = subprocess.Popen(
        [python, "-m", "gunicorn", "-c", str(root / "gunicorn.conf.py"), *([app] if app else [])],
        cwd=root,
        env=full_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: cleaned up as one
    )
    return Server(process, f"http://{host}:{port}", port, full_env, log_path, state_dir, log_file)


@contextlib.contextmanager
def running_server(timeout: float = 60.0, **env: str) -> Iterator[Server]:
    """A started, ready server for the duration of a with-block; always stopped."""
    server = start(**env)
    try:
        server.wait_ready(timeout=timeout)
        yield server
    finally:
        server.stop()


def find_redis_server() -> str | None:
    """The redis-server binary (Debian's package puts it in /usr/bin)."""
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)), None
    )


@dataclass
class RedisServer:
    """A real redis-server on a loopback port, in a folder of its own, keeping nothing on disk."""

    host: str
    port: int
    folder: Path
    # Asked of every client (requirepass): other users of the machine reach a loopback port too.
    password: str | None = None
    process: subprocess.Popen | None = None
    _log_file: object = field(repr=False, default=None)

    @property
    def url(self) -> str:
        """What STORE takes (with the password, if there is one)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start it (again, on the same port) and wait until it accepts connections."""
        binary = find_redis_server()
        if binary is None:
            raise FileNotFoundError("redis-server is not installed (make redis)")
        self._log_file = open(self.folder / "redis.log", "a")  # noqa: SIM115 - closed in stop()
        # The password in a 0600 file of this private folder, not on the command line (ps shows it).
        conf = write_private(
            self.folder / "redis.conf", f"requirepass {self.password}\n" if self.password else ""
        )
        self.process = subprocess.Popen(
            [binary, str(conf), "--bind", self.host, "--port", str(self.port), "--dir", str(self.folder),
             "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=1):
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{(self.folder / 'redis.log').read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop it (its data is gone: nothing is saved)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused one cannot exit
            self.process.kill()
            self.process.wait(10)
        if self._log_file:
            self._log_file.close()

    def pause(self) -> None:
        """SIGSTOP: it accepts connections (the kernel does) but answers nothing, as a stuck Redis."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def running_redis(
    host: str = "127.0.0.1", port: int | None = None, password: str | None = None
) -> Iterator[RedisServer]:
    """A started redis-server (asking ``password`` of every client, if given) for the duration of a
    with-block; always stopped, its folder (private: mkdtemp) removed."""
    folder = Path(tempfile.mkdtemp(prefix="mnist-redis-"))
    redis_server = RedisServer(host, port or free_port(host), folder, password)
    try:
        yield redis_server.start()
    finally:
        redis_server.stop()
        shutil.rmtree(redis_server.folder, ignore_errors=True)


def _reachable_temp() -> str | None:
    """Where nginx's folder may be made: the temporary folder, unless nginx's workers could not
    reach into it (root's private TMPDIR, 0700, as CI systems and macOS give: every request
    through nginx was a 500); then /tmp, which everyone may traverse."""
    if os.geteuid() != 0 or os.stat(tempfile.gettempdir()).st_mode & 0o001:
        return None
    return "/tmp"


NGINX_SITE = ROOT / "deploy" / "nginx.conf"
NGINX_HOSTS_SITE = ROOT / "deploy" / "nginx-hosts.conf"


def find_nginx() -> str | None:
    """The nginx binary (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def write_private(path: Path, text: str) -> Path:
    """A new file of ``text`` that only its owner may read (0600), never written through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    return path


@contextlib.contextmanager
def running_nginx(
    upstreams: list[str],
    port: int | None = None,
    host: str = "127.0.0.1",
    site: Path = NGINX_SITE,
    proxy_secret: str | None = None,
) -> Iterator[str]:
    """Real nginx with a site file of deploy/ (nginx.conf: one host; nginx-hosts.conf: several)
    in front of ``upstreams`` ("127.0.0.1:port"), on a free loopback port, in a folder of its
    own; yields its URL and stops it after.

    The site file is used as shipped; only its upstream servers, its listen address, its
    cache's folder and the file it includes for the proxy's secret (PROXY_SECRET_FILE: the
    hosts believe its forwarded headers with it; a new random one unless given) are replaced.
    """
    binary = find_nginx()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (make nginx)")
    port = port or free_port(host)
    prefix = Path(tempfile.mkdtemp(prefix="mnist-nginx-", dir=_reachable_temp()))
    # Started as root, nginx's workers run as an unprivileged user: they must reach the temp
    # folders below (bodies over 16 KB are buffered there) without listing or reading the rest.
    prefix.chmod(0o711)
    text = site.read_text()
    servers = "".join(f"    server {upstream} max_fails=1 fail_timeout=5s;\n" for upstream in upstreams)
    text = re.sub(
        r"(upstream \w+ \{\n(?:    #[^\n]*\n)*)(?:    server [^\n]*\n)+", lambda m: m[1] + servers, text
    )
    text = re.sub(r"listen [^;]+;", f"listen {host}:{port};", text)
    text = re.sub(r"access_log \S+", f"access_log {prefix / 'access.log'}", text)
    text = re.sub(r"proxy_cache_path \S+", f"proxy_cache_path {prefix / 'cache'}", text)
    # Read by nginx's master alone (as root, its workers run as another user and never need it).
    secret = write_private(
        prefix / "proxy-secret.conf",
        f'proxy_set_header {PROXY_SECRET_HEADER} "{proxy_secret or secrets.token_urlsafe(32)}";\n',
    )
    text = re.sub(r"include \S*mnist-proxy-secret\.conf;", f"include {secret};", text)
    (prefix / "site.conf").write_text(text)
    for log in ("access.log", "error.log"):  # nginx keeps a log file's mode: for its user only
        os.close(os.open(prefix / log, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    temp = "".join(
        f"    {kind}_temp_path {prefix / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"daemon off;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} info;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n    access_log {prefix / 'access.log'};\n{temp}    include {prefix / 'site.conf'};\n}}\n"
    )
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start:\n{(prefix / 'error.log').read_text()[-3000:]}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        shutil.rmtree(prefix, ignore_errors=True)
