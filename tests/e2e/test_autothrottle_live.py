"""The autothrottle as a server sees it: a site whose answers slow down with its load gets
fewer requests at once and answers faster; a healthy site still gets ``per_host`` at once.

Everything is measured at the server (requests in flight, each answer's time); no timing of
the crawl itself is asserted.
"""

from __future__ import annotations

from typing import Any

import pytest

from crawler.stats import Stats
from tests.support.crawling import run_crawl
from tests.support.redis_server import RedisServer, redis_server
from tests.support.strained import StrainedSite, strained_site

__all__ = ["redis_server"]  # the fixture, imported for this module's tests

PER_HOST = 8
PAGES = 48
BASE_S = 0.01
"""10 ms x n² in flight: 10 ms alone, 40 ms at 2, 160 ms at 4, 640 ms at 8 (per_host)."""

HEALTHY_S = 0.02
"""A healthy server's answer time, whatever its load."""

STRAINED_S = BASE_S * (PER_HOST - 3) ** 2
"""250 ms: what 5 in flight cost. Without the autothrottle most answers take 640 ms; with it,
hardly any takes this long."""


async def crawl(site: StrainedSite, *, autothrottle: bool, **more: Any) -> Stats:
    settings: dict[str, Any] = {
        "follow": True,
        "workers": 0,
        "fetch": {"per_host": PER_HOST, "concurrency": 16, "autothrottle": autothrottle},
        **more,
    }
    records, stats = await run_crawl([site.server.url("/")], **settings)
    assert len(records) == PAGES + 1
    assert all(record["error"] is None for record in records)
    return stats


@pytest.mark.slow
async def test_a_server_slowing_under_load_gets_fewer_requests_at_once_and_answers_faster() -> None:
    with strained_site(pages=PAGES, base_s=BASE_S) as unthrottled:
        await crawl(unthrottled, autothrottle=False)
    with strained_site(pages=PAGES, base_s=BASE_S) as throttled:
        stats = await crawl(throttled, autothrottle=True)
    assert unthrottled.peak == PER_HOST
    assert unthrottled.slowest_s() > STRAINED_S
    seen = (throttled.peak, throttled.slowest_s(), stats.rate_changes)
    assert throttled.peak < PER_HOST, seen
    assert throttled.slowest_s() < STRAINED_S, seen
    host = throttled.server.base_url
    (_, limit, _) = stats.rate_changes[host][-1]
    assert limit < PER_HOST  # where it ended: under per_host (slow start stopped, or slowed)


async def test_a_healthy_server_still_gets_per_host_at_once() -> None:
    with strained_site(pages=PAGES, base_s=0.0, fixed_s=HEALTHY_S) as healthy:
        stats = await crawl(healthy, autothrottle=True)
    assert healthy.peak == PER_HOST
    assert not stats.slowdowns


@pytest.mark.slow
async def test_a_crawl_shared_through_redis_throttles_the_strained_server_too(
    redis_server: RedisServer,
) -> None:
    shared = {"cluster": {"frontier": redis_server.url, "crawl_id": "strained"}}
    with strained_site(pages=PAGES, base_s=BASE_S) as throttled:
        stats = await crawl(throttled, autothrottle=True, **shared)
    seen = (throttled.peak, throttled.slowest_s(), stats.rate_changes)
    assert throttled.peak < PER_HOST, seen
    assert throttled.slowest_s() < STRAINED_S, seen
    (_, limit, _) = stats.rate_changes[throttled.server.base_url][-1]
    assert limit < PER_HOST
