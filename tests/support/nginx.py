"""Debian's nginx as an HTTPS front speaking HTTP/2 on 127.0.0.1, passing every request to
a loopback backend; its config, logs and temporary files in a test's folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.daemons import free_port, start_listening, stop
from tests.support.tls import Pair

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    log_format protocols '$server_protocol $request_uri $connection $connection_requests';
    access_log {folder}/access.log protocols;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ proxy_pass {backend}; }}
    }}
}}
"""


class Nginx:
    """``with Nginx(tmp_path, pair, "http://127.0.0.1:PORT") as front: front.url("/")``."""

    def __init__(self, folder: Path, pair: Pair, backend: str) -> None:
        self.folder = folder
        self.port = free_port()
        self._config = CONFIG.format(
            folder=folder, port=self.port, cert=pair.cert, key=pair.key, backend=backend
        )
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def log(self) -> list[tuple[str, str, int, int]]:
        """(protocol, path, connection, request number on it) of every request served."""
        rows = []
        for line in (self.folder / "access.log").read_text().splitlines():
            protocol, path, connection, number = line.split()
            rows.append((protocol, path, int(connection), int(number)))
        return rows

    def __enter__(self) -> Nginx:
        config = self.folder / "nginx.conf"
        config.write_text(self._config)
        command = ["nginx", "-p", str(self.folder), "-c", str(config)]
        self._process = start_listening([*command, "-e", str(self.folder / "e.log")], self.port)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None
