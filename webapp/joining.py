"""How a class reaches the page: its address on the local network, and that address as a QR code.

The teacher opens /class on the projector, often as http://localhost:2431/class;
students' phones need the machine's address on the network instead. In order:
PUBLIC_URL if set (behind nginx or an ingress, a name the teacher chose); the
address the teacher's browser used, unless it is a loopback one; this machine's
address on the network it routes through, with the port the teacher used.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

import segno
from flask import current_app, request

from .tracking import through_trusted_proxy

# Any address outside this machine: connect() on a UDP socket only picks the route
# (and so the local address) to it; no packet is sent.
_ROUTE_PROBE = ("10.254.254.254", 9)
# A host as a proxy may name it: a name or IPv4 address, or [IPv6], and a port.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class Address:
    url: str
    problem: str | None  # why students may not reach it, for the teacher


def page_address() -> Address:
    """The page's address for students, and what may stop them reaching it."""
    config = current_app.config
    if config["PUBLIC_URL"]:
        return Address(config["PUBLIC_URL"], None)
    scheme, netloc, proxied = origin()
    # Behind a proxy the browser reached the proxy (nginx listens for the class), not BIND.
    problem = None if proxied else _bind_problem(config["BIND"])
    host, _, port = netloc.rpartition(":") if _has_port(netloc) else (netloc, "", "")
    suffix = f":{port}" if port else ""
    if not _is_loopback(host):
        return Address(f"{scheme}://{netloc}/", problem)
    here = network_address()
    if here is None:
        return Address(
            f"{scheme}://{netloc}/",
            "This machine has no address on a network: phones cannot reach it. Connect it to the "
            "class's network, or set PUBLIC_URL.",
        )
    return Address(f"{scheme}://{here}{suffix}/", problem)


def origin() -> tuple[str, str, bool]:
    """(scheme, host[:port], through a proxy) as the browser reached this page: from a trusted
    proxy (tracking.through_trusted_proxy), its X-Forwarded-Host (nginx: the Host the browser
    sent, with its port) and X-Forwarded-Proto; from anyone else, the request's own Host and scheme."""
    if through_trusted_proxy():
        host = request.headers.get("X-Forwarded-Host", "").rsplit(",", 1)[-1].strip()
        proto = request.headers.get("X-Forwarded-Proto", "").rsplit(",", 1)[-1].strip().lower()
        if _HOST.fullmatch(host):
            return (proto if proto in ("http", "https") else request.scheme), host, True
    return request.scheme, request.host, False


def network_address() -> str | None:
    """This machine's IPv4 address on the network it routes through; None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE)
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if _is_loopback(address) else address


def qr_svg(url: str) -> str:
    """The address as an SVG QR code: medium error correction (a projector's glare), the
    standard quiet zone of 4 modules around it (phones find the code by it)."""
    return segno.make(url, error="m").svg_inline(
        scale=10, border=4, omitsize=True, dark="#1a1d24", light="#ffffff"
    )


def _has_port(host: str) -> bool:
    return host.rfind(":") > host.rfind("]")  # "[::1]:2431" has one, "[::1]" has none


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind_problem(bind: str) -> str | None:
    host = bind.rpartition(":")[0] if ":" in bind else bind
    if _is_loopback(host):
        return f"The server listens on BIND={bind}, this machine only: start it with BIND=0.0.0.0:2431."
    return None
