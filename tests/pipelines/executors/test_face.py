"""The executors' face and seam: every executor says where pages are parsed, in its own words."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pipelines.executors
from crawler.api import Crawl
from crawler.settings import build_settings
from crawler.testing import MockSite
from pipelines.executors import Executor, as_executor, default_executor
from pipelines.sinks import MemorySink
from tests.support.imports import loaded_by_importing


def test_every_name_the_face_offers_is_there() -> None:
    missing = [n for n in pipelines.executors.__all__ if not hasattr(pipelines.executors, n)]
    assert missing == []


def test_importing_the_executors_loads_no_dask() -> None:
    # A crawl on the local pool never pays for distributed's import.
    assert loaded_by_importing(["pipelines.executors"], ["distributed"]) == []


def test_a_plain_executor_is_presented_as_a_local_pool() -> None:
    with ThreadPoolExecutor(3) as threads:
        executor = as_executor(threads, 3)
        assert executor.label() == "local pool, 3 workers"
        assert (executor.slots, executor.min_batch, executor.paused) == (3, 1, False)
        assert executor.worker_lost is None  # a dead worker breaks a local pool
        assert executor.submit(sum, [1, 2]).result(timeout=10) == 3


def test_the_local_pool_presents_itself() -> None:
    pool = default_executor(1)
    try:
        assert isinstance(pool, Executor)
        assert as_executor(pool, 1) is pool  # no wrapper on the default path
        assert pool.label() == "local pool, 1 worker"
        assert pool.announcement() is None
        assert pool.summary(10) == []
    finally:
        pool.shutdown(wait=True)


async def test_a_crawl_says_where_its_pages_were_parsed() -> None:
    site = MockSite({"/": "<title>home</title>"})
    sink = MemorySink()
    job = Crawl(
        build_settings({"workers": 0}),
        seeds=[site.url("/")],
        sinks=[sink],
        transport=site.transport(),
    )
    assert job.executor_label() == "inline (no worker processes)"
    stats = await job.run()
    assert job.executor_announcement() is None
    assert job.executor_summary(stats) == "executor: inline (no worker processes)"
    assert Crawl(build_settings({"workers": 4})).executor_label() == "local pool, 4 workers"
