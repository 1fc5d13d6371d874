"""Per-host politeness: how many requests a host may have in flight and when the next may start.

A ``HostSlot`` only keeps the numbers; the frontier decides which host goes next.
"""

from __future__ import annotations

import email.utils
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC

from crawler.models import FetchRequest

RETRY_AFTER_MAX_DIGITS = 12
RETRY_AFTER_MAX_S = 10**11
"""Beyond ~3,000 years a Retry-After only means "never"; longer digit strings are not read."""


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

    def back_off(self, now: float, rng: random.Random, *, base_s: float, cap_s: float) -> float:
        """Hold the host for an exponentially growing, jittered time; returns the hold."""
        self.backoff_level += 1
        ceiling = min(cap_s, base_s * 2 ** min(self.backoff_level - 1, 30))
        hold_s = rng.uniform(ceiling / 2, ceiling)
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
