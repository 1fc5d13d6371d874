"""The crawl's one browser, shared by the pages it renders: how many at once, each bounded
in time, a crashed tab or a lost browser costing its pages only, and a browser past its
memory limit replaced once its pages are done.

What a page may fetch is ``guard``'s; the steps of one render ``page``'s; launching and
ending Chromium ``browser``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from crawler.errors import BrowserMissing
from crawler.fetch import internal_failure, log_internal
from crawler.models import FetchFailure, FetchResult
from crawler.render.browser import (
    CLOSE_TIMEOUT_S,
    BrowserSession,
    find_browser,
    import_playwright,
)
from crawler.render.guard import RequestGuard
from crawler.render.page import PageSteps, RenderedPage
from crawler.render.processes import (
    alive,
    browser_processes,
    driver_processes,
    end_processes,
    lower_priority,
)
from crawler.settings import RenderSettings

if TYPE_CHECKING:
    from playwright.async_api import Playwright

    from crawler.fetch import Fetcher

log = logging.getLogger(__name__)

MEMORY_CHECK_PAGES = 5
"""The browser's memory is measured after every this many pages."""


class PageLost(Exception):
    """The page's tab crashed, or the browser went away, while it rendered."""


class BrowserPool:
    """Renders fetched pages in one Chromium, ``settings.concurrency`` at a time.

    Args:
        settings: the ``[render]`` section.
        fetcher: the crawl's fetcher: every request a page makes goes through its client.
        allow_private: whether a page may reach private, loopback and link-local
            addresses; when False, the fetcher's address guard decides as for a fetch.
    """

    def __init__(self, settings: RenderSettings, *, fetcher: Fetcher, allow_private: bool) -> None:
        self._settings = settings
        self._fetcher = fetcher
        self._allow_private = allow_private
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._launching = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._session: BrowserSession | None = None
        self._marker: str | None = None
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._replace = False
        self._since_check = 0
        self._unstartable: BrowserMissing | None = None
        self._drivers: list[int] = []
        self.restarts = 0
        """Browsers replaced: crashed, killed, stuck or past the memory limit."""
        self.crashes = 0
        """Pages whose tab crashed."""

    async def start(self) -> None:
        """Find and launch Chromium.

        Raises:
            BrowserMissing: Playwright is not installed, no Chromium is found, or it does
                not start; one line saying which.
        """
        if self._playwright is not None:
            return
        import_playwright()
        find_browser(self._settings)
        from playwright.async_api import async_playwright  # noqa: PLC0415 (optional extra)

        self._marker = tempfile.mkdtemp(prefix="parcrawl-render-")
        try:
            others = set(driver_processes())  # another pool's, in this process
            try:
                self._playwright = await async_playwright().start()
            except Exception as exc:  # its driver (a Node.js program) did not start
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise BrowserMissing(f"rendering needs Playwright's driver: {first_line}") from exc
            self._drivers = [pid for pid in driver_processes() if pid not in others]
            if self._settings.nice:  # Chromium, started by the driver, inherits its priority
                lower_priority(self._drivers, self._settings.nice)
            self._session = await BrowserSession.launch(
                self._playwright, self._settings, self._marker
            )
        except BaseException:
            await self.aclose()
            raise

    async def render(self, result: FetchResult, *, wait_for: str | None = None) -> RenderedPage:
        """Render the fetched page ``result`` (its body is the document; nothing is fetched
        again) and return its DOM, or why not: ``render_timeout``, ``render_crash`` (or
        ``internal``, a bug of parcrawl's). Never raises: a browser that cannot be
        started again makes each page's record a ``render_crash`` saying so.
        """
        async with self._slots:
            started = time.perf_counter()
            try:
                session = await self._session_for_a_page()
            except BrowserMissing as exc:
                failure = FetchFailure("render_crash", f"the browser did not start: {exc}")
                return RenderedPage(None, failure, 0, {}, _since(started))
            self._in_flight += 1
            self._drained.clear()
            try:
                return await self._render(session, result, wait_for, started)
            except Exception as exc:  # the boundary: a bug costs this page, not the crawl
                failure = internal_failure(exc)
                log_internal(result.final_url, failure)
                return RenderedPage(None, failure, 0, {}, _since(started))
            finally:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._drained.set()
                await self._check_memory(session)

    async def _keep_priority_low(self) -> None:
        """Lower the priority of the browser's processes that are not yet (its renderers
        are started as pages open). Run by root, Chromium sets its threads' priority back
        to normal, some above; run by anyone else, it cannot, and they keep the driver's.
        Renders then use the CPU the crawl leaves: on a busy machine, the crawl's own
        process is not kept waiting for a core by a page's layout."""
        if self._settings.nice and self._marker is not None:
            marker, nice = self._marker, self._settings.nice
            await asyncio.to_thread(lambda: lower_priority(browser_processes(marker), nice))

    def processes(self) -> list[int]:
        """The ids of every process of this pool's browser, live now (none once closed)."""
        return [] if self._marker is None else browser_processes(self._marker)

    async def aclose(self) -> None:
        """Close the browser and Playwright; no Chromium process of this pool is left."""
        self._drivers = []
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._playwright is not None:
            with contextlib.suppress(Exception):  # its driver may be gone with the browser
                await self._playwright.stop()
            self._playwright = None
        if self._marker is not None:
            await asyncio.to_thread(end_processes, self._marker)
            shutil.rmtree(self._marker, ignore_errors=True)
            self._marker = None

    async def _render(
        self,
        session: BrowserSession,
        result: FetchResult,
        wait_for: str | None,
        started: float,
    ) -> RenderedPage:
        from playwright.async_api import Error  # noqa: PLC0415 (an optional extra)
        from playwright.async_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

        guard = RequestGuard(
            result, self._settings, fetcher=self._fetcher, allow_private=self._allow_private
        )
        limit = self._settings.timeout_s
        crashed = asyncio.Event()
        page = steps = None
        html = failure = None
        try:
            async with asyncio.timeout(limit):
                page = await session.new_page()
                await self._keep_priority_low()  # its tab's renderer too
                page.on("crash", lambda _page: crashed.set())
                await page.route("**/*", guard.handle)
                await page.route_web_socket("**/*", guard.refuse_socket)
                steps = PageSteps(page, self._settings, guard.settled)
                run = steps.run(result.final_url, wait_for)
                html = await _unless_lost(run, crashed, session.gone)
        except (TimeoutError, PlaywrightTimeout):
            stage = "opening the page" if steps is None else steps.stage
            message = f"not rendered in {limit:g} s ({stage})"
            failure = FetchFailure("render_timeout", message)
        except (PageLost, Error) as exc:
            failure = self._lost(exc, crashed, session)
        finally:
            guard.close()
            if page is not None and not await session.close_page(page):
                log.warning("a rendered page would not close: the browser will be replaced")
                self._replace = True
        if failure is not None:
            log.info("render failed %s: %s %s", result.final_url, failure.code, failure.message)
        return RenderedPage(html, failure, guard.served, dict(guard.blocked), _since(started))

    def _lost(
        self, exc: Exception, crashed: asyncio.Event, session: BrowserSession
    ) -> FetchFailure:
        if crashed.is_set():
            self.crashes += 1
            return FetchFailure("render_crash", "the page's tab crashed (out of memory?)")
        if session.gone.is_set():
            return FetchFailure("render_crash", "the browser went away while rendering")
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return FetchFailure("render_crash", f"the page failed: {first_line}")

    async def _session_for_a_page(self) -> BrowserSession:
        """The browser to render in: replaced first if it went away or is due (memory)."""
        async with self._launching:
            if self._unstartable is not None:
                raise self._unstartable
            try:
                if self._drivers and not any(map(alive, self._drivers)):
                    # every call would fail at once, the browser with it: all of it anew
                    log.warning("Playwright's driver went away: starting it and the browser again")
                    await self.aclose()
                    self.restarts += 1
                if self._playwright is None:  # the first page to render launches it
                    await self.start()
            except BrowserMissing as exc:  # every page would wait for the same failure
                log.warning("no page will be rendered: %s", exc)
                self._unstartable = exc
                raise
            playwright, marker, session = self._playwright, self._marker, self._session
            if playwright is None or marker is None:  # start() sets both, or raises
                raise BrowserMissing("rendering did not start")
            if session is not None and not session.gone.is_set() and not self._replace:
                return session
            if session is not None:
                if not session.gone.is_set():  # due: let its pages in flight finish first
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._settings.timeout_s + 2 * CLOSE_TIMEOUT_S):
                            await self._drained.wait()
                why = "it went away" if session.gone.is_set() else "memory, or a stuck page"
                log.info("restarting the browser (%s)", why)
                self._session = None
                await session.close()
                self.restarts += 1
            self._replace = False
            self._session = await BrowserSession.launch(playwright, self._settings, marker)
            return self._session

    async def _check_memory(self, session: BrowserSession) -> None:
        self._since_check += 1
        if self._since_check < MEMORY_CHECK_PAGES or session.gone.is_set():
            return
        self._since_check = 0
        used = await asyncio.to_thread(session.memory)
        if used > self._settings.memory_limit and session is self._session:
            log.info("the browser uses %d MiB, past its limit: it will be replaced", used >> 20)
            self._replace = True


async def _unless_lost(
    steps: Coroutine[Any, Any, str], crashed: asyncio.Event, gone: asyncio.Event
) -> str:
    """The result of ``steps``, unless the tab crashes or the browser goes away first:
    then ``PageLost`` (Playwright's own calls may wait on a dead tab until the timeout)."""
    work = asyncio.ensure_future(steps)
    signals = [asyncio.ensure_future(crashed.wait()), asyncio.ensure_future(gone.wait())]
    try:
        await asyncio.wait([work, *signals], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, *signals):
            task.cancel()
        await asyncio.gather(work, *signals, return_exceptions=True)
    if work.cancelled():
        raise PageLost("the page was lost while it rendered")
    return work.result()


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
