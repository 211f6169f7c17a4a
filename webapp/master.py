"""What the gunicorn master does for the app, without importing it.

gunicorn.conf.py loads this file by path: whatever the master imports, every
forked worker inherits, and a `kill -HUP` reload could then not pick up changed
app code. So: standard library and psutil only, no Flask, no model runtime.

- The state folder: private (0700, ours), unpredictable, checked when given,
  and the folders of dead servers cleaned at the next start.
- The model: a copy of models/ checked in a separate process before any worker
  loads it, so a half-copied file plus `make reload` keeps the old model serving.
- The pool: how many worker processes the master keeps (written whenever it
  changes), so the lab's add/remove buttons count that, not the workers that
  have registered, and wait for each change to be taken before the next.
- The teacher's token, which the lab's server controls require.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

PREFIX = "mnist-serving-"  # our own state folders in the temporary directory
OWNER = "server.json"  # in each: the master's pid and start time
POOL = "pool.json"  # in each: the worker processes the master keeps
# The model in each runtime's file (webapp/model.py), and its calibration (optional).
MODEL_FILES = ("mnist_cnn.tflite", "mnist_cnn.keras", "mnist_cnn.npz", "calibration.json")
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
_STALE_AFTER = 60  # seconds a folder without an owner record is left alone (a server starting)


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


def record_owner(state_dir: Path, pid: int) -> None:
    """Write who owns the folder, so a later start can tell whether it is stale."""
    started = psutil.Process(pid).create_time()
    write_json(state_dir / OWNER, {"pid": pid, "started": started})


def clean_stale(log, keep: Path | None = None) -> list[Path]:
    """Remove our state folders whose server is gone (killed -9, crashed, failed to start).

    Only folders named like ours, really folders (not links), owned by this
    user, whose recorded master is not running (a pid reused by another
    process does not count: its start time differs).
    """
    removed = []
    for path in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        if keep is not None and path == keep:
            continue
        try:
            info = os.lstat(path)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                continue
            if _alive(path / OWNER, info.st_mtime):
                continue
            shutil.rmtree(path)
            removed.append(path)
        except OSError as err:  # another server cleaning at the same time, or not ours to touch
            log.debug("left %s: %s", path, err)
    if removed:
        log.info("removed %d state folder(s) of servers that are gone", len(removed))
    return removed


def _alive(owner: Path, folder_mtime: float) -> bool:
    try:
        record = json.loads(_read_nofollow(owner))
        process = psutil.Process(int(record["pid"]))
        return abs(process.create_time() - float(record["started"])) < 1
    except FileNotFoundError:
        return time.time() - folder_mtime < _STALE_AFTER  # a server still starting
    except (psutil.Error, ValueError, KeyError, TypeError):
        return False


# -- small files, written and read without following links ---------------------


def _read_nofollow(path: Path) -> bytes:
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
        return int(json.loads(_read_nofollow(state_dir / POOL))["workers"])
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


# -- the model -----------------------------------------------------------------

# Run in a fresh interpreter: load the model the way a worker does and run it.
_CHECK = "import sys; from webapp.model import Model; Model(sys.argv[1], sys.argv[2]).load().warm_up()"


def snapshot_model(source: Path, state_dir: Path, runtime: str, root: Path) -> Path:
    """Copy the model files into a new folder of the state and check them there.

    Workers load the checked copy, never models/ itself: a file being copied
    in, or a damaged one, cannot reach them. Raises StateError (with the
    model's own complaint) if the copy does not load and answer.
    """
    snapshot = Path(tempfile.mkdtemp(prefix="model-", dir=state_dir))
    try:
        for name in MODEL_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, snapshot / name)
        result = subprocess.run(
            [sys.executable, "-c", _CHECK, runtime, str(snapshot)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    except (OSError, subprocess.SubprocessError) as err:
        shutil.rmtree(snapshot, ignore_errors=True)
        raise StateError(f"could not check the model in {source}: {err}") from err
    if result.returncode != 0:
        shutil.rmtree(snapshot, ignore_errors=True)
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise StateError(f"the model in {source} does not load ({runtime}): {lines[-1] if lines else '?'}")
    return snapshot


def drop_snapshots(state_dir: Path, keep: Path) -> None:
    """Remove the model copies of earlier reloads (their workers are gone or going)."""
    for old in state_dir.glob("model-*"):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


# -- the teacher's token -------------------------------------------------------


def fold_dead_worker(metrics_dir: Path, pid: int) -> None:
    """A dead worker's counters and histograms, added into one archive file of each kind, and
    its files removed (its live gauges are removed by prometheus_client's mark_process_dead).

    /metrics reads one file per worker that ever lived: 1,000 dead workers' files (recycled
    by MAX_REQUESTS, killed by the timeout, removed by the lab) made it 170 ms instead of 6.
    Now it reads the live workers' and two. Totals are kept: a counter never goes down.
    """
    from prometheus_client.mmap_dict import MmapedDict

    for kind in ("counter", "histogram"):
        dead = metrics_dir / f"{kind}_{pid}.db"
        try:
            values = list(MmapedDict.read_all_values_from_file(str(dead)))
        except FileNotFoundError:
            continue
        except Exception:  # noqa: BLE001 - damaged: left for the readers, who set it aside
            continue
        archive = MmapedDict(str(metrics_dir / f"{kind}_archive.db"))
        try:
            for key, value, timestamp, _ in values:
                archive.write_value(key, archive.read_value(key)[0] + value, timestamp)
        finally:
            archive.close()
        dead.unlink(missing_ok=True)


def teacher_token(given: str | None) -> str:
    """LAB_TOKEN if the operator set one (checked), else a new random one."""
    if given:
        if not TOKEN.fullmatch(given):
            raise StateError("LAB_TOKEN must be 16-128 letters, digits, '-' or '_'.")
        return given
    return secrets.token_urlsafe(24)


# How the teacher's address is said in the log: at start by the master, again every
# TEACHER_ADDRESS_EVERY seconds by one worker (webapp/teacher.py). `make address` finds it.
TEACHER_LINE = "teacher's page (the lab's server controls need it): %s"


def teacher_address(bind: str, token: str) -> str:
    """The teacher's address on this machine, from gunicorn's BIND."""
    host, _, port = bind.rpartition(":")
    host = "localhost" if host in ("0.0.0.0", "::", "[::]", "") else host
    return f"http://{host}:{port}/?token={token}"
