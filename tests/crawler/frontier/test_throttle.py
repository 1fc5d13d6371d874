"""The autothrottle's controller and step rule, without a network or a frontier: answer
times in, rates out (the frontiers applying them: test_lifecycle.py)."""

from __future__ import annotations

import pytest

from crawler.frontier import (
    FASTER,
    SLOWER,
    HostAnswer,
    HostThrottle,
    Rate,
    Throttles,
    next_rate,
)
from crawler.frontier.throttle import MAX_DELAY_S

PER_HOST = 8


def ok(latency_s: float) -> HostAnswer:
    return HostAnswer(200, None, latency_s)


def feed(throttles: Throttles, answers: list[HostAnswer], *, floor_s: float = 0.0) -> list[Rate]:
    """Every rate change ``answers`` bring, one per answer at most, in order."""
    changes = []
    for answer in answers:
        rate = throttles.observe("a.test", answer, floor_s=floor_s)
        if rate is not None:
            changes.append(rate)
    return changes


def test_a_host_starts_at_two_in_flight_and_doubles_while_answers_stay_fast() -> None:
    throttles = Throttles(per_host=PER_HOST, enabled=True)
    assert throttles.rate("a.test") == Rate(2)
    changes = feed(throttles, [ok(0.02)] * 40)
    assert [rate.limit for rate in changes] == [4, 8]  # slow start: then per_host, no more
    assert throttles.rate("a.test") == Rate(PER_HOST)


def test_off_every_host_has_per_host_and_nothing_changes() -> None:
    throttles = Throttles(per_host=PER_HOST, enabled=False)
    assert throttles.rate("a.test") == Rate(PER_HOST)
    assert feed(throttles, [ok(5.0), HostAnswer(503, None, 0.01)] * 10) == []


def test_rising_latency_halves_the_requests_in_flight_then_adds_delay() -> None:
    throttles = Throttles(per_host=PER_HOST, enabled=True)
    feed(throttles, [ok(0.02)] * 40)  # up to 8, baseline 20 ms
    changes = feed(throttles, [ok(1.0)] * 120)
    assert [rate.limit for rate in changes[:3]] == [4, 2, 1]
    assert changes[3] == Rate(1, pytest.approx(1.0), 4)  # at one in flight: one answer time
    assert changes[4].delay_s == pytest.approx(2.0)  # then doubled
    assert all(rate.delay_s <= MAX_DELAY_S for rate in changes)


def test_a_recovered_server_gets_its_delay_back_first_then_concurrency_up_to_per_host() -> None:
    throttles = Throttles(per_host=PER_HOST, enabled=True)
    feed(throttles, [ok(0.02)] * 40)
    feed(throttles, [ok(1.0)] * 120)
    slowed = throttles.rate("a.test")
    assert slowed.limit == 1
    assert slowed.delay_s > 0
    changes = feed(throttles, [ok(0.02)] * 300)
    delays = [rate.delay_s for rate in changes]
    first_up = next(index for index, rate in enumerate(changes) if rate.limit > 1)
    assert all(delay == 0 for delay in delays[first_up:])  # the delay went first
    assert [rate.limit for rate in changes[first_up:]] == list(range(2, PER_HOST + 1))  # +1 each
    assert throttles.rate("a.test").limit == PER_HOST


def test_latency_between_the_thresholds_holds_the_rate() -> None:
    throttles = Throttles(per_host=PER_HOST, enabled=True)
    feed(throttles, [ok(0.02)] * 4)  # 2 -> 4
    assert throttles.rate("a.test").limit == 4
    # 50 ms against a 20 ms baseline: above 1.5x and +20 ms, under 2x and +50 ms.
    assert feed(throttles, [ok(0.02)] * 2 + [ok(0.05)] * 60) == []


def test_server_errors_and_429_slow_down_at_once_once_per_window() -> None:
    throttles = Throttles(per_host=PER_HOST, enabled=True)
    feed(throttles, [ok(0.02)] * 40)
    # A burst of 8 errors in flight together: one slow-down, not three.
    assert [rate.limit for rate in feed(throttles, [HostAnswer(500, None, 0.01)] * 8)] == [4]
    too_many = HostAnswer(429, 3.0, 0.01)
    assert [rate.limit for rate in feed(throttles, [ok(0.02), too_many, too_many])] == [2]
    timed_out = HostAnswer(None, None, strained=True)
    assert [rate.limit for rate in feed(throttles, [ok(0.02)] * 3 + [timed_out])] == [1]


def test_answers_sent_before_a_change_do_not_count_after_it() -> None:
    throttle = HostThrottle(Rate(8, slowed=1))
    assert throttle.window_size == 16
    for _ in range(16):  # a window at per_host, fast: hold
        assert throttle.observe(ok(0.02), per_host=PER_HOST) is None
    throttle.changed(Rate(4, slowed=2))
    for _ in range(8):  # the 8 sent under the old rate: skipped, however slow
        assert throttle.observe(ok(5.0), per_host=PER_HOST) is None
    for _ in range(7):
        assert throttle.observe(ok(5.0), per_host=PER_HOST) is None
    proposal = throttle.observe(ok(5.0), per_host=PER_HOST)
    assert proposal is not None
    assert proposal.verdict == SLOWER
    assert proposal.latency_s == 5.0


def test_the_step_rule_never_goes_under_the_floor_nor_over_per_host() -> None:
    crawl_delay_s = 30.0
    slowed = next_rate(Rate(1), SLOWER, per_host=4, floor_s=crawl_delay_s, latency_s=0.1)
    assert slowed.delay_over(crawl_delay_s) >= crawl_delay_s
    assert slowed.delay_s <= crawl_delay_s * 2  # capped at max(MAX_DELAY_S, the floor)
    back = next_rate(slowed, FASTER, per_host=4, floor_s=crawl_delay_s, latency_s=0.1)
    assert back.delay_over(crawl_delay_s) == crawl_delay_s  # down to the floor, not under
    top = Rate(4, slowed=1)
    assert next_rate(top, FASTER, per_host=4, floor_s=0.0, latency_s=0.1) is top
    lowest = Rate(1, MAX_DELAY_S, 9)
    assert next_rate(lowest, SLOWER, per_host=4, floor_s=0.0, latency_s=60.0) is lowest


def test_a_stall_of_our_own_that_delays_one_round_of_answers_changes_nothing() -> None:
    throttles = Throttles(per_host=4, enabled=True)
    feed(throttles, [ok(0.002)] * 60)  # up to 4, baseline 2 ms
    assert throttles.rate("a.test").limit == 4
    # The event loop stalled 300 ms: the 4 answers in flight arrive late, the next on time.
    stalled = ([ok(0.3)] * 4 + [ok(0.002)] * 4) * 10
    assert feed(throttles, stalled) == []


def test_a_crawl_delay_keeps_its_floor_under_the_autothrottle() -> None:
    throttles = Throttles(per_host=2, enabled=True)
    changes = feed(throttles, [ok(0.02)] * 10 + [ok(2.0)] * 40, floor_s=5.0)
    assert changes
    assert all(rate.delay_over(5.0) >= 5.0 for rate in changes)
