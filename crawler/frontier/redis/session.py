"""RedisSession: one process's membership in a crawl shared through Redis: joining it (the
settings check, a recrawl run begun), the heartbeat that renews its leases, the seed roots
and skip counts it trades with the others, and leaving.

What it leases, and when, is the frontier's (:mod:`.frontier`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions as redis_errors

from crawler.errors import ConfigError, FrontierError
from crawler.frontier.backend import CrawlIdentity
from crawler.frontier.redis.keys import CrawlKeys, scrub
from crawler.frontier.redis.link import CALL_TIMEOUT_S, PERMANENT, TRANSIENT, Arg, RedisLink
from crawler.frontier.redis.memory import RedisPageMemory
from crawler.frontier.throttle import START_LIMIT
from crawler.settings import redact_url
from crawler.urls import host_key

log = logging.getLogger(__name__)


class RedisSession:
    """This process in one shared crawl: joined on ``start``, kept alive by a heartbeat
    every ``lease_s / 3``, left on ``aclose``.

    Args:
        held: the lease tokens this process holds now (renewed on every beat).
        wake: called when the heartbeat fails, so waiting callers see its error.
        memory: the crawl's page memory, written when leaving.
        recrawl: begin a new run over every known page if the crawl ended.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        url: str,
        crawl_id: str,
        identity: CrawlIdentity,
        lease_s: float,
        give_up_s: float,
        held: Callable[[], Iterable[int]],
        wake: Callable[[], None],
        process: str | None = None,
        rng: random.Random | None = None,
        memory: RedisPageMemory | None = None,
        recrawl: bool = False,
    ) -> None:
        self.keys = CrawlKeys(crawl_id)
        self.identity = identity
        self.lease_ms = int(lease_s * 1000)
        self.process = process or _process_name()
        self.rng = rng or random.Random()
        self.link = RedisLink(
            client, url, give_up_s=give_up_s, rng=self.rng, check=self.raise_heartbeat_error
        )
        self.memory = memory
        self.feeding = identity.seeding
        """This process still brings seeds: the crawl is not over before it is done."""
        self._recrawl = recrawl
        self._held = held
        self._wake = wake
        self._skips: Counter[str] = Counter()  # this process's skips, by reason (admission's)
        self._skips_sent: Counter[str] = Counter()
        self._seed_roots: set[str] = set()
        self._on_seed_root: Callable[[str], None] = lambda _root: None
        self._started = False
        self._start_lock = asyncio.Lock()
        self._heartbeat: asyncio.Task[None] | None = None
        self._heartbeat_error: BaseException | None = None

    # -- joining -------------------------------------------------------------------------

    async def start(self) -> None:
        """Join (or create) the crawl: check it, register this process, start the heartbeat.

        Raises:
            FrontierError: Redis unreachable, a wrong password, or no such crawl to join.
            ConfigError: the crawl id was started with settings that differ incompatibly.
        """
        async with self._start_lock:
            if self._started:
                return
            await self._join()
            self._started = True
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def _join(self) -> None:
        keys = self.keys
        identity = self.identity
        fingerprint = json.dumps(identity.fingerprint, sort_keys=True)
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                await self.link.client.ping()
                if identity.seeding:
                    meta: list[Arg] = [
                        fingerprint,
                        identity.per_host,
                        int(identity.delay_s * 1000),
                        identity.max_per_host or 0,
                        int(time.time()),
                        min(START_LIMIT, identity.per_host) if identity.autothrottle else 0,
                    ]
                    stored = await self.link.script("join")(keys=[keys.meta], args=meta)
                else:
                    stored = await self.link.client.hget(keys.meta, "fingerprint")
                roots = await self.link.client.smembers(keys.seeds)
        except PERMANENT as exc:
            raise FrontierError(self.link.describe(exc, "refused us")) from None
        except (*TRANSIENT, TimeoutError) as exc:
            raise FrontierError(self.link.describe(exc, "is unreachable")) from None
        except redis_errors.RedisError as exc:
            raise FrontierError(self.link.describe(exc, "answered with an error")) from None
        if stored is None:
            raise FrontierError(
                f"no crawl {keys.crawl_id!r} on {redact_url(self.link.url)}: "
                "give seed URLs to start it, or check --crawl-id"
            )
        differ = _differences(json.loads(stored), identity.fingerprint)
        if differ:
            raise ConfigError(
                f"crawl {keys.crawl_id!r} was started with other settings ({', '.join(differ)}): "
                "join it with the same ones, or start a new crawl id"
            )
        for root in roots:
            self._note_seed_root(text(root))
        if self._recrawl:
            await self._begin_recrawl()
        await self.renew()

    async def _begin_recrawl(self) -> None:
        """Start a new run over every known page if the crawl ended; otherwise resume it.

        One atomic script decides, so however many processes start at once, one run begins.
        """
        args: list[Arg] = [self.keys.prefix, self.process, int(self.identity.seeding)]
        queued = int(await self.link.run("recrawl", [*args, self.lease_ms]))
        if queued < 0:
            log.info("recrawl: crawl %r had not ended; resuming its run", self.keys.crawl_id)
            return
        log.info("recrawl: new run of crawl %r, %d known pages queued", self.keys.crawl_id, queued)

    # -- staying -------------------------------------------------------------------------

    async def renew(self) -> None:
        """Renew every lease this process holds, and its "still seeding" mark."""
        args: list[Arg] = [self.keys.prefix, self.process, self.lease_ms, int(self.feeding)]
        args += list(self._held())
        await self.link.run("renew", args)

    async def _beat(self) -> None:
        """Renew this process's leases (and its "still seeding" mark) every lease_s / 3."""
        try:
            while True:
                await asyncio.sleep(self.lease_ms / 3000)
                await self.renew()
                await self.link.call(self._send_skips)
                roots = await self.link.call(lambda: self.link.client.smembers(self.keys.seeds))
                for root in roots:
                    self._note_seed_root(text(root))
        except FrontierError as exc:
            self._heartbeat_error = exc
            self._wake()

    def raise_heartbeat_error(self) -> None:
        """Raise what ended the heartbeat (Redis lost for too long), if it has ended."""
        if self._heartbeat_error is not None:
            raise self._heartbeat_error

    def count_skips(self, skipped: Counter[str]) -> None:
        """Add ``skipped`` (this process's skips by reason, as it counts them) to the
        crawl's counts in Redis, on every heartbeat and when leaving: ``parcrawl status``
        then counts what every process skipped, not only what the frontier dropped."""
        self._skips = skipped

    async def _send_skips(self) -> None:
        fresh = self._skips - self._skips_sent
        if not fresh:
            return
        pipe = self.link.client.pipeline(transaction=True)
        pipe.hincrby(self.keys.counts, "skipped", sum(fresh.values()))
        for reason, count in fresh.items():
            pipe.hincrby(self.keys.counts, f"skipped:{reason}", count)
        await pipe.execute()
        self._skips_sent.update(fresh)

    def on_seed_root(self, callback: Callable[[str], None]) -> None:
        """Call ``callback`` with each seed root of the crawl (``scheme://host:port/``), those
        known and those to come: a process joining without seeds learns its scope so."""
        self._on_seed_root = callback
        for root in self._seed_roots:
            callback(root)

    async def add_seed_root(self, url: str) -> None:
        """Tell the crawl that ``url``'s host is a seed root (once per root)."""
        root = host_key(url) + "/"
        if root not in self._seed_roots:
            self._note_seed_root(root)
            await self.link.call(lambda: self.link.client.sadd(self.keys.seeds, root))

    def _note_seed_root(self, root: str) -> None:
        if root not in self._seed_roots:
            self._seed_roots.add(root)
            self._on_seed_root(root)

    # -- leaving -------------------------------------------------------------------------

    async def aclose(self, tokens: list[int], *, ended: bool, limited: bool) -> None:
        """Leave the crawl: ``tokens`` (leases never finished) go back to the queue (not
        counted as an attempt), the heartbeat stops, the connection closes; ``ended``: this
        process saw the run end (``limited``: at the page limit). Never raises."""
        try:
            if self._heartbeat is not None:
                self._heartbeat.cancel()
                # Waits for it without taking its CancelledError for this task's own.
                await asyncio.wait([self._heartbeat])
            if self._started:
                await self._finish(ended=ended, limited=limited)
                try:
                    async with asyncio.timeout(CALL_TIMEOUT_S):
                        await self.link.script("release")(
                            args=[self.keys.prefix, self.process, *tokens]
                        )
                except (redis_errors.RedisError, OSError, TimeoutError) as exc:
                    log.warning(
                        "could not hand back %d leases (%s): they return to the queue in %.0f s",
                        len(tokens),
                        scrub(str(exc), self.link.url),
                        self.lease_ms / 1000,
                    )
        finally:
            # Also when the crawl is cancelled a second time while leaving (asyncio.run
            # cancels every task at its end, an abandoned ``acrawl`` among them): the
            # connections close, and unreleased leases come back when they expire.
            with contextlib.suppress(redis_errors.RedisError, OSError):
                await self.link.client.aclose()

    async def _finish(self, *, ended: bool, limited: bool) -> None:
        """Write what is left of the page memory; mark the run ended when this process saw
        it end (drained, or the page limit), not when it was stopped. Never raises."""
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                writes = self.memory.writes() if self.memory is not None else []
                await self._send_skips()
                if writes:
                    mapping = dict(writes)
                    await self.link.client.hset(self.keys.page, mapping=mapping)  # type: ignore[arg-type]
                if ended:
                    args: list[Arg] = [self.keys.prefix, int(limited)]
                    await self.link.script("finish")(args=args)
        except (redis_errors.RedisError, OSError, TimeoutError) as exc:
            log.warning(
                "could not record the end of crawl %r (%s): a recrawl will resume it",
                self.keys.crawl_id,
                scrub(str(exc), self.link.url),
            )


def text(value: bytes | str) -> str:
    """A Redis reply as text."""
    return value.decode() if isinstance(value, bytes) else value


def _differences(stored: dict[str, Any], mine: dict[str, Any]) -> list[str]:
    return sorted(key for key in stored.keys() | mine.keys() if stored.get(key) != mine.get(key))


def _process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
