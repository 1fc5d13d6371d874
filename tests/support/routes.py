"""A loopback HTTP server whose every path is a small Python function: for pathological pages.

Runs in a thread of the test process (fine for behaviour tests; benchmarks use a subprocess).
It logs every request path so tests can check what the crawler asked for.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    """What a route answers."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Route = Callable[[str], Reply]


def page(html: str, **kwargs: Any) -> Route:
    """A route that always answers ``html`` (UTF-8)."""
    reply = Reply(body=html.encode(), **kwargs)
    return lambda _path: reply


class RouteServer:
    """``with RouteServer({"/a": page("<p>hi</p>")}) as server: server.url("/a")``."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[str] = []
        self.request_times: list[tuple[float, str]] = []  # (time.monotonic(), path)
        # (path, headers with lower-case names), for tests of what the crawler sends
        self.request_headers: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def page_requests(self) -> list[str]:
        """Requested paths other than /robots.txt, in order."""
        return [path for path in self.requests if path != "/robots.txt"]

    def __enter__(self) -> RouteServer:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def reply_for(self, raw_path: str, headers: Mapping[str, str] | None = None) -> Reply:
        with self._lock:
            self.requests.append(raw_path)
            self.request_times.append((time.monotonic(), raw_path))
            lowered = {name.lower(): value for name, value in (headers or {}).items()}
            self.request_headers.append((raw_path, lowered))
        path = urlsplit(raw_path).path
        route = self.routes.get(raw_path) or self.routes.get(path)
        if route is None:
            return Reply(status=404, body=b"<h1>not found</h1>")
        return route(raw_path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, owner: RouteServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip the reverse DNS lookup

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-response are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        reply = server.owner.reply_for(self.path, self.headers)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
