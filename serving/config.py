"""Settings from the environment, read once: by gunicorn.conf.py and by create_app.

Both read the same variables through ``concurrency()``, so what the server runs
and what /api/workers reports cannot disagree.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import stat
import sys
import sysconfig
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mode:
    """A MODE preset: how gunicorn runs the app, and what follows from it.

    Code asks a mode's properties (can the lab add workers? do predictions share
    model calls?), never its name; the page (through /api/workers), the lab
    command and the benchmarks read these records. A new preset is a new record.
    """

    name: str
    workers: int  # worker processes
    threads: int  # threads per process (gunicorn's gthread worker when > 1)
    about: str  # what it is, for a person
    contrast: str  # the mode the page suggests trying next
    colour: str  # its colour in the lab's charts
    can_add_workers: bool  # the lab's buttons grow or shrink the pool (TTIN/TTOU)
    batches: bool = False  # one process's predictions share model calls
    greenlets: int = 0  # > 0: gevent's worker, this many requests at once on one thread

    def worker_class(self, threads: int) -> str:
        """gunicorn's worker class for this mode run with ``threads`` threads per process."""
        if self.greenlets:
            return "gevent"  # one event loop; a request yields it only while it waits
        return "gthread" if threads > 1 else "sync"  # sync: one request at a time

    def at_once(self, threads: int) -> int:
        """Requests one worker process serves at once."""
        return self.greenlets or threads


# In the order the lab shows them.
MODES = {
    mode.name: mode
    for mode in (
        Mode(
            name="single", workers=1, threads=1, about="one request at a time: the baseline",
            contrast="processes", colour="#8c8c8c", can_add_workers=True,
        ),
        Mode(
            name="threads", workers=1, threads=4, about="one process, four threads sharing one GIL",
            contrast="processes", colour="#dd8452", can_add_workers=False,
        ),
        Mode(
            name="processes", workers=4, threads=1, about="gunicorn -w 4, the reference blog's setup",
            contrast="threads", colour="#4c72b0", can_add_workers=True,
        ),
        Mode(
            name="hybrid", workers=2, threads=2, about="two processes of two threads",
            contrast="threads", colour="#55a868", can_add_workers=True,
        ),
        Mode(
            name="batched", workers=1, threads=8, about="one process; its predictions share model calls",
            contrast="processes", colour="#8172b3", can_add_workers=False, batches=True,
        ),
        Mode(
            name="async", workers=1, threads=1, greenlets=100,
            about="one process, one thread, many greenlets (gevent): requests take turns whenever one waits",
            contrast="threads", colour="#c44e52", can_add_workers=False,
        ),
    )
}  # fmt: skip
DEFAULT_MODE = "processes"
# Worker processes the lab's add/remove buttons keep the pool within.
MIN_WORKERS, MAX_WORKERS = 1, 8


def presets() -> dict:
    """The presets as /api/workers gives them to the page."""
    return {
        name: {
            "workers": mode.workers,
            "threads": mode.threads,
            "about": mode.about,
            "contrast": mode.contrast,
            "can_add_workers": mode.can_add_workers,
            "batches": mode.batches,
            "greenlets": mode.greenlets,
        }
        for name, mode in MODES.items()
    }


RUNTIMES = ("litert", "tensorflow", "numpy")
# The package each runtime needs, and MODE=async's. Python's free-threaded build (no GIL,
# FREE_THREADED=1) has numpy but neither LiteRT, TensorFlow, gevent nor orjson: there the
# server runs the model in numpy and answers JSON with the standard library.
NEEDS = {"litert": "ai_edge_litert", "tensorflow": "tensorflow", "numpy": "numpy", "async": "gevent"}


FREE_THREADED_BUILD = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))  # built --disable-gil


def importable(package: str) -> bool:
    """Whether this Python has `package` (the free-threaded build lacks some)."""
    return importlib.util.find_spec(package) is not None


