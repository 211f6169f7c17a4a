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
"""

from __future__ import annotations

import os
import socket
import threading
import time

from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from . import wire


class _Deadlines:
    """Mixin: the sockets being served, each with its deadline, and the watchdog."""

    request_timeout = float(os.environ.get("REQUEST_TIMEOUT", "").strip() or 10)

    def init_process(self):
        wire.install()
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


def _gevent_worker():
    """gunicorn's gevent worker (greenlets on one thread), with request deadlines.

    Its headers are read within gunicorn's keepalive (2 s: gevent's own timeout_ctx); here each
    request, from its body to the end of its answer, has REQUEST_TIMEOUT, a gevent.Timeout raised
    in its greenlet wherever it waits. Without it, worker_connections half-sent bodies held every
    connection for good (100 of them: nothing else was answered). A greenlet that computes is
    not interrupted (it yields nowhere): what computes blocks the loop, as the lab shows.
    Imported only for MODE=async: gevent is not imported by the other modes.
    """
    import gevent
    from gunicorn.workers.ggevent import GeventWorker

    class DeadlineGeventWorker(GeventWorker):
        request_timeout = _Deadlines.request_timeout

        def init_process(self):
            wire.install()
            super().init_process()

        def handle_request(self, listener_name, req, sock, addr):
            deadline = gevent.Timeout(self.request_timeout)
            deadline.start()
            try:
                return super().handle_request(listener_name, req, sock, addr)
            except gevent.Timeout as err:
                if err is not deadline:
                    raise
                self.log.info(
                    "closed a connection from a client that took over %g s (REQUEST_TIMEOUT)",
                    self.request_timeout,
                )
                raise StopIteration from None  # gunicorn's "close this connection"
            finally:
                deadline.close()

    return DeadlineGeventWorker


def worker_class(name: str):
    """gunicorn's worker class for a worker_class name of serving/config.py: ours, with request
    deadlines, for each of sync, gthread and gevent."""
    if name == "gevent":
        return _gevent_worker()
    return {"sync": DeadlineSyncWorker, "gthread": DeadlineThreadWorker}.get(name, name)
