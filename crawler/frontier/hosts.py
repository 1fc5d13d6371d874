"""Host timing, all of it: per-host slots, ``--delay`` and Crawl-delay spacing, holds,
Retry-After (read once per response), and the one back-off rule with its jitter.

A ``HostSlot`` keeps one host's numbers and ``RetryTiming`` turns a response into waits; the
frontier decides which host goes next, and whether a request is retried at all is the engine's.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC

from crawler.models import FetchFailure, FetchRequest, FetchResult
from crawler.settings import FetchSettings

log = logging.getLogger(__name__)

RETRY_AFTER_MAX_DIGITS = 12
RETRY_AFTER_MAX_S = 10**11
"""Beyond ~3,000 years a Retry-After only means "never"; longer digit strings are not read."""

HOLD_STATUSES = frozenset({429, 503})
"""Answers that mean "slow down": the host is held (Retry-After, or exponential back-off)."""

BACKOFF_BASE_S = 1.0
"""First hold of a host after a 429/503 without Retry-After; doubles with each one after."""


def backoff_s(step: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """The one back-off rule: step ``n`` (from 1) waits base x 2^(n-1), capped, jittered.

    The jitter draws from the upper half, [ceiling/2, ceiling]: waits never beat in lockstep
    across hosts or retries, yet a back-off never collapses to nothing. Robots.txt retries,
    page retries and host holds all use it.
    """
    ceiling = min(cap_s, base_s * 2 ** min(max(step, 1) - 1, 30))
    return rng.uniform(ceiling / 2, ceiling)


@dataclass(slots=True)
class HostSlot:
    """One host's queue and politeness state.

    ``delay_s`` is the minimum time between the starts of two requests to the host; the
    actual gap is drawn from [1, 1.5] x delay_s, so requests do not beat in lockstep and a
    site's Crawl-delay is never undercut. ``active`` counts the requests handed out (the
    per-host limit); the gap holds between every start, in flight or not.
    """

    key: str
    max_active: int
    delay_s: float = 0.0
    queue: deque[FetchRequest] = field(default_factory=deque)
    active: int = 0
    next_start: float = 0.0
    scheduled: bool = False
    backoff_level: int = 0
    last_start: float | None = None
    waiting_for_level: bool = False
    """Parked until a shallower depth is done (breadth-first order)."""
    turn_granted: bool = False
    """A request was handed out and no request to the host has started since."""
    held_until: float = 0.0
    """The end of the latest hold (Retry-After, back-off, Crawl-delay from the last start)."""

    def add(self, request: FetchRequest) -> None:
        """Queue ``request``, keeping the queue ordered by depth (shallowest first).

        Links arrive in depth order already; only a seed read late, after deeper links
        were queued, goes in ahead of them.
        """
        queue = self.queue
        if not queue or queue[-1].depth <= request.depth:
            queue.append(request)
            return
        index = len(queue)
        while index > 0 and queue[index - 1].depth > request.depth:
            index -= 1
        queue.insert(index, request)

    def can_start(self) -> bool:
        """True when the host has work and a free request slot (time aside)."""
        return bool(self.queue) and self.active < self.max_active

    def start(self, now: float, rng: random.Random) -> FetchRequest:
        """Hand out the next request: the host's turn is its own until a request begins.

        The time is noted here too, so the frontier hands out no second request within the
        delay; the start that counts is the one ``begin`` records.
        """
        self.active += 1
        self.turn_granted = True
        self._space_after(now, rng)
        return self.queue.popleft()

    def begin(self, now: float, rng: random.Random) -> bool:
        """A request to the host wants to go out now: True (and recorded) when it may.

        Every request start asks: a page's first hop, each redirect hop, robots.txt, a
        sitemap. A turn handed out by ``start`` lets the first to ask go at once; otherwise
        the delay since the last start (and any hold) must have passed.
        """
        if not self.may_begin(now):
            return False
        self.turn_granted = False
        self.last_start = now
        self._space_after(now, rng)
        return True

    def may_begin(self, now: float) -> bool:
        """True when ``begin`` would let a request go now."""
        # A turn handed out before a hold came waits for the hold like any other request.
        granted = self.turn_granted and self.held_until <= now
        return granted or self.next_start <= now

    def slow_to(self, delay_s: float) -> None:
        """From now on keep ``delay_s`` between starts, counting from the last start too."""
        self.delay_s = delay_s
        if self.last_start is not None:
            self.hold_until(self.last_start + delay_s)

    def finish(self) -> None:
        """A request to this host completed (successfully or not)."""
        self.active -= 1

    def hold_until(self, when: float) -> None:
        """Start nothing before ``when`` (a Retry-After, a back-off, a new Crawl-delay)."""
        self.next_start = max(self.next_start, when)
        self.held_until = max(self.held_until, when)

    def back_off(self, now: float, rng: random.Random, *, cap_s: float) -> float:
        """Hold the host for an exponentially growing, jittered time; returns the hold."""
        self.backoff_level += 1
        hold_s = backoff_s(self.backoff_level, base_s=BACKOFF_BASE_S, cap_s=cap_s, rng=rng)
        self.hold_until(now + hold_s)
        return hold_s

    def heed(self, answer: HostAnswer, now: float, rng: random.Random, *, cap_s: float) -> float:
        """Take in what a response said about timing; returns the hold it brought (0: none).

        A 429/503 holds the host: for its Retry-After (up to ``cap_s``), else for a
        back-off that grows with each one in a row; any other answer resets the back-off.
        """
        if not answer.holds:
            if answer.status is not None:
                self.backoff_level = 0
            return 0.0
        if answer.retry_after_s is None:
            return self.back_off(now, rng, cap_s=cap_s)
        hold_s = min(answer.retry_after_s, cap_s)
        self.hold_until(now + hold_s)
        return hold_s

    @property
    def idle(self) -> bool:
        """True when the slot holds nothing and can be forgotten."""
        return not self.queue and self.active == 0

    def _space_after(self, now: float, rng: random.Random) -> None:
        if self.delay_s > 0:
            self.next_start = max(self.next_start, now + self.delay_s * rng.uniform(1.0, 1.5))


def parse_retry_after(value: str | None, *, now_epoch_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    None when absent or unreadable (the caller backs off as if there were none); never
    negative. Strict on purpose: ``str.isdigit`` is true for "²" and "٣", which ``float``
    then refuses, and a header is whatever bytes a server sent.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        digits = text.lstrip("0") or "0"
        if len(digits) > RETRY_AFTER_MAX_DIGITS:
            return float(RETRY_AFTER_MAX_S)
        return float(min(int(digits), RETRY_AFTER_MAX_S))
    if not text.isascii() or not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(when.timestamp() - now_epoch_s, 0.0)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@dataclass(frozen=True, slots=True)
class HostAnswer:
    """What one response says about its host's timing, its Retry-After read once."""

    status: int | None
    retry_after_s: float | None

    @property
    def holds(self) -> bool:
        """True when the host asked us to slow down (429/503)."""
        return self.status in HOLD_STATUSES


