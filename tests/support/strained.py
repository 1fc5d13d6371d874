"""A loopback site that slows down under load: each page answers after ``fixed_s + base_s x
n²``, n being the requests in flight when it arrived. What it saw (peak concurrency, each answer
time) is for the autothrottle's tests to assert on, at the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from tests.support.routes import Reply, RouteServer


class StrainedSite:
    """``pages`` pages linked from ``/``, served by a server that slows with its load.

    ``base_s = 0`` makes a healthy server: it answers in ``fixed_s`` however many requests
    it has in flight.
    """

    def __init__(
        self, server: RouteServer, *, pages: int, base_s: float, fixed_s: float = 0.0
    ) -> None:
        self.server = server
        self.pages = pages
        self.base_s = base_s
        self.fixed_s = fixed_s
        self.in_flight = 0
        self.peak = 0
        self.answer_times_s: list[float] = []
        self._lock = threading.Lock()
        links = "".join(f'<a href="/p/{n}">{n}</a>' for n in range(pages))
        self._home = f"<title>home</title>{links}".encode()

    def route(self, raw_path: str) -> Reply:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            wait_s = self.fixed_s + self.base_s * self.in_flight**2
        try:
            time.sleep(wait_s)
            path = urlsplit(raw_path).path
            body = self._home if path == "/" else f"<title>{path}</title>".encode()
            return Reply(body=body)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.answer_times_s.append(wait_s)

    def slowest_s(self, share: float = 0.9) -> float:
        """The answer time ``share`` of the pages were faster than (the 90th percentile)."""
        times = sorted(self.answer_times_s)
        return times[min(int(len(times) * share), len(times) - 1)]


@contextmanager
def strained_site(*, pages: int, base_s: float, fixed_s: float = 0.0) -> Iterator[StrainedSite]:
    """A ``StrainedSite`` on 127.0.0.1, for the ``with`` block (robots.txt: 404, allowed)."""
    with RouteServer() as server:
        site = StrainedSite(server, pages=pages, base_s=base_s, fixed_s=fixed_s)
        server.routes["/"] = site.route
        for n in range(pages):
            server.routes[f"/p/{n}"] = site.route
        yield site