def _available(name: str, choice: str) -> str:
    """`choice` (a MODE or RUNTIME), if this Python has the package it needs."""
    package = NEEDS.get(choice)
    if package and not importable(package):
        build = "free-threaded Python, which it has no build for" if FREE_THREADED_BUILD else "this Python"
        raise ConfigError(f"{name}={choice} needs {package}, not installed in {build} ({sys.executable})")
    return choice


def default_runtime() -> str:
    return "litert" if importable(NEEDS["litert"]) else "numpy"


class ConfigError(ValueError):
    """An environment variable has a value the server cannot use."""


def int_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole number from low to high (default if unset), else a ConfigError naming it."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r}: choose one of {', '.join(choices)}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: use 1 or 0")


_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def _host_name(env: Mapping[str, str]) -> str:
    """HOST_NAME, or this machine's name: it tells the answers of several hosts apart."""
    name = env.get("HOST_NAME", "").strip() or socket.gethostname()
    if not _HOST_NAME.fullmatch(name):
        raise ConfigError(
            f"HOST_NAME={name[:80]!r}: use 1-63 letters, digits, '.', '-' or '_', "
            "starting with a letter or digit"
        )
    return name


# How long one call to a shared store (STORE=redis://...) may take, to connect and to
# answer: a slower or absent Redis is "unavailable" for that call (webapp/redisstore.py).
STORE_TIMEOUT = 0.5


def _store(env: Mapping[str, str]) -> str | None:
    """STORE: unset (this server's state folder) or redis://host:port/db, normalized."""
    raw = env.get("STORE", "").strip()
    if not raw:
        return None
    problem = "use redis://host:port/db, e.g. redis://127.0.0.1:6379/0"
    try:
        url = urllib.parse.urlsplit(raw)
        port, db = url.port or 6379, int(url.path.strip("/") or 0)
    except ValueError:
        raise ConfigError(f"STORE={raw[:200]!r}: {problem}") from None
    if url.scheme != "redis" or not url.hostname or url.query or url.fragment or not 0 <= db <= 15:
        raise ConfigError(f"STORE={raw[:200]!r}: {problem}")
    auth = f"{url.username or ''}:{url.password}@" if url.password else ""
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return f"redis://{auth}{host}:{port}/{db}"


def shown_store(url: str) -> str:
    """STORE as logs and answers may show it: without a password."""
    return re.sub(r"//[^@/]*@", "//", url)


