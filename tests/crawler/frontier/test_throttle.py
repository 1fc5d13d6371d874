"""The autothrottle's controller and step rule, without a network or a frontier: answer
times in, rates out (the frontiers applying them: test_lifecycle.py)."""

from __future__ import annotations

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


def strained(throttles: Throttles, answers: int, *, base_s: float = 0.005) -> list[Rate]:
    """The changes ``answers`` of a server answering in ``base_s`` x n² with n in flight bring
    (the throttle's limit taken as what is in flight)."""
    changes = []
    for _ in range(answers):
        latency_s = base_s * throttles.rate("a.test").limit ** 2
        rate = throttles.observe("a.test", ok(latency_s), floor_s=0.0)
        if rate is not None:
            changes.append(rate)
    return changes


def test_a_server_slowing_with_our_load_gets_fewer_requests_at_once() -> None:
    throttles = Throttles(per_host=PER_HOST, enabled=True)
    changes = strained(throttles, 400)
    assert max(rate.limit for rate in changes) == 4  # 80 ms at 4: never on to 8 (320 ms)
    assert changes[1] == Rate(2, slowed=1)  # from 4, halved
    assert throttles.rate("a.test").limit in (2, 3)  # 20 ms and 45 ms: where it settles
    assert all(rate.delay_s == 0 for rate in changes)  # one at once was never needed


def test_slowness_that_slowing_down_does_not_relieve_becomes_the_baseline() -> None:
    throttles = Throttles(per_host=PER_HOST, enabled=True)
    feed(throttles, [ok(0.02)] * 40)  # up to 8 on fast first pages
    changes = feed(throttles, [ok(0.3)] * 300)  # then every page takes 300 ms, whatever we do
    assert changes[0] == Rate(4, slowed=1)  # tried once
    assert throttles.rate("a.test") == Rate(PER_HOST, slowed=1)  # and back: not our load


def test_errors_at_one_in_flight_add_delay_and_recovery_takes_it_away_first() -> None:
    throttles = Throttles(per_host=2, enabled=True)
    error = HostAnswer(500, None, 0.2)
    changes = feed(throttles, [error] + [ok(0.02)] * 2 + [error])  # 2 -> 1 -> a delay
    changes += feed(throttles, [ok(0.02), error] * 3)  # the delay doubles with each
    assert [rate.limit for rate in changes] == [1] * 5
    delays = [rate.delay_s for rate in changes]
    assert delays == [0.0, 0.2, 0.4, 0.8, 1.6]  # first one answer time (of the error), then x2
    recovered = feed(throttles, [ok(0.02)] * 100)
    first_up = next(index for index, rate in enumerate(recovered) if rate.limit > 1)
    assert [rate.delay_s for rate in recovered[:first_up]] == [0.8, 0.4, 0.2, 0.1, 0.0]
    assert recovered[-1] == Rate(2, 0.0, 5)
    assert all(rate.delay_s <= MAX_DELAY_S for rate in changes + recovered)


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
