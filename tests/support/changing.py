"""A loopback site whose pages change between crawls and which answers conditional requests.

Pages with validators answer ``If-None-Match`` / ``If-Modified-Since`` with a 304, as nginx
does; pages given as ``bare`` send none, so only their digest can tell they did not change.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping

from crawler.testing import LoopbackServer, MockPage

LAST_MODIFIED = "Mon, 30 Nov 2026 08:00:00 GMT"


HOLD_S = 30.0
"""Longest a held answer waits (the test that holds it failed if it comes to that)."""


class ChangingSite:
    """``with ChangingSite({"/": html, ...}) as site:``; edit ``pages`` between runs.

    ``requests`` logs (path, whether the request was conditional, status sent).
    """

    def __init__(self, pages: Mapping[str, str | bytes], *, bare: frozenset[str] = frozenset()):
        self.pages: dict[str, str | bytes] = dict(pages)
        self.bare = bare
        self.requests: list[tuple[str, bool, int]] = []
        self.extra_headers: dict[str, dict[str, str]] = {}
        # A path's answer waits until its event is set (at most HOLD_S): a run that
        # cannot finish before the test has stopped it.
        self.holds: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._server = LoopbackServer(self.respond)

    def url(self, path: str = "/") -> str:
        return self._server.url(path)

    def respond(self, path: str, headers: Mapping[str, str]) -> MockPage:
        hold = self.holds.get(path)
        if hold is not None:
            hold.wait(HOLD_S)
        asked = {name.lower(): value for name, value in headers.items()}
        conditional = "if-none-match" in asked or "if-modified-since" in asked
        page = self._page(path, asked)
        with self._lock:
            self.requests.append((path, conditional, page.status))
        return page

    def _page(self, path: str, asked: dict[str, str]) -> MockPage:
        body = self.pages.get(path)
        if body is None:
            return MockPage("<h1>Not found</h1>", status=404)
        data = body.encode() if isinstance(body, str) else body
        extra = self.extra_headers.get(path, {})
        if path in self.bare:
            return MockPage(data, headers=extra)
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED, **extra}
        if asked.get("if-none-match") == etag:
            return MockPage(b"", status=304, headers={"ETag": etag})
        return MockPage(data, headers=validators)

    def fetched(self, path: str) -> list[tuple[bool, int]]:
        """(conditional, status) of each request for ``path``."""
        return [(conditional, status) for p, conditional, status in self.requests if p == path]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def __enter__(self) -> ChangingSite:
        self._server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.__exit__(*exc_info)


RECRAWL_SITE = {
    "/": "<title>Home</title><a href='/a'>a</a> <a href='/b'>b</a> <a href='/c'>c</a>"
    " <a href='/d'>d</a>",
    "/a": "<title>A</title><a href='/e'>e</a>",
    "/b": "<title>B</title><p>first version</p>",
    "/c": "<title>C</title>",
    "/d": "<title>D</title><p>no validators</p>",
    "/e": "<title>E</title><p>only linked from /a</p>",
}
"""The recrawl tests' site: edited between runs; ``/d`` is served bare (no validators)."""


def publish_second_version(site: ChangingSite) -> None:
    """The edits between the recrawl tests' two runs of ``RECRAWL_SITE``.

    Afterwards a recrawl should say: ``/`` changed (its link to /c became /new), /a
    unchanged (a 304), /b changed, /c gone (unlinked, and 404), /d unchanged (no
    validators, same digest), /e unchanged (reached through /a's links of the last run),
    /new new. The request log is cleared, so the tests see the second run's alone.
    """
    site.pages["/b"] = "<title>B</title><p>second version</p>"
    del site.pages["/c"]
    site.pages["/"] = RECRAWL_SITE["/"].replace("<a href='/c'>c</a>", "<a href='/new'>new</a>")
    site.pages["/new"] = "<title>New</title>"
    site.clear()


CLI_RECRAWL_SITE = {
    "/": "<title>Home</title><a href='/a'>a</a> <a href='/b'>b</a> <a href='/c'>c</a>",
    "/a": "<title>A</title><a href='/d'>d</a>",
    "/b": "<title>B</title><p>one</p>",
    "/c": "<title>C</title>",
    "/d": "<title>D</title>",
}
"""The command-line recrawl tests' site (local state and Redis alike)."""
