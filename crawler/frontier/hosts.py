"""Host timing, all of it: per-host slots, ``--delay`` and Crawl-delay spacing, holds,
Retry-After (read once per response), and the one back-off rule with its jitter.

A ``HostSlot`` keeps one host's numbers, a ``Turn`` tells it when a request it let go is on
the wire, and ``RetryTiming`` turns a response into waits; the frontier decides which host
goes next, and whether a request is retried at all is the engine's.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
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

STRAIN_FAILURES = frozenset({"timeout", "connect", "read", "protocol", "network"})
"""Network failures that may mean the server is overwhelmed (the autothrottle slows down);
a DNS or TLS failure, a body too large, a refusal say nothing of its load."""

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

    ``delay_s`` is the minimum time between the starts of two requests to the host, a start
    being the moment its head goes on the wire (``sent``), not the moment the gate let it go
    (``begin``): a new connection may take a while in between, and the site counts from
    what it receives. The actual gap is drawn from [1, 1.5] x delay_s, so requests do not
    beat in lockstep and a site's Crawl-delay is never undercut. ``active`` counts the
    requests handed out (the per-host limit); the gap holds between every start, in flight
    or not. ``next_start`` paces hand-outs, ``open_at`` the gate; hand-outs never come
    before the gate opens.
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
    open_at: float = 0.0
    """When the gate lets the next request start: the delay after the last start, holds."""
    sending: int = 0
    """Starts the gate let go whose head is not on the wire yet (with a delay, none begins)."""

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
        """Hand out the next request, and no other within the delay.

        Only hand-outs are spaced here: the request itself passes the gate (``begin``) like
        any other, which lets it go at once unless another start came since.
        """
        self.active += 1
        if self.delay_s > 0:
            self.next_start = max(self.next_start, now + self.delay_s * rng.uniform(1.0, 1.5))
        return self.queue.popleft()

    def begin(self, now: float, rng: random.Random) -> bool:
        """A request to the host wants to go out now: True (and counted) when it may.

        Every request start asks: a page's first hop, each redirect hop, robots.txt, a
        sitemap. It counts from now until it is ``sent`` (or ``unsent``); meanwhile, with a
        delay to keep, no other request may begin. (Without one, starts need not wait for
        each other's connections; robots.txt may bring one, counted from its ``sent``.)
        """
        if not self.may_begin(now):
            return False
        self.sending += 1
        self._started(now, rng)
        return True

    def sent(self, now: float, rng: random.Random) -> None:
        """A request ``begin`` let go has its head on the wire now: the delay counts from here."""
        self.sending -= 1
        self._started(now, rng)

    def unsent(self) -> None:
        """A request ``begin`` let go failed before it reached the wire (no connection)."""
        self.sending -= 1

    def may_begin(self, now: float) -> bool:
        """True when ``begin`` would let a request go now."""
        return not self.blocked_by_send() and self.open_at <= now

    def wait_s(self, now: float) -> float | None:
        """Seconds until ``begin`` may let a request go; None while one is on its way."""
        return None if self.blocked_by_send() else max(self.open_at - now, 0.0)

    def blocked_by_send(self) -> bool:
        """True while a start is on its way to the wire and the host has a delay to keep."""
        return self.sending > 0 and self.delay_s > 0

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
        self.open_at = max(self.open_at, when)

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
        return not self.queue and self.active == 0 and not self.sending

    def _started(self, now: float, rng: random.Random) -> None:
        self.last_start = now
        if self.delay_s > 0:
            self.hold_until(now + self.delay_s * rng.uniform(1.0, 1.5))


class Turn:
    """One request start the gate (``Frontier.wait_turn``) let go, until it is on the wire.

    ``sent`` when its head goes out: the host's delay counts from then, since a new
    connection may take long after the gate (hundreds of ms on a busy machine with many
    hosts at once). ``close`` once the request is over either way: a start never sent (no
    connection) frees the host at once. ``settle`` records it, once: True for sent.
    """

    __slots__ = ("_settle",)

    def __init__(self, settle: Callable[[bool], Awaitable[None]] | None = None) -> None:
        self._settle = settle

    async def sent(self) -> None:
        """The request's head goes on the wire now."""
        await self._end(sent=True)

    async def close(self) -> None:
        """The request is over: if it never reached the wire, the host's next may go."""
        await self._end(sent=False)

    async def _end(self, *, sent: bool) -> None:
        settle, self._settle = self._settle, None
        if settle is not None:
            await settle(sent)


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
    """What one response says about its host's timing, its Retry-After read once.

    ``latency_s`` is how long the server took to answer (request head sent to response
    head, else the whole fetch); None without an answer. ``strained``: a network failure
    that may mean an overwhelmed server (``STRAIN_FAILURES``).
    """

    status: int | None
    retry_after_s: float | None
    latency_s: float | None = None
    strained: bool = False

    @property
    def holds(self) -> bool:
        """True when the host asked us to slow down (429/503)."""
        return self.status in HOLD_STATUSES

    @property
    def trouble(self) -> bool:
        """True when the answer says the server is struggling: 5xx, 429, or ``strained``."""
        status = self.status
        return self.strained or (status is not None and (status >= 500 or status == 429))


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
        failure = result.failure
        strained = failure is not None and result.status is None and failure.code in STRAIN_FAILURES
        answered_ms = result.answer_ms if result.answer_ms is not None else result.elapsed_ms
        latency_s = answered_ms / 1000 if result.status is not None else None
        return HostAnswer(result.status, retry_after_s, latency_s, strained)

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
