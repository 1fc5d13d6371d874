"""The frontier: URLs waiting to be fetched, the seen set, their stores, and host timing.

Everything that decides *when* a request may start lives here; *whether* it may is
:mod:`crawler.admission`'s, and fetching it is :mod:`crawler.fetch`'s. The engine drives a
``Frontier`` (the lifecycle protocol): ``get`` a ``Lease``, ``end`` it, ``done`` its record.
"""

from __future__ import annotations

from crawler.frontier.hosts import (
    HOLD_STATUSES,
    HostAnswer,
    HostSlot,
    RetryTiming,
    backoff_s,
    parse_retry_after,
)
from crawler.frontier.lifecycle import (
    FETCHED,
    HELD_BACK,
    REFUSED,
    UNFETCHED,
    Ending,
    Fetched,
    Frontier,
    HeldBack,
    Lease,
    Refused,
    RetryIn,
    Unfetched,
)
from crawler.frontier.local import LocalFrontier
from crawler.frontier.stores import (
    FETCHING,
    FrontierStore,
    MemoryFrontierStore,
    Outcome,
    SqliteFrontierStore,
)

__all__ = [
    "FETCHED",
    "FETCHING",
    "HELD_BACK",
    "HOLD_STATUSES",
    "REFUSED",
    "UNFETCHED",
    "Ending",
    "Fetched",
    "Frontier",
    "FrontierStore",
    "HeldBack",
    "HostAnswer",
    "HostSlot",
    "Lease",
    "LocalFrontier",
    "MemoryFrontierStore",
    "Outcome",
    "Refused",
    "RetryIn",
    "RetryTiming",
    "SqliteFrontierStore",
    "Unfetched",
    "backoff_s",
    "parse_retry_after",
]
