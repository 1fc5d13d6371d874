"""The engine end to end against real loopback servers: what a user of a URL-list crawl sees."""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest

from crawler.demo import SiteServer, SyntheticSite
from tests.support.crawling import run_crawl
from tests.support.parsers import CRASH_MARKER, RAISE_MARKER, parse_or_die, parse_or_raise
from tests.support.routes import RouteServer, page

VOLATILE = ("elapsed_ms", "fetched_at")


async def test_every_url_of_the_site_becomes_exactly_one_record(demo_server, demo_site):
    urls = demo_site.urls(demo_server.base_url)
    records, stats = await run_crawl(urls, workers=2)

    assert Counter(r["url"] for r in records) == Counter(urls)
    by_url = {r["url"]: r for r in records}
    for path in demo_site.html_paths():
        record = by_url[demo_server.url(path)]
        assert record["status"] == 200
        assert record["error"] is None
        assert record["title"]
        assert record["word_count"] > 100
        expected_links = {demo_server.url(target) for target in demo_site.links_of(path)}
        assert expected_links <= set(record["links"])
    for path in demo_site.missing_paths():
        record = by_url[demo_server.url(path)]
        assert record["status"] == 404
        assert record["error"]["code"] == "http_4xx"
        assert record["title"] is None
    for path in demo_site.file_paths():
        record = by_url[demo_server.url(path)]
        assert record["error"] is None
        assert not record["content_type"].startswith("text/html")
        assert record["bytes"] > 0
        assert record["text"] is None
        assert record["links"] is None
    assert stats.written == len(urls)
    assert stats.errors == Counter({"http_4xx": len(demo_site.missing_paths())})


async def test_duplicate_spellings_of_a_seed_are_fetched_once():
    with RouteServer({"/a": page("<title>A</title>")}) as server:
        urls = [
            server.url("/a"),
            server.url("/a#top"),
            server.url("/a?y=2&x=1"),
            server.url("/a?x=1&y=2#frag"),
        ]
        records, stats = await run_crawl(urls, workers=0)
        assert sorted(server.page_requests) == ["/a", "/a?y=2&x=1"]
    assert sorted(r["url"] for r in records) == [server.url("/a"), server.url("/a?y=2&x=1")]
    assert stats.duplicate_seeds == 2


@pytest.mark.slow
async def test_slow_pages_are_fetched_concurrently():
    site = SyntheticSite(pages=20)
    with SiteServer(site, delay_s=0.5) as server:
        started = time.monotonic()
        records, _ = await run_crawl(
            [server.url(p) for p in site.html_paths()],
            fetch={"concurrency": 20, "per_host": 20},
            workers=0,
        )
        elapsed = time.monotonic() - started
    assert len(records) == 20
    # One after another this would take 20 x 0.5 s = 10 s.
    assert elapsed < 5.0


async def test_pages_are_parsed_in_several_worker_processes(demo_server, demo_site):
    urls = [demo_server.url(p) for p in demo_site.html_paths()]
    records, stats = await run_crawl(urls, workers=2, batch_size=2)
    assert len(records) == len(urls)
    assert len(stats.worker_pids) == 2
    assert os.getpid() not in stats.worker_pids


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_inline_and_worker_parsing_give_the_same_records(demo_server, demo_site):
    urls = demo_site.urls(demo_server.base_url)
    inline, _ = await run_crawl(urls, workers=0)
    pooled, _ = await run_crawl(urls, workers=2)

    def comparable(records):
        return {r["url"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in records}

    assert comparable(inline) == comparable(pooled)


async def test_a_page_that_kills_its_worker_is_recorded_and_the_crawl_goes_on():
    routes = {f"/ok-{n}": page(f"<title>ok {n}</title><a href='/x{n}'>x</a>") for n in range(40)}
    routes[f"/{CRASH_MARKER}"] = page("<title>deadly</title>")
    with RouteServer(routes) as server:
        urls = [server.url(path) for path in routes]
        records, stats = await run_crawl(urls, parse=parse_or_die, workers=2)

    by_url = {r["url"]: r for r in records}
    assert len(records) == len(urls)
    crashed = by_url[server.url(f"/{CRASH_MARKER}")]
    assert crashed["error"]["code"] == "parse_crash"
    assert crashed["status"] == 200
    others = [r for url, r in by_url.items() if CRASH_MARKER not in url]
    assert all(r["error"] is None and r["title"].startswith("ok") for r in others)
    assert stats.errors["parse_crash"] == 1


async def test_a_parse_function_that_raises_costs_only_its_page():
    routes = {f"/ok-{n}": page(f"<title>ok {n}</title>") for n in range(10)}
    routes[f"/{RAISE_MARKER}"] = page("<title>buggy</title>")
    with RouteServer(routes) as server:
        urls = [server.url(path) for path in routes]
        records, stats = await run_crawl(urls, parse=parse_or_raise, workers=2)

    by_url = {r["url"]: r for r in records}
    failed = by_url[server.url(f"/{RAISE_MARKER}")]
    assert failed["error"]["code"] == "parse_error"
    assert "boom on purpose" in failed["error"]["message"]
    assert sum(r["error"] is None for r in records) == 10
    assert stats.errors["parse_error"] == 1


async def test_unreachable_hosts_become_error_records():
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    url = "http://127.0.0.1:9/nothing"
    records, stats = await run_crawl(
        [url], workers=0, robots={"obey": False}, fetch={"retry_backoff_s": 0.01}
    )
    assert records[0]["error"]["code"] == "connect"
    assert records[0]["status"] is None
    assert records[0]["attempts"] == 4  # the first try and 3 retries
    assert stats.errors["connect"] == 1
    assert stats.retries == 3


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_a_host_whose_robots_txt_is_unreachable_is_not_crawled_but_reported():
    records, stats = await run_crawl(["http://127.0.0.1:9/nothing"], workers=0)
    # The record says what really happened to the host: the connection was refused.
    assert [r["error"]["code"] for r in records] == ["connect"]
    assert "http://127.0.0.1:9/robots.txt could not be fetched" in records[0]["error"]["message"]
    assert stats.errors["connect"] == 1
