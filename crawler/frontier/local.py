"""LocalFrontier, the frontier of one process: URLs waiting to be fetched, the seen set, and
which host may go next (behind the ``Frontier`` lifecycle protocol).

Hosts take turns (a ``HostRotation``); a host at its concurrency limit or inside its delay
waits without holding a fetch slot, so one slow host never blocks the others; ``wait_turn``
is the gate every request start to a host passes. A window of requests lives in memory; the
rest, and the seen set, live in a ``FrontierStore``; the counts are a ``Ledger``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from itertools import count

from crawler.frontier.due import DueQueue
from crawler.frontier.hosts import HostAnswer, HostSlot, Turn
from crawler.frontier.ledger import Ledger
from crawler.frontier.lifecycle import (
    Ending,
    Fetched,
    HeldBack,
    Lease,
    Refused,
    RetryIn,
    Unfetched,
)
from crawler.frontier.recent import RecentKeys
from crawler.frontier.rotation import HostRotation
from crawler.frontier.stores import FrontierStore, MemoryFrontierStore, Outcome
from crawler.frontier.throttle import MAX_HOSTS, Rate, Throttles
from crawler.models import FetchRequest
from crawler.urls import host_key, url_key

IDLE_POLL_S = 1.0
"""Upper bound on any wait in ``get``: a lost wake-up costs at most this much."""


class LocalFrontier:
    """The ``Frontier`` of one process: a polite, bounded queue drained by the fetch tasks.

    ``add``/``add_many`` deduplicate by canonical URL; ``put`` also waits while
    ``max_pending`` requests are queued, so a huge seed list is read only as fast as it is
    crawled. The crawl is over when input is closed and nothing is queued or outstanding
    (leased by ``get`` and not yet ``done``), or when ``max_requests`` were handed out.
    Its counts are a ``Ledger``, moved once per lifecycle event; ``clock`` is its only clock (the
    wall clock of a retry's ``not_before``, kept across restarts, is read as ``wall_clock``).
    The autothrottle keeps the controllers of ``max_hosts`` hosts, those answered last.
    """

    def __init__(
        self,
        *,
        per_host: int,
        delay_s: float = 0.0,
        store: FrontierStore | None = None,
        memory_window: int = 10_000,
        max_pending: int = 10_000,
        max_requests: int | None = None,
        max_per_host: int | None = None,
        max_hold_s: float = 600.0,
        autothrottle: bool = False,
        max_hosts: int = MAX_HOSTS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._delay_s = delay_s
        self._store = store or MemoryFrontierStore()
        self._window = memory_window
        self._max_pending = max_pending
        self._max_hold_s = max_hold_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._tokens = count()
        self._rng = rng or random.Random()
        self._slots: dict[str, HostSlot] = {}
        self._host_delays: dict[str, float] = {}
        self._throttles = Throttles(per_host=per_host, enabled=autothrottle, max_hosts=max_hosts)
        self._rotation = HostRotation()
        self._retries: DueQueue[FetchRequest] = DueQueue()
        self._recent = RecentKeys()
        # Request URL whose record follows (as ``done`` will name it) -> it left its level.
        self._recording: dict[str, bool] = {}
        self._input_closed = False
        self._stopped = False
        self._changed = asyncio.Event()
        # A resumed crawl starts with what its state file had not finished.
        self._ledger = Ledger(
            levels=self._store.unfinished_levels(),
            pages_done=self._store.pages_done(),
            max_requests=max_requests,
            max_per_host=max_per_host,
            on_level_done=self._level_done,
        )
        self.skipped: Counter[str] = self._ledger.skipped

    # -- feeding ---------------------------------------------------------------------

    def add(self, request: FetchRequest) -> bool:
        """Queue ``request`` unless its canonical URL was seen; True when queued."""
        return bool(self._add_many([request]))

    async def add_many(self, requests: Sequence[FetchRequest]) -> list[FetchRequest]:
        """Queue the requests whose canonical URLs were never seen; returns those.

        Once stopped, a frontier that cannot resume takes none: nothing would fetch them.
        """
        if not self.accepts_links:
            return []
        return self._add_many(requests)

    def _add_many(self, requests: Sequence[FetchRequest]) -> list[FetchRequest]:
        candidates: dict[bytes, FetchRequest] = {}
        for request in requests:
            key = url_key(request.url)
            if key not in candidates and key not in self._recent:
                candidates[key] = request
        if not candidates:
            return []
        fresh = self._store.mark_seen(list(candidates))
        for key in candidates:
            self._recent.add(key)
        accepted = [request for key, request in candidates.items() if key in fresh]
        self._enqueue(accepted)
        return accepted

    async def put(self, request: FetchRequest) -> bool:
        """Like ``add``, but first wait until fewer than ``max_pending`` requests are queued."""
        while self._ledger.pending >= self._max_pending and not self._stopped:
            await self._wait(IDLE_POLL_S)
        if self._stopped:
            return False
        return self.add(request)

    async def mark_seen(self, url: str) -> bool:
        """Record ``url`` (canonically) as seen without queueing it; False when it was."""
        return self._mark_seen(url)

    def _mark_seen(self, url: str) -> bool:
        key = url_key(url)
        if key in self._recent:
            return False
        self._recent.add(key)
        return bool(self._store.mark_seen([key]))

    def close_input(self) -> None:
        """No more seeds will come: the crawl ends once the queue drains."""
        self._input_closed = True
        self._notify()

    def stop(self) -> None:
        """Hand out nothing more (Ctrl-C): ``get`` returns None from now on."""
        self._stopped = True
        self._notify()

    # -- draining --------------------------------------------------------------------

    async def get(self) -> Lease | None:
        """The next request whose host may be contacted now; None once the crawl is over."""
        request = await self._next_request()
        return None if request is None else Lease(request, next(self._tokens))

    async def _next_request(self) -> FetchRequest | None:
        while True:
            if self._stopped or self._ledger.limit_reached:
                return None
            now = self._clock()
            self._promote_retries(now)
            self._rotation.promote(now)
            if not self._rotation.ready:
                self._refill()
            if self._rotation.ready:
                slot = self._rotation.pop(now, self._ledger.current_level)
                if slot is None or not slot.can_start():
                    continue  # (its limit fell while it waited: its next end schedules it)
                request = slot.start(now, self._rng)
                self._store.start(request)
                self._ledger.handed_out(slot.key)
                self._drop_if_host_full(slot)
                self._schedule(slot)
                self._refill()
                self._notify()
                return request
            if self._input_closed and self._ledger.drained:
                return None
            if self._rotation.parked and self._store_has_level(self._ledger.current_level):
                # Every host in memory waits for a shallower level that sits in the store.
                self._refill(force=True)
                continue
            timeout = IDLE_POLL_S
            for due in (self._rotation.next_due(), self._retries.next_due()):
                if due is not None:
                    timeout = min(timeout, max(due - now, 0.0))
            await self._wait(timeout)

    async def may_start(self, lease: Lease) -> bool:
        """True when the lease's host may still be contacted now.

        A request is handed out once its host's delay is over, but robots.txt, fetched
        after that, can bring a Crawl-delay (counted from robots.txt itself). Rather than
        wait for it in a fetch slot, the caller ends the lease ``HELD_BACK`` and the slot
        serves another host.
        """
        return self._slots[host_key(lease.request.url)].may_begin(self._clock())

    async def end(self, lease: Lease, how: Ending) -> None:
        """The fetch of ``lease`` is over, ended ``how``: its host's slot is free again."""
        request = lease.request
        key = host_key(request.url)
        slot = self._slots[key]
        slot.finish()
        if isinstance(how, HeldBack):
            self._ledger.held_back(key)
            self._to_slot(request, retry=True)
            self._notify()
            return
        if isinstance(how, Fetched | Unfetched):  # its record follows (``done``)
            self._recording[request.url] = False
        if isinstance(how, Unfetched):
            self._ledger.unfetched(key)
        self._free(slot)
        if isinstance(how, RetryIn):
            self._retry(request, how.delay_s)
        elif isinstance(how, Refused):
            if self._store.durable:
                self._store.mark_done([Outcome(request.url, None, how.reason, request.depth)])
            self._ledger.refused(key, request.depth)
            self._notify()

    async def done(self, outcomes: Sequence[Outcome]) -> None:
        """These URLs' records are written (or dropped by a step): finished for good.

        A durable store forgets them (a resume will not fetch them again); the levels and
        the outstanding count move on, which may end the crawl. A request that left its
        level (``leave_level``) is not taken from it twice.
        """
        if self._store.durable:
            self._store.mark_done(outcomes)
        depths = [o.depth for o in outcomes if not self._recording.pop(o.url, False)]
        self._ledger.done(depths, early=len(outcomes) - len(depths))
        self._notify()

    async def leave_level(self, request: FetchRequest) -> None:
        """``request`` (fetched, its record not yet done) renders in a browser: its level
        stops waiting for it, as for a retry, so one slow page does not stall the crawl's
        next depth. It stays outstanding until ``done``. A second call does nothing, and so
        does one before its ``end`` or after its ``done``: its level loses it once."""
        if self._recording.get(request.url) is False:
            self._recording[request.url] = True
            self._ledger.left_level(request.depth)
            self._notify()

    async def restore(self, outcomes: Sequence[Outcome]) -> None:
        """URLs a crashed run finished (their records are in the output): not to be fetched.

        Called before the crawl starts, while nothing is in memory yet.
        """
        for outcome in outcomes:
            self._mark_seen(outcome.url)
        depths = self._store.mark_done(outcomes)
        self._ledger.restored(depths, self._store.pages_done())

    def _free(self, slot: HostSlot) -> None:
        if slot.idle and slot.next_start <= self._clock() and not slot.backoff_level:
            del self._slots[slot.key]
        else:
            self._schedule(slot)
        self._notify()

    def _retry(self, request: FetchRequest, delay_s: float) -> None:
        """Queue ``request``'s next attempt, due in ``delay_s``; it stays in its level."""
        again = request.retried(not_before=self._wall_clock() + delay_s)
        self._store.reschedule(again)
        self._retries.push(self._clock() + delay_s, again)
        self._ledger.retried(host_key(request.url), request.depth)
        self._notify()

    async def wait_turn(self, url: str) -> Turn:
        """Wait until a request to ``url``'s host may start; its ``Turn`` says when it is sent.

        Every request start passes here (a page's first hop, each redirect hop, robots.txt,
        sitemaps; a retry is a page again), so the delay, the Crawl-delay and any hold lie
        between any two starts to a host, counted from when each went on the wire. ``get``
        hands out a request only once its host's delay is over (and a lease ended
        ``HELD_BACK`` goes back if robots.txt changed that), so a page's first hop rarely
        waits; a redirect hop waits in its fetch task.
        """
        key = host_key(url)
        while True:
            slot = self._slot_for(key)  # looked up again: an idle slot may be dropped meanwhile
            now = self._clock()
            if slot.begin(now, self._rng):
                return Turn(partial(self._settle, slot))
            wait_s = slot.wait_s(now)
            await self._wait(IDLE_POLL_S if wait_s is None else min(wait_s, IDLE_POLL_S))

    async def _settle(self, slot: HostSlot, sent: bool) -> None:
        """A start to ``slot``'s host is on the wire (``sent``) or failed before it."""
        if sent:
            slot.sent(self._clock(), self._rng)
        else:
            slot.unsent()
        self._schedule(slot)  # its next request may be due
        self._notify()

    async def set_delay(self, url: str, delay_s: float) -> None:
        """Space requests to the host of ``url`` at least ``delay_s`` apart (Crawl-delay)."""
        key = host_key(url)
        delay_s = max(self._delay_s, delay_s)
        self._host_delays[key] = delay_s
        self._slot_for(key).slow_to(self._throttles.rate(key).delay_over(delay_s))

    async def heed(self, url: str, answer: HostAnswer) -> float:
        """Take in what a response from ``url``'s host said about timing; returns the hold.

        A 429/503 holds the host (Retry-After up to ``max_hold_s``, else a growing
        back-off); any other answer starts its back-off over. 0.0 when nothing is held.
        """
        key = host_key(url)
        slot = self._slot_for(key) if answer.holds else self._slots.get(key)
        if slot is None:
            return 0.0
        return slot.heed(answer, self._clock(), self._rng, cap_s=self._max_hold_s)

    async def pace(self, url: str, answer: HostAnswer) -> Rate | None:
        """Let the autothrottle read an answer of ``url``'s host; its new rate when changed.

        The rate caps the host's requests in flight and may add to its delay, never under
        its floor (``--delay``, Crawl-delay); None when nothing changed, or the autothrottle
        is off.
        """
        key = host_key(url)
        floor_s = self._host_delays.get(key, self._delay_s)
        rate = self._throttles.observe(key, answer, floor_s=floor_s)
        if rate is not None and (slot := self._slots.get(key)) is not None:
            slot.max_active = rate.limit
            slot.slow_to(rate.delay_over(floor_s))
            self._schedule(slot)
            self._notify()
        return rate

    # -- introspection ---------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Requests queued (in memory or in the store) and not yet handed out."""
        return self._ledger.pending

    @property
    def accepts_links(self) -> bool:
        """False once stopped, unless the store is durable (a resume crawls them)."""
        return not self._stopped or self._store.durable

    @property
    def seen_count(self) -> int:
        """Distinct canonical URLs seen so far."""
        return self._store.seen_count()

    @property
    def limit_reached(self) -> bool:
        """True once ``max_requests`` requests were handed out."""
        return self._ledger.limit_reached

    # -- internals -------------------------------------------------------------------

    def _slot_for(self, key: str) -> HostSlot:
        slot = self._slots.get(key)
        if slot is None:
            rate = self._throttles.rate(key)
            delay_s = rate.delay_over(self._host_delays.get(key, self._delay_s))
            slot = HostSlot(key=key, max_active=rate.limit, delay_s=delay_s)
            self._slots[key] = slot
        return slot

    def _enqueue(self, requests: list[FetchRequest]) -> None:
        if not requests:
            return
        self._ledger.queued(request.depth for request in requests)
        if self._store.durable:  # every request is written down before it is scheduled
            self._store.push(requests)
            self._refill()
            self._notify()
            return
        room = 0 if self._store.queued() else max(self._window - self._ledger.in_memory, 0)
        for request in requests[:room]:
            self._to_slot(request)
        if len(requests) > room:
            self._store.push(requests[room:])
        self._notify()

    def _refill(self, *, force: bool = False) -> None:
        if not self._store.queued():
            return
        if force:
            room = max(self._window // 10, 1)
        elif self._ledger.in_memory < self._window // 2:
            room = self._window - self._ledger.in_memory
        else:
            return
        for request in self._store.pop(room):
            wait_s = request.not_before - self._wall_clock()
            if wait_s > 0:  # a retry's time, kept by the state across a restart
                self._park_retry(self._clock() + wait_s, request)
            else:
                self._to_slot(request)

    def _to_slot(self, request: FetchRequest, *, retry: bool = False) -> None:
        key = host_key(request.url)
        if not retry and self._ledger.host_full(key):
            self._ledger.dropped([request.depth], loaded=0)
            return
        slot = self._slot_for(key)
        slot.add(request)
        self._ledger.loaded()
        if slot.waiting_for_level and request.depth <= self._ledger.current_level:
            # A request of the level in progress (a late seed, one from the store) went to
            # the front of a parked host: the host may go again now.
            self._rotation.wake(slot)
        self._schedule(slot)

    def _drop_if_host_full(self, slot: HostSlot) -> None:
        if not self._ledger.host_full(slot.key):
            return
        dropped = [request.depth for request in slot.queue]
        slot.queue.clear()
        self._ledger.dropped(dropped, loaded=len(dropped))

    def _store_has_level(self, level: int) -> bool:
        shallowest = self._store.min_depth()
        return shallowest is not None and shallowest <= level

    def _level_done(self) -> None:
        """A breadth-first level emptied: the hosts parked behind it may go."""
        for slot in self._rotation.wake_all():
            self._schedule(slot)

    def _schedule(self, slot: HostSlot) -> None:
        if self._rotation.schedule(slot, self._clock()):
            self._notify()

    def _park_retry(self, due: float, request: FetchRequest) -> None:
        """Hold a retry until ``due``, outside the breadth-first levels.

        A host may ask for minutes (Retry-After); the rest of the crawl must not wait for
        it to move on to the next depth.
        """
        self._retries.push(due, request)
        self._ledger.parked(request.depth)

    def _promote_retries(self, now: float) -> None:
        while (request := self._retries.pop_due(now)) is not None:
            self._ledger.due(request.depth)
            self._to_slot(request, retry=True)

    def _notify(self) -> None:
        self._changed.set()

    async def _wait(self, max_wait_s: float) -> None:
        self._changed.clear()
        try:
            async with asyncio.timeout(max_wait_s):
                await self._changed.wait()
        except TimeoutError:
            pass

    async def drain_retries(self) -> list[FetchRequest]:
        """Take every retry still waiting, as handed out (on a stop; ``done`` each).

        A stopped crawl never reaches them, yet each URL must still end as a record.
        """
        drained = self._retries.drain()
        for request in drained:
            self._ledger.drained_retry(request.depth)
            self._recording[request.url] = False
        return drained
