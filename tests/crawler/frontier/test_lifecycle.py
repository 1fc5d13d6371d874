"""The ``Frontier`` contract, held against every backend: LocalFrontier and RedisFrontier (a real
``redis-server``). The lease lifecycle, breadth-first levels, page limits, and host timing
(delay, Crawl-delay, Retry-After, back-off), whose rules exist twice: in Python and in Lua.

Redis keeps its own clock, so times are measured for real: a gap is asserted from a moment
taken before the first event to one taken after the second, never with an upper bound, so
a busy machine can only lengthen what is measured.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from crawler.frontier import (
    FETCHED,
    HELD_BACK,
    REFUSED,
    UNFETCHED,
    Frontier,
    HostAnswer,
    Lease,
    Rate,
    RetryIn,
)
from crawler.models import FetchRequest
from tests.support.frontiers import (
    BLOCKED_S,
    CLOCK_SLACK_S,
    DELAY_S,
    SOON_S,
    MakeFrontier,
    backend,
    blocks,
    crawl_is_over,
    finish,
    frontier,
    get_soon,
    make_frontier,
    outcome,
    since,
)

__all__ = ["backend", "frontier", "make_frontier"]  # the fixtures, imported for these tests

A = "http://a.example"
B = "http://b.example"
C = "http://c.example"
D = "http://d.example"


# -- the seen set and the end of the crawl ---------------------------------------------------


async def test_canonical_duplicates_are_queued_once(frontier: Frontier) -> None:
    added = await frontier.add_many(
        [FetchRequest(f"{A}/p?x=1&y=2"), FetchRequest(f"{A}/p?y=2&x=1#f"), FetchRequest(f"{B}/")]
    )
    assert [request.url for request in added] == [f"{A}/p?x=1&y=2", f"{B}/"]
    assert await frontier.put(FetchRequest(f"{A}:80/p?x=1&y=2")) is False
    assert await frontier.mark_seen(f"{A}/p?x=1&y=2") is False
    assert await frontier.mark_seen(f"{A}/q") is True
    assert await frontier.add_many([FetchRequest(f"{A}/q")]) == []


async def test_the_crawl_ends_once_input_is_closed_and_every_lease_is_done(
    frontier: Frontier,
) -> None:
    await frontier.put(FetchRequest(f"{A}/"))
    await frontier.put(FetchRequest(f"{B}/"))
    frontier.close_input()
    first, second = await get_soon(frontier), await get_soon(frontier)
    ending = asyncio.ensure_future(frontier.get())
    assert await blocks(ending)  # two leases are not done yet: links may still come
    await finish(frontier, first)
    await frontier.end(second, FETCHED)
    assert await blocks(ending)  # fetched, but its record (and links) still to come
    await frontier.done([outcome(second)])
    assert await asyncio.wait_for(ending, SOON_S) is None


async def test_a_link_found_by_a_lease_not_done_yet_is_handed_out(frontier: Frontier) -> None:
    await frontier.put(FetchRequest(f"{A}/1"))
    frontier.close_input()
    first = await get_soon(frontier)
    await frontier.add_many([FetchRequest(f"{B}/found-on-1")])
    await frontier.end(first, FETCHED)
    found = await get_soon(frontier)
    assert found.request.url == f"{B}/found-on-1"


async def test_a_stopped_frontier_hands_out_nothing(frontier: Frontier) -> None:
    await frontier.add_many([FetchRequest(f"{A}/1")])
    frontier.stop()
    assert await crawl_is_over(frontier)


# -- how a lease ends --------------------------------------------------------------------------


async def test_a_retry_comes_back_after_its_delay_as_the_next_attempt(frontier: Frontier) -> None:
    await frontier.put(FetchRequest(f"{A}/"))
    frontier.close_input()
    lease = await get_soon(frontier)
    started = time.monotonic()
    await frontier.end(lease, RetryIn(DELAY_S))
    again = await get_soon(frontier)
    assert since(started) >= DELAY_S - CLOCK_SLACK_S
    assert (again.request.url, again.request.attempt) == (f"{A}/", 2)
    assert again.token != lease.token


async def test_a_retry_frees_its_host_and_its_page_until_the_next_attempt(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(max_requests=1)
    await frontier.put(FetchRequest(f"{A}/flaky"))
    frontier.close_input()
    first = await get_soon(frontier)
    await frontier.end(first, RetryIn(DELAY_S))
    assert not frontier.limit_reached
    second = await get_soon(frontier)  # the page limit counts pages, not attempts
    assert second.request.attempt == 2
    await finish(frontier, second)
    assert await crawl_is_over(frontier)
    assert frontier.limit_reached


async def test_a_lease_held_back_is_handed_out_again_unchanged(frontier: Frontier) -> None:
    await frontier.put(FetchRequest(f"{A}/"))
    lease = await get_soon(frontier)
    await frontier.end(lease, HELD_BACK)
    again = await get_soon(frontier)
    assert again.request == lease.request


async def test_a_refused_lease_is_done_at_once_and_takes_no_place_under_the_page_limit(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(max_requests=1)
    await frontier.add_many([FetchRequest(f"{A}/forbidden"), FetchRequest(f"{A}/allowed")])
    frontier.close_input()
    refused = await get_soon(frontier)
    await frontier.end(refused, REFUSED)  # robots.txt said no: no record follows
    assert not frontier.limit_reached
    allowed = await get_soon(frontier)
    assert allowed.request.url == f"{A}/allowed"
    await frontier.end(allowed, FETCHED)
    await frontier.done([outcome(allowed)])  # and none for the refused one: the crawl is over
    assert await crawl_is_over(frontier)
    assert frontier.limit_reached


async def test_an_unfetched_lease_gives_its_page_back(make_frontier: MakeFrontier) -> None:
    frontier = await make_frontier(max_requests=1)
    await frontier.add_many([FetchRequest(f"{A}/unreadable-robots"), FetchRequest(f"{B}/page")])
    frontier.close_input()
    unfetched = await get_soon(frontier)
    await frontier.end(unfetched, UNFETCHED)
    page = await get_soon(frontier)  # the page limit counts pages fetched
    await finish(frontier, page)
    await frontier.done([outcome(unfetched)])
    assert await crawl_is_over(frontier)
    assert frontier.limit_reached


async def test_an_unfetched_lease_is_not_done_until_its_record_is(frontier: Frontier) -> None:
    await frontier.put(FetchRequest(f"{A}/unreadable-robots"))
    frontier.close_input()
    unfetched = await get_soon(frontier)
    await frontier.end(unfetched, UNFETCHED)
    ending = asyncio.ensure_future(frontier.get())
    assert await blocks(ending)  # its error record is still to be written
    await frontier.done([outcome(unfetched)])
    assert await asyncio.wait_for(ending, SOON_S) is None


# -- breadth first, page limits ----------------------------------------------------------------


async def test_links_one_level_deeper_wait_for_the_level_above(frontier: Frontier) -> None:
    await frontier.put(FetchRequest(f"{A}/"))
    seed = await get_soon(frontier)
    await frontier.add_many([FetchRequest(f"{B}/deeper", depth=1)])
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)  # breadth first: depth 0 is still being fetched
    await finish(frontier, seed)
    deeper = await asyncio.wait_for(waiting, SOON_S)
    assert deeper is not None
    assert deeper.request.url == f"{B}/deeper"


async def test_a_long_retry_does_not_hold_the_next_depth_back(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=4)
    await frontier.add_many([FetchRequest(f"{A}/busy"), FetchRequest(f"{B}/page")])
    busy, page = await get_soon(frontier), await get_soon(frontier)
    await frontier.end(busy, RetryIn(600))  # Retry-After: 10 minutes
    await frontier.add_many([FetchRequest(f"{B}/deeper", depth=1)])
    await finish(frontier, page)
    deeper = await get_soon(frontier)  # depth 1 goes while the retry waits
    assert deeper.request.depth == 1


async def test_a_page_that_leaves_its_level_lets_the_next_depth_go_before_its_done(
    frontier: Frontier,
) -> None:
    await frontier.put(FetchRequest(f"{A}/"))
    frontier.close_input()
    page = await get_soon(frontier)
    await frontier.add_many([FetchRequest(f"{B}/deeper", depth=1)])
    await frontier.end(page, FETCHED)
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)  # fetched, but its record is still to come
    await frontier.leave_level(page.request)  # it renders in a browser: seconds
    deeper = await asyncio.wait_for(waiting, SOON_S)
    assert deeper is not None
    assert deeper.request.url == f"{B}/deeper"
    await finish(frontier, deeper)
    ending = asyncio.ensure_future(frontier.get())
    assert await blocks(ending)  # the rendered page's record (and links) still to come
    await frontier.done([outcome(page)])
    assert await asyncio.wait_for(ending, SOON_S) is None


async def test_a_page_leaves_its_level_once_however_often_it_is_asked(
    frontier: Frontier,
) -> None:
    await frontier.add_many([FetchRequest(f"{A}/rendered", depth=1)])
    await frontier.add_many([FetchRequest(f"{B}/plain", depth=1)])
    rendered, plain = await get_soon(frontier), await get_soon(frontier)
    await frontier.end(rendered, FETCHED)
    await frontier.leave_level(rendered.request)
    await frontier.leave_level(rendered.request)
    # Each link deeper on a host of its own, so it is looked at at once.
    await frontier.add_many([FetchRequest(f"{C}/deeper", depth=2)])
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)  # depth 1 still has the plain page in flight
    await frontier.done([outcome(rendered)])
    await frontier.leave_level(rendered.request)  # after its done: nothing happens
    await frontier.add_many([FetchRequest(f"{D}/deeper", depth=2)])
    assert await blocks(waiting)  # its done did not take it from its level again
    await finish(frontier, plain)
    deeper = await asyncio.wait_for(waiting, SOON_S)
    assert deeper is not None
    assert deeper.request.depth == 2


async def test_a_page_leaves_its_level_only_once_its_fetch_ended(frontier: Frontier) -> None:
    await frontier.add_many([FetchRequest(f"{A}/retried", depth=1)])
    await frontier.add_many([FetchRequest(f"{B}/plain", depth=1)])
    retried, plain = await get_soon(frontier), await get_soon(frontier)
    await frontier.leave_level(retried.request)  # too early: nothing happens
    await frontier.end(retried, RetryIn(600))  # which leaves its level, once
    await frontier.add_many([FetchRequest(f"{C}/deeper", depth=2)])
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)  # depth 1 still has the plain page in flight
    await finish(frontier, plain)
    deeper = await asyncio.wait_for(waiting, SOON_S)
    assert deeper is not None
    assert deeper.request.url == f"{C}/deeper"


async def test_max_pages_stops_the_hand_outs(make_frontier: MakeFrontier) -> None:
    frontier = await make_frontier(max_requests=2)
    await frontier.add_many([FetchRequest(f"{host}/{n}") for host in (A, B) for n in range(2)])
    await get_soon(frontier)
    await get_soon(frontier)
    assert await crawl_is_over(frontier)
    assert frontier.limit_reached


async def test_max_pages_per_host_drops_the_rest_of_a_host(make_frontier: MakeFrontier) -> None:
    frontier = await make_frontier(per_host=4, max_per_host=2)
    await frontier.add_many([FetchRequest(f"{A}/{n}") for n in range(4)])
    await frontier.add_many([FetchRequest(f"{B}/only")])
    frontier.close_input()
    urls = []
    while (lease := await asyncio.wait_for(frontier.get(), SOON_S)) is not None:
        urls.append(lease.request.url)
        await finish(frontier, lease)
    assert sorted(urls) == [f"{A}/0", f"{A}/1", f"{B}/only"]


async def test_pages_dropped_for_max_pages_per_host_are_counted(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=4, max_per_host=2)
    await frontier.add_many([FetchRequest(f"{A}/{n}") for n in range(4)])
    frontier.close_input()
    while (lease := await asyncio.wait_for(frontier.get(), SOON_S)) is not None:
        await finish(frontier, lease)
    await frontier.add_many([FetchRequest(f"{A}/late")])  # found after: dropped as well
    assert frontier.skipped["max_pages_per_host"] == 3  # what the crawl's summary adds up


# -- per-host concurrency ------------------------------------------------------------------


async def test_a_host_at_its_limit_waits_for_a_lease_to_end(frontier: Frontier) -> None:
    await frontier.add_many([FetchRequest(f"{A}/1"), FetchRequest(f"{A}/2")])
    first = await get_soon(frontier)
    second = asyncio.ensure_future(frontier.get())
    assert await blocks(second)  # per_host=1
    await frontier.end(first, FETCHED)
    lease = await asyncio.wait_for(second, SOON_S)
    assert lease is not None
    assert lease.request.url == f"{A}/2"


async def test_a_host_at_its_limit_does_not_hold_other_hosts_back(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=2)
    await frontier.add_many([FetchRequest(f"{A}/{n}") for n in range(4)])
    first, second = await get_soon(frontier), await get_soon(frontier)
    assert {first.request.url, second.request.url} == {f"{A}/0", f"{A}/1"}
    await frontier.add_many([FetchRequest(f"{B}/only")])
    other = await get_soon(frontier)
    assert other.request.url == f"{B}/only"
    third = asyncio.ensure_future(frontier.get())
    assert await blocks(third)  # host A still has its two
    await frontier.end(first, FETCHED)
    lease = await asyncio.wait_for(third, SOON_S)
    assert lease is not None
    assert lease.request.url == f"{A}/2"


# -- host timing: the delay --------------------------------------------------------------------


async def test_the_delay_spaces_hand_outs_to_one_host_not_to_others(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=10, delay_s=DELAY_S)
    await frontier.add_many([FetchRequest(f"{A}/1"), FetchRequest(f"{A}/2")])
    await frontier.add_many([FetchRequest(f"{B}/1")])
    before_first = time.monotonic()
    first = await get_soon(frontier)
    other = await get_soon(frontier)
    # Host B, queued after host A's second URL, goes before it: only host A waits.
    assert [first.request.url, other.request.url] == [f"{A}/1", f"{B}/1"]
    second = await get_soon(frontier)
    assert second.request.url == f"{A}/2"
    assert since(before_first) >= DELAY_S - CLOCK_SLACK_S


async def test_a_hand_outs_own_first_start_does_not_wait_for_the_delay(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(delay_s=600.0)  # its next hand-out: in ten minutes
    await frontier.add_many([FetchRequest(f"{A}/1")])
    lease = await get_soon(frontier)
    turn = await asyncio.wait_for(frontier.wait_turn(lease.request.url), SOON_S)
    await turn.sent()


async def test_the_delay_survives_the_host_going_idle(make_frontier: MakeFrontier) -> None:
    frontier = await make_frontier(delay_s=DELAY_S)
    await frontier.add_many([FetchRequest(f"{A}/1")])
    before_first = time.monotonic()
    await finish(frontier, await get_soon(frontier))
    # A link to the same host found a moment later still waits out the delay.
    await frontier.add_many([FetchRequest(f"{A}/2")])
    second = await get_soon(frontier)
    assert second.request.url == f"{A}/2"
    assert since(before_first) >= DELAY_S - CLOCK_SLACK_S


async def test_the_delay_counts_from_when_a_start_goes_on_the_wire(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(delay_s=DELAY_S)
    robots = await asyncio.wait_for(frontier.wait_turn(f"{A}/robots.txt"), SOON_S)
    page = asyncio.ensure_future(frontier.wait_turn(f"{A}/1"))
    # robots.txt is still connecting (slowly): nothing else to the host starts meanwhile.
    assert await blocks(page)
    await asyncio.wait_for(frontier.wait_turn(f"{B}/1"), SOON_S)  # other hosts go on
    before_sent = time.monotonic()
    await robots.sent()
    await asyncio.wait_for(page, SOON_S)
    assert since(before_sent) >= DELAY_S - CLOCK_SLACK_S


async def test_a_start_that_never_went_out_frees_its_host_after_the_delay(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(delay_s=DELAY_S)
    began = time.monotonic()
    refused = await asyncio.wait_for(frontier.wait_turn(f"{A}/1"), SOON_S)
    page = asyncio.ensure_future(frontier.wait_turn(f"{A}/2"))
    assert await blocks(page)
    await refused.close()  # no connection: nothing was sent
    await asyncio.wait_for(page, SOON_S)
    # The delay still counts from the first start (the server may have seen something).
    assert since(began) >= DELAY_S - CLOCK_SLACK_S


async def test_without_a_delay_starts_do_not_wait_for_each_others_connections(
    frontier: Frontier,
) -> None:
    await asyncio.wait_for(frontier.wait_turn(f"{A}/robots.txt"), SOON_S)
    await asyncio.wait_for(frontier.wait_turn(f"{A}/1"), SOON_S)  # the first still connects


async def test_a_lease_whose_host_started_something_since_waits_out_of_its_fetch_slot(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(delay_s=DELAY_S)
    await frontier.add_many([FetchRequest(f"{A}/1")])
    lease = await get_soon(frontier)
    robots = await asyncio.wait_for(frontier.wait_turn(f"{A}/robots.txt"), SOON_S)
    await robots.sent()  # robots.txt went first: the page is due a delay after it
    assert await frontier.may_start(lease) is False


# -- host timing: a Crawl-delay learned from robots.txt ----------------------------------------


@pytest.mark.slow
async def test_a_crawl_delay_learned_after_the_hand_out_sends_the_lease_back(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier()
    await frontier.add_many([FetchRequest(f"{A}/1")])
    await frontier.add_many([FetchRequest(f"{A}/2", depth=1)])  # parked until depth 0 is done
    frontier.close_input()
    first = await get_soon(frontier)
    assert await frontier.may_start(first) is True  # its turn is kept for it

    robots = await asyncio.wait_for(frontier.wait_turn(f"{A}/robots.txt"), SOON_S)
    before_sent = time.monotonic()
    await robots.sent()
    await frontier.set_delay(first.request.url, DELAY_S)  # robots.txt says Crawl-delay
    assert await frontier.may_start(first) is False
    await frontier.end(first, HELD_BACK)

    again = await get_soon(frontier)  # counted from robots.txt's start
    assert since(before_sent) >= DELAY_S - CLOCK_SLACK_S
    assert again.request == first.request
    assert await frontier.may_start(again) is True
    await finish(frontier, again)
    deeper = await get_soon(frontier)
    assert deeper.request.url == f"{A}/2"
    await finish(frontier, deeper)
    assert await crawl_is_over(frontier)


async def test_a_crawl_delay_spaces_every_start_from_the_last_one(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier()
    robots = await asyncio.wait_for(frontier.wait_turn(f"{A}/robots.txt"), SOON_S)
    before_sent = time.monotonic()
    await robots.sent()
    await frontier.set_delay(f"{A}/robots.txt", DELAY_S)
    page = await asyncio.wait_for(frontier.wait_turn(f"{A}/1"), SOON_S)
    assert since(before_sent) >= DELAY_S - CLOCK_SLACK_S
    before_page = time.monotonic()
    await page.sent()
    await asyncio.wait_for(frontier.wait_turn(f"{A}/2"), SOON_S)
    assert since(before_page) >= DELAY_S - CLOCK_SLACK_S
    await asyncio.wait_for(frontier.wait_turn(f"{B}/1"), SOON_S)  # only host A's


async def test_a_crawl_delay_shorter_than_the_delay_does_not_shorten_it(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(delay_s=DELAY_S)
    await frontier.set_delay(f"{A}/", DELAY_S / 10)
    first = await asyncio.wait_for(frontier.wait_turn(f"{A}/1"), SOON_S)
    before_sent = time.monotonic()
    await first.sent()
    await asyncio.wait_for(frontier.wait_turn(f"{A}/2"), SOON_S)
    assert since(before_sent) >= DELAY_S - CLOCK_SLACK_S


# -- host timing: Retry-After and back-off -----------------------------------------------------


async def test_retry_after_holds_a_host_with_work_and_no_other(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=10)
    await frontier.add_many([FetchRequest(f"{A}/1"), FetchRequest(f"{B}/1")])
    before_hold = time.monotonic()
    assert await frontier.heed(f"{A}/anything", HostAnswer(503, DELAY_S)) == pytest.approx(DELAY_S)
    other = await get_soon(frontier)
    assert other.request.url == f"{B}/1"  # queued after host A's, and not held
    held = await get_soon(frontier)
    assert held.request.url == f"{A}/1"
    assert since(before_hold) >= DELAY_S - CLOCK_SLACK_S


async def test_retry_after_during_a_fetch_holds_the_hosts_next_request(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=10)
    await frontier.add_many([FetchRequest(f"{A}/1"), FetchRequest(f"{A}/2")])
    first = await get_soon(frontier)
    # As after a 503 with Retry-After: hold, then release the slot.
    before_hold = time.monotonic()
    await frontier.heed(first.request.url, HostAnswer(503, DELAY_S))
    await frontier.end(first, FETCHED)
    second = await get_soon(frontier)
    assert second.request.url == f"{A}/2"
    assert since(before_hold) >= DELAY_S - CLOCK_SLACK_S


async def test_retry_after_holds_every_start_to_the_host(frontier: Frontier) -> None:
    before_hold = time.monotonic()
    await frontier.heed(f"{A}/x", HostAnswer(429, DELAY_S))
    await asyncio.wait_for(frontier.wait_turn(f"{A}/robots.txt"), SOON_S)
    assert since(before_hold) >= DELAY_S - CLOCK_SLACK_S
    await frontier.heed(f"{A}/x", HostAnswer(429, 600.0))
    held = asyncio.ensure_future(frontier.wait_turn(f"{A}/y"))
    await asyncio.wait_for(frontier.wait_turn(f"{B}/y"), SOON_S)  # other hosts go on
    assert await blocks(held)
    held.cancel()


async def test_retry_after_holds_no_longer_than_max_hold_s(make_frontier: MakeFrontier) -> None:
    frontier = await make_frontier(max_hold_s=DELAY_S)
    before_hold = time.monotonic()
    assert await frontier.heed(f"{A}/x", HostAnswer(503, 5000.0)) == pytest.approx(DELAY_S)
    await asyncio.wait_for(frontier.wait_turn(f"{A}/y"), SOON_S)
    assert since(before_hold) >= DELAY_S - CLOCK_SLACK_S


async def test_an_answer_that_asks_nothing_holds_nothing(frontier: Frontier) -> None:
    assert await frontier.heed(f"{A}/x", HostAnswer(200, None)) == 0.0
    assert await frontier.heed(f"{A}/x", HostAnswer(500, 30.0)) == 0.0  # not 429/503
    assert await frontier.heed(f"{A}/x", HostAnswer(None, None)) == 0.0  # no response
    await asyncio.wait_for(frontier.wait_turn(f"{A}/y"), BLOCKED_S * 5)


async def test_back_off_holds_longer_after_each_503_in_a_row_until_an_answer(
    frontier: Frontier,
) -> None:
    def within(hold_s: float, ceiling_s: float) -> bool:
        """The back-off's jitter draws from [ceiling / 2, ceiling]; Redis keeps whole ms."""
        return ceiling_s / 2 - 0.001 <= hold_s <= ceiling_s

    before_hold = time.monotonic()
    first = await frontier.heed(f"{A}/x", HostAnswer(503, None))
    assert within(first, 1.0)
    await asyncio.wait_for(frontier.wait_turn(f"{A}/y"), SOON_S)
    assert since(before_hold) >= first - CLOCK_SLACK_S
    assert within(await frontier.heed(f"{A}/x", HostAnswer(503, None)), 2.0)
    assert within(await frontier.heed(f"{A}/x", HostAnswer(429, None)), 4.0)
    assert await frontier.heed(f"{A}/x", HostAnswer(200, None)) == 0.0  # it starts over
    assert within(await frontier.heed(f"{A}/x", HostAnswer(503, None)), 1.0)
    assert within(await frontier.heed(f"{B}/x", HostAnswer(503, None)), 1.0)  # per host


