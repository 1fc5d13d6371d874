"""RedisBackend: the ``FrontierBackend`` of a crawl shared through Redis, its frontier,
page memory and robots.txt cache on one connection, and opening it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from crawler.frontier.backend import CrawlIdentity
from crawler.frontier.redis.cache import RedisCache
from crawler.frontier.redis.frontier import RedisFrontier
from crawler.frontier.redis.link import connect_redis
from crawler.frontier.redis.memory import RedisPageMemory
from crawler.settings import redact_url

PAUSED_NOTE = "paused: Redis lost, retrying"


class RedisBackend:
    """One process's part in a crawl shared through Redis: the frontier (whose session
    joins, beats and leaves), the page memory a recrawl reads, and the shared cache."""

    def __init__(self, frontier: RedisFrontier, memory: RedisPageMemory, *, url: str) -> None:
        self._frontier = frontier
        self._memory = memory
        self._cache = RedisCache(frontier.session)
        self._label = f"Redis at {redact_url(url)}, crawl {frontier.session.keys.crawl_id!r}"

    @property
    def label(self) -> str:
        """The Redis (without its password) and the crawl id."""
        return self._label

    @property
    def frontier(self) -> RedisFrontier:
        """The shared frontier."""
        return self._frontier

    @property
    def page_memory(self) -> RedisPageMemory:
        """Kept in Redis beside the frontier, so a later recrawl by any process compares."""
        return self._memory

    @property
    def shared_cache(self) -> RedisCache:
        """Bytes fetched once for the whole crawl (robots.txt)."""
        return self._cache

    @property
    def shared(self) -> bool:
        """True: other processes write to the crawl's outputs too."""
        return True

    @property
    def paused(self) -> bool:
        """True while Redis is unreachable and fetching is paused."""
        return self._frontier.session.link.lost

    def status_lines(self) -> list[str]:
        """Whether fetching is paused for a lost Redis."""
        return [PAUSED_NOTE] if self.paused else []

    def connect_admission(self, add_seed: Callable[[str], None], skipped: Counter[str]) -> None:
        """Seed roots come from every process (a joiner without seeds learns its scope);
        skips are added to the crawl's counts in Redis, which ``parcrawl status`` reads."""
        self._frontier.session.on_seed_root(add_seed)
        self._frontier.session.count_skips(skipped)

    async def start(self) -> None:
        """Join the crawl (see ``RedisSession.start``)."""
        await self._frontier.start()

    async def aclose(self) -> None:
        """Leave the crawl (see ``RedisFrontier.aclose``). Never raises."""
        await self._frontier.aclose()


def open_redis_backend(
    url: str, crawl_id: str, identity: CrawlIdentity, *, recrawl: bool = False, **options: Any
) -> RedisBackend:
    """The backend of crawl ``crawl_id`` on the Redis at ``url``, unjoined; ``options`` go
    to ``RedisFrontier`` (limits, lease and give-up times).

    Raises:
        ConfigError: ``url`` cannot be read.
    """
    memory = RedisPageMemory(load=recrawl)
    frontier = RedisFrontier(
        connect_redis(url),
        url=url,
        crawl_id=crawl_id,
        identity=identity,
        memory=memory,
        recrawl=recrawl,
        **options,
    )
    return RedisBackend(frontier, memory, url=url)
