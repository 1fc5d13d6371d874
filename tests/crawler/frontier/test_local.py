"""Tests for crawler.frontier.local: dedup, the lease lifecycle, end of crawl, per-host limits,
back-pressure, delays."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from crawler.frontier import (
    FETCHED,
    HELD_BACK,
    REFUSED,
    UNFETCHED,
    HostAnswer,
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


class LowestRandom(random.Random):
    """An rng whose jitter is always the lowest: the delay exactly as configured."""

    def uniform(self, a: float, b: float) -> float:
        return a


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


async def test_get_waits_while_a_request_is_outstanding() -> None:
    frontier = LocalFrontier(per_host=1)
    frontier.add(req(f"{A}/1"))
    frontier.close_input()
    request = await get_soon(frontier)
    assert request is not None
    await frontier.end(request, FETCHED)

    # Handed out but not complete: its links may still come, so the crawl is not over.
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)
    assert frontier.outstanding == 1

    await frontier.done([outcome(request)])
    assert await asyncio.wait_for(waiting, SOON_S) is None
    assert frontier.outstanding == 0


async def test_link_added_by_an_outstanding_request_is_handed_out() -> None:
    frontier = LocalFrontier(per_host=1)
    frontier.add(req(f"{A}/1"))
    frontier.close_input()
    first = await get_soon(frontier)
    assert first is not None

    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)
    frontier.add(req(f"{B}/found-on-1"))
    await frontier.end(first, FETCHED)
    await frontier.done([outcome(first)])

    found = await asyncio.wait_for(waiting, SOON_S)
    assert found is not None
    assert found.request.url == f"{B}/found-on-1"


# -- per-host concurrency ------------------------------------------------------------


async def test_host_at_its_limit_does_not_block_other_hosts() -> None:
    frontier = LocalFrontier(per_host=2)
    for n in range(10):
        frontier.add(req(f"{A}/{n}"))
    first = await get_soon(frontier)
    second = await get_soon(frontier)
    assert first is not None
    assert second is not None
    assert {first.request.url, second.request.url} == {f"{A}/0", f"{A}/1"}

    frontier.add(req(f"{B}/only"))
    other = await get_soon(frontier)
    assert other is not None
    assert other.request.url == f"{B}/only"

    # Host A is still at its limit of 2: nothing more may go until one finishes.
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)
    await frontier.end(first, FETCHED)
    third = await asyncio.wait_for(waiting, SOON_S)
    assert third is not None
    assert third.request.url == f"{A}/2"


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


async def test_stop_makes_get_return_none_with_work_queued() -> None:
    frontier = LocalFrontier(per_host=1)
    frontier.add(req(f"{A}/1"))
    frontier.stop()
    assert await get_soon(frontier) is None


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


async def test_delay_spaces_requests_to_one_host() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=10, delay_s=2.0, clock=clock, rng=LowestRandom())
    frontier.add(req(f"{A}/1"))
    frontier.add(req(f"{A}/2"))
    frontier.add(req(f"{B}/1"))

    first = await get_soon(frontier)
    assert first is not None
    assert first.request.url == f"{A}/1"
    # Host A must wait; host B need not.
    other = await get_soon(frontier)
    assert other is not None
    assert other.request.url == f"{B}/1"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)

    clock.now = 1.9
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)

    clock.now = 2.0
    second = await get_soon(frontier)
    assert second is not None
    assert second.request.url == f"{A}/2"


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


async def test_delay_survives_the_host_going_idle() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=10, delay_s=2.0, clock=clock, rng=LowestRandom())
    frontier.add(req(f"{A}/1"))
    first = await get_soon(frontier)
    assert first is not None
    await frontier.end(first, FETCHED)
    await frontier.done([outcome(first)])

    # A link to the same host found a moment later must still wait out the delay.
    clock.now = 0.5
    frontier.add(req(f"{A}/2"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)
    clock.now = 2.0
    second = await get_soon(frontier)
    assert second is not None
    assert second.request.url == f"{A}/2"


async def test_retry_after_keeps_a_ready_host_waiting_until_it_passes() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=10, clock=clock)
    frontier.add(req(f"{A}/1"))
    frontier.add(req(f"{B}/1"))
    assert await frontier.heed(f"{A}/anything", HostAnswer(503, 5.0)) == 5.0

    other = await get_soon(frontier)
    assert other is not None
    assert other.request.url == f"{B}/1"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)

    clock.now = 5.0
    held = await get_soon(frontier)
    assert held is not None
    assert held.request.url == f"{A}/1"


async def test_retry_after_during_a_fetch_delays_the_next_request() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=10, clock=clock)
    frontier.add(req(f"{A}/1"))
    frontier.add(req(f"{A}/2"))
    first = await get_soon(frontier)
    assert first is not None
    # As after a 503 with Retry-After: hold, then release the slot.
    await frontier.heed(first.request.url, HostAnswer(503, 30.0))
    await frontier.end(first, FETCHED)

    clock.now = 29.0
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)
    clock.now = 30.0
    second = await get_soon(frontier)
    assert second is not None
    assert second.request.url == f"{A}/2"


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


async def test_a_long_retry_does_not_hold_the_next_depth_back() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=4, clock=clock)
    frontier.add(FetchRequest(f"{A}/busy"))
    frontier.add(FetchRequest(f"{B}/page"))
    busy = await get_soon(frontier)
    page = await get_soon(frontier)
    assert busy is not None
    assert page is not None
    await frontier.end(busy, RetryIn(600))  # Retry-After: 10 minutes
    frontier.add(FetchRequest(f"{B}/deeper", depth=1))
    await frontier.end(page, FETCHED)
    await frontier.done([outcome(page)])
    deeper = await get_soon(frontier)  # depth 1 goes while the retry waits
    assert deeper is not None
    assert deeper.request.url == f"{B}/deeper"
    clock.now = 601
    again = await get_soon(frontier)
    assert again is not None
    assert again.request.url == f"{A}/busy"
    assert again.request.attempt == 2


async def test_a_request_early_for_its_host_goes_back_and_comes_again() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=1, clock=clock, rng=LowestRandom())
    frontier.add(req(f"{A}/1"))
    frontier.add(FetchRequest(f"{A}/2", depth=1))  # parked until depth 0 is done
    frontier.close_input()
    first = await get_soon(frontier)
    assert first is not None
    assert await frontier.may_start(first) is True  # its turn is kept for it

    robots = await frontier.wait_turn(f"{A}/robots.txt")  # robots.txt takes the turn...
    await robots.sent()
    await frontier.set_delay(first.request.url, 2.0)  # ...and says Crawl-delay: 2
    assert await frontier.may_start(first) is False
    await frontier.end(first, HELD_BACK)
    assert frontier.outstanding == 0
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)

    clock.now = 2.0
    again = await get_soon(frontier)
    assert again is not None
    assert again.request.url == first.request.url
    assert await frontier.may_start(again) is True
    await frontier.end(again, FETCHED)
    await frontier.done([outcome(again)])
    clock.now = 4.0
    deeper = await get_soon(frontier)
    assert deeper is not None
    assert deeper.request.url == f"{A}/2"
    await frontier.end(deeper, FETCHED)
    await frontier.done([outcome(deeper)])
    assert await get_soon(frontier) is None


# -- the lease lifecycle -----------------------------------------------------------------


async def test_a_refused_lease_is_done_at_once_and_takes_no_place_under_the_page_limit() -> None:
    frontier = LocalFrontier(per_host=1, max_requests=1)
    frontier.add(req(f"{A}/forbidden"))
    frontier.add(req(f"{A}/allowed"))
    frontier.close_input()
    refused = await get_soon(frontier)
    assert refused is not None
    await frontier.end(refused, REFUSED)  # robots.txt said no: no record follows
    assert frontier.outstanding == 0
    assert not frontier.limit_reached

    allowed = await get_soon(frontier)
    assert allowed is not None
    assert allowed.request.url == f"{A}/allowed"
    await frontier.end(allowed, FETCHED)
    assert frontier.limit_reached
    await frontier.done([outcome(allowed)])
    assert await get_soon(frontier) is None


async def test_an_unfetched_lease_waits_for_its_record_but_gives_its_page_back() -> None:
    frontier = LocalFrontier(per_host=1, max_requests=1)
    frontier.add(req(f"{A}/unreadable-robots"))
    frontier.add(req(f"{B}/page"))
    frontier.close_input()
    unfetched = await get_soon(frontier)
    assert unfetched is not None
    await frontier.end(unfetched, UNFETCHED)
    assert frontier.outstanding == 1  # its error record is still to be written
    page = await get_soon(frontier)
    assert page is not None
    await frontier.end(page, FETCHED)
    await frontier.done([outcome(unfetched), outcome(page)])
    assert frontier.outstanding == 0
    assert await get_soon(frontier) is None


async def test_a_retry_frees_the_host_and_its_page_until_the_next_attempt() -> None:
    clock = FakeClock()
    frontier = LocalFrontier(per_host=1, max_requests=1, clock=clock, wall_clock=clock)
    frontier.add(req(f"{A}/flaky"))
    frontier.close_input()
    first = await get_soon(frontier)
    assert first is not None
    await frontier.end(first, RetryIn(10.0))
    assert (frontier.pending, frontier.outstanding) == (1, 0)
    assert not frontier.limit_reached
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frontier.get(), BLOCKED_S)
    clock.now = 10.0
    second = await get_soon(frontier)
    assert second is not None
    assert second.request.attempt == 2
    assert second.request.not_before == 10.0  # on the injected wall clock
    assert second.token != first.token


async def test_add_many_after_a_stop_takes_nothing_it_could_not_resume() -> None:
    frontier = LocalFrontier(per_host=1)
    frontier.stop()
    assert await frontier.add_many([req(f"{A}/late-link")]) == []
    assert frontier.pending == 0
