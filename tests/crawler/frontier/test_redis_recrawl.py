"""Recrawls of a crawl shared through Redis: each record's ``change``, 304s not parsed,
``--changed-only``, one new run however many processes start it, and an unfinished crawl
resumed. A real ``redis-server`` and a loopback site that changes between runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from crawler.api import Crawl, CrawlResult, crawl, make_settings
from crawler.errors import ConfigError

# How one page is packed into Redis: an internal of the module under test, reached directly.
from crawler.frontier.redis.memory import pack, unpack
from crawler.jobfile import load_job
from crawler.models import Record
from crawler.recrawl import PageMemory
from crawler.settings import Settings
from tests.support.changing import RECRAWL_SITE, ChangingSite, publish_second_version
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # the fixture, imported for this module's tests

SITE = RECRAWL_SITE
PAGES = ("/", "/a", "/b", "/c", "/d", "/e")


def options(server: RedisServer, out: Path, crawl_id: str = "site", **settings: Any) -> Any:
    return {
        "follow": True,
        "workers": 0,
        "cluster": {"frontier": server.url, "crawl_id": crawl_id},
        "output": {"jsonl": str(out)},
        **settings,
    }


def shared(site: ChangingSite, server: RedisServer, out: Path, **settings: Any) -> Settings:
    """Settings of one process of the shared crawl, seeded with the site's home page (the
    seeds of a process that starts a shared crawl are its settings')."""
    return make_settings(None, seeds=[site.url("/")], **options(server, out, **settings))


def run(site: ChangingSite, server: RedisServer, out: Path, **settings: Any) -> CrawlResult:
    return crawl(settings=shared(site, server, out, **settings))


def changes(records: list[Record]) -> dict[str, str | None]:
    return {record["url"].rsplit("/", 1)[1] or "/": record["change"] for record in records}


