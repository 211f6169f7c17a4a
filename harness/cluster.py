"""Several hosts on one machine, for a class or a test: a redis-server, three gunicorn
masters on their own loopback addresses (127.0.0.2-4, each its own HOST_NAME, all with
STORE at that Redis) and nginx in front of them (deploy/nginx-hosts.conf).

    python -m harness.cluster [--port 2431] [--hosts 3] [--workers 4]      (make cluster)

It prints what runs where and the teacher's address; Ctrl-C (or SIGTERM) stops all of
it and removes every folder it made. Tests use ``running_cluster()``:

    with running_cluster() as cluster:
        post_json(cluster.url + "/inference", body)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.launch import (
    NGINX_HOSTS_SITE,
    RedisServer,
    Server,
    free_port,
    running_nginx,
    running_redis,
    start,
    write_private,
)
from serving.config import shown_store

MAX_HOSTS = 3  # loopback addresses 127.0.0.2-4: they work on Linux without any set-up


@dataclass
class Cluster:
    """A running cluster: its Redis, its hosts (gunicorn masters) and nginx's address."""

    redis: RedisServer
    hosts: list[Server]
    url: str  # nginx: the page and the API of every host
    token: str  # the teacher's, the same on every host
    log_dir: Path
    _env: list[dict] = field(repr=False, default_factory=list)  # each host's settings, to restart it

    def name(self, index: int) -> str:
        """The HOST_NAME of host ``index``."""
        return self._env[index]["HOST_NAME"]

    def restart(self, index: int) -> Server:
        """Start host ``index`` again, on its address and port and with its name (after it died)."""
        old = self.hosts[index]
        old.stop()
        host, _, port = old.env["BIND"].rpartition(":")
        self.hosts[index] = start(host=host, port=int(port), log_dir=self.log_dir, **self._env[index])
        return self.hosts[index]

    def stop(self) -> None:
        """Stop every host: all told at once (SIGTERM), so their graceful stops overlap."""
        for server in self.hosts:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        for server in self.hosts:
            server.stop()


@contextlib.contextmanager
def running_cluster(
    hosts: int = MAX_HOSTS,
    workers: int = 4,
    port: int | None = None,
    listen: str = "127.0.0.1",
    host_port: int | None = None,
    log_dir: Path | None = None,
    **env: str,
) -> Iterator[Cluster]:
    """Redis, ``hosts`` gunicorn masters of ``workers`` workers each, and nginx on ``listen:port``
    (a free port unless given), all ready; everything stopped and removed after the block."""
    if not 1 <= hosts <= MAX_HOSTS:
        raise ValueError(f"1 to {MAX_HOSTS} hosts (127.0.0.2-{MAX_HOSTS + 1})")
    # An exported LAB_TOKEN is the teacher's on every host (the guide's curl commands send it).
    token = env.pop("LAB_TOKEN", None) or os.environ.get("LAB_TOKEN", "").strip() or secrets.token_urlsafe(24)
    logs = Path(log_dir or tempfile.mkdtemp(prefix="mnist-cluster-"))
    with contextlib.ExitStack() as stack:
        if log_dir is None:
            stack.callback(shutil.rmtree, logs, ignore_errors=True)
        # With a password: any local user reaches a loopback port (issue 23: one hostile entry).
        redis = stack.enter_context(running_redis(password=secrets.token_urlsafe(32)))
        # nginx proves itself to the hosts with a secret (PROXY_SECRET_FILE): any local user's
        # process reaches them from nginx's address, 127.0.0.1, and could claim any client's.
        proxy_secret = secrets.token_urlsafe(32)
        private = Path(tempfile.mkdtemp(prefix="mnist-cluster-secret-"))  # 0700
        stack.callback(shutil.rmtree, private, ignore_errors=True)
        secret_file = write_private(private / "proxy-secret", proxy_secret + "\n")
        cluster = Cluster(redis, [], "", token, logs)
        stack.callback(cluster.stop)
        for index in range(hosts):
            address = f"127.0.0.{index + 2}"
            settings = {
                "HOST_NAME": f"host-{index + 1}",
                "STORE": redis.url,
                "MODE": "processes",
                "WORKERS": str(workers),
                "TRUSTED_PROXIES": "127.0.0.1",  # nginx, which reaches the hosts from 127.0.0.1
                "PROXY_SECRET_FILE": str(secret_file),  # and sends this secret
                "LAB_TOKEN": token,
                **env,
            }
            cluster._env.append(settings)
            port_here = host_port or free_port(address)
            cluster.hosts.append(start(host=address, port=port_here, log_dir=logs, **settings))
        for server in cluster.hosts:
            server.wait_ready()
        upstreams = [server.env["BIND"] for server in cluster.hosts]
        cluster.url = stack.enter_context(
            running_nginx(upstreams, port, listen, NGINX_HOSTS_SITE, proxy_secret)
        )
        yield cluster


def watch_hosts(cluster: Cluster, every: float = 1.0) -> None:
    """Until Ctrl-C: say in the terminal when a host stops (its master exited), and when it
    is back (restarted on its address), so a dead host is never a silent one."""
    down: set[int] = set()
    while True:
        for index, server in enumerate(cluster.hosts):
            code = server.process.poll()
            said = f"{time.strftime('%H:%M:%S')}  {cluster.name(index)} ({server.url})"
            if code is not None and index not in down:
                down.add(index)
                print(
                    f"{said} is DOWN: its gunicorn master (pid {server.pid}) exited with code {code}; "
                    f"nginx sends its requests to the other hosts. Its log: {server.log_path}",
                    flush=True,
                )
            elif code is None and index in down:
                down.discard(index)
                print(f"{said} is back", flush=True)
        time.sleep(every)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=2431, help="nginx's port (default 2431)")
    parser.add_argument("--listen", default="0.0.0.0", help="nginx's address (default: every interface)")
    parser.add_argument(
        "--hosts", type=int, default=MAX_HOSTS, choices=range(1, MAX_HOSTS + 1), help="gunicorn masters"
    )
    parser.add_argument("--workers", type=int, default=4, help="worker processes per host (default 4)")
    parser.add_argument("--host-port", type=int, default=8000, help="each host's port on its address")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGHUP, _stop_on_sigterm)  # its terminal closed: stop it all, leave nothing
    print(f"starting redis-server, {args.hosts} hosts x {args.workers} workers and nginx ...", flush=True)
    try:
        with running_cluster(args.hosts, args.workers, args.port, args.listen, args.host_port) as cluster:
            redis = cluster.redis
            print(f"  redis-server  {redis.host}:{redis.port}  pid {redis.process.pid}")
            for index, server in enumerate(cluster.hosts):
                print(
                    f"  {cluster.name(index):<12}  {server.url}  gunicorn master pid {server.pid}, "
                    f"{args.workers} workers, STORE={shown_store(redis.url)} (password in {redis.folder}), "
                    f"log {server.log_path.name}"
                )
            print(f"  nginx         {cluster.url}  (deploy/nginx-hosts.conf) in front of all {args.hosts}")
            print(f"  logs in {cluster.log_dir}")
            machine = "localhost" if args.listen.startswith("127.") else socket.gethostname()
            print(f"\nthe page:        http://{machine}:{args.port}/")
            print(f"teacher's page:  http://{machine}:{args.port}/?token={cluster.token}")
            print("Ctrl-C stops everything.", flush=True)
            watch_hosts(cluster)
    except KeyboardInterrupt:
        print("\nstopped: redis-server, the hosts and nginx; their folders removed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
