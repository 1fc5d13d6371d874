"""Tests for crawler.frontier.local beyond the ``Frontier`` contract (test_lifecycle.py): its
own calls (``add``), dedup counts, back-pressure, host order, breadth-first parking, the
delay's jitter on an injected clock, a retry's time on the wall clock."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from crawler.frontier import (
    FETCHED,
    Lease,
    LocalFrontier,
    Outcome,
    RetryIn,
)
from crawler.models import FetchRequest

A = "http://a.example"
B = "http://b.example"

BLOCKED_S = 0.05
"""How long a call must stay pending to count as blocked; only ever a lower bound."""

SOON_S = 5.0
"""Upper bound for a call that should return promptly (generous for a busy machine)."""


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def req(url: str) -> FetchRequest:
    return FetchRequest(url)


async def blocks(task: asyncio.Future[Any]) -> bool:
    """True when ``task`` is still pending after BLOCKED_S (it is not cancelled)."""
    done, _ = await asyncio.wait({task}, timeout=BLOCKED_S)
    return not done


async def get_soon(frontier: LocalFrontier) -> Lease | None:
    return await asyncio.wait_for(frontier.get(), SOON_S)


def outcome(lease: Lease) -> Outcome:
    """How ``lease``'s request ended once its record is written: a page fetched."""
    return Outcome(lease.request.url, 200, None, lease.request.depth)


# -- dedup ---------------------------------------------------------------------------


async def test_add_rejects_canonical_duplicates() -> None:
    frontier = LocalFrontier(per_host=1)
    assert frontier.add(req(f"{A}/page?x=1&y=2")) is True
    assert frontier.add(req(f"{A}/page?x=1&y=2#frag")) is False
    assert frontier.add(req(f"{A}/page?y=2&x=1")) is False
    assert frontier.add(req("http://A.EXAMPLE:80/page?x=1&y=2")) is False
    assert frontier.add(req(f"{A}/other")) is True
    assert frontier.pending == 2
    assert frontier.seen_count == 2


async def test_put_rejects_canonical_duplicates() -> None:
    frontier = LocalFrontier(per_host=1)
    assert await frontier.put(req(f"{A}/p")) is True
    assert await frontier.put(req(f"{A}:80/p#top")) is False
    assert frontier.pending == 1


async def test_mark_seen_blocks_later_add() -> None:
    frontier = LocalFrontier(per_host=1)
    assert await frontier.mark_seen(f"{A}/already") is True
    assert await frontier.mark_seen(f"{A}/already#x") is False
    assert frontier.add(req(f"{A}/already")) is False
    assert frontier.pending == 0


async def test_each_queued_url_is_handed_out_once() -> None:
    frontier = LocalFrontier(per_host=10)
    urls = [f"{A}/{n}" for n in range(5)] + [f"{B}/{n}" for n in range(5)]
    for url in urls + urls:
        frontier.add(req(url))
    frontier.close_input()
    got = []
    while (request := await get_soon(frontier)) is not None:
        got.append(request.request.url)
        await frontier.end(request, FETCHED)
        await frontier.done([outcome(request)])
    assert sorted(got) == sorted(urls)


# -- end of the crawl ----------------------------------------------------------------


async def test_get_returns_none_when_input_closed_and_nothing_left() -> None:
    frontier = LocalFrontier(per_host=1)
    frontier.close_input()
    assert await get_soon(frontier) is None


async def test_close_input_wakes_a_waiting_get() -> None:
    frontier = LocalFrontier(per_host=1)
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)
    frontier.close_input()
    assert await asyncio.wait_for(waiting, SOON_S) is None


# -- per-host concurrency ------------------------------------------------------------


async def test_hosts_take_turns() -> None:
    frontier = LocalFrontier(per_host=100)
    for n in range(3):
        frontier.add(req(f"{A}/{n}"))
    for n in range(3):
        frontier.add(req(f"{B}/{n}"))
    hosts = []
    for _ in range(4):
        request = await get_soon(frontier)
        assert request is not None
        hosts.append(request.request.url.split("/")[2])
    assert hosts == ["a.example", "b.example", "a.example", "b.example"]


