"""gunicorn's sync and gthread workers, with a deadline on each request.

gunicorn reads a request from a blocking socket with no time limit: a client
that sends half a request and then waits holds a sync worker until the
master's heartbeat timeout kills it (30 s, then it reconnects), and a gthread
thread for ever. Here every connection being served has a deadline
(REQUEST_TIMEOUT from its start to the end of the answer); a watchdog thread
shuts down the sockets that pass it, which ends the blocked read at once, as
if the client had hung up. A request of this app takes milliseconds; the
deadline only ever meets clients that send (or read) too slowly.

This bounds what a slow client costs, not how many there can be: each holds a
worker (sync) or a thread (gthread) for up to REQUEST_TIMEOUT. A buffering
proxy (deploy/nginx.conf) removes the problem: it reads whole requests first.

Loaded by path from gunicorn.conf.py, like webapp/master.py: nothing of the
app is imported in the master.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker


class _Deadlines:
    """Mixin: the sockets being served, each with its deadline, and the watchdog."""

    request_timeout = float(os.environ.get("REQUEST_TIMEOUT", "").strip() or 10)

    def init_process(self):
        self._serving: dict[socket.socket, float] = {}
        threading.Thread(target=self._watch, name="deadlines", daemon=True).start()
        super().init_process()  # runs the worker; does not return

    def _serve(self, sock, handle, *args):
        self._serving[sock] = time.monotonic() + self.request_timeout
        try:
            return handle(*args)
        finally:
            self._serving.pop(sock, None)

    def _watch(self):
        tick = min(0.5, self.request_timeout / 4)
        while True:
            time.sleep(tick)
            now = time.monotonic()
            for sock, deadline in list(self._serving.items()):
                if now > deadline and self._serving.pop(sock, None) is not None:
                    self.log.info(
                        "closed a connection from a client that took over %g s (REQUEST_TIMEOUT)",
                        self.request_timeout,
                    )
                    try:
                        sock.shutdown(socket.SHUT_RDWR)  # the blocked recv() returns: the client "left"
                    except OSError:
                        pass  # closed meanwhile


class DeadlineSyncWorker(_Deadlines, SyncWorker):
    """gunicorn's sync worker (one request at a time), with request deadlines."""

    def handle(self, listener, client, addr):
        return self._serve(client, super().handle, listener, client, addr)


class DeadlineThreadWorker(_Deadlines, ThreadWorker):
    """gunicorn's gthread worker (a pool of threads), with request deadlines."""

    def handle(self, conn):
        return self._serve(conn.sock, super().handle, conn)


def worker_class(name: str):
    """gunicorn's worker class for a worker_class name of webapp/config.py: ours for sync
    and gthread; gevent's as it is (a slow client holds only a greenlet there)."""
    return {"sync": DeadlineSyncWorker, "gthread": DeadlineThreadWorker}.get(name, name)
