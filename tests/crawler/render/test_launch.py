"""When Chromium starts and at what priority: a crawl that may render but need not starts
none until a page needs it; one that renders every page starts it before anything is
written; its processes run nicer than the crawl, so renders use the CPU the crawl leaves;
a browser that will not start fails each render, saying why, once."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from crawler.assembly import started_browser
from crawler.fetch import Fetcher
from crawler.render import BrowserPool
from crawler.render.processes import driver_processes, lower_priority
from crawler.settings import build_settings
from crawler.stats import Stats
from tests.support.rendering import BROWSER, fetched, started_pool
from tests.support.routes import RouteServer, page

pytestmark = pytest.mark.slow  # each starts a Chromium of its own

BUILT = "<html><body><p id=x>fetched</p><script>x.textContent = 'built'</script></body></html>"


def nices(pid: int) -> set[int]:
    """The priorities (nice values) of every thread of ``pid``."""
    tasks = Path(f"/proc/{pid}/task")
    return {os.getpriority(os.PRIO_PROCESS, int(task.name)) for task in tasks.iterdir()}


@pytest.mark.parametrize("mode", ["auto", "always"])
async def test_chromium_starts_up_front_only_when_every_page_is_rendered(mode: str) -> None:
    settings = build_settings(
        {"fetch": {"allow_private": True}, "render": {"mode": mode, "browser": BROWSER}}
    )
    with RouteServer({"/": page(BUILT)}) as site:
        async with (
            Fetcher(settings.fetch) as fetcher,
            started_browser(settings, fetcher=fetcher, stats=Stats()) as pool,
        ):
            assert pool is not None
            assert bool(pool.processes()) == (mode == "always")
            rendered = await pool.render(await fetched(fetcher, site.url("/")))
            assert rendered.html is not None
            assert "built" in rendered.html
            assert pool.processes()  # the first page that needed it started it


async def test_the_browser_runs_nicer_than_the_crawl() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with RouteServer({"/": page(BUILT)}) as site:
        async with started_pool(nice=7) as (pool, fetcher):
            await pool.render(await fetched(fetcher, site.url("/")))
            (driver,) = driver_processes()
            browser = pool.processes()[0]  # Chromium's own process, first started
            assert nices(driver) == {min(19, own + 7)}
            assert nices(browser) == {min(19, own + 7)}


async def test_nice_0_leaves_the_browser_at_the_crawls_priority() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with RouteServer({"/": page(BUILT)}) as site:
        async with started_pool(nice=0) as (pool, fetcher):
            await pool.render(await fetched(fetcher, site.url("/")))
            (driver,) = driver_processes()
            assert nices(driver) == {own}


def test_lowering_priority_makes_processes_nicer_and_never_less_nice() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    plain = subprocess.Popen(["sleep", "60"])
    nicer = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: os.nice(19))  # noqa: PLW1509
    try:
        lower_priority([plain.pid, nicer.pid], 3)
        assert nices(plain.pid) == {min(19, own + 3)}
        assert nices(nicer.pid) == {19}  # already nicer: left so, never brought up
    finally:
        for child in (plain, nicer):
            child.kill()
            child.wait()


async def test_a_browser_that_will_not_start_fails_each_render_saying_why_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = build_settings(
        {"fetch": {"allow_private": True}, "render": {"mode": "auto", "browser": "/bin/true"}}
    )
    caplog.set_level(logging.WARNING, logger="crawler.render")
    with RouteServer({"/": page(BUILT)}) as site:
        async with Fetcher(settings.fetch) as fetcher:
            pool = BrowserPool(settings.render, fetcher=fetcher, allow_private=True)
            try:
                result = await fetched(fetcher, site.url("/"))
                failures = [(await pool.render(result)).failure for _ in range(3)]
            finally:
                await pool.aclose()
    assert all(failure is not None and failure.code == "render_crash" for failure in failures)
    assert all(
        failure is not None and "/bin/true did not start" in failure.message for failure in failures
    )
    warnings = [r.getMessage() for r in caplog.records if "did not start" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith("no page will be rendered: rendering needs Chromium")
