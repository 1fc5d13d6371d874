"""The frontier: URLs waiting to be fetched, the seen set, and which host may go next.

Hosts take turns (round robin); a host at its concurrency limit or inside its delay waits
without holding a fetch slot, so one slow host never blocks the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import random
import time
from collections import deque
from collections.abc import Callable
from itertools import count

from crawler.models import FetchRequest
from crawler.politeness import HostSlot
from crawler.urls import canonical_url, host_key

IDLE_POLL_S = 1.0
"""Upper bound on any wait in ``get``: a lost wake-up costs at most this much."""


class Frontier:
    """A polite, bounded queue of requests, drained by the fetch tasks.

    ``add`` deduplicates by canonical URL; ``put`` also waits while ``max_pending``
    requests are queued, so a huge seed list is read only as fast as it is crawled.
    The crawl is over when input is closed and nothing is queued or outstanding
    (taken by ``get`` and not yet ``complete``-d).
    """

    def __init__(
        self,
        *,
        per_host: int,
        delay_s: float = 0.0,
        max_pending: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._per_host = per_host
        self._delay_s = delay_s
        self._max_pending = max_pending
        self._clock = clock
        self._rng = rng or random.Random()
        self._slots: dict[str, HostSlot] = {}
        self._ready: deque[HostSlot] = deque()
        self._timed: list[tuple[float, int, HostSlot]] = []
        self._tiebreak = count()
        self._seen: set[bytes] = set()
        self._pending = 0
        self._outstanding = 0
        self._input_closed = False
        self._stopped = False
        self._changed = asyncio.Event()

    # -- feeding ---------------------------------------------------------------------

    def add(self, request: FetchRequest) -> bool:
        """Queue ``request`` unless its canonical URL was seen; True when queued."""
        if not self.mark_seen(request.url):
            return False
        key = host_key(request.url)
        slot = self._slots.get(key)
        if slot is None:
            slot = HostSlot(key=key, max_active=self._per_host, delay_s=self._delay_s)
            self._slots[key] = slot
        slot.queue.append(request)
        self._pending += 1
        self._schedule(slot)
        return True

    async def put(self, request: FetchRequest) -> bool:
        """Like ``add``, but first wait until fewer than ``max_pending`` requests are queued."""
        while self._pending >= self._max_pending and not self._stopped:
            await self._wait(IDLE_POLL_S)
        if self._stopped:
            return False
        return self.add(request)

    def mark_seen(self, url: str) -> bool:
        """Record ``url`` (canonically) as seen; False when it already was."""
        digest = hashlib.blake2b(canonical_url(url).encode(), digest_size=16).digest()
        if digest in self._seen:
            return False
        self._seen.add(digest)
        return True

    def close_input(self) -> None:
        """No more seeds will come: the crawl ends once the queue drains."""
        self._input_closed = True
        self._notify()

    def stop(self) -> None:
        """Hand out nothing more (Ctrl-C): ``get`` returns None from now on."""
        self._stopped = True
        self._notify()

    # -- draining --------------------------------------------------------------------

    async def get(self) -> FetchRequest | None:
        """The next request whose host may be contacted now; None once the crawl is over."""
        while True:
            if self._stopped:
                return None
            now = self._clock()
            self._promote(now)
            if self._ready:
                slot = self._ready.popleft()
                if slot.next_start > now:  # held after it became ready
                    heapq.heappush(self._timed, (slot.next_start, next(self._tiebreak), slot))
                    continue
                slot.scheduled = False
                request = slot.start(now, self._rng)
                self._pending -= 1
                self._outstanding += 1
                self._schedule(slot)
                self._notify()
                return request
            if self._input_closed and self._pending == 0 and self._outstanding == 0:
                return None
            timeout = IDLE_POLL_S
            if self._timed:
                timeout = min(timeout, max(self._timed[0][0] - now, 0.0))
            await self._wait(timeout)

    def release(self, request: FetchRequest) -> None:
        """The fetch of ``request`` finished: its host slot is free again."""
        slot = self._slots[host_key(request.url)]
        slot.finish()
        if slot.idle and slot.next_start <= self._clock():
            del self._slots[slot.key]
        else:
            self._schedule(slot)

    def complete(self, count: int = 1) -> None:
        """``count`` requests are fully handled (record written, links added)."""
        self._outstanding -= count
        self._notify()

    def hold(self, url: str, until: float) -> None:
        """Contact the host of ``url`` no sooner than ``until`` (clock time)."""
        slot = self._slots.get(host_key(url))
        if slot is not None:
            slot.hold_until(until)

    # -- introspection ---------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Requests queued and not yet handed out."""
        return self._pending

    @property
    def outstanding(self) -> int:
        """Requests handed out and not yet complete."""
        return self._outstanding

    @property
    def seen_count(self) -> int:
        """Distinct canonical URLs seen so far."""
        return len(self._seen)

    # -- internals -------------------------------------------------------------------

    def _schedule(self, slot: HostSlot) -> None:
        if slot.scheduled or not slot.can_start():
            return
        slot.scheduled = True
        if slot.next_start <= self._clock():
            self._ready.append(slot)
        else:
            heapq.heappush(self._timed, (slot.next_start, next(self._tiebreak), slot))
        self._notify()

    def _promote(self, now: float) -> None:
        while self._timed and self._timed[0][0] <= now:
            _, _, slot = heapq.heappop(self._timed)
            if slot.next_start > now:  # held again while it waited
                heapq.heappush(self._timed, (slot.next_start, next(self._tiebreak), slot))
                continue
            self._ready.append(slot)

    def _notify(self) -> None:
        self._changed.set()

    async def _wait(self, max_wait_s: float) -> None:
        self._changed.clear()
        try:
            async with asyncio.timeout(max_wait_s):
                await self._changed.wait()
        except TimeoutError:
            pass
