"""Opening a crawl shared through Redis, and reading its status: the one door to the
private ``crawler.frontier.redis`` package.

redis-py is an optional extra (``parcrawl[cluster]``): that package is imported only when a
crawl asks for it, so one-process users never need it.
"""

from __future__ import annotations

from typing import Any

from crawler.errors import ConfigError
from crawler.frontier.backend import CrawlIdentity, FrontierBackend

NEEDS_REDIS = "a Redis frontier needs redis-py: pip install 'parcrawl[cluster]'"


def open_shared_backend(
    url: str, crawl_id: str, identity: CrawlIdentity, *, recrawl: bool = False, **options: Any
) -> FrontierBackend:
    """The backend of crawl ``crawl_id`` shared through the Redis at ``url``, unjoined (it
    connects on ``start``). ``recrawl``: a new run over every known page when the crawl
    ended; ``options`` go to its frontier (limits, lease and give-up times).

    Raises:
        ConfigError: redis-py is not installed, or ``url`` cannot be read.
    """
    try:
        from crawler.frontier.redis import open_redis_backend  # noqa: PLC0415 (optional extra)
    except ImportError:
        raise ConfigError(NEEDS_REDIS) from None
    return open_redis_backend(url, crawl_id, identity, recrawl=recrawl, **options)


def shared_status_lines(url: str, crawl_id: str) -> list[str]:
    """``parcrawl status`` of a shared crawl: its counts in all, per host and per process.

    Raises:
        UsageError: no crawl ``crawl_id`` on that Redis.
        FrontierError: Redis unreachable or refusing us.
        ConfigError: redis-py is not installed.
    """
    try:
        from crawler.frontier.redis import shared_status_lines as read  # noqa: PLC0415
    except ImportError:
        raise ConfigError(NEEDS_REDIS) from None
    return read(url, crawl_id)
