"""Finding Chromium and Playwright, and one launched browser: its flags, its contexts (each
replaced after a number of pages), whether it is still there, its memory, its end.

Which page renders where and what a page may fetch are ``pool``'s and ``guard``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from crawler.errors import BrowserMissing
from crawler.render.processes import MARKER_ENV, browser_processes, end_processes, memory_bytes
from crawler.settings import RenderSettings

if TYPE_CHECKING:  # Playwright is an optional extra, imported only when a crawl renders
    from playwright.async_api import Browser, BrowserContext, Page, Playwright, Route

log = logging.getLogger(__name__)

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Chromium's names on PATH, in the order they are tried."""

INSTALL_PLAYWRIGHT = "rendering needs Playwright: pip install 'parcrawl[render]'"
LAUNCH_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 5.0
"""Longest wait for a browser, context or page to close before it is ended by force."""

FLAGS = (
    "--no-sandbox",  # run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    # Chromium's own calls home: refused on a closed network, unwanted on any
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Every request a page makes is answered by the route (through the crawl's client):
    # a request that slips past it (a preconnect, a fulfilled redirect's target, a
    # WebSocket) finds no host rather than the network.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def import_playwright() -> None:
    """Raises ``BrowserMissing`` unless Playwright's asyncio API imports."""
    try:
        import playwright.async_api  # noqa: F401, PLC0415 (an optional extra)
    except ImportError as exc:
        raise BrowserMissing(INSTALL_PLAYWRIGHT) from exc


def find_browser(settings: RenderSettings) -> str:
    """The Chromium to run: ``settings.browser``, or the first of ``CANDIDATES`` on PATH.

    Raises:
        BrowserMissing: the named file is not there or not executable; none on PATH.
    """
    if settings.browser is not None:
        path = os.path.expanduser(settings.browser)
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise BrowserMissing(
                f"rendering needs Chromium: {settings.browser} is not an executable file "
                "(set [render] browser to Chromium's path)"
            )
        return path
    for name in CANDIDATES:
        if (found := shutil.which(name)) is not None:
            return found
    raise BrowserMissing(
        "rendering needs Chromium: none found (install the chromium package or set "
        "[render] browser)"
    )


def check_browser(settings: RenderSettings) -> None:
    """Whether rendering can start, launching nothing: Playwright imports and a Chromium
    executable is found.

    Raises:
        BrowserMissing: what is missing, and what to install or set, in one line.
    """
    import_playwright()
    find_browser(settings)


class BrowserSession:
    """One launched Chromium. Pages are opened in its current context, one spare tab ahead;
    a context is replaced after ``pages_per_context`` pages and closed once its last page
    is."""

    def __init__(self, browser: Browser, settings: RenderSettings, marker: str) -> None:
        self.browser = browser
        self.gone = asyncio.Event()
        """Set when the browser disconnects: killed, crashed or closed."""
        self._settings = settings
        self._marker = marker
        self._context: BrowserContext | None = None
        self._pages = 0
        self._open: dict[BrowserContext, int] = {}
        self._closing: set[asyncio.Task[bool]] = set()
        self._opening = asyncio.Lock()
        self._spare: asyncio.Future[Page] | None = None
        browser.on("disconnected", lambda _browser: self.gone.set())

    @classmethod
    async def launch(
        cls, playwright: Playwright, settings: RenderSettings, marker: str
    ) -> BrowserSession:
        """Start Chromium with ``marker`` in its environment (its processes are known by it).

        Raises:
            BrowserMissing: it is not found, or does not start; the message says why.
        """
        from playwright.async_api import Error  # noqa: PLC0415 (an optional extra)

        path = find_browser(settings)
        heap_mib = max(1, settings.page_heap // 1024**2)
        # Its temporary files and crash reports go in the pool's folder, removed at the end.
        env: dict[str, str | float | bool] = {
            **os.environ,
            MARKER_ENV: marker,
            "TMPDIR": marker,
            "XDG_CONFIG_HOME": marker,
        }
        try:
            browser = await playwright.chromium.launch(
                executable_path=path,
                args=[*FLAGS, f"--js-flags=--max-old-space-size={heap_mib}"],
                env=env,
                timeout=LAUNCH_TIMEOUT_S * 1000,
                handle_sigint=False,  # Ctrl-C is the crawl's to handle; aclose ends it
                handle_sigterm=False,
                handle_sighup=False,
            )
        except Error as exc:
            await asyncio.to_thread(end_processes, marker)
            first_line = (str(exc).strip().splitlines() or ["no reason given"])[0]
            raise BrowserMissing(
                f"rendering needs Chromium: {path} did not start ({first_line})"
            ) from exc
        return cls(browser, settings, marker)

    async def new_page(self) -> Page:
        """A new page in the current context, a fresh context after ``pages_per_context``.

        The page after it is opened meanwhile: a tab costs Chromium a new renderer
        process, up to half a second on a busy machine, which then overlaps a render.
        """
        spare, self._spare = self._spare, None
        page = None
        if spare is not None:
            with contextlib.suppress(Exception):  # the browser went, say: open one anew
                page = await spare
        if page is None:
            page = await self._open_page()
        if not self.gone.is_set():
            self._spare = asyncio.ensure_future(self._open_page())
        return page

    async def _open_page(self) -> Page:
        async with self._opening:  # one context at a time, however many pages ask
            if self._context is None or self._pages >= self._settings.pages_per_context:
                await self._retire()
                context = await self.browser.new_context(
                    service_workers="block",  # their requests would pass the page's route
                )
                # A page's own route answers its requests (its workers' too); a popup it
                # opens has none: this one refuses all it asks, and the popup is closed.
                await context.route("**/*", _refuse)
                self._context, self._pages = context, 0
                self._open[context] = 0
            context = self._context
            self._pages += 1
            self._open[context] += 1
        try:
            page = await context.new_page()
        except BaseException:
            await self._closed_one(context)
            raise
        page.on("popup", self._close_popup)
        return page

    async def close_page(self, page: Page) -> bool:
        """Close ``page`` (and its context, if retired and now empty) without waiting on a
        hung renderer for long; False when it would not close (the browser is stuck)."""
        context = page.context
        closed = await _closed(page.close(run_before_unload=False))
        await self._closed_one(context)
        return closed or page.is_closed() or self.gone.is_set()

    def memory(self) -> int:
        """The memory of all the browser's processes, in bytes (0 where /proc is not)."""
        return memory_bytes(browser_processes(self._marker))

    async def close(self) -> None:
        """Close the browser, and end by force whatever of it is left."""
        if self._spare is not None:
            self._spare.cancel()
            await asyncio.gather(self._spare, return_exceptions=True)
        if not self.gone.is_set():
            await _closed(self.browser.close())
        left = await asyncio.to_thread(end_processes, self._marker)
        if left:
            log.debug("ended %d Chromium processes left after closing", left)

    def _close_popup(self, popup: Page) -> None:
        task = asyncio.ensure_future(_closed(popup.close(run_before_unload=False)))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _retire(self) -> None:
        if self._context is not None and self._open.get(self._context) == 0:
            await self._close_context(self._context)
        self._context = None

    async def _closed_one(self, context: BrowserContext) -> None:
        self._open[context] = self._open.get(context, 1) - 1
        if context is not self._context and self._open[context] <= 0:
            await self._close_context(context)

    async def _close_context(self, context: BrowserContext) -> None:
        self._open.pop(context, None)
        await _closed(context.close())


async def _refuse(route: Route) -> None:
    from playwright.async_api import Error  # noqa: PLC0415 (an optional extra)

    with contextlib.suppress(Error):
        await route.abort("blockedbyclient")


async def _closed(closing: Coroutine[Any, Any, None]) -> bool:
    """Whether ``closing`` (a page's, a context's, the browser's) ended within
    ``CLOSE_TIMEOUT_S``; an error (already closed, the browser gone) is no."""
    from playwright.async_api import Error  # noqa: PLC0415 (an optional extra)

    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await closing
    except (Error, TimeoutError):
        return False
    return True
