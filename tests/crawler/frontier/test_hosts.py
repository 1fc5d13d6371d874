"""Tests for crawler.frontier.hosts: Retry-After, the one back-off rule, the delay's jitter.
The host timing every frontier keeps (delay, Crawl-delay, holds, back-off): test_lifecycle.py."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crawler.frontier import HostAnswer, HostSlot, RetryTiming, backoff_s, parse_retry_after
from crawler.models import FetchFailure, FetchRequest, FetchResult, utc_now
from crawler.settings import FetchSettings


class Highest(random.Random):
    """An rng whose jitter is always the top of its range."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Lowest(random.Random):
    """An rng whose jitter is always the bottom of its range."""

    def uniform(self, a: float, b: float) -> float:
        return a


def result_with(status: int, headers: dict[str, str] | None = None) -> FetchResult:
    request = FetchRequest("http://a.test/")
    pairs = tuple((name.lower(), value) for name, value in (headers or {}).items())
    return FetchResult(request, request.url, status, pairs, None, b"", 0, 1.0, utc_now())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("\u00b2", None),
        ("\u0663", None),
        ("1.5", None),
        ("-1", None),
        ("", None),
        ("Mon, 99 Foo 99999 99:99:99 GMT", None),
        ("9" * 5000, 1e11),
    ],
)
def test_retry_after_is_parsed_strictly(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now_epoch_s=0.0) == expected


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = now + timedelta(seconds=90)
    value = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(value, now_epoch_s=now.timestamp()) == 90.0


def test_back_off_doubles_per_step_up_to_the_cap() -> None:
    waits = [backoff_s(step, base_s=1.0, cap_s=10.0, rng=Highest()) for step in range(1, 7)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_back_off_jitter_never_goes_below_half_the_ceiling() -> None:
    rng = random.Random(3)
    waits = [backoff_s(3, base_s=1.0, cap_s=600.0, rng=rng) for _ in range(500)]
    assert min(waits) >= 2.0
    assert max(waits) <= 4.0
    assert len({round(wait, 3) for wait in waits}) > 100  # jittered, not one fixed value
    assert backoff_s(3, base_s=1.0, cap_s=600.0, rng=Lowest()) == 2.0


def test_a_host_answer_reads_retry_after_once_from_the_response() -> None:
    timing = RetryTiming(FetchSettings())
    answer = timing.read(result_with(503, {"Retry-After": "12"}), now_epoch_s=0.0)
    assert answer == HostAnswer(503, 12.0, latency_s=0.001)  # no answer time: the whole fetch
    assert answer.holds
    assert answer.trouble
    assert not timing.read(result_with(500), now_epoch_s=0.0).holds


def test_a_host_answer_tells_the_autothrottle_its_answer_time_and_any_trouble() -> None:
    timing = RetryTiming(FetchSettings())
    answered = replace(result_with(200), elapsed_ms=900.0, answer_ms=40.0)
    assert timing.read(answered, now_epoch_s=0.0) == HostAnswer(200, None, latency_s=0.04)
    assert not timing.read(answered, now_epoch_s=0.0).trouble
    assert timing.read(result_with(500), now_epoch_s=0.0).trouble
    assert timing.read(result_with(429), now_epoch_s=0.0).trouble
    assert not timing.read(result_with(404), now_epoch_s=0.0).trouble
    request = FetchRequest("http://a.test/")
    timed_out = FetchResult.unfetched(request, FetchFailure("timeout", "no answer"))
    assert timing.read(timed_out, now_epoch_s=0.0) == HostAnswer(None, None, strained=True)
    refused = FetchResult.unfetched(request, FetchFailure("robots_disallowed", "no"))
    assert not timing.read(refused, now_epoch_s=0.0).trouble


def test_a_retry_waits_its_retry_after_or_the_back_off_of_its_attempt() -> None:
    timing = RetryTiming(FetchSettings(retry_backoff_s=0.5, max_hold_s=60.0), rng=Highest())
    assert timing.retry_in_s(HostAnswer(503, 7.0), attempt=1) == 7.0
    assert timing.retry_in_s(HostAnswer(500, None), attempt=1) == 0.5
    assert timing.retry_in_s(HostAnswer(500, None), attempt=3) == 2.0


def test_a_retry_after_beyond_the_cap_ends_the_url_with_its_own_error() -> None:
    timing = RetryTiming(FetchSettings(max_hold_s=60.0))
    answer = HostAnswer(503, 3600.0)
    assert timing.retry_in_s(answer, attempt=1) is None
    failure = timing.too_long("http://a.test/", answer)
    assert failure is not None
    assert failure.code == "retry_after_too_long"
    assert "3600 s" in failure.message
    assert timing.too_long("http://a.test/", HostAnswer(503, 60.0)) is None


def test_a_delay_spaces_starts_by_one_to_one_and_a_half_times_it() -> None:
    slot = HostSlot(key="a.test", max_active=4, delay_s=2.0)
    assert slot.begin(0.0, Highest())
    slot.sent(0.0, Highest())
    assert not slot.begin(2.9, Highest())
    assert slot.begin(3.0, Highest())
