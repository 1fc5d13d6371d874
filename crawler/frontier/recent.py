"""What a process remembers of the recent past in memory, bounded: the seen keys repeated
on every page (a site's menu), so they skip the store; when each host's timing last changed
(the Redis frontier's), both by the two-generation trick; and what is learnt per host of
the hosts dealt with last (``RecentlyUsed``). Only shortcuts: the store, or Redis, holds
the truth, or the host is learnt again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

RECENT_KEYS = 200_000
"""Seen keys remembered, at least (up to twice as many are held)."""


class RecentKeys:
    """About the most recent ``limit`` keys, in two generations: the older is dropped whole
    when the newer fills, which costs nothing per key."""

    def __init__(self, limit: int = RECENT_KEYS) -> None:
        self._limit = limit
        self._new: set[bytes] = set()
        self._old: set[bytes] = set()

    def __contains__(self, key: bytes) -> bool:
        return key in self._new or key in self._old

    def add(self, key: bytes) -> None:
        """Remember ``key``, forgetting the older generation when the newer is full."""
        if len(self._new) >= self._limit:
            self._old = self._new
            self._new = set()
        self._new.add(key)


class RecentTimes:
    """When each of about the most recent ``limit`` hosts was last given a time (monotonic
    seconds, only ever later), in two generations like ``RecentKeys``.

    A host forgotten reads as the latest time forgotten, never earlier than its own: the
    Redis frontier asks Redis whether a lease may start when its host's timing changed
    after the lease was taken, so a forgotten host's lease taken before then asks once more
    than needed (a round trip), never once less. None: nothing known nor forgotten.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._new: dict[str, float] = {}
        self._old: dict[str, float] = {}
        self._forgotten: float | None = None

    def get(self, host: str) -> float | None:
        """``host``'s time, or the latest forgotten (None while none was)."""
        at = self._new.get(host)
        if at is None:
            at = self._old.get(host, self._forgotten)
        return at

    def __setitem__(self, host: str, at: float) -> None:
        if len(self._new) >= self._limit and host not in self._new:
            if self._old:
                latest = max(self._old.values())
                self._forgotten = max(latest, self._forgotten or latest)
            self._old = self._new
            self._new = {}
        self._new[host] = at

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


class RecentlyUsed(Generic[V]):
    """A value per key for the ``limit`` keys used last: using a key makes it the most
    recent, and past the bound the least recently used is forgotten. For what a process
    learns per host (the autothrottle's controllers, auto rendering's verdicts), so that
    memory stays flat over a list of millions of hosts; a key forgotten starts afresh."""

    __slots__ = ("_limit", "_values")

    def __init__(self, limit: int) -> None:
        self._limit = max(limit, 1)
        self._values: OrderedDict[str, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str) -> V | None:
        """``key``'s value if it is kept (looking does not keep it longer)."""
        return self._values.get(key)

    def used(self, key: str, make: Callable[[], V]) -> V:
        """``key``'s value, made if it had none; ``key`` is now the most recent."""
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
            return value
        value = self._values[key] = make()
        if len(self._values) > self._limit:
            self._values.popitem(last=False)
        return value
