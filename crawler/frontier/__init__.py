"""The frontier: URLs waiting to be fetched, the seen set, their stores, and host timing.

Everything that decides *when* a request may start lives here, the autothrottle too;
*whether* it may is :mod:`crawler.admission`'s, and fetching it is :mod:`crawler.fetch`'s.
The engine drives a ``Frontier`` (the lifecycle protocol): ``get`` a ``Lease``, ``end`` it,
``done`` its record.
A ``FrontierBackend`` is where the frontier lives: ``LocalBackend`` (a ``LocalFrontier``
in this process) or ``open_shared_backend`` (a crawl shared through Redis, whose private
package ``crawler.frontier.redis`` is imported only then).
"""

from __future__ import annotations

from crawler.frontier.backend import CrawlIdentity, FrontierBackend, SharedCache
from crawler.frontier.hosts import (
    HOLD_STATUSES,
    HostAnswer,
    HostSlot,
    RetryTiming,
    Turn,
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
from crawler.frontier.local_backend import LocalBackend
from crawler.frontier.shared import open_shared_backend, shared_status_lines
from crawler.frontier.stores import (
    FETCHING,
    FrontierStore,
    MemoryFrontierStore,
    Outcome,
    SqliteFrontierStore,
)
from crawler.frontier.throttle import (
    FASTER,
    SLOWER,
    START_LIMIT,
    HostThrottle,
    Proposal,
    Rate,
    Throttles,
    Verdict,
    next_rate,
)

__all__ = [
    "FASTER",
    "FETCHED",
    "FETCHING",
    "HELD_BACK",
    "HOLD_STATUSES",
    "REFUSED",
    "SLOWER",
    "START_LIMIT",
    "UNFETCHED",
    "CrawlIdentity",
    "Ending",
    "Fetched",
    "Frontier",
    "FrontierBackend",
    "FrontierStore",
    "HeldBack",
    "HostAnswer",
    "HostSlot",
    "HostThrottle",
    "Lease",
    "LocalBackend",
    "LocalFrontier",
    "MemoryFrontierStore",
    "Outcome",
    "Proposal",
    "Rate",
    "Refused",
    "RetryIn",
    "RetryTiming",
    "SharedCache",
    "SqliteFrontierStore",
    "Throttles",
    "Turn",
    "Unfetched",
    "Verdict",
    "backoff_s",
    "next_rate",
    "open_shared_backend",
    "parse_retry_after",
    "shared_status_lines",
]
