"""LocalFrontier's counts, kept in one place: requests queued, in memory, handed out and not
done, pages taken per host, and requests per breadth-first level.

Each lifecycle event is one call that moves every count it touches, so the counts cannot
drift apart; which host goes next, and when, stays the frontier's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

SKIP_HOST_FULL = "max_pages_per_host"
"""The reason a request is dropped once its host had ``max_per_host`` pages."""


class Ledger:
    """The counts of one ``LocalFrontier``, moved together by lifecycle events.

    ``pending``: queued (in memory or in the store), not handed out; ``outstanding``:
    handed out, not done; ``in_memory``: in a host's queue. Page limits count pages
    fetched, so a hand-out that ends without a fetch (held back, refused, unfetched,
    retried) gives its place back. ``levels`` counts, by depth, the requests queued or in
    flight; retries waiting out their time are outside them (a host may ask for minutes,
    and the crawl must not wait for it to go one level deeper), and so are pages that left
    early (``left_level``: a browser renders them, seconds each) though still outstanding.
    ``on_level_done`` is called whenever a level empties: hosts parked behind it may go.

    Args:
        levels: requests a resumed crawl had not finished, by depth.
        pages_done: pages earlier runs of a resumed crawl fetched, by host.
        max_requests: pages handed out in all before the crawl stops (None: no limit).
        max_per_host: pages handed out per host before the rest are dropped (None: no limit).
        on_level_done: called when the count of a level reaches nothing.
    """

    def __init__(
        self,
        *,
        levels: Mapping[int, int],
        pages_done: Counter[str],
        max_requests: int | None,
        max_per_host: int | None,
        on_level_done: Callable[[], None],
    ) -> None:
        self._max_requests = max_requests
        self._max_per_host = max_per_host
        self._on_level_done = on_level_done
        self._levels: Counter[int] = Counter(levels)
        self.pending = sum(self._levels.values())
        self.outstanding = 0
        self.in_memory = 0
        self._handed_out = 0
        self._per_host: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.count_pages_done(pages_done)

    # -- queries ----------------------------------------------------------------------

    @property
    def current_level(self) -> int:
        """The smallest depth still queued or in flight: breadth-first means none deeper goes."""
        return min(self._levels, default=0)

    @property
    def limit_reached(self) -> bool:
        """True once ``max_requests`` pages were handed out."""
        return self._max_requests is not None and self._handed_out >= self._max_requests

    @property
    def drained(self) -> bool:
        """True when nothing is queued and nothing handed out is still to be done."""
        return self.pending == 0 and self.outstanding == 0

    def host_full(self, host: str) -> bool:
        """True once ``host`` had its ``max_per_host`` pages."""
        limit = self._max_per_host
        return limit is not None and self._per_host[host] >= limit

    # -- events -----------------------------------------------------------------------

    def queued(self, depths: Iterable[int]) -> None:
        """New requests of these depths are queued (in memory or in the store)."""
        depths = list(depths)
        self.pending += len(depths)
        self._levels.update(depths)

    def loaded(self) -> None:
        """A queued request went into its host's queue in memory."""
        self.in_memory += 1

    def dropped(self, depths: Iterable[int], *, loaded: int) -> None:
        """Requests of these depths are dropped (their host is full), ``loaded`` from memory."""
        depths = list(depths)
        self.in_memory -= loaded
        self.pending -= len(depths)
        self.skipped[SKIP_HOST_FULL] += len(depths)
        for depth in depths:
            self._leave(depth)

    def handed_out(self, host: str) -> None:
        """A request to ``host`` left memory as a lease."""
        self.in_memory -= 1
        self.pending -= 1
        self.outstanding += 1
        self._handed_out += 1
        self._per_host[host] += 1

    def held_back(self, host: str) -> None:
        """A lease went back to the queue unfetched (its host may not start yet)."""
        self._give_back_place(host)
        self.outstanding -= 1
        self.pending += 1

    def unfetched(self, host: str) -> None:
        """A lease ended without a fetch; its error record follows (``done``)."""
        self._give_back_place(host)

    def refused(self, host: str, depth: int) -> None:
        """A lease ended for good without a fetch or a record (robots.txt forbids it)."""
        self._give_back_place(host)
        self.outstanding -= 1
        self._leave(depth)

    def retried(self, host: str, depth: int) -> None:
        """A lease's next attempt waits its time, outside the levels; it takes this one's place."""
        self.outstanding -= 1
        self.pending += 1
        self._leave(depth)
        self._give_back_place(host)

    def parked(self, depth: int) -> None:
        """A queued retry waits out its time (read from the store), outside the levels."""
        self._leave(depth)

    def due(self, depth: int) -> None:
        """A waiting retry's time came: it rejoins its level."""
        self._levels[depth] += 1

    def drained_retry(self, depth: int) -> None:
        """A waiting retry is handed out as it is on a stop, to be recorded and ``done``."""
        self._levels[depth] += 1  # left when parked; ``done`` leaves it again
        self.pending -= 1
        self.outstanding += 1

    def left_level(self, depth: int) -> None:
        """A lease of ``depth`` leaves its level before it is done (its page renders in a
        browser, seconds each): the next depth need not wait for it. It stays outstanding,
        so the crawl is not over until it is ``done`` (with ``early``)."""
        self._leave(depth)

    def done(self, depths: Iterable[int], *, early: int = 0) -> None:
        """Leases of these depths are finished for good (their records are written), and
        ``early`` more that had left their levels already (``left_level``)."""
        finished = Counter(depths)
        self.outstanding -= finished.total() + early
        for depth, count in finished.items():
            self._leave(depth, count)

    def restored(self, depths: Iterable[int], pages_done: Counter[str]) -> None:
        """Queued requests of these depths were finished by a crashed run; ``pages_done``
        is what the store now counts per host."""
        for depth in depths:
            self.pending -= 1
            self._leave(depth)
        self.count_pages_done(pages_done)

    def count_pages_done(self, pages_done: Counter[str]) -> None:
        """Page limits count what earlier runs of a resumed crawl fetched too."""
        self._per_host = pages_done
        self._handed_out = pages_done.total()

    # -- internals --------------------------------------------------------------------

    def _give_back_place(self, host: str) -> None:
        """Page limits count pages fetched, not URLs handed out or attempts."""
        self._handed_out -= 1
        self._per_host[host] -= 1

    def _leave(self, depth: int, count: int = 1) -> None:
        """``count`` requests of ``depth`` are gone; when a level empties, the next may start.

        Holding depth d+1 back until depth d is done makes every record's depth its true
        link distance, so ``max_depth`` is exact even with many pages in flight.
        """
        remaining = self._levels[depth] - count
        if remaining > 0:
            self._levels[depth] = remaining
            return
        del self._levels[depth]
        self._on_level_done()
