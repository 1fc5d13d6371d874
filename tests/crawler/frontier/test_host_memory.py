"""What a process keeps per host stays bounded however many hosts a crawl reaches: the
autothrottle's controllers (``ThrottleRegistry``, both frontiers') and the Redis frontier's
record of when hosts' timing changed (``RecentTimes``). Forgetting is safe: a host coming
back starts at slow start, and in a shared crawl relearns the rate kept in Redis.

Memory is measured as objects held, never bytes or time."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from crawler.frontier import Frontier, HostAnswer, HostThrottle, Rate, Throttles
from crawler.frontier.recent import RecentTimes
from crawler.frontier.throttle import MAX_HOSTS, ThrottleRegistry
from crawler.models import FetchRequest
from tests.support.frontiers import open_frontier
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # the fixture, imported for this module's tests

FAST, SLOW = HostAnswer(200, None, 0.02), HostAnswer(200, None, 0.5)


def controllers_alive() -> int:
    """``HostThrottle`` objects alive in this process, whoever holds them."""
    gc.collect()
    return sum(1 for thing in gc.get_objects() if isinstance(thing, HostThrottle))


def test_the_registry_keeps_the_hosts_answered_last_and_no_more() -> None:
    registry = ThrottleRegistry(Rate(2), max_hosts=3)
    first = {host: registry.answered(host) for host in ("a", "b", "c")}
    assert registry.answered("a") is first["a"]  # answered again: now the most recent
    registry.answered("d")
    assert len(registry) == 3
    assert registry.get("b") is None  # the least recently answered: forgotten
    assert registry.get("a") is first["a"]
    assert registry.get("c") is first["c"]  # asking is no answer: c is the least recent now
    registry.answered("e")
    assert registry.get("c") is None
    back = registry.answered("b")
    assert back is not first["b"]
    assert (back.rate, back.version) == (Rate(2), 0)


def test_a_forgotten_host_comes_back_at_slow_start_and_one_answered_lately_keeps_its_rate() -> None:
    throttles = Throttles(per_host=8, enabled=True, max_hosts=2)
    changes = [throttles.observe("a.test", FAST, floor_s=0.0) for _ in range(40)]
    assert [rate for rate in changes if rate is not None] == [Rate(4), Rate(8)]
    throttles.observe("b.test", FAST, floor_s=0.0)
    throttles.observe("a.test", FAST, floor_s=0.0)  # a answered after b: b goes first
    throttles.observe("c.test", FAST, floor_s=0.0)
    assert throttles.rate("a.test") == Rate(8)
    throttles.observe("d.test", FAST, floor_s=0.0)  # two hosts answered since a: forgotten
    assert throttles.rate("a.test") == Rate(2)
    changes = [throttles.observe("a.test", FAST, floor_s=0.0) for _ in range(4)]
    assert changes[-1] == Rate(4)  # slow start again: one window of 4, then doubling


def test_the_controllers_held_stay_bounded_however_many_hosts_answer() -> None:
    throttles = Throttles(per_host=8, enabled=True)
    before = controllers_alive()
    for n in range(5 * MAX_HOSTS):
        throttles.observe(f"h{n}.test", FAST, floor_s=0.0)
    assert controllers_alive() - before <= MAX_HOSTS
    assert throttles.rate(f"h{5 * MAX_HOSTS - 1}.test") == Rate(2)


def test_host_times_stay_bounded_and_a_forgotten_one_never_reads_earlier() -> None:
    times = RecentTimes(2)
    assert times.get("a") is None  # nothing known, nothing forgotten
    hosts = [f"h{n}" for n in range(10)]
    for at, host in enumerate(hosts):
        times[host] = float(at)
        assert len(times) <= 4
    assert times.get("h9") == 9.0
    assert all((times.get(host) or 0.0) >= at for at, host in enumerate(hosts))
    for n in range(50_000):
        times[f"many{n}"] = 10.0 + n
    assert len(times) <= 4


@asynccontextmanager
async def shared(server: RedisServer, **options: Any) -> AsyncIterator[Frontier]:
    """One process's Redis frontier on ``server``, keeping 2 hosts at most; left cleanly."""
    async with AsyncExitStack() as closing:
        yield await open_frontier("redis", server, closing, max_hosts=2, **options)


async def test_a_shared_crawl_forgets_hosts_past_the_bound_and_relearns_a_returning_ones_rate(
    redis_server: RedisServer,
) -> None:
    async with shared(redis_server, per_host=4, autothrottle=True) as frontier:
        before = controllers_alive()
        assert [await frontier.pace("http://a.test/x", FAST) for _ in range(4)][-1] == Rate(4)
        for n in range(50):  # a forgotten here; its rate (4, changed once) stays in Redis
            await frontier.pace(f"http://h{n}.test/x", FAST)
        assert controllers_alive() - before <= 2
        # Back, at slow start: its first proposal names no version, is refused, and the
        # reply teaches it the shared rate (4) and its version...
        assert [await frontier.pace("http://a.test/x", FAST) for _ in range(4)] == [None] * 4
        # ...so the next one applies to that rate: 2 answers skipped, then a window of 8.
        answers = [await frontier.pace("http://a.test/x", SLOW) for _ in range(10)]
        assert answers == [None] * 9 + [Rate(2, 0.0, 1)]


async def test_a_lease_on_a_host_whose_timing_was_forgotten_still_asks_redis(
    redis_server: RedisServer,
) -> None:
    async with shared(redis_server, delay_s=5.0) as frontier:
        await frontier.add_many([FetchRequest("http://a.test/1")])
        lease = await asyncio.wait_for(frontier.get(), 10.0)
        assert lease is not None
        robots = await frontier.wait_turn("http://a.test/robots.txt")
        await robots.sent()  # the page is due 5 s after robots.txt now
        for host in ("b", "c", "d", "e"):  # a's change forgotten here (2 to 4 hosts kept)
            await (await frontier.wait_turn(f"http://{host}.test/x")).sent()
        assert await frontier.may_start(lease) is False  # asked Redis, as if remembered
