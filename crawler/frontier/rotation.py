"""Which host goes next in a LocalFrontier: hosts with work take turns (round robin), a host
inside its delay waits in time order, a host whose next request is deeper than the level in
progress is parked until that level is done.

It owns the order only; a host's own timing is its ``HostSlot``'s, the counts the ledger's.
"""

from __future__ import annotations

from collections import deque

from crawler.frontier.due import DueQueue
from crawler.frontier.hosts import HostSlot


class HostRotation:
    """The hosts that may hand out a request, in the order they get to.

    A slot is in at most one place at a time, marked ``scheduled`` while it is: ready, timed
    (until its ``next_start``), or parked (``waiting_for_level``). One slow host never holds
    the others back: it waits out of the ready queue.
    """

    def __init__(self) -> None:
        self._ready: deque[HostSlot] = deque()
        self._timed: DueQueue[HostSlot] = DueQueue()
        self._parked: list[HostSlot] = []

    @property
    def ready(self) -> bool:
        """True when some host's turn may have come."""
        return bool(self._ready)

    @property
    def parked(self) -> bool:
        """True when some host waits for a shallower level to be done."""
        return bool(self._parked)

    def next_due(self) -> float | None:
        """When the soonest host inside its delay may go; None when none waits so."""
        return self._timed.next_due()

    def schedule(self, slot: HostSlot, now: float) -> bool:
        """Give ``slot`` a turn if it has work and a free slot; True when it got one."""
        if slot.scheduled or not slot.can_start():
            return False
        slot.scheduled = True
        if slot.next_start <= now:
            self._ready.append(slot)
        else:
            self._timed.push(slot.next_start, slot)
        return True

    def promote(self, now: float) -> None:
        """Hosts whose delay is over join the ready queue."""
        while (slot := self._timed.pop_due(now)) is not None:
            if slot.next_start > now:  # held again while it waited
                self._timed.push(slot.next_start, slot)
                continue
            self._ready.append(slot)

    def pop(self, now: float, level: int) -> HostSlot | None:
        """The next ready host, if it may hand out its first request now (at ``level``).

        None when it may not: it waits on (in time order, parked, or for its start on its
        way to the wire, whose end gives it a turn again), and the caller looks again.
        """
        slot = self._ready.popleft()
        if slot.blocked_by_send():
            slot.scheduled = False
            return None
        if slot.next_start > now:  # held after it became ready
            self._timed.push(slot.next_start, slot)
            return None
        if slot.queue[0].depth > level:
            slot.waiting_for_level = True  # stays "scheduled" while it waits
            self._parked.append(slot)
            return None
        slot.scheduled = False
        return slot

    def wake(self, slot: HostSlot) -> None:
        """A parked ``slot`` got a request of the level in progress: it may be scheduled."""
        self._parked.remove(slot)
        _unpark(slot)

    def wake_all(self) -> list[HostSlot]:
        """A level is done: every parked host may be scheduled again; returns them."""
        parked, self._parked = self._parked, []
        for slot in parked:
            _unpark(slot)
        return parked


def _unpark(slot: HostSlot) -> None:
    slot.waiting_for_level = False
    slot.scheduled = False
