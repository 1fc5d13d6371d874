"""Testing kit for crawls: ``MockSite`` (respx, MockTransport or a live loopback server),
pytest fixtures, and a way to run a job's extraction and steps on one HTML string.

Registered as a pytest plugin (entry point ``parcrawl``): the fixtures ``mock_site`` and
``live_site`` are there in any test suite once parcrawl is installed. respx is imported
only when a mock is installed, so the plugin costs nothing in suites that never use it.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from crawler.api import CrawlResult, crawl, make_settings
from crawler.models import FetchRequest, FetchResult, Record, utc_now
from crawler.settings import ContentEngine, Settings, build_settings
from pipelines.worker import PageProcessor

if TYPE_CHECKING:
    import respx

DEFAULT_BASE_URL = "http://site.test"

SHUTDOWN_POLL_S = 0.05
"""How often a loopback server's loop looks for its stop: a test waits this long at most
(the standard library's 0.5 s, once per server, was a good part of the whole suite)."""


@dataclass(frozen=True)
class MockPage:
    """One response of a ``MockSite``: anything beyond a 200 HTML page."""

    body: str | bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The body as bytes (str bodies are UTF-8)."""
        return self.body.encode() if isinstance(self.body, str) else self.body


class MockSite:
    """A site described as ``{path: page}``; a page is an HTML string or a ``MockPage``.

    Paths may carry a query (``"/search?q=x"``); unknown paths answer 404, and so does
    ``/robots.txt`` unless given. Write links as paths (``href="/about"``) so the same site
    works both mocked and served live.

    >>> site = MockSite({"/": "<a href='/about'>About</a>", "/about": "<title>About</title>"})
    """

    def __init__(
        self, pages: Mapping[str, str | MockPage], *, base_url: str = DEFAULT_BASE_URL
    ) -> None:
        self.pages: dict[str, MockPage] = {
            path: page if isinstance(page, MockPage) else MockPage(page)
            for path, page in pages.items()
        }
        self.base_url = base_url.rstrip("/")
        self.requests: list[str] = []

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this site."""
        return self.base_url + path

    def page_for(self, path_and_query: str) -> MockPage:
        """The response for a request path (with its query), logging the request."""
        self.requests.append(path_and_query)
        path = urlsplit(path_and_query).path or "/"
        page = self.pages.get(path_and_query) or self.pages.get(path)
        return page or MockPage("<h1>Not found</h1>", status=404)

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one request: an ``httpx.MockTransport`` handler."""
        target = request.url.raw_path.decode("ascii")
        page = self.page_for(target)
        headers = {"content-type": page.content_type, **page.headers}
        return httpx.Response(page.status, content=page.encoded(), headers=headers)

    def transport(self) -> httpx.MockTransport:
        """An ``httpx.MockTransport`` serving this site (pass as ``transport=``)."""
        return httpx.MockTransport(self.handler)

    def install(self, router: respx.MockRouter) -> MockSite:
        """Route every request to this site's host through ``router`` (respx)."""
        host = urlsplit(self.base_url)
        pattern: dict[str, Any] = {"scheme": host.scheme, "host": host.hostname}
        if host.port is not None:
            pattern["port"] = host.port
        router.route(**pattern).mock(side_effect=self.handler)
        return self

    def serve(self) -> LiveSite:
        """Serve this site for real on 127.0.0.1 (``with site.serve() as live:``)."""
        return LiveSite(self)


class LiveSite:
    """A ``MockSite`` served over real sockets from a thread, on a free loopback port."""

    def __init__(self, site: MockSite) -> None:
        self.site = site
        self._server = LoopbackServer(lambda path, _headers: site.page_for(path))

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` while running."""
        return self._server.base_url

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on the live server."""
        return self.base_url + path

    @property
    def requests(self) -> list[str]:
        """Paths requested so far, in order."""
        return self.site.requests

    def __enter__(self) -> LiveSite:
        self._server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.__exit__(*exc_info)


Responder = Callable[[str, Mapping[str, str]], MockPage]
"""Answers one GET: (path with query, request headers) -> the page to send."""


class LoopbackServer:
    """A real HTTP/1.1 server on 127.0.0.1 (a free port) in a thread; ``respond`` answers.

    The one loopback server of the testing kit: ``LiveSite`` serves a ``MockSite`` with it,
    and parcrawl's own tests serve pathological routes with it.
    ``with LoopbackServer(respond) as server: server.url("/")``. ``port`` 0 takes a free
    port; a fixed one lets a test know the address before the server is up. ``host`` may
    be another loopback address (127.0.0.2: another host, for tests of what stays on site).
    """

    def __init__(self, respond: Responder, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.respond = respond
        self._server: _LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._host = host
        self._wanted_port = port
        self._port: int | None = port or None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` once started (still known after it stops)."""
        if self._port is None:
            raise RuntimeError("the loopback server has not been started")
        return f"http://{self._host}:{self._port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    def __enter__(self) -> LoopbackServer:
        self._server = _LoopbackHTTPServer(self.respond, self._host, self._wanted_port)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_S,), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None


class _LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, respond: Responder, host: str, port: int) -> None:
        self.respond = respond
        super().__init__((host, port), _LoopbackHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no reverse DNS lookup of 127.0.0.1

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-response is no server error


class _LoopbackHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        server: _LoopbackHTTPServer = self.server  # type: ignore[assignment]
        page = server.respond(self.path, dict(self.headers.items()))
        body = page.encoded()
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in page.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the request log instead


def process_html(
    html: str | bytes,
    settings: Settings | None = None,
    *,
    url: str = DEFAULT_BASE_URL + "/",
    content_type: str = "text/html; charset=utf-8",
    content: ContentEngine | bool | None = None,
) -> Record | None:
    """Run a job's parse, extraction rules and steps on one page, with no network at all.

    Returns the record as the crawl would write it, or None when a step drops the page.
    ``settings`` is typically ``load_job("job.toml").settings``. ``content`` sets its
    content engine (``"precise"``, ``"fast"``; True: precise): the record then has
    ``content``, ``markdown`` and ``meta``; a PDF (``content_type="application/pdf"``) too.
    """
    config = settings or build_settings({})
    if content is not None:
        engine = content if isinstance(content, str) else "precise" if content else "off"
        config = make_settings(config, content={"engine": engine})
    processor = PageProcessor.from_settings(
        config.extract, config.steps, parser=config.parser, content=config.content
    )
    body = html.encode() if isinstance(html, str) else html
    fetched_at = utc_now()
    result = FetchResult(
        request=FetchRequest(url),
        final_url=url,
        status=200,
        headers=(("content-type", content_type),),
        content_type=content_type,
        body=body,
        size=len(body),
        elapsed_ms=0.0,
        fetched_at=fetched_at,
        body_kept=True,
    )
    return processor(result).record


def crawl_site(site: MockSite | LiveSite, start: str = "/", **settings: Any) -> dict[str, Record]:
    """Crawl ``site`` from ``start`` and return the records keyed by URL.

    A ``MockSite`` is crawled through an ``httpx.MockTransport`` (no sockets); a
    ``LiveSite`` over loopback. ``settings`` are job-file keys, e.g. ``follow=True``.
    """
    transport = site.transport() if isinstance(site, MockSite) else None
    result: CrawlResult = crawl(site.url(start), transport=transport, **settings)
    return result.by_url()


@pytest.fixture
def mock_site() -> Iterator[Callable[..., MockSite]]:
    """Make ``MockSite``s whose hosts are routed through an active respx mock.

    ``site = mock_site({"/": "<title>Home</title>"})``; any request to another host fails
    the test instead of reaching the network.
    """
    import respx  # noqa: PLC0415 (only suites that use the fixture need respx)

    with respx.mock(assert_all_called=False) as router:

        def make(pages: Mapping[str, str | MockPage], **kwargs: Any) -> MockSite:
            return MockSite(pages, **kwargs).install(router)

        yield make


@pytest.fixture
def live_site() -> Iterator[Callable[..., LiveSite]]:
    """Serve ``MockSite``s on 127.0.0.1 for the test's duration: ``live_site({...}).url("/")``."""
    running: list[LiveSite] = []

    def make(pages: Mapping[str, str | MockPage], **kwargs: Any) -> LiveSite:
        live = MockSite(pages, **kwargs).serve().__enter__()
        running.append(live)
        return live

    yield make
    for live in running:
        live.__exit__(None, None, None)
