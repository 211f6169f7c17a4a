"""What gunicorn's workers write on the wire, changed in two ways: an answer's headers go with
the first bytes of its body, and gunicorn's own errors are the API's JSON.

gunicorn has no public way to make either change: its workers build each response through the
module's name ``wsgi.Response`` (``wsgi.create``'s ``response_class`` serves its HTTP/2 path
only), and write their own errors (a request line or header over the limits, a bad request)
with ``util.write_error``. So each worker sets both names once, as it starts (install(), called
by the worker classes of serving/deadlines.py). tests/unit/test_framework_pins.py checks that
the installed gunicorn still builds and writes through them.
"""

from __future__ import annotations

import json

from gunicorn import util
from gunicorn.http import wsgi


class WholeResponse(wsgi.Response):
    """gunicorn's response, its headers sent in one write with the body's first bytes.

    gunicorn writes the headers, then the body: a worker killed between the two writes (kill -9
    under load, 1 in ~5,000 answers through nginx) left nginx holding the headers of an answer
    whose body never came. nginx had already passed them on, so it could neither resend the
    request to another host nor answer for it: the client got a cut answer. In one write, the
    answer is either all in the kernel's socket buffer or not begun (and nginx resends it).
    """

    _head = b""

    def send_headers(self):
        if self.headers_sent:
            return
        head = self.default_headers() + [f"{name}: {value}\r\n" for name, value in self.headers]
        self._head = ("".join(head) + "\r\n").encode("latin-1")
        self.headers_sent = True  # kept until the body's first bytes (or close)

    def _flush_head(self):
        if self._head:
            head, self._head = self._head, b""
            util.write(self.sock, head)

    def _emit_body(self, data):  # gunicorn's place for a subclass to frame the body (its docstring)
        if self._head and not self.chunked:
            head, self._head = self._head, b""
            util.write(self.sock, head + data)
        else:
            self._flush_head()
            super()._emit_body(data)

    def close(self):
        self.send_headers()
        self._flush_head()  # an answer without a body (HEAD, 204, 304)
        super().close()


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answer (a request it refused before the app saw it) as the same
    JSON error as every other, with the same security headers."""
    from webapp.security import HEADERS  # in a worker, where the app is loaded

    code = reason.lower().replace(" ", "_")
    body = json.dumps({"error": {"code": code, "message": f"{reason}: {mesg}"}}).encode()
    headers = "".join(f"{name}: {value}\r\n" for name, value in HEADERS.headers.items())
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n{headers}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin1") + body)


def install() -> None:
    """This worker's responses are WholeResponses, and its own errors JSON."""
    wsgi.Response = WholeResponse
    util.write_error = write_json_error
