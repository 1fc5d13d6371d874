"""Fetching waits while the stage's executor cannot take pages (a Dask scheduler lost and
waited for), seen through an executor that pauses when the test says: no cluster needed.

The end-to-end test with a real scheduler killed mid-crawl is in tests/e2e/test_dask_cli.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from crawler.assembly import build_engine
from crawler.errors import ClusterLost
from crawler.fetch import Fetcher
from crawler.settings import build_settings
from crawler.stats import Stats
from pipelines.executors import LocalPresentation
from pipelines.sinks import MemorySink
from pipelines.stage import ProcessStage

DEADLINE_S = 30.0
PAGES = 120
CONCURRENCY = 4
LOST = "lost the Dask scheduler at tcp://test:8786 and it did not come back"


class PausingExecutor(LocalPresentation, Executor):
    """Runs calls in threads of this process; while paused it holds them, as a Dask
    executor holds batches while its scheduler is waited for. Lost: they raise."""

    def __init__(self) -> None:
        self._threads = ThreadPoolExecutor(2)
        self.workers = 2
        self._running = threading.Event()
        self._running.set()
        self.lost = False

    @property
    def paused(self) -> bool:
        return self.lost or not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def when_running() -> Any:
            self._running.wait(DEADLINE_S)
            if self.lost:
                raise ClusterLost(LOST)
            return fn(*args, **kwargs)

        return self._threads.submit(when_running)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._running.set()
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)


class Site:
    """Pages answered at once; the 20th request sets ``executor`` back (``on_20th``), and
    the requests that come while it is paused are counted."""

    def __init__(self, executor: PausingExecutor, on_20th: Callable[[], object]) -> None:
        self.requests = 0
        self.while_paused = 0
        self._executor = executor
        self._on_20th = on_20th
        self.urls = [f"http://site.test/{n}" for n in range(PAGES)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests == 20:
            self._on_20th()
        elif self._executor.paused:
            self.while_paused += 1
        return httpx.Response(200, html=f"<title>{request.url.path}</title>")


async def _seeds(urls: list[str]) -> AsyncIterator[str]:
    for url in urls:
        yield url


async def crawl(site: Site, executor: Executor, stats: Stats) -> MemorySink:
    config = build_settings({"workers": 2, "fetch": {"concurrency": CONCURRENCY}})
    sink = MemorySink()
    async with (
        Fetcher(config.fetch, transport=httpx.MockTransport(site.handle)) as fetcher,
        ProcessStage(config.workers, executor_factory=lambda _n: executor) as stage,
    ):
        engine = build_engine(config, fetcher=fetcher, stage=stage, sinks=[sink], stats=stats)
        await asyncio.wait_for(engine.run(_seeds(site.urls)), DEADLINE_S)
    return sink


@pytest.mark.slow
async def test_fetching_waits_while_the_executor_is_paused_and_goes_on_after() -> None:
    executor = PausingExecutor()

    def outage() -> None:  # the scheduler away for half a second, then back
        executor.pause()
        asyncio.get_running_loop().call_later(0.5, executor.resume)

    site = Site(executor, outage)
    sink = await crawl(site, executor, Stats())
    # Only the fetches already under way when the pause began; instant pages would
    # otherwise have filled every queue in that half second.
    assert site.while_paused < CONCURRENCY
    assert sorted(record["url"] for record in sink.records) == sorted(site.urls)


async def test_a_cluster_lost_for_good_ends_fetching_and_the_summary_says_stopped() -> None:
    executor = PausingExecutor()

    def loss() -> None:
        executor.lost = True

    site = Site(executor, loss)
    stats = Stats()
    with pytest.raises(ClusterLost):
        await crawl(site, executor, stats)
    assert site.while_paused < CONCURRENCY  # the fetches under way; none started after
    assert stats.stopped_reason == LOST
    assert stats.summary_lines()[0].startswith("stopped in ")
    assert stats.written + stats.unwritten == stats.fetched  # every fetched page counted
