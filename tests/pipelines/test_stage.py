"""The process stage: batches in, records out; memory bounds, workers that die or never start."""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

import psutil
import pytest

from crawler.api import Crawl, crawl
from crawler.errors import WorkerPoolError
from crawler.models import FetchRequest, FetchResult, Record
from crawler.settings import build_settings
from crawler.testing import MockSite, crawl_site
from pipelines.sinks import MemorySink
from pipelines.stage import ProcessStage
from pipelines.worker import (
    PageProcessor,
    collect_page_cycles,
    parse_page,
    parse_page_lxml,
    process_batch,
)
from tests.support.parsers import CRASH_MARKER, fail_to_start, parse_or_die


def fetched(url: str, html: str) -> FetchResult:
    headers = (("content-type", "text/html; charset=utf-8"),)
    body = html.encode()
    return FetchResult(
        FetchRequest(url), url, 200, headers, "text/html", body, len(body), 3.0, "now", None, True
    )


def error_codes(records: Sequence[Record]) -> dict[str, str | None]:
    """Each record's error code (None for a page without error), by URL."""
    return {record["url"]: (record["error"] or {}).get("code") for record in records}


WORDY = "<title>kept</title><p>" + "enough words to keep " * 5 + "</p><a href='/next'>next</a>"
THIN = "<title>thin</title><a href='/next'>next</a>"

# About 3 MB of HTML whose BeautifulSoup tree needs a few hundred MB: more than a 128 MB
# worker has (lxml's own tree, the default parser's, fits: test_lxml_parse checks it).
MANY_LINKS = "<title>many</title>" + "".join(f"<a href='/p{n}'>{n}</a>" for n in range(120_000))


@pytest.mark.slow
def test_a_page_that_outgrows_the_worker_memory_limit_is_its_own_error_record():
    site = MockSite({"/": "<title>home</title>", "/many": MANY_LINKS, "/after": "<title>a</title>"})
    seeds = [site.url(path) for path in ("/", "/many", "/after")]
    settings = {"workers": 1, "batch_size": 1, "worker_memory_mb": 128, "fetch": {"concurrency": 1}}
    result = crawl(seeds, transport=site.transport(), parser="bs4", **settings)
    records = result.by_url()
    big = records[site.url("/many")]
    # Python raises MemoryError at the limit; rarely a C extension dies there instead,
    # and the stage recovers that as the page's parse_crash. Either way the page is
    # stopped at the limit and the crawl goes on.
    assert big["error"]["code"] in {"parse_too_large", "parse_crash"}
    if big["error"]["code"] == "parse_too_large":
        assert "worker_memory_mb" in big["error"]["message"]
    assert records[site.url("/")]["title"] == "home"
    assert records[site.url("/after")]["title"] == "a"


def test_without_a_limit_the_same_page_parses():
    site = MockSite({"/many": MANY_LINKS})
    record = crawl_site(site, "/many", workers=1, worker_memory_mb=0)[site.url("/many")]
    assert record["error"] is None
    assert record["title"] == "many"


def failing_pool(workers: int) -> Executor:
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=fail_to_start)


async def test_a_pool_that_cannot_start_is_one_error_before_anything_is_fetched():
    site = MockSite({"/": "<title>home</title>", "/a": "<title>a</title>"})
    sink = MemorySink()
    job = Crawl(
        build_settings({"workers": 2}),
        seeds=[site.url("/"), site.url("/a")],
        sinks=[sink],
        transport=site.transport(),
        executor_factory=failing_pool,
    )
    with pytest.raises(WorkerPoolError, match="parse worker processes could not start"):
        await job.run()
    assert site.requests == []
    assert sink.records == []  # no page was blamed with a parse_crash record