class StopAfter:
    """A sink that stops its crawl (like Ctrl-C) once ``count`` records are written."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.records: list[Record] = []
        self.crawl: Crawl | None = None

    async def open(self) -> None:
        pass

    async def write(self, records: Sequence[Record]) -> None:
        self.records += records
        if len(self.records) >= self.count and self.crawl is not None:
            self.crawl.stop()

    async def close(self) -> None:
        pass


@pytest.fixture
def site():
    with ChangingSite(SITE, bare=frozenset({"/d"})) as served:
        yield served


def test_a_page_memory_packs_and_unpacks_whole():
    page = PageMemory(
        "http://h.example/a", 200, '"e"', "Mon, 30 Nov 2026 08:00:00 GMT", "ab" * 32,
        ["http://h.example/b"], 2, "http://h.example/", "urn:uuid:1", "2026-11-30", "sha1:X",
    )  # fmt: skip
    assert unpack(pack(page)) == page
    assert unpack(pack(PageMemory("http://h.example/", None))) == PageMemory(
        "http://h.example/", None
    )


@pytest.mark.slow
def test_a_recrawl_through_redis_says_exactly_what_changed(site, redis_server, tmp_path):
    first = run(site, redis_server, tmp_path / "day1.jsonl")
    assert all("change" not in record for record in first.records)
    a_links = first.by_url()[site.url("/a")]["links"]

    publish_second_version(site)
    second = run(site, redis_server, tmp_path / "day2.jsonl", recrawl=True)

    assert changes(second.records) == {
        "/": "changed",
        "a": "unchanged",  # 304
        "b": "changed",
        "c": "gone",  # no longer linked, and 404
        "d": "unchanged",  # no validators: 200 with the same digest
        "e": "unchanged",  # reached through the links /a had last time
        "new": "new",
    }
    assert site.fetched("/a") == [(True, 304)]
    assert second.by_url()[site.url("/a")]["links"] == a_links
    assert second.stats.parsed == 4  # the 200s only (/, b, d, new): no 304 parsed again
    assert second.stats.changes == {"new": 1, "changed": 2, "unchanged": 3, "gone": 1}

    site.clear()
    third = run(site, redis_server, tmp_path / "day3.jsonl", recrawl=True, changed_only=True)
    assert third.records == []  # nothing changed since
    assert third.stats.changes["unchanged"] == 7
    for path in ("/", "/a", "/b", "/e", "/new"):
        assert site.fetched(path) == [(True, 304)]
    assert (tmp_path / "day3.jsonl").read_text() == ""


@pytest.mark.slow
def test_two_processes_recrawling_at_once_begin_one_run(site, redis_server, tmp_path):
    run(site, redis_server, tmp_path / "day1.jsonl", fetch={"delay_s": 0.05})
    site.pages["/b"] = "<title>B</title><p>second version</p>"
    site.clear()

    async def both() -> list[Any]:
        crawls = [
            Crawl(
                shared(
                    site,
                    redis_server,
                    tmp_path / f"p{n}.jsonl",
                    recrawl=True,
                    fetch={"delay_s": 0.05},
                ),
                default_stdout=False,
            )
            for n in (1, 2)
        ]
        return await asyncio.gather(*(one.run() for one in crawls))

    asyncio.run(both())
    for path in PAGES:  # one run: each page fetched once, by one process or the other
        assert len(site.fetched(path)) == 1, (path, site.requests)
    records = [
        json.loads(line)
        for n in (1, 2)
        for line in (tmp_path / f"p{n}.jsonl").read_text().splitlines()
    ]
    assert changes(records) == {
        "/": "unchanged", "a": "unchanged", "b": "changed", "c": "unchanged",
        "d": "unchanged", "e": "unchanged",
    }  # fmt: skip
    assert len(records) == len(PAGES)
    meta = redis.Redis.from_url(redis_server.url)
    try:  # the first crawl was run 0; one recrawl began, however many processes started it
        assert meta.hget("parcrawl:{site}:meta", "run") == b"1"
    finally:
        meta.close()


@pytest.mark.slow
def test_a_recrawl_of_an_unfinished_crawl_resumes_it(site, redis_server, tmp_path):
    run(site, redis_server, tmp_path / "day1.jsonl")
    site.pages["/b"] = "<title>B</title><p>v2</p>"
    site.clear()

    part = shared(
        site, redis_server, tmp_path / "part1.jsonl",
        recrawl=True, batch_size=1, fetch={"concurrency": 1},
    )  # fmt: skip
    stopper = StopAfter(2)
    stopper.crawl = Crawl(part, sinks=[stopper])
    stopped = asyncio.run(stopper.crawl.run())
    assert stopped.interrupted
    first_part = stopper.records
    rest = run(site, redis_server, tmp_path / "part2.jsonl", recrawl=True)
    assert 0 < len(rest.records) < len(PAGES)  # resumed: what was done is not done again
    everything = {**changes(first_part), **changes(rest.records)}
    assert everything == {
        "/": "unchanged", "a": "unchanged", "b": "changed", "c": "unchanged",
        "d": "unchanged", "e": "unchanged",
    }  # fmt: skip
    for path in PAGES:  # what the stopped run wrote is not fetched again
        assert len(site.fetched(path)) == 1, (path, site.requests)


def test_a_job_file_may_recrawl_a_shared_crawl_and_a_recrawl_needs_somewhere_to_compare(
    tmp_path,
):
    job = tmp_path / "job.toml"
    job.write_text(
        'seeds = ["http://127.0.0.1:9/"]\nfollow = true\nrecrawl = true\nchanged_only = true\n'
        '[cluster]\nfrontier = "redis://127.0.0.1:9/0"\ncrawl_id = "docs"\n'
    )
    settings = load_job(job).settings
    assert settings.recrawl
    assert settings.changed_only
    with pytest.raises(ConfigError, match=r"^recrawl: .*needs a state file .* or a shared"):
        make_settings(None, recrawl=True)


def test_the_api_starts_a_shared_crawl_from_the_seeds_it_is_given(site, redis_server, tmp_path):
    # Seeds passed to crawl() itself, not in the settings, start the shared crawl too.
    result = crawl(site.url("/"), **options(redis_server, tmp_path / "api.jsonl", "api"))
    assert sorted(record["url"] for record in result.records) == sorted(
        site.url(path) for path in PAGES
    )
