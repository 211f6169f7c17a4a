"""How much lab work may run at once: server-wide, and per client.

A lab workload holds a worker (or a thread) for up to LAB_MAX_MS. Unbounded, a
burst of them (the page can send 64; a script any number) queues in front of
every prediction. So a workload first takes a slot:

- server-wide, at most LAB_MAX_IN_FLIGHT at once (default: every worker thread
  of the server but one, so one is always free for predictions); the teacher's
  bursts, the demonstration, may use that one too (the page never sends more at
  once than this allows, so they cannot pile up);
- per client (its address), at most LAB_MAX_PER_CLIENT at once, except the
  teacher, whose bursts are the demonstration.

Beyond either, the answer is 429 with Retry-After: the page waits and sends
again, so its burst still completes. Slots are flock()s on small files in the
state folder: shared by every worker process, and released by the kernel if a
worker dies holding one.

The teacher's demonstration comes first. While a teacher's workload runs (and
for TEACHER_GRACE_S after, the gap between the requests of one burst), students'
lab work is refused (429, "the teacher is demonstrating"), and a teacher's
workload that finds every slot taken waits for one (students' workloads end
within LAB_MAX_MS) instead of being refused: three students looping lab work
cannot narrow the teacher's burst. Per host, like the slots.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from pathlib import Path

from flask import current_app, request

from ..errors import ApiError
from ..tracking import through_trusted_proxy

CLIENT_BUCKETS = 4096  # clients are hashed into this many sets of slot files: a bounded folder
TEACHER = "teacher"  # held (shared) by each teacher's workload; its mtime: the last one's start or end
TEACHER_GRACE_S = 0.5  # after the teacher's last workload, students still wait this long
SLOT_POLL_S = 0.005  # how often a teacher's workload looks for a free slot


def client_address() -> str:
    """The client's address: the socket's peer, or, through a trusted proxy, the one it names."""
    peer = request.remote_addr or ""
    if through_trusted_proxy():
        forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        return forwarded or peer
    return peer


def _take_one(folder: Path, name: str, count: int) -> int | None:
    """An open, locked file of ``name-0`` … ``name-(count-1)``; None if all are taken."""
    for k in range(count):
        fd = os.open(folder / f"{name}-{k}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            os.close(fd)
    return None


def _busy(message: str) -> ApiError:
    return ApiError("lab_busy", message, 429, retry_after=1)


def server_cap(teacher: bool) -> int:
    """Lab workloads the server runs at once for this client: one more for the teacher."""
    return current_app.config["LAB_MAX_IN_FLIGHT"] + (1 if teacher else 0)


def _teacher_mark(folder: Path) -> int:
    """The teacher's mark, held shared while a teacher's workload runs, and touched."""
    fd = os.open(folder / TEACHER, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)
    os.utime(fd)
    return fd


def teacher_demonstrating(folder: Path) -> bool:
    """True while a teacher's workload runs, or ran less than TEACHER_GRACE_S ago."""
    try:
        fd = os.open(folder / TEACHER, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    # Students look one at a time (a lock of their own, held for microseconds): two taking
    # the mark's exclusive lock at once would each think the other a teacher.
    turn = os.open(folder / f"{TEACHER}-look", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(turn, fcntl.LOCK_EX)
        if time.time() - os.fstat(fd).st_mtime < TEACHER_GRACE_S:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # a teacher's workload holds it
        return False
    finally:
        os.close(fd)  # and the locks with them
        os.close(turn)


def _wait_for_slot(folder: Path, cap: int, deadline_s: float) -> int | None:
    """A server slot for the teacher: students' workloads end within LAB_MAX_MS."""
    deadline = time.monotonic() + deadline_s
    while (fd := _take_one(folder, "server", cap)) is None and time.monotonic() < deadline:
        time.sleep(SLOT_POLL_S)
    return fd


@contextlib.contextmanager
def lab_slot(teacher: bool):
    """Hold a server-wide slot (and, for a student, one of the client's) for one workload."""
    config = current_app.config
    folder = Path(config["STATE_DIR"]) / "lab"
    folder.mkdir(mode=0o700, exist_ok=True)
    held = []
    try:
        if teacher:
            held.append(_teacher_mark(folder))  # first: from now on students wait
        else:
            bucket = int(hashlib.sha256(client_address().encode()).hexdigest(), 16) % CLIENT_BUCKETS
            fd = _take_one(folder, f"client-{bucket}", config["LAB_MAX_PER_CLIENT"])
            if fd is None:
                raise _busy(
                    f"You already have {config['LAB_MAX_PER_CLIENT']} lab workloads running; "
                    "the page sends the rest as they finish."
                )
            held.append(fd)
        cap = server_cap(teacher)
        if teacher:
            fd = _wait_for_slot(folder, cap, 2 * config["LAB_MAX_MS"] / 1000 + 1)
        else:
            fd = _take_one(folder, "server", cap)
        if fd is None:
            raise _busy(
                f"The server runs at most {cap} lab workloads at once, "
                "so that predictions always find a free worker; try again in a moment."
            )
        held.append(fd)
        # Checked with the slot held: a teacher's workload that marked itself since then
        # finds this slot taken and waits for it; one that marked itself before is seen here.
        if not teacher and teacher_demonstrating(folder):
            raise _busy(
                "The teacher is demonstrating: the teacher's lab work comes first. "
                "The page sends yours as soon as the teacher's burst is over."
            )
        yield
    finally:
        if teacher and held:
            os.utime(held[0])  # the grace for students counts from the end
        for fd in held:
            os.close(fd)  # closing the file releases its lock
