"""The seen keys a process remembers in memory, so links repeated on every page (a site's
menu) skip the store. Only a shortcut: the store's seen set is the truth."""

from __future__ import annotations

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
