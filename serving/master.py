"""What the gunicorn master does for the app, in its hooks (gunicorn.conf.py).

Standard library, psutil and prometheus_client only, no Flask, no model runtime: whatever
the master imports, every forked worker inherits, and a `kill -HUP` reload re-imports
only what the master never did (webapp/). The app never imports this module.

- The state folder (serving/state.py): the folders of dead servers cleaned at the next
  start, and who owns this one.
- The model: a copy of models/ checked in a separate process before any worker
  loads it, so a half-copied file plus `make reload` keeps the old model serving.
- A dead worker's metrics folded into one archive.
- The teacher's token, which the lab's server controls require.
"""

from __future__ import annotations

import json
import logging
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

from .state import OWNER, PREFIX, StateError, read_small, write_json

# The model in each runtime's file (webapp/model.py), and its calibration (optional).
MODEL_FILES = ("mnist_cnn.tflite", "mnist_cnn.keras", "mnist_cnn.npz", "calibration.json")
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
_STALE_AFTER = 60  # seconds a folder without an owner record is left alone (a server starting)


# -- the files of this server ---------------------------------------------------


def private_after_daemon(log) -> None:
    """--daemon (make start) set the umask to 022 after gunicorn.conf.py was read, and gunicorn's
    log files were opened with it: 0644, and the teacher's address goes in them. Ours again,
    before anything is written but gunicorn's first lines."""
    os.umask(0o077)
    for handler in (*log.error_log.handlers, *log.access_log.handlers):
        if isinstance(handler, logging.FileHandler):
            os.chmod(handler.baseFilename, 0o600)


# -- stale state folders ---------------------------------------------------------


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
        record = json.loads(read_small(owner))
        process = psutil.Process(int(record["pid"]))
        return abs(process.create_time() - float(record["started"])) < 1
    except FileNotFoundError:
        return time.time() - folder_mtime < _STALE_AFTER  # a server still starting
    except (psutil.Error, ValueError, KeyError, TypeError):
        return False


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