# -- back-pressure -------------------------------------------------------------------


async def test_put_blocks_at_max_pending_until_one_is_taken() -> None:
    frontier = LocalFrontier(per_host=10, max_pending=2)
    assert await frontier.put(req(f"{A}/1"))
    assert await frontier.put(req(f"{A}/2"))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.put(req(f"{A}/3")), BLOCKED_S)
    assert frontier.pending == 2

    putting = asyncio.ensure_future(frontier.put(req(f"{A}/3")))
    assert await blocks(putting)
    assert await get_soon(frontier) is not None
    assert await asyncio.wait_for(putting, SOON_S) is True
    assert frontier.pending == 2


# -- stop ----------------------------------------------------------------------------


async def test_stop_wakes_a_waiting_get_and_a_blocked_put() -> None:
    frontier = LocalFrontier(per_host=1, max_pending=1)
    await frontier.put(req(f"{A}/1"))
    first = await get_soon(frontier)
    assert first is not None
    await frontier.put(req(f"{A}/2"))

    getting = asyncio.ensure_future(frontier.get())  # host A at its limit
    putting = asyncio.ensure_future(frontier.put(req(f"{A}/3")))  # queue full
    assert await blocks(getting)
    assert await blocks(putting)

    frontier.stop()
    assert await asyncio.wait_for(getting, SOON_S) is None
    assert await asyncio.wait_for(putting, SOON_S) is False


# -- delay and holds -----------------------------------------------------------------


async def test_delay_is_jittered_between_one_and_one_and_a_half() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=10, delay_s=2.0, clock=clock, rng=random.Random(7))
    frontier.add(req(f"{A}/1"))
    frontier.add(req(f"{A}/2"))
    assert await get_soon(frontier) is not None

    clock.now = 1.99  # below delay_s: never allowed, the delay is a minimum
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)
    clock.now = 3.0  # 1.5 x delay_s: always allowed
    assert await get_soon(frontier) is not None


async def test_a_late_seed_unparks_a_host_waiting_for_the_next_level() -> None:
    frontier = LocalFrontier(per_host=1)
    frontier.add(FetchRequest(f"{A}/seed-1"))
    first = await get_soon(frontier)
    assert first is not None
    frontier.add(FetchRequest(f"{A}/link", depth=1, referrer=first.request.url))  # found on seed-1
    await frontier.end(first, FETCHED)
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)  # depth 1 must wait: seed-1 is not done yet
    frontier.add(FetchRequest(f"{A}/seed-2"))  # a seed read late, still depth 0
    late = await asyncio.wait_for(waiting, SOON_S)
    assert late is not None
    assert late.request.url == f"{A}/seed-2"  # the host was not left parked behind its depth-1 link
    await frontier.end(late, FETCHED)
    await frontier.done([outcome(first), outcome(late)])
    link = await get_soon(frontier)
    assert link is not None
    assert link.request.depth == 1


# -- the lease lifecycle -----------------------------------------------------------------


async def test_a_retrys_time_is_kept_on_the_wall_clock_as_well() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=1, max_requests=1, clock=clock, wall_clock=clock)
    frontier.add(req(f"{A}/flaky"))
    frontier.close_input()
    first = await get_soon(frontier)
    assert first is not None
    await frontier.end(first, RetryIn(10.0))
    assert frontier.pending == 1
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)
    clock.now = 10.0
    second = await get_soon(frontier)
    assert second is not None
    assert second.request.not_before == 10.0  # what a resumed crawl reads from the state


async def test_add_many_after_a_stop_takes_nothing_it_could_not_resume() -> None:
    frontier = LocalFrontier(per_host=1)
    frontier.stop()
    assert await frontier.add_many([req(f"{A}/late-link")]) == []
    assert frontier.pending == 0
