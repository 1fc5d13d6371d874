"""Tests for pipelines.batching: how fetched pages are grouped into batches, as the executor
sees it.

A batch costs the crawler's process about the same whatever its size, so batches should be
full whenever waiting costs nothing (a worker is busy anyway), and small when pages come
slowly (a record should not wait for pages not fetched yet).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from crawler.assembly import build_engine
from crawler.fetch import Fetcher
from crawler.models import Record
from crawler.settings import build_settings
from crawler.testing import MockSite
from pipelines.executors import LocalPresentation
from pipelines.sinks import MemorySink
from pipelines.stage import ProcessStage

DEADLINE_S = 30.0
"""Upper bound for a condition a test waits for (generous for a busy machine)."""


class HeldExecutor(Executor):
    """Runs each batch in a thread of this process, once the test lets batches finish.

    It records the size of every batch it was handed, in order.
    """

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.release = threading.Event()
        self._threads = ThreadPoolExecutor(2)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if not args:  # the stage's check that a worker answers
            return self._threads.submit(fn)
        self.sizes.append(len(args[-1]))  # (processor, batch)

        def when_released() -> Any:
            self.release.wait(DEADLINE_S)
            return fn(*args, **kwargs)

        return self._threads.submit(when_released)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.release.set()
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)


class RemoteHeldExecutor(LocalPresentation, HeldExecutor):
    """The same, as a remote executor that asks for batches of at least ``min_batch``."""

    def __init__(self, min_batch: int) -> None:
        super().__init__()
        self.workers = 2
        self._min_batch = min_batch

    @property
    def min_batch(self) -> int:
        return self._min_batch


async def _seeds(urls: Sequence[str]) -> AsyncIterator[str]:
    for url in urls:
        yield url


async def crawl(
    site: MockSite | httpx.MockTransport, urls: list[str], executor: Executor, **settings: Any
) -> list[Record]:
    config = build_settings({"workers": 2, **settings})
    transport = site.transport() if isinstance(site, MockSite) else site
    sink = MemorySink()
    async with (
        Fetcher(config.fetch, transport=transport) as fetcher,
        ProcessStage(config.workers, executor_factory=lambda _n: executor) as stage,
    ):
        engine = build_engine(config, fetcher=fetcher, stage=stage, sinks=[sink])
        await engine.run(_seeds(urls))
    return sink.records


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.01)


def many_pages(count: int) -> tuple[MockSite, list[str]]:
    site = MockSite({f"/{n}": f"<title>page {n}</title>" for n in range(count)})
    return site, [site.url(f"/{n}") for n in range(count)]


@pytest.mark.slow
async def test_while_a_batch_is_out_the_next_ones_go_full() -> None:
    site, urls = many_pages(60)
    executor = HeldExecutor()
    job = asyncio.create_task(crawl(site, urls, executor, batch_size=8))
    # Two lanes: up to four batches out. The first is held, so the next three could only
    # be formed while it was out.
    await until(lambda: len(executor.sizes) >= 4, "four batches handed out")
    sizes_while_held = list(executor.sizes)
    executor.release.set()
    records = await job

    assert sorted(record["title"] for record in records) == sorted(f"page {n}" for n in range(60))
    assert sizes_while_held[1:] == [8, 8, 8]
    assert sum(executor.sizes) == 60


@pytest.mark.slow
async def test_a_remote_executor_gets_batches_of_at_least_its_min_batch() -> None:
    site, urls = many_pages(80)
    executor = RemoteHeldExecutor(min_batch=12)
    job = asyncio.create_task(crawl(site, urls, executor, batch_size=4))
    await until(lambda: len(executor.sizes) >= 4, "four batches handed out")
    sizes_while_held = list(executor.sizes)
    executor.release.set()
    records = await job

    assert len(records) == 80
    assert sizes_while_held[1:] == [12, 12, 12]
    assert max(executor.sizes) == 12


async def test_pages_fetched_slowly_go_to_a_worker_one_by_one() -> None:
    fetched = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal fetched
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        await asyncio.sleep(0.1)  # the site's own slowness: one page at a time
        fetched += 1
        return httpx.Response(200, html=f"<title>{request.url.path}</title>")

    urls = [f"http://slow.test/{n}" for n in range(5)]
    executor = HeldExecutor()
    executor.release.set()  # batches finish as soon as they are parsed
    records = await crawl(
        httpx.MockTransport(slow), urls, executor, batch_size=8, fetch={"concurrency": 1}
    )

    assert fetched == 5
    assert len(records) == 5
    # Each page went on as soon as it came, not held back to fill a batch of 8.
    assert executor.sizes == [1, 1, 1, 1, 1]
