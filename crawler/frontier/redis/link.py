"""RedisLink: one process's line to the Redis of a shared crawl. It runs the crawl's Lua
scripts and plain commands, and rides out a lost Redis: pause, back off, log it, give up
after ``give_up_s``; the password stays out of every message.

What the scripts do, and when to call them, is the frontier's.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
import redis.exceptions as redis_errors
from redis.commands.core import AsyncScript

from crawler.errors import ConfigError, FrontierError
from crawler.frontier.redis.keys import scrub
from crawler.frontier.redis.scripts import load_scripts
from crawler.settings import redact_url

log = logging.getLogger(__name__)

T = TypeVar("T")
Arg = bytes | str | int | float
"""One argument of a script call."""

RECONNECT_MAX_S = 5.0
"""Longest pause between two attempts to reach a lost Redis."""

CALL_TIMEOUT_S = 10.0
"""A Redis call that takes longer counts as a lost connection."""

TRANSIENT = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
"""Errors that mean "Redis is not there right now" (a refused or dropped connection)."""

PERMANENT = (redis_errors.AuthenticationError, redis_errors.AuthorizationError)
"""Errors that waiting will not cure (checked before the transient ones they subclass)."""


def connect_redis(url: str) -> aioredis.Redis:
    """A client for the Redis at ``url`` (nothing is sent until first use).

    Raises:
        ConfigError: ``url`` is not one redis-py can read (shown without its password).
    """
    try:
        # No ``socket_timeout``: redis-py then sends through ``asyncio.wait_for``, which in
        # Python 3.11 can swallow a cancellation that lands as the send completes (a
        # crawl left by ``break`` then never ended). Every call runs under
        # ``asyncio.timeout(CALL_TIMEOUT_S)`` instead.
        return aioredis.from_url(url, socket_connect_timeout=CALL_TIMEOUT_S / 2)
    except ValueError as exc:
        raise ConfigError(f"cluster.frontier: {scrub(str(exc), url)}") from None


class RedisLink:
    """A Redis client with the crawl's scripts loaded, whose calls survive a lost Redis.

    ``check`` runs before each attempt (the frontier raises a heartbeat's error there).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        url: str,
        *,
        give_up_s: float,
        rng: random.Random,
        check: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.url = url
        self._give_up_s = give_up_s
        self._rng = rng
        self._check = check
        self._scripts = {name: client.register_script(lua) for name, lua in load_scripts().items()}
        self._lost_since: float | None = None

    @property
    def lost(self) -> bool:
        """True while Redis is unreachable and callers are paused."""
        return self._lost_since is not None

    def script(self, name: str) -> AsyncScript:
        """The loaded script ``name`` (for a single attempt outside ``call``)."""
        return self._scripts[name]

    async def run(self, name: str, args: Sequence[Arg]) -> Any:
        """Run the Lua script ``name`` with ``args``, through ``call`` (Redis may be lost)."""
        values = list(args)
        return await self.call(lambda: self._scripts[name](args=values))

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis call; while Redis is lost, pause and retry with back-off.

        Raises:
            FrontierError: a wrong password, a script error, or Redis lost for longer than
                ``give_up_s``.
        """
        step = 0
        task = asyncio.current_task()
        cancelling = task.cancelling() if task is not None else 0
        while True:
            self._check()
            try:
                async with asyncio.timeout(CALL_TIMEOUT_S):
                    result = await make()
                if task is not None and task.cancelling() > cancelling:
                    # The task was cancelled during the call and redis-py's send path
                    # took the CancelledError (seen on Python 3.11 when a crawl left by
                    # ``break`` was cancelled at the end of ``asyncio.run``): give it back,
                    # or the caller carries on and the crawl never ends.
                    raise asyncio.CancelledError
            except PERMANENT as exc:
                raise FrontierError(self.describe(exc, "refused us")) from None
            except (*TRANSIENT, TimeoutError) as exc:
                step += 1
                await self._pause(exc, step)
                continue
            except redis_errors.RedisError as exc:
                raise FrontierError(self.describe(exc, "answered with an error")) from None
            if self._lost_since is not None:
                log.warning(
                    "Redis at %s is back after %.0f s: crawling again",
                    redact_url(self.url),
                    time.monotonic() - self._lost_since,
                )
                self._lost_since = None
            return result

    def describe(self, exc: BaseException, what: str) -> str:
        """One line for a Redis error: where, ``what`` happened, the detail; no password."""
        detail = scrub(str(exc) or type(exc).__name__, self.url)
        return f"Redis at {redact_url(self.url)} {what}: {detail}"

    async def _pause(self, exc: BaseException, step: int) -> None:
        now = time.monotonic()
        if self._lost_since is None:
            self._lost_since = now
            log.warning(
                "Redis at %s lost (%s): fetching paused, retrying for up to %.0f s",
                redact_url(self.url),
                scrub(str(exc) or type(exc).__name__, self.url),
                self._give_up_s,
            )
        waited = now - self._lost_since
        if waited >= self._give_up_s:
            raise FrontierError(
                f"Redis at {redact_url(self.url)} lost for {waited:.0f} s: giving up "
                "(records written so far are complete; the other processes, or a rerun with "
                "the same --crawl-id, fetch what is left)"
            )
        backoff = min(RECONNECT_MAX_S, 0.1 * 2 ** min(step, 10)) * self._rng.uniform(0.5, 1.0)
        await asyncio.sleep(min(backoff, max(self._give_up_s - waited, 0.01)))
