"""The server's state folder, which the gunicorn master and the app's workers both use.

One private folder per server (STATE_DIR): the request log, Prometheus' metric files, the checked
copy of the model, the pool's size and the locks every process of the server shares. Standard
library only: the master imports this package (serving/), and a worker inherits it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
import time
from pathlib import Path

PREFIX = "mnist-serving-"  # our own state folders in the temporary directory
OWNER = "server.json"  # in each: the master's pid and start time
POOL = "pool.json"  # in each: the worker processes the master keeps


class StateError(RuntimeError):
    """The state folder or the model cannot be used; the message says why and what to do."""


# -- the state folder ----------------------------------------------------------


def make_state_dir() -> Path:
    """A new private folder for this server: random name, mode 0700, ours."""
    return Path(tempfile.mkdtemp(prefix=PREFIX))


def check_state_dir(path: str | os.PathLike, setting: str = "STATE_DIR") -> Path:
    """A STATE_DIR the operator named: made 0700 if missing, else it must be ours and private.

    Another user who can write in it could replace the request log, the metric
    files or the control socket, or plant links that make the server write
    elsewhere.
    """
    path = Path(path)
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise StateError(f"{setting}={path} is not a folder (a link or a file): name a folder of your own.")
    if info.st_uid != os.geteuid():
        raise StateError(
            f"{setting}={path} belongs to uid {info.st_uid}, not to this server's user "
            f"({os.geteuid()}): name a folder of your own."
        )
    if info.st_mode & 0o077:
        raise StateError(
            f"{setting}={path} has mode {stat.S_IMODE(info.st_mode):o}: other users could read or change "
            f"the server's state. Run: chmod 700 {path}"
        )
    return path


# -- small files, written and read without following links ---------------------


def read_small(path: Path) -> bytes:
    """Up to 64 KB of a file, never through a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return f.read(65536)


def write_json(path: Path, value) -> None:
    """Replace path atomically with value as JSON (a new file, never through a link)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):  # left by a write this process did not finish
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


# -- the pool of workers ---------------------------------------------------------


@contextlib.contextmanager
def server_lock(state_dir: Path, name: str, on_wait=None):
    """Hold a lock shared by every process of this server (an flock, released if the holder
    dies); ``on_wait()`` is called first if another process holds it."""
    fd = os.open(state_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_pool(state_dir: Path, default: int) -> int:
    """The number of worker processes the master keeps (settings, TTIN/TTOU, reloads)."""
    try:
        return int(json.loads(read_small(state_dir / POOL))["workers"])
    except (OSError, ValueError, KeyError, TypeError):
        return default


def write_pool(state_dir: Path, workers: int) -> None:
    write_json(state_dir / POOL, {"workers": workers})


def wait_for_pool(state_dir: Path, workers: int, timeout: float) -> bool:
    """Wait until the master keeps ``workers`` processes; False if it did not within timeout."""
    deadline = time.monotonic() + timeout
    while read_pool(state_dir, -1) != workers:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# How the teacher's address is said in the log: at start by the master, again every
# TEACHER_ADDRESS_EVERY seconds by one worker (webapp/teacher.py). `make address` finds it.
TEACHER_LINE = "teacher's page (the lab's server controls need it): %s"


def teacher_address(bind: str, token: str) -> str:
    """The teacher's address on this machine, from gunicorn's BIND."""
    host, _, port = bind.rpartition(":")
    host = "localhost" if host in ("0.0.0.0", "::", "[::]", "") else host
    return f"http://{host}:{port}/?token={token}"
