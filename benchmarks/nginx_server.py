"""nginx serving a directory on a free 127.0.0.1 port, for the crawl benchmarks.

Started in its own session so Ctrl-C reaches the benchmark first; always stopped on the
way out (SIGTERM, then SIGKILL to the whole tree), also on errors and interrupts.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
from process_tree import kill_tree

NGINX_START_TIMEOUT_S = 10.0
NGINX_STOP_TIMEOUT_S = 5.0


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    types {{
        text/html html;
        text/css css;
        application/javascript js;
        text/plain txt;
        application/pdf pdf;
        text/csv csv;
        image/png png;
    }}
    default_type application/octet-stream;
    charset utf-8;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    keepalive_timeout 65s;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        index index.html;
    }}
}}
"""


class NginxError(RuntimeError):
    """nginx would not start or answer."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def nginx_serving(nginx: str, www: Path, tmp: Path) -> Iterator[tuple[str, psutil.Process]]:
    """nginx serving ``www`` on a free 127.0.0.1 port; yields (base URL, master process).

    Raises:
        NginxError: nginx exited or did not answer within NGINX_START_TIMEOUT_S.
    """
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read a 0700 temp dir
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, www=www))
    error_log = tmp / "error.log"
    command = [nginx, "-p", str(tmp), "-c", str(conf), "-e", str(error_log)]
    # Own session: Ctrl-C reaches the benchmark, which then stops nginx in its own time.
    server = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_answering(server, port, error_log)
        yield base_url, psutil.Process(server.pid)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(NGINX_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                kill_tree(psutil.Process(server.pid))
                server.wait()
        if server.stderr is not None:
            server.stderr.close()


def _wait_until_answering(server: subprocess.Popen[bytes], port: int, error_log: Path) -> None:
    deadline = time.monotonic() + NGINX_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode(errors="replace") if server.stderr else ""
            log = error_log.read_text(errors="replace") if error_log.exists() else ""
            raise NginxError(f"nginx exited with {server.returncode}: {(stderr or log).strip()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.05)
    raise NginxError(f"nginx did not answer on 127.0.0.1:{port} in {NGINX_START_TIMEOUT_S:g} s")
