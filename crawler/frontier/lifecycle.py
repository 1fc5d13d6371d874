"""The request lifecycle: what a frontier hands out (a ``Lease``), how the engine ends it, and
the ``Frontier`` protocol the engine drives, whatever keeps the queue (memory, SQLite, Redis).

It owns the contract only; ``LocalFrontier`` (this process, memory or SQLite store) keeps it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from crawler.frontier.hosts import HostAnswer, Turn
from crawler.frontier.stores import Outcome
from crawler.frontier.throttle import Rate
from crawler.models import FetchRequest


@dataclass(frozen=True, slots=True)
class Lease:
    """One request handed out by ``Frontier.get``: the engine ends it exactly once (``end``).

    ``token`` names the hand-out, so a shared frontier can tell a renewed or late lease
    from a new one; a local frontier only counts.
    """

    request: FetchRequest
    token: int


@dataclass(frozen=True, slots=True)
class Fetched:
    """The request went out and has a result: its record follows (``Frontier.done``)."""


@dataclass(frozen=True, slots=True)
class Unfetched:
    """Not sent (an unreadable robots.txt, a private address): its error record follows.

    It gives back its place under the page limits, which count pages fetched.
    """


@dataclass(frozen=True, slots=True)
class Refused:
    """Ended for good without a record (robots.txt forbids it): done now, and not fetched."""

    reason: str = "robots"


@dataclass(frozen=True, slots=True)
class RetryIn:
    """Its next attempt is due in ``delay_s``; the frontier waits, not a fetch task."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Its host may not start yet (a Crawl-delay learned after the hand-out): back in the queue."""


Ending = Fetched | Unfetched | Refused | RetryIn | HeldBack
"""How a lease ended; exactly one per lease."""

FETCHED = Fetched()
UNFETCHED = Unfetched()
REFUSED = Refused()
HELD_BACK = HeldBack()


class Frontier(Protocol):
    """URLs waiting to be fetched, the seen set and host timing, as the engine drives them.

    A request goes: ``put``/``add_many`` (deduplicated) -> ``get`` (a ``Lease``, once its
    host may be contacted) -> ``end`` (how the fetch ended, which frees the host) ->
    ``done`` (its record is written: finished for good). Breadth first, a request of depth
    d+1 goes only once depth d is done; a page to be rendered (seconds) may ``leave_level``
    between ``end`` and ``done`` so that the next depth does not wait for it. The crawl is
    over when input is closed and nothing is queued or leased-and-not-done. Methods that a
    shared store needs IO for are coroutines; the counts are what the frontier last knew.
    """

    skipped: Counter[str]
    """URLs dropped by the frontier itself, by reason (``max_pages_per_host``)."""

    async def put(self, request: FetchRequest) -> bool:
        """Queue a seed once fewer than the pending bound wait; False: seen or stopped."""
        ...

    async def add_many(self, requests: Sequence[FetchRequest]) -> list[FetchRequest]:
        """Queue the requests never seen before (a page's links, in one batch); returns them."""
        ...

    async def mark_seen(self, url: str) -> bool:
        """Record ``url`` as seen without queueing it (a redirect target); False when it was."""
        ...

    def close_input(self) -> None:
        """No more seeds will come: the crawl ends once the queue drains."""
        ...

    def stop(self) -> None:
        """Hand out nothing more: ``get`` returns None from now on."""
        ...

    async def get(self) -> Lease | None:
        """The next request whose host may be contacted now; None once the crawl is over."""
        ...

    async def may_start(self, lease: Lease) -> bool:
        """True when the lease's host may still be contacted now (else end it ``HELD_BACK``)."""
        ...

    async def end(self, lease: Lease, how: Ending) -> None:
        """The fetch of ``lease`` is over, ended ``how``: its host's slot is free again."""
        ...

    async def done(self, outcomes: Sequence[Outcome]) -> None:
        """These URLs' records are written (or dropped by a step): finished for good."""
        ...

    async def leave_level(self, request: FetchRequest) -> None:
        """``request`` (handed out, fetched, its record not yet done) will be long in coming:
        its page renders in a browser. Its level stops waiting for it, as for a retry; its
        ``done`` still finishes it (without leaving the level again)."""
        ...

    async def restore(self, outcomes: Sequence[Outcome]) -> None:
        """URLs a crashed run finished (their records are in the output): never fetched again."""
        ...

    async def drain_retries(self) -> list[FetchRequest]:
        """On a stop: every retry still waiting, to be recorded and ``done`` like the rest."""
        ...

    async def wait_turn(self, url: str) -> Turn:
        """Wait until a request to ``url``'s host may start; no other starts until its
        ``Turn`` is sent (the delay counts from then) or closed unsent."""
        ...

    async def set_delay(self, url: str, delay_s: float) -> None:
        """Space requests to ``url``'s host at least ``delay_s`` apart (a Crawl-delay)."""
        ...

    async def heed(self, url: str, answer: HostAnswer) -> float:
        """What a response of ``url``'s host said about timing; returns the hold it brought."""
        ...

    async def pace(self, url: str, answer: HostAnswer) -> Rate | None:
        """Let the autothrottle read an answer of ``url``'s host: its new rate (requests in
        flight, added delay) when that changed, else None (and always when it is off)."""
        ...

    @property
    def pending(self) -> int:
        """Requests queued and not yet handed out."""
        ...

    @property
    def accepts_links(self) -> bool:
        """False when links found now would never be fetched (stopped, and no resume)."""
        ...

    @property
    def seen_count(self) -> int:
        """Distinct canonical URLs seen so far."""
        ...

    @property
    def limit_reached(self) -> bool:
        """True once ``max_pages`` requests were handed out."""
        ...
