"""Things waiting for their time, soonest first: hosts inside their delay, retries waiting
out a back-off or a Retry-After. It keeps the order only; what is due is the caller's."""

from __future__ import annotations

import heapq
from itertools import count
from typing import Generic, TypeVar

T = TypeVar("T")


class DueQueue(Generic[T]):
    """A heap of (due time, item); items due at the same time leave in the order they came."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._order = count()

    def __bool__(self) -> bool:
        return bool(self._heap)

    def push(self, due: float, item: T) -> None:
        """Keep ``item`` until ``due``."""
        heapq.heappush(self._heap, (due, next(self._order), item))

    def next_due(self) -> float | None:
        """When the soonest item is due; None when empty."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> T | None:
        """The soonest item if it is due at ``now`` (taken out), else None."""
        if self._heap and self._heap[0][0] <= now:
            return heapq.heappop(self._heap)[2]
        return None

    def drain(self) -> list[T]:
        """Every item, soonest first, taken out."""
        items = [item for _, _, item in sorted(self._heap, key=lambda entry: entry[:2])]
        self._heap.clear()
        return items