class RetryTiming:
    """When a request's next attempt may go, from its response and the fetch settings.

    Retry-After is honoured up to ``max_hold_s``; a longer one ends the URL at once (see
    ``too_long``), since waiting the cap again and again would hold it for half an hour in
    silence. Without one, the next attempt waits ``backoff_s`` of its attempt number.
    """

    def __init__(self, fetch: FetchSettings, *, rng: random.Random | None = None) -> None:
        self._fetch = fetch
        self._rng = rng or random.Random()

    def read(self, result: FetchResult, *, now_epoch_s: float) -> HostAnswer:
        """The timing ``result`` carries: its status and Retry-After, parsed once."""
        retry_after_s = parse_retry_after(result.header("retry-after"), now_epoch_s=now_epoch_s)
        return HostAnswer(result.status, retry_after_s)

    def retry_in_s(self, answer: HostAnswer, attempt: int) -> float | None:
        """Seconds until attempt ``attempt + 1``; None when Retry-After asks too long."""
        fetch = self._fetch
        if answer.retry_after_s is not None:
            return answer.retry_after_s if answer.retry_after_s <= fetch.max_hold_s else None
        return backoff_s(
            attempt, base_s=fetch.retry_backoff_s, cap_s=fetch.max_hold_s, rng=self._rng
        )

    def too_long(self, url: str, answer: HostAnswer) -> FetchFailure | None:
        """The error of a URL whose server asks for a longer wait than ``max_hold_s``."""
        cap_s = self._fetch.max_hold_s
        if answer.retry_after_s is None or answer.retry_after_s <= cap_s:
            return None
        message = (
            f"HTTP {answer.status}: Retry-After asks for {answer.retry_after_s:.0f} s, "
            f"more than max_hold_s ({cap_s:g} s): not retried"
        )
        log.warning("%s not retried: %s", url, message)
        return FetchFailure("retry_after_too_long", message)