# -- host timing: the autothrottle -------------------------------------------------------------

FAST = HostAnswer(200, None, 0.02)
SLOW = HostAnswer(200, None, DELAY_S)
"""Against a 20 ms baseline, 300 ms is slow: over 2x and over baseline + 50 ms."""


async def pace_all(frontier: Frontier, answers: list[HostAnswer]) -> list[Rate]:
    """Every rate change ``answers`` of host A bring, in order."""
    changes = []
    for answer in answers:
        rate = await frontier.pace(f"{A}/x", answer)
        if rate is not None:
            changes.append(rate)
    return changes


async def in_flight_at_once(frontier: Frontier, want: int) -> list[Lease]:
    """Leases ``get`` hands out before it blocks (at most ``want``); the blocked get cancelled."""
    leases = []
    while len(leases) < want:
        task = asyncio.ensure_future(frontier.get())
        if await blocks(task):
            task.cancel()
            break
        lease = task.result()
        assert lease is not None
        leases.append(lease)
    return leases


async def test_autothrottle_starts_a_host_at_two_in_flight_and_fast_answers_raise_it(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=8, autothrottle=True)
    await frontier.add_many([FetchRequest(f"{A}/{n}") for n in range(12)])
    assert len(await in_flight_at_once(frontier, 8)) == 2
    assert await pace_all(frontier, [FAST] * 4) == [Rate(4)]
    assert len(await in_flight_at_once(frontier, 8)) == 2  # two more beside the first two
    assert await pace_all(frontier, [FAST] * 10) == [Rate(8)]  # after 2 skipped: a window of 8
    assert len(await in_flight_at_once(frontier, 8)) == 4


