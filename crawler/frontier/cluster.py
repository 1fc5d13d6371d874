"""What a process brings to a crawl shared through Redis, and opening that frontier.

redis-py is an optional extra (``parcrawl[cluster]``): it is imported only when a crawl
asks for a shared frontier, so one-process users never need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.errors import ConfigError

PAUSED_FIELD = "frontier_paused"
"""A log record with this attribute says a shared frontier paused fetching (True: Redis
lost) or resumed it (False); the command line shows it in the progress bar."""

if TYPE_CHECKING:
    from crawler.frontier.redis_frontier import RedisFrontier


@dataclass(frozen=True, slots=True)
class CrawlIdentity:
    """What every process of one shared crawl must agree on, and what this one brings.

    ``fingerprint`` holds the settings that define the crawl (scope, politeness) by key
    path; a process whose fingerprint differs is refused. ``seeding``: this process
    brings seeds (it may create the crawl, which is not over until it has read them).
    """

    fingerprint: dict[str, Any]
    per_host: int
    delay_s: float
    max_per_host: int | None
    seeding: bool


def open_redis_frontier(
    url: str, crawl_id: str, identity: CrawlIdentity, **options: Any
) -> RedisFrontier:
    """A ``RedisFrontier`` for crawl ``crawl_id`` on the Redis at ``url``; it connects on
    first use. ``options`` go to ``RedisFrontier`` (limits, lease and give-up times).

    Raises:
        ConfigError: redis-py is not installed, or ``url`` cannot be read.
    """
    try:
        from crawler.frontier.redis_frontier import (  # noqa: PLC0415 (optional extra)
            RedisFrontier,
        )
        from crawler.frontier.redis_link import connect_redis  # noqa: PLC0415
    except ImportError:
        raise ConfigError(
            "a Redis frontier needs redis-py: pip install 'parcrawl[cluster]'"
        ) from None
    return RedisFrontier(
        connect_redis(url), url=url, crawl_id=crawl_id, identity=identity, **options
    )


def shared_status_lines(url: str, crawl_id: str) -> list[str]:
    """``parcrawl status`` of a shared crawl: its counts in all, per host and per process.

    Raises:
        UsageError: no crawl ``crawl_id`` on that Redis.
        FrontierError: Redis unreachable or refusing us.
        ConfigError: redis-py is not installed.
    """
    try:
        from crawler.frontier.redis_status import (  # noqa: PLC0415 (optional extra)
            shared_status_lines as read,
        )
    except ImportError:
        raise ConfigError(
            "a Redis frontier needs redis-py: pip install 'parcrawl[cluster]'"
        ) from None
    return read(url, crawl_id)
