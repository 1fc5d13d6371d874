"""The process stage on a local Dask cluster of two worker processes (issue 13).

Each test starts its own small cluster: about two seconds, so they stay few.
"""

from __future__ import annotations

import logging
import os

import pytest

from crawler.api import Crawl
from crawler.settings import StepSettings, build_settings
from crawler.testing import MockSite
from pipelines.executors import ClusterSpec, DaskExecutorFactory
from pipelines.executors.dask import PLUGIN_NAME
from pipelines.sinks import MemorySink
from pipelines.stage import ProcessStage
from pipelines.worker import PageProcessor
from tests.pipelines.test_stage import WORDY, error_codes, fetched
from tests.support.parsers import CRASH_MARKER, HOG_MARKER, parse_or_die, parse_or_hog

pytestmark = pytest.mark.usefixtures("dask_leftovers_collected")

TIMING = ("elapsed_ms", "fetched_at")


def site() -> MockSite:
    pages = {
        f"/p{n}": f"<title>page {n}</title><p>{'words here ' * n}</p><a href='/p{n + 1}'>next</a>"
        for n in range(40)
    }
    return MockSite({"/": "<a href='/p0'>start</a>", **pages})


async def crawl_records(executor: str, factory: DaskExecutorFactory | None = None) -> list[dict]:
    settings = build_settings(
        {"workers": 2, "follow": True, "batch_size": 4, "cluster": {"executor": executor}}
    )
    sink = MemorySink()
    job = Crawl(
        settings,
        seeds=["http://site.test/"],
        sinks=[sink],
        transport=site().transport(),
        executor_factory=factory,
    )
    stats = await job.run()
    assert stats.written == 42
    return sorted(
        ({k: v for k, v in record.items() if k not in TIMING} for record in sink.records),
        key=lambda record: record["url"],
    )


@pytest.mark.slow
async def test_a_dask_cluster_writes_the_same_records_as_the_local_pool() -> None:
    factory = DaskExecutorFactory(ClusterSpec("dask", 2))
    on_dask = await crawl_records("dask", factory)
    assert on_dask == await crawl_records("local")
    assert factory.executor is not None
    traffic = factory.executor.traffic
    assert traffic.tasks >= 42 // 4  # batches, plus the start-up check
    assert traffic.run_s > 0
    # The executor says where pages went, in its own words (the CLI prints them).
    assert factory.executor.label() == "dask (local), 2 workers"
    assert factory.executor.worker_lost is not None  # a dead worker fails one call only
    assert factory.executor.summary(42)[-1].endswith("KiB moved per page")


@pytest.mark.slow
async def test_a_page_that_kills_its_dask_worker_costs_that_page_only() -> None:
    # A 1 MB step option makes the processor big: sent with every batch, it would show.
    steps = [
        StepSettings(use="tests.support.user_steps:clean_prices", currency="x" * 1_000_000),
        StepSettings(use="tests.support.user_steps:tag", label="on dask"),
    ]
    processor = PageProcessor.from_settings(build_settings({}).extract, steps, parse=parse_or_die)
    factory = DaskExecutorFactory(ClusterSpec("dask", 2))
    batch = [fetched(f"http://a.test/{n}", WORDY) for n in range(3)]
    batch.insert(1, fetched(f"http://a.test/{CRASH_MARKER}", WORDY))
    async with ProcessStage(2, processor=processor, executor_factory=factory) as stage:
        outcome = await stage.process(batch)
        after = [await stage.process([fetched(f"http://a.test/after{n}", WORDY)]) for n in range(4)]
    codes = error_codes(outcome.records)
    assert codes == {
        "http://a.test/0": None,
        f"http://a.test/{CRASH_MARKER}": "parse_crash",
        "http://a.test/1": None,
        "http://a.test/2": None,
    }
    assert outcome.records[0]["tags"] == ["on dask"]  # the steps ran on the workers
    assert all(done.records[0]["title"] == "kept" for done in after)  # the crawl goes on
    assert os.getpid() not in stage.worker_pids
    assert factory.executor is not None
    # Eight tasks carried pages; the processor went once (and records came back with it).
    assert factory.executor.traffic.bytes_sent < 2_000_000


@pytest.mark.slow
async def test_a_page_over_the_worker_memory_limit_costs_that_page_only() -> None:
    # As with the local pool, worker_memory_mb bounds a local cluster's workers: the page
    # that outgrows it is its own error record; without the limit it would take 600 MB.
    processor = PageProcessor.from_settings(build_settings({}).extract, [], parse=parse_or_hog)
    factory = DaskExecutorFactory(ClusterSpec("dask", 1, worker_memory_mb=256))
    batch = [fetched(f"http://a.test/{n}", WORDY) for n in range(2)]
    batch.insert(1, fetched(f"http://a.test/{HOG_MARKER}", WORDY))
    async with ProcessStage(1, processor=processor, executor_factory=factory) as stage:
        outcome = await stage.process(batch)
        after = await stage.process([fetched("http://a.test/after", WORDY)])
    codes = error_codes(outcome.records)
    assert codes == {
        "http://a.test/0": None,
        f"http://a.test/{HOG_MARKER}": "parse_crash",
        "http://a.test/1": None,
    }
    assert after.records[0]["title"] == "kept"


async def test_a_worker_without_the_processor_gets_it_again_and_the_batch_is_not_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What a worker of a new scheduler is until the executor registers the processor there.
    caplog.set_level(logging.INFO, logger="pipelines.executors.dask.executor")
    processor = PageProcessor.from_settings(build_settings({}).extract, [], parse=parse_or_die)
    factory = DaskExecutorFactory(ClusterSpec("dask", 2))
    async with ProcessStage(2, processor=processor, executor_factory=factory) as stage:
        await stage.process([fetched("http://a.test/before", WORDY)])
        assert factory.executor is not None
        factory.executor._connection.client.unregister_worker_plugin(PLUGIN_NAME)
        outcome = await stage.process([fetched(f"http://a.test/{n}", WORDY) for n in range(3)])
    assert [record["error"] for record in outcome.records] == [None, None, None]
    assert [record["url"] for record in outcome.records] == [f"http://a.test/{n}" for n in range(3)]
    said = [record.getMessage() for record in caplog.records]
    assert "a Dask worker lacked the crawl's processor: sending it again" in said
    assert not [line for line in said if "lost the Dask scheduler" in line]  # it was there