async def test_autothrottle_halves_the_requests_in_flight_when_answers_slow_down(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=4, autothrottle=True)
    assert await pace_all(frontier, [FAST] * 4) == [Rate(4)]
    assert await pace_all(frontier, [SLOW] * 10) == [Rate(2, slowed=1)]  # 2 skipped, then 8
    await frontier.add_many([FetchRequest(f"{A}/{n}") for n in range(8)])
    assert len(await in_flight_at_once(frontier, 4)) == 2
    # After the 4 sent under the old rate, a window of 4 answers, half of them errors.
    failing = [FAST] * 4 + [HostAnswer(500, None, 0.01)] * 2 + [FAST] * 2
    assert await pace_all(frontier, failing) == [Rate(1, slowed=2)]


@pytest.mark.slow
async def test_autothrottle_adds_delay_at_one_in_flight_and_recovers_to_the_crawl_delay(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=1, autothrottle=True)
    await frontier.set_delay(f"{A}/", DELAY_S / 3)  # a Crawl-delay: the floor
    await pace_all(frontier, [FAST] * 4)
    (slowed,) = await pace_all(frontier, [SLOW] * 4)
    assert slowed.limit == 1
    assert slowed.delay_s == pytest.approx(DELAY_S, abs=CLOCK_SLACK_S)  # one answer time
    first = await asyncio.wait_for(frontier.wait_turn(f"{A}/1"), SOON_S)
    before_sent = time.monotonic()
    await first.sent()
    second = await asyncio.wait_for(frontier.wait_turn(f"{A}/2"), SOON_S)
    assert since(before_sent) >= DELAY_S - CLOCK_SLACK_S
    await second.sent()
    recovered = await pace_all(frontier, [FAST] * 10)
    assert recovered[-1] == Rate(1, 0.0, 1)  # the autothrottle's delay gone: the floor stays
    turn = await asyncio.wait_for(frontier.wait_turn(f"{A}/3"), SOON_S)
    before_sent = time.monotonic()
    await turn.sent()
    await asyncio.wait_for(frontier.wait_turn(f"{A}/4"), SOON_S)
    assert since(before_sent) >= DELAY_S / 3 - CLOCK_SLACK_S


async def test_without_the_autothrottle_a_host_has_per_host_at_once_whatever_it_answers(
    make_frontier: MakeFrontier,
) -> None:
    frontier = await make_frontier(per_host=3)
    assert await pace_all(frontier, [SLOW] * 10 + [HostAnswer(503, None, 0.01)]) == []
    await frontier.add_many([FetchRequest(f"{A}/{n}") for n in range(5)])
    assert len(await in_flight_at_once(frontier, 5)) == 3
