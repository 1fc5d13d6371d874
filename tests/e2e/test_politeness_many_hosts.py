"""Politeness with hundreds of hosts at once, as each site sees it: every request start to a
host (robots.txt included) comes at least the delay after the one before, whatever the
other hosts do.

Each host is a loopback address of its own, served by one server process that stamps every
request as it arrives.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.crawling import run_crawl
from tests.support.many_hosts import ManyHosts
from tests.support.redis_server import RedisServer, redis_server

pytestmark = pytest.mark.slow  # end-to-end: a server process, hundreds of hosts, seconds

__all__ = ["redis_server"]  # the fixture, imported for this module's tests

HOSTS = 300
PAGES_PER_HOST = 2

DELAY_S = 0.5

SLACK_S = 0.15
"""What a start may seem early by at the server, as in test_politeness_live: the server
reads one request sooner than another. Load only makes gaps longer, never shorter."""

NEW_HOST_S = 0.4
"""How long a first request to a host takes to reach the wire after the politeness gate let
it go: a new connection on a busy machine with hundreds of hosts starting together (up to
0.45 s was seen). Counting the delay from the gate, the next request to the host came that
much too early."""


class SlowNewHosts(httpx.AsyncBaseTransport):
    """The real transport, but a host's first request waits ``NEW_HOST_S`` before it goes."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._seen: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in self._seen:
            self._seen.add(request.url.host)
            await asyncio.sleep(NEW_HOST_S)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


ROBOTS = {
    "delay": ("User-agent: *\nDisallow: /private\n", {"delay_s": DELAY_S}),
    "crawl-delay": (f"User-agent: *\nCrawl-delay: {DELAY_S}\n", {}),
}


@pytest.mark.parametrize("politeness", ["delay", "crawl-delay"])
async def test_no_host_gets_two_starts_within_the_delay_when_hundreds_start_together(
    tmp_path: Path, politeness: str
) -> None:
    gap, host, before, after = await smallest_gap(tmp_path, politeness)
    assert gap >= DELAY_S - SLACK_S, f"{host}: {before} -> {after} after {gap:.3f} s"


@pytest.mark.parametrize("politeness", ["delay", "crawl-delay"])
async def test_on_a_redis_frontier_too(
    tmp_path: Path, redis_server: RedisServer, politeness: str
) -> None:
    cluster = {"frontier": redis_server.url, "crawl_id": "hosts"}
    gap, host, before, after = await smallest_gap(tmp_path, politeness, cluster=cluster)
    assert gap >= DELAY_S - SLACK_S, f"{host}: {before} -> {after} after {gap:.3f} s"


async def smallest_gap(
    tmp_path: Path, politeness: str, **settings: Any
) -> tuple[float, str, str, str]:
    """Crawl every host's pages; the smallest gap any host saw: (gap, host, path, next path)."""
    robots, fetch = ROBOTS[politeness]
    with ManyHosts(HOSTS, robots, tmp_path / "arrivals.json") as hosts:
        urls = [
            hosts.url(index, f"/page/{page}")
            for page in range(PAGES_PER_HOST)
            for index in range(HOSTS)
        ]
        records, _ = await run_crawl(
            urls,
            transport=SlowNewHosts(),
            workers=0,
            fetch={"concurrency": 64, "per_host": 1, **fetch},
            **settings,
        )
    arrivals = hosts.arrivals()

    assert sorted(record["url"] for record in records) == sorted(urls)
    assert [record["error"] for record in records] == [None] * len(urls)
    assert len(arrivals) == HOSTS
    assert {times[0][1] for times in arrivals.values()} == {"/robots.txt"}
    gaps = [
        (later - earlier, host, before, after)
        for host, times in arrivals.items()
        for (earlier, before), (later, after) in itertools.pairwise(times)
    ]
    assert len(gaps) == HOSTS * PAGES_PER_HOST
    return min(gaps)
