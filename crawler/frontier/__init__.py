"""The frontier: URLs waiting to be fetched, the seen set, their stores, and host timing.

Everything that decides *when* a request may start lives here; *whether* it may is
:mod:`crawler.admission`'s, and fetching it is :mod:`crawler.fetch`'s.
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
from crawler.frontier.local import Frontier
from crawler.frontier.stores import (
    FETCHING,
    FrontierStore,
    MemoryFrontierStore,
    Outcome,
    SqliteFrontierStore,
)

__all__ = [
    "FETCHING",
    "HOLD_STATUSES",
    "Frontier",
    "FrontierStore",
    "HostAnswer",
    "HostSlot",
    "MemoryFrontierStore",
    "Outcome",
    "RetryTiming",
    "SqliteFrontierStore",
    "backoff_s",
    "parse_retry_after",
]
