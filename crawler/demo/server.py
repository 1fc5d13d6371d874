"""Serving a `SyntheticSite` on 127.0.0.1 from a subprocess, for the demo, tests and benchmarks.

Owns the server process's life (start, readiness, stop); the pages come from `crawler.demo.site`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from crawler.demo.site import SyntheticSite

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess
    from types import TracebackType


class SiteServer:
    """Serves a `SyntheticSite` over HTTP/1.1 (keep-alive) on 127.0.0.1 from a subprocess.

    A subprocess, not a thread: a server thread would compete with the crawler's event
    loop for the GIL and distort measurements. The child is started with "spawn", so a
    script using this needs an `if __name__ == "__main__":` guard.
    """

    def __init__(
        self,
        site: SyntheticSite,
        delay_s: float = 0.0,
        *,
        prerender: bool = True,
        start_timeout_s: float = 10.0,
    ) -> None:
        """Configure the server; `start()` or `with` runs it.

        Args:
            site: the site to serve; the child rebuilds it from its `pages` and `seed`.
            delay_s: sleep before every response, for tests that need slow pages.
            prerender: render all pages before accepting requests, so render time never
                shows up in crawl measurements.
            start_timeout_s: how long to wait for the child to accept connections.
        """
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s}")
        self.site = site
        self.delay_s = delay_s
        self._prerender = prerender
        self._start_timeout_s = start_timeout_s
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The port the server listens on; RuntimeError when not running."""
        if self._port is None:
            raise RuntimeError("SiteServer is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server process id while running (for CPU measurements), else None."""
        return self._process.pid if self._process is not None else None

    def url(self, path: str) -> str:
        """The absolute URL of a site path."""
        return self.base_url + path

    def start(self) -> None:
        """Start the child and wait until it accepts connections.

        Raises:
            RuntimeError: if already started, or the child fails or times out starting.
        """
        if self._process is not None:
            raise RuntimeError("SiteServer is already running")
        context = multiprocessing.get_context("spawn")
        parent_conn, child_conn = context.Pipe()
        args = (self.site.pages, self.site.seed, self.delay_s, self._prerender, child_conn)
        process = context.Process(target=_serve, args=args, name="parcrawl-demo-site", daemon=True)
        self._process, self._conn = process, parent_conn
        try:
            process.start()
            # The parent's copy of the child's end must go, or a dead child never shows as EOF.
            child_conn.close()
            deadline = time.monotonic() + self._start_timeout_s
            self._port = _await_port(parent_conn, deadline, self._start_timeout_s)
            _await_accepting(self._port, deadline, self._start_timeout_s)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the child and reap it, killing it if it does not exit; safe to call twice."""
        process, conn = self._process, self._conn
        self._process, self._conn, self._port = None, None, None
        if conn is not None:
            with contextlib.suppress(OSError):  # the child may already be gone
                conn.send("stop")
            conn.close()
        if process is None or process.pid is None:
            return
        process.join(3.0)
        if process.is_alive():
            process.terminate()
            process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join()
        process.close()

    def __enter__(self) -> SiteServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _SiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs when a crawler opens 100 connections at once.
    request_queue_size = 1024

    def __init__(self, site: SyntheticSite, delay_s: float) -> None:
        self.site = site
        self.delay_s = delay_s
        super().__init__(("127.0.0.1", 0), _SiteRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup of the host, which can stall.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response is routine (crawler timeouts, cancelled tests).
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _SiteRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "parcrawl-demo/1.0"
    # Headers and body go out in separate writes; Nagle plus delayed ACK would add ~40 ms.
    disable_nagle_algorithm = True
    # Idle keep-alive connections would otherwise pin a thread forever.
    timeout = 30

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one stderr line per request would swamp test and benchmark output

    def _respond(self, *, send_body: bool) -> None:
        server = cast("_SiteHTTPServer", self.server)
        if server.delay_s > 0:
            time.sleep(server.delay_s)
        status, content_type, body = server.site.response(urlsplit(self.path).path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def _serve(pages: int, seed: int, delay_s: float, prerender: bool, conn: Connection) -> None:
    """Child process entry: build the site, report the port, serve until told to stop."""
    # Ctrl-C reaches the whole terminal group; the parent decides when the site stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        site = SyntheticSite(pages, seed)
        if prerender:
            site.render_all()
        server = _SiteHTTPServer(site, delay_s)
    except Exception as exc:  # reported to the parent, which raises RuntimeError
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        conn.close()
        return
    conn.send(("port", server.server_address[1]))
    watcher = threading.Thread(
        target=_watch_parent, args=(conn, server, os.getppid()), name="parent-watch", daemon=True
    )
    watcher.start()
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()


def _watch_parent(conn: Connection, server: _SiteHTTPServer, parent_pid: int) -> None:
    # A stop message, EOF or being re-parented (the parent died) all end the server.
    while os.getppid() == parent_pid:
        try:
            if conn.poll(0.2):
                conn.recv()
                break
        except (EOFError, OSError):
            break
    server.shutdown()


def _await_port(conn: Connection, deadline: float, timeout_s: float) -> int:
    while time.monotonic() < deadline:
        try:
            if not conn.poll(0.05):
                continue
            kind, value = conn.recv()
        except (EOFError, OSError):
            raise RuntimeError(
                "demo site server process exited before reporting its port "
                "(see its traceback on stderr)"
            ) from None
        if kind == "port":
            return int(value)
        raise RuntimeError(f"demo site server failed to start: {value}")
    raise RuntimeError(f"demo site server did not report its port within {timeout_s} s")


def _await_accepting(port: int, deadline: float, timeout_s: float) -> None:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"demo site server on port {port} did not accept connections "
                    f"within {timeout_s} s"
                ) from exc
            time.sleep(0.02)
