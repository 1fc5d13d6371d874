"""RedisCache: the ``SharedCache`` of a crawl shared through Redis (robots.txt answers),
fetched by one process for all of them. What is cached, and for how long, is the caller's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from crawler.frontier.redis.session import RedisSession


class RedisCache:
    """Bytes by name, fetched once for the whole crawl and kept as long as the caller says.

    The first process to need a name fetches it under a lock with a TTL (so a dead fetcher
    blocks nobody for long, ``wait_s``); the others wait and read its answer.
    """

    def __init__(self, session: RedisSession, *, wait_s: float = 30.0) -> None:
        self._session = session
        self._wait_s = wait_s

    async def fetch_once(
        self,
        name: str,
        fetch: Callable[[], Awaitable[bytes]],
        *,
        ttl_s: Callable[[bytes], float],
    ) -> bytes:
        """``name``'s bytes, from Redis, or from ``fetch`` and kept ``ttl_s(value)``."""
        session = self._session
        await session.start()
        link, keys = session.link, session.keys
        key, lock = keys.robots(name), keys.robots_lock(name)
        deadline = time.monotonic() + self._wait_s
        lock_ms = int(self._wait_s * 1000)
        while True:
            cached = await link.call(lambda: link.client.get(key))
            if cached is not None:
                return cached if isinstance(cached, bytes) else cached.encode()
            mine = await link.call(
                lambda: link.client.set(lock, session.process, nx=True, px=lock_ms)
            )
            if mine or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        value = await fetch()
        expiry_ms = max(int(ttl_s(value) * 1000), 1)
        await link.call(lambda: link.client.set(key, value, px=expiry_ms))
        await link.call(lambda: link.client.delete(lock))
        return value