def store_client(url: str):
    """A client of the shared store whose every call takes at most STORE_TIMEOUT, once (no retries)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url, socket_timeout=STORE_TIMEOUT, socket_connect_timeout=STORE_TIMEOUT, retry=Retry(NoBackoff(), 0)
    )


def check_store(url: str | None) -> None:
    """At start: the shared store answers (within STORE_TIMEOUT), else a ConfigError."""
    if url is None:
        return
    import redis

    client = store_client(url)
    try:
        client.ping()
    except redis.RedisError as err:
        problem = f"Redis does not answer within {STORE_TIMEOUT} s ({err})"
        raise ConfigError(f"STORE={shown_store(url)}: {problem}") from None
    finally:
        client.close()


# What a trusted proxy sends to prove it is the proxy (PROXY_SECRET_FILE): nginx sets it on every
# request it passes on (deploy/), replacing any a client sent. Its value never leaves the server.
PROXY_SECRET_HEADER = "X-Proxy-Secret"
# 32+ characters of base64, hex or a URL-safe token: as hard to guess as LAB_TOKEN, and safe to
# write in an HTTP header and between quotes in nginx's configuration.
_PROXY_SECRET = re.compile(r"[A-Za-z0-9._~+/=-]{32,256}")


def _proxy_secret(env: Mapping[str, str]) -> bytes | None:
    """PROXY_SECRET_FILE's secret: a file of its owner's alone, of 32-256 safe characters."""
    path = env.get("PROXY_SECRET_FILE", "").strip()
    if not path:
        return None
    try:  # links followed (Kubernetes mounts secrets through them); a FIFO never blocks the start
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise ConfigError(f"PROXY_SECRET_FILE={path}: cannot read it ({err.strerror})") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"PROXY_SECRET_FILE={path} is not a file")
        if info.st_mode & 0o077:
            raise ConfigError(
                f"PROXY_SECRET_FILE={path} has mode {stat.S_IMODE(info.st_mode):o}: other users could read "
                f"the secret. Run: chmod 600 {path}"
            )
        secret = file.read(4096).strip()
    if not _PROXY_SECRET.fullmatch(secret.decode("latin-1")):
        raise ConfigError(
            f"PROXY_SECRET_FILE={path}: the secret must be 32-256 letters, digits or '._~+/=-' "
            f"(it has {len(secret)} characters); make one with: (umask 077; python3 -c "
            f"'import secrets; print(secrets.token_urlsafe(32))' > {path})"
        )
    return secret


def _public_url(env: Mapping[str, str]) -> str | None:
    url = env.get("PUBLIC_URL", "").strip()
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"PUBLIC_URL={url[:80]!r}: give the page's address, e.g. http://192.168.1.20:2431/")
    return url if url.endswith("/") else url + "/"


def concurrency(env: Mapping[str, str] = os.environ) -> dict:
    """MODE preset, overridden by WORKERS / THREADS: how gunicorn runs the app."""
    mode = MODES[_available("MODE", _choice(env, "MODE", DEFAULT_MODE, MODES))]
    workers = int_setting(env, "WORKERS", mode.workers, 1, 64)
    threads = int_setting(env, "THREADS", mode.threads, 1, 64)
    return {
        "mode": mode.name,
        "workers": workers,
        "threads": threads,
        "worker_class": mode.worker_class(threads),
        "at_once": mode.at_once(threads),
        "bind": env.get("BIND", "").strip() or "0.0.0.0:2431",
    }


def load(env: Mapping[str, str] = os.environ) -> dict:
    """Every app setting, with its default; names are the environment variables'."""
    shape = concurrency(env)
    model_dir = Path(env.get("MODEL_DIR", "").strip() or ROOT / "models")
    snapshot = env.get("MNIST_MODEL_SNAPSHOT", "").strip()
    settings = {
        **{key.upper(): value for key, value in shape.items()},
        # LiteRT where it is installed, else the same weights in numpy (free-threaded Python).
        "RUNTIME": _available("RUNTIME", _choice(env, "RUNTIME", default_runtime(), RUNTIMES)),
        "HOST_NAME": _host_name(env),
        # Where the request log and the worker list are kept: None, this server's
        # state folder; redis://host:port/db, one Redis shared by several hosts.
        "STORE": _store(env),
        "LAB": _flag(env, "LAB", True),
        "MODEL_DIR": model_dir,
        # What workers load: the copy of MODEL_DIR the gunicorn master checked
        # (serving/master.py), or MODEL_DIR itself outside gunicorn.
        "SERVED_MODEL_DIR": Path(snapshot) if snapshot else model_dir,
        # The lab's server controls (add/remove a worker) need this token; the
        # gunicorn master makes one at start unless it is set.
        "LAB_TOKEN": env.get("LAB_TOKEN", "").strip() or None,
        # Proxies whose X-Forwarded-For and X-Request-ID are believed (nginx in
        # front: 127.0.0.1); from anyone else these headers are ignored.
        "TRUSTED_PROXIES": frozenset(
            filter(None, (ip.strip() for ip in env.get("TRUSTED_PROXIES", "").split(",")))
        ),
        # If set, only from such a proxy that also sends this secret (PROXY_SECRET_HEADER): any
        # local process reaches the app from the proxy's own address, 127.0.0.1.
        "PROXY_SECRET": _proxy_secret(env),
        # Threads inside one model call: 1 by default, as each worker is one of several.
        "MODEL_THREADS": int_setting(env, "MODEL_THREADS", 1, 1, 64),
        # TensorFlow runtime only: its intra-op and inter-op thread pools (0 = TF's default).
        "TF_INTRA_OP": int_setting(env, "TF_INTRA_OP", 1, 0, 64),
        "TF_INTER_OP": int_setting(env, "TF_INTER_OP", 1, 0, 64),
        # A canvas PNG is 10-40 KB; a phone camera's 12 Mpx JPEG 3-5 MB (the page scales photos
        # down, curl does not): 8 MB leaves room for those, and no more.
        "MAX_CONTENT_LENGTH": int_setting(env, "MAX_BODY_BYTES", 8 * 1024 * 1024, 1024, 64 * 1024**2),
        # The most pixels an image's header may claim (and Pillow's decompression-bomb
        # guard). Each format's tighter limits, from its decoder's cost, are constants
        # in webapp/decode.py: the sides, PNG bytes, WebP pixels, progressive JPEGs.
        "MAX_IMAGE_PIXELS": int_setting(env, "MAX_IMAGE_PIXELS", 16_000_000, 1024, 178_956_970),
        # /api/requests keeps this many of the latest requests, of all workers.
        "REQUEST_LOG_SIZE": int_setting(env, "REQUEST_LOG_SIZE", 1000, 10, 100_000),
        "STATE_DIR": env.get("STATE_DIR", "").strip() or None,
        # The page's address for students (the class view's QR code), where the
        # server cannot know it: behind nginx or an ingress. Unset: found per request.
        "PUBLIC_URL": _public_url(env),
        # MODE=batched: the most images in one model call, and how long the
        # first waits for others (defaults chosen by bench/serving.py).
        "BATCH_MAX_SIZE": int_setting(env, "BATCH_MAX_SIZE", 16, 1, 1024),
        "BATCH_MAX_DELAY_MS": int_setting(env, "BATCH_MAX_DELAY_MS", 2, 0, 1000),
        # The lab's longest workload; raised only by tests of the worker timeout.
        "LAB_MAX_MS": int_setting(env, "LAB_MAX_MS", 200, 1, 600_000),
        # Lab workloads at once: server-wide (every worker thread but one, so a
        # prediction always finds one free; 8 at most), and per client but the teacher.
        "LAB_MAX_IN_FLIGHT": int_setting(
            env, "LAB_MAX_IN_FLIGHT", max(1, min(shape["workers"] * shape["at_once"] - 1, 8)), 1, 4096
        ),
        "LAB_MAX_PER_CLIENT": int_setting(env, "LAB_MAX_PER_CLIENT", 2, 1, 4096),
        # Seconds between two printings of the teacher's address in the server's log (0: only
        # at start), so it is in a class's terminal whenever the teacher looks.
        "TEACHER_ADDRESS_EVERY": int_setting(env, "TEACHER_ADDRESS_EVERY", 300, 0, 86_400),
        # Corrections (webapp/corrections.py): off unless a folder is named; at most this many,
        # and bytes (each keeps its 28x28 input, ~0.5 KB with its row: 10,000 of them ~5 MB);
        # per client address (the teacher exempt), at most this many, and this many a minute.
        "CORRECTIONS": env.get("CORRECTIONS", "").strip() or None,
        "CORRECTIONS_MAX_COUNT": int_setting(env, "CORRECTIONS_MAX_COUNT", 10_000, 1, 10_000_000),
        "CORRECTIONS_MAX_BYTES": int_setting(env, "CORRECTIONS_MAX_BYTES", 20 * 1024**2, 64 * 1024, 1024**4),
        "CORRECTIONS_PER_CLIENT": int_setting(env, "CORRECTIONS_PER_CLIENT", 50, 1, 10_000_000),
        "CORRECTIONS_PER_MINUTE": int_setting(env, "CORRECTIONS_PER_MINUTE", 10, 1, 100_000),
    }
    return settings
