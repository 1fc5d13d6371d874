"""A page that never finishes, a tab that crashes, a browser killed mid-crawl, a browser
past its memory limit: each costs its own page only, the next page renders, and no
Chromium process is left once the pool is closed."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from crawler.fetch import Fetcher
from crawler.models import FetchFailure
from crawler.render import BrowserPool, RenderedPage
from crawler.render.processes import alive, driver_processes
from tests.support.rendering import eventually, fetched, started_pool
from tests.support.routes import RouteServer, page

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

TIMEOUT_S = 2.0
MARGIN_S = 2.0
"""Closing a tab whose renderer is stuck takes Chromium about half a second."""

OK = "<html><body><p id='x'>fetched</p><script>x.textContent = 'rendered'</script></body></html>"
FOREVER = "<html><body><p>spinning</p><script>while (true) {}</script></body></html>"
GREEDY = """<html><body><script>
const hoard = []; while (true) hoard.push(new Array(1e6).fill(Math.random()));
</script></body></html>"""
WAITING = """<html><body><script src="/started.js"></script>
<script>setInterval(() => fetch('/tick'), 200)</script></body></html>"""


@pytest.fixture(scope="module")
def site() -> Iterator[RouteServer]:
    routes = {
        "/ok": page(OK),
        "/forever": page(FOREVER),
        "/greedy": page(GREEDY),
        "/waiting": page(WAITING),
        "/started.js": page("window.started = true", content_type="text/javascript"),
        "/tick": page("{}", content_type="application/json"),
    }
    with RouteServer(routes) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[tuple[BrowserPool, Fetcher]]:
    async with started_pool(timeout_s=TIMEOUT_S, page_heap="32MiB", wait="load") as started:
        yield started


async def renders_fine(browser: BrowserPool, fetcher: Fetcher, site: RouteServer) -> None:
    rendered = await browser.render(await fetched(fetcher, site.url("/ok")))
    assert rendered.failure is None
    assert rendered.html is not None
    assert ">rendered</p>" in rendered.html


def failure_of(rendered: RenderedPage) -> FetchFailure:
    assert rendered.html is None
    assert rendered.failure is not None
    return rendered.failure


async def test_a_script_that_never_ends_is_a_render_timeout_and_the_next_page_renders(pool, site):
    browser, fetcher = pool
    result = await fetched(fetcher, site.url("/forever"))
    started = time.monotonic()

    rendered = await browser.render(result)

    assert time.monotonic() - started < TIMEOUT_S + MARGIN_S
    assert failure_of(rendered) == FetchFailure("render_timeout", "not rendered in 2 s (loading)")
    await renders_fine(browser, fetcher, site)
    assert browser.restarts == 0


async def test_a_tab_that_crashes_is_a_render_crash_and_the_next_page_renders(pool, site):
    browser, fetcher = pool
    result = await fetched(fetcher, site.url("/greedy"))
    crashes = browser.crashes

    rendered = await browser.render(result)

    crashed = FetchFailure("render_crash", "the page's tab crashed (out of memory?)")
    assert failure_of(rendered) == crashed
    assert browser.crashes == crashes + 1
    await renders_fine(browser, fetcher, site)
    assert browser.restarts == 0


async def test_a_browser_killed_mid_render_costs_that_page_and_is_started_again(pool, site):
    browser, fetcher = pool
    result = await fetched(fetcher, site.url("/waiting"))
    restarts = browser.restarts
    task = asyncio.ensure_future(browser.render(result, wait_for="#never"))  # until killed
    await eventually(lambda: "/started.js" in site.requests)
    for pid in browser.processes():
        os.kill(pid, signal.SIGKILL)
    started = time.monotonic()

    rendered = await task

    assert time.monotonic() - started < 1.5  # told at once, not at the timeout
    assert failure_of(rendered) == FetchFailure(
        "render_crash", "the browser went away while rendering"
    )
    await renders_fine(browser, fetcher, site)
    assert browser.restarts == restarts + 1


async def test_a_dead_playwright_driver_is_started_again_with_its_browser(site):
    others = set(driver_processes())  # the module's pool's
    async with started_pool(timeout_s=TIMEOUT_S, wait="load") as (browser, fetcher):
        await renders_fine(browser, fetcher, site)
        (driver,) = set(driver_processes()) - others
        first_browser = browser.processes()
        os.kill(driver, signal.SIGKILL)
        await eventually(lambda: not alive(driver))

        await renders_fine(browser, fetcher, site)  # not a render_crash, page after page
        await renders_fine(browser, fetcher, site)

        assert browser.restarts == 1
        assert live(first_browser) == []  # the old Chromium is gone, not left behind
        assert driver not in driver_processes()
        assert set(driver_processes()) - others  # a new one


async def test_a_browser_past_its_memory_limit_is_replaced_and_nothing_is_left_after(site):
    limits = {"timeout_s": TIMEOUT_S, "page_heap": "32MiB", "wait": "load"}
    async with started_pool(memory_limit="64MiB", **limits) as (browser, fetcher):
        folder = pool_folder(browser.processes())
        for _ in range(6):  # measured after every 5 pages; replaced before the next
            await renders_fine(browser, fetcher, site)
        assert browser.restarts == 1
        # a hung tab and a crashed one, in the browser to be closed
        for path in ("/forever", "/greedy"):
            assert (await browser.render(await fetched(fetcher, site.url(path)))).failure
        pids = browser.processes()
        assert pids
    assert browser.processes() == []
    assert live(pids) == []
    assert not folder.exists()


def live(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (an ended one waiting to be collected is not)."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            running.append(pid)
    return running


def pool_folder(pids: list[int]) -> Path:
    """The pool's own folder, named in its browser's environment."""
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        for entry in environ:
            if entry.startswith(b"PARCRAWL_RENDER_DIR="):
                return Path(entry.split(b"=", 1)[1].decode())
    raise AssertionError("no browser process names its folder")
