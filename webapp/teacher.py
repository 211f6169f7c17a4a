"""Who may control the server: the teacher, who holds the token printed at start.

Anyone on the network may draw and run lab workloads (capped, webapp/lab_api/limits.py);
only the teacher may add or remove worker processes. The gunicorn master makes a
token at start (or takes LAB_TOKEN) and prints the teacher's address,
``http://host:2431/?token=…``, as Jupyter does. Opening it stores the token in a
cookie for this site (HttpOnly, SameSite=Strict) and drops it from the address
bar; scripts send ``Authorization: Bearer <token>`` instead.
"""

from __future__ import annotations

import fcntl
import hmac
import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask, current_app, redirect, request

from serving import state

log = logging.getLogger(__name__)

COOKIE = "lab_token"
TOKEN_REFUSED = "token-refused"  # the page's fragment after /?token=<not this server's>


def token_given() -> str | None:
    """The token this request carries: its cookie, or an Authorization: Bearer header."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return request.cookies.get(COOKIE)


def _is_the_token(given: str | None) -> bool:
    token = current_app.config["LAB_TOKEN"]
    return bool(token and given) and hmac.compare_digest(given.encode(), token.encode())


def is_teacher() -> bool:
    """True if the request carries this server's token."""
    return _is_the_token(token_given())


def keep_token_from_url():
    """On a page opened as ``/?token=…``: a redirect that keeps the token in a cookie
    (if it is right) and shows the address without it; else None."""
    given = request.args.get("token")
    if given is None:
        return None
    if _is_the_token(given):
        response = redirect(request.path, 303)  # relative: never to another host
        response.set_cookie(COOKIE, given, httponly=True, samesite="Strict")
        return response
    # Not this server's token (it was restarted with a new one, or mistyped): the page says
    # so (the fragment never reaches a server or a log) instead of silently being a student's.
    return redirect(f"{request.path}#{TOKEN_REFUSED}", 303)


def token_refused() -> bool:
    """True if the request carries a token (a cookie of an earlier server) that is not this one's."""
    given = token_given()
    return given is not None and not _is_the_token(given)


def teacher_address() -> str:
    """The teacher's address, as this request reached the server (for the teacher's eyes only)."""
    from .joining import origin

    scheme, host, _ = origin()
    return f"{scheme}://{host}/?token={current_app.config['LAB_TOKEN']}"


def init_app(app: Flask) -> None:
    """Under gunicorn with the lab on: say the teacher's address again every
    TEACHER_ADDRESS_EVERY seconds (one worker of the server does, whichever holds a lock in
    the state folder; another takes over if it dies), so a class's terminal always has it."""
    config = app.config
    every = config["TEACHER_ADDRESS_EVERY"]
    if not (config["LAB"] and every and config["LAB_TOKEN"] and os.environ.get("GUNICORN_MASTER_PID")):
        return
    address = state.teacher_address(config["BIND"], config["LAB_TOKEN"])
    lock = Path(config["STATE_DIR"]) / "teacher-address.lock"
    threading.Thread(target=_say_again, args=(address, lock, every), name="address", daemon=True).start()


def _say_again(address: str, lock: Path, every: float) -> None:
    held = None  # this worker's lock, once it is the one that says it
    while True:
        time.sleep(every)
        if held is None:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # another worker says it
            held = fd
        log.info(state.TEACHER_LINE, address)
