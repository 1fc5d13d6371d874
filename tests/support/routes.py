"""A loopback HTTP server whose every path is a small Python function: for pathological pages.

Runs in a thread of the test process (fine for behaviour tests; benchmarks use a subprocess).
It logs every request path so tests can check what the crawler asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crawler.testing import LoopbackServer, MockPage


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
    """``with RouteServer({"/a": page("<p>hi</p>")}) as server: server.url("/a")``.

    Served by the testing kit's ``LoopbackServer``; this adds routes and a request log.
    """

    def __init__(
        self, routes: dict[str, Route] | None = None, *, port: int = 0, host: str = "127.0.0.1"
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[str] = []
        self.request_times: list[tuple[float, str]] = []  # (time.monotonic(), path)
        # (path, headers with lower-case names), for tests of what the crawler sends
        self.request_headers: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond, port=port, host=host)

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def page_requests(self) -> list[str]:
        """Requested paths other than /robots.txt, in order."""
        return [path for path in self.requests if path != "/robots.txt"]

    def __enter__(self) -> RouteServer:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

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

    def _respond(self, raw_path: str, headers: Mapping[str, str]) -> MockPage:
        reply = self.reply_for(raw_path, headers)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        return MockPage(reply.body, reply.status, reply.content_type, reply.headers)