async def test_a_replacement_pool_that_cannot_start_ends_the_crawl_not_every_page():
    pools: list[Executor] = []

    def first_pool_only(workers: int) -> Executor:
        context = multiprocessing.get_context("forkserver")
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=fail_to_start if pools else None
        )
        pools.append(pool)
        return pool

    pages = {"/": "<title>home</title>", f"/{CRASH_MARKER}": "<title>boom</title>"}
    pages.update({f"/p{n}": f"<title>{n}</title>" for n in range(20)})
    site = MockSite(pages)
    sink = MemorySink()
    seeds = [site.url("/"), site.url(f"/{CRASH_MARKER}"), *(site.url(f"/p{n}") for n in range(20))]
    job = Crawl(
        build_settings({"workers": 1, "batch_size": 1, "fetch": {"concurrency": 1}}),
        seeds=seeds,
        sinks=[sink],
        transport=site.transport(),
        parse=parse_or_die,
        executor_factory=first_pool_only,
    )
    with pytest.raises(WorkerPoolError, match="could not start"):
        await job.run()
    assert len(pools) >= 2  # the crash broke the first pool; the next could not start
    codes = [(record["error"] or {}).get("code") for record in sink.records]
    assert "parse_crash" not in codes
    assert site.url("/") in {record["url"] for record in sink.records}  # written, kept


async def test_workers_0_processes_a_batch_in_this_process() -> None:
    processor = PageProcessor.from_settings(
        build_settings({}).extract,
        build_settings({"steps": [{"use": "min_words", "min": 5}]}).steps,
    )
    batch = [fetched("http://a.test/", WORDY), fetched("http://a.test/thin", THIN)]
    async with ProcessStage(0, processor=processor) as stage:
        outcome = await stage.process(batch)
    assert [record["title"] for record in outcome.records] == ["kept"]
    assert [record["url"] for record in outcome.dropped] == ["http://a.test/thin"]
    assert outcome.dropped[0]["links"] == ["http://a.test/next"]
    assert stage.worker_pids == {os.getpid()}


async def test_a_page_that_kills_its_worker_costs_that_page_only() -> None:
    batch = [fetched(f"http://a.test/{n}", WORDY) for n in range(3)]
    batch.insert(1, fetched(f"http://a.test/{CRASH_MARKER}", WORDY))
    async with ProcessStage(1, parse=parse_or_die) as stage:
        outcome = await stage.process(batch)
        after = await stage.process([fetched("http://a.test/after", WORDY)])
    codes = error_codes(outcome.records)
    assert codes == {
        "http://a.test/0": None,
        f"http://a.test/{CRASH_MARKER}": "parse_crash",
        "http://a.test/1": None,
        "http://a.test/2": None,
    }
    assert after.records[0]["title"] == "kept"  # a new pool took over
    assert os.getpid() not in stage.worker_pids


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_a_worker_gives_back_the_memory_of_a_page_with_many_links():
    async with ProcessStage(1) as stage:
        first = await stage.process([fetched("http://h/a", "<title>a</title>")])
        worker = psutil.Process(first.pid)
        before = worker.memory_full_info().uss
        big = await stage.process([fetched("http://h/many", MANY_LINKS)])
        await stage.process([fetched("http://h/b", "<title>b</title>")])
        after = worker.memory_full_info().uss
    assert big.records[0]["title"] == "many"
    # Its tree took well over 100 MB; kept, the worker would hold it for the whole crawl.
    assert after - before < 50 * 1024 * 1024


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """Counts the full (generation 2) collections that run while the test does."""
    started: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(1)

    gc.collect()
    gc.callbacks.append(count)
    try:
        yield started
    finally:
        gc.callbacks.remove(count)


PAGES = [fetched(f"http://h/{n}", WORDY + f"<a href='/p{n}'>more</a>" * 20) for n in range(32)]


def test_pages_parsed_on_the_lxml_path_rarely_cost_their_worker_a_full_collection(
    full_collections,
):
    processor = PageProcessor(parse_page_lxml)
    outcome = process_batch(processor, PAGES, after_page=collect_page_cycles)
    assert [record["title"] for record in outcome.records] == ["kept"] * len(PAGES)
    # Only the records they leave add up to a collection now and then, not one per page.
    assert len(full_collections) <= len(PAGES) // 8


def test_a_bs4_tree_is_collected_after_its_page(full_collections):
    processor = PageProcessor(parse_page)
    outcome = process_batch(processor, PAGES[:1], after_page=collect_page_cycles)
    assert outcome.records[0]["title"] == "kept"
    assert full_collections  # its cycles set the collector's counters moving
    assert gc.collect() == 0  # and nothing of the tree was left for later
