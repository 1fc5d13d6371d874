"""RedisFrontier, the ``Frontier`` of a crawl shared by several processes through Redis:
one queue, seen set, host timing and lease table for all of them.

Each change is one atomic Lua script (:mod:`crawler.frontier.redis_scripts`); this module
owns when to call them and the leases this process holds (renewed by a heartbeat). Calls go
through a ``RedisLink``, which rides out a lost Redis.
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
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions as redis_errors

from crawler.errors import ConfigError, FrontierError
from crawler.frontier.cluster import CrawlIdentity
from crawler.frontier.hosts import BACKOFF_BASE_S, HostAnswer, Turn
from crawler.frontier.lifecycle import (
    Ending,
    Fetched,
    HeldBack,
    Lease,
    Refused,
    RetryIn,
    Unfetched,
)
from crawler.frontier.redis_keys import CrawlKeys, scrub
from crawler.frontier.redis_link import (
    CALL_TIMEOUT_S,
    PERMANENT,
    TRANSIENT,
    Arg,
    RedisLink,
)
from crawler.frontier.redis_memory import RedisPageMemory
from crawler.frontier.redis_scripts import decode_request, encode_request
from crawler.frontier.stores import Outcome
from crawler.models import FetchRequest
from crawler.settings import redact_url
from crawler.urls import host_key, url_key

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.25
"""Longest wait between two looks at the shared queue when this process has nothing to do:
other processes' links arrive without a wake-up."""

HOST_SCAN = 200
"""Hosts one take looks at: those whose time has come, soonest first."""

TAKE_MAX = 64
"""Leases one take hands out at most (one per fetch task waiting)."""


class RedisFrontier:
    """The ``Frontier`` of one process in a crawl shared through Redis.

    A lease is handed out by Redis with an expiry that this process's heartbeat renews
    every ``lease_s / 3``; a process that dies stops renewing, and its URLs go back to the
    queue with the attempt counted. Counts (``pending``, ``seen_count``) are what Redis
    said last. Everything starts on the first call (``start``), inside the crawl's loop.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        url: str,
        crawl_id: str,
        identity: CrawlIdentity,
        max_requests: int | None = None,
        max_pending: int = 10_000,
        max_hold_s: float = 600.0,
        lease_s: float = 30.0,
        give_up_s: float = 120.0,
        process: str | None = None,
        rng: random.Random | None = None,
        memory: RedisPageMemory | None = None,
        recrawl: bool = False,
    ) -> None:
        self._keys = CrawlKeys(crawl_id)
        self._identity = identity
        self._max_requests = max_requests
        self._max_pending = max_pending
        self._max_hold_s = max_hold_s
        self._lease_ms = int(lease_s * 1000)
        self.process = process or _process_name()
        self._rng = rng or random.Random()
        self._link = RedisLink(
            client, url, give_up_s=give_up_s, rng=self._rng, check=self._raise_heartbeat_error
        )
        self.skipped: Counter[str] = Counter()
        self._skips: Counter[str] = Counter()  # this process's skips, by reason (admission's)
        self._skips_sent: Counter[str] = Counter()
        self._memory = memory
        self._recrawl = recrawl
        self.recrawl_queued: int | None = None
        """Known pages this process queued when it began a new recrawl run; None otherwise."""
        self._started = False
        self._start_lock = asyncio.Lock()
        self._take_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._buffer: deque[Lease] = deque()
        self._tokens: dict[str, int] = {}  # url -> token of the lease this process holds
        self._taken_at: dict[int, float] = {}
        self._granted: dict[str, str] = {}  # host -> url whose first hop may start at once
        self._slowed_at: dict[str, float] = {}  # host -> when this process learned a delay
        self._held_hosts: set[str] = set()
        self._seed_roots: set[str] = set()
        self._on_seed_root: Callable[[str], None] = lambda _root: None
        self._getters = 0
        self._next_take = 0.0
        self._pending = 0
        self._seen = 0
        self._over = False
        self._limited = False
        self._input_closed = False
        self._feeding = identity.seeding
        self._stopped = False
        self._heartbeat: asyncio.Task[None] | None = None
        self._heartbeat_error: BaseException | None = None

    # -- start and stop ------------------------------------------------------------------

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
        keys = self._keys
        identity = self._identity
        fingerprint = json.dumps(identity.fingerprint, sort_keys=True)
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                await self._link.client.ping()
                if identity.seeding:
                    meta: list[Arg] = [
                        fingerprint,
                        identity.per_host,
                        int(identity.delay_s * 1000),
                        identity.max_per_host or 0,
                        int(time.time()),
                    ]
                    stored = await self._link.script("join")(keys=[keys.meta], args=meta)
                else:
                    stored = await self._link.client.hget(keys.meta, "fingerprint")
                roots = await self._link.client.smembers(keys.seeds)
        except PERMANENT as exc:
            raise FrontierError(self._link.describe(exc, "refused us")) from None
        except (*TRANSIENT, TimeoutError) as exc:
            raise FrontierError(self._link.describe(exc, "is unreachable")) from None
        except redis_errors.RedisError as exc:
            raise FrontierError(self._link.describe(exc, "answered with an error")) from None
        if stored is None:
            raise FrontierError(
                f"no crawl {keys.crawl_id!r} on {redact_url(self._link.url)}: "
                "give seed URLs to start it, or check --crawl-id"
            )
        differ = _differences(json.loads(stored), identity.fingerprint)
        if differ:
            raise ConfigError(
                f"crawl {keys.crawl_id!r} was started with other settings ({', '.join(differ)}): "
                "join it with the same ones, or start a new crawl id"
            )
        for root in roots:
            self._note_seed_root(_text(root))
        if self._recrawl:
            await self._begin_recrawl()
        await self._renew()

    async def _begin_recrawl(self) -> None:
        """Start a new run over every known page if the crawl ended; otherwise resume it.

        One atomic script decides, so however many processes start at once, one run begins.
        """
        args: list[Arg] = [
            self._keys.prefix,
            self.process,
            int(self._identity.seeding),
            self._lease_ms,
        ]
        queued = int(await self._link.run("recrawl", args))
        if queued < 0:
            log.info("recrawl: crawl %r had not ended; resuming its run", self._keys.crawl_id)
            return
        self.recrawl_queued = queued
        log.info("recrawl: new run of crawl %r, %d known pages queued", self._keys.crawl_id, queued)

    async def aclose(self) -> None:
        """Leave the crawl: leases never finished go back to the queue (not counted as an
        attempt), the heartbeat stops, the connection closes. Never raises."""
        try:
            if self._heartbeat is not None:
                self._heartbeat.cancel()
                # Waits for it without taking its CancelledError for this task's own.
                await asyncio.wait([self._heartbeat])
            if self._started:
                await self._finish()
                tokens = [*self._tokens.values(), *(lease.token for lease in self._buffer)]
                try:
                    async with asyncio.timeout(CALL_TIMEOUT_S):
                        await self._link.script("release")(
                            args=[self._keys.prefix, self.process, *tokens]
                        )
                except (redis_errors.RedisError, OSError, TimeoutError) as exc:
                    log.warning(
                        "could not hand back %d leases (%s): they return to the queue in %.0f s",
                        len(tokens),
                        scrub(str(exc), self._link.url),
                        self._lease_ms / 1000,
                    )
        finally:
            # Also when the crawl is cancelled a second time while leaving (asyncio.run
            # cancels every task at its end, an abandoned ``acrawl`` among them): the
            # connections close, and unreleased leases come back when they expire.
            with contextlib.suppress(redis_errors.RedisError, OSError):
                await self._link.client.aclose()

    async def _finish(self) -> None:
        """Write what is left of the page memory; mark the run ended when this process saw
        it end (drained, or the page limit), not when it was stopped. Never raises."""
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                writes = self._memory.writes() if self._memory is not None else []
                await self._send_skips()
                if writes:
                    mapping = dict(writes)
                    await self._link.client.hset(self._keys.page, mapping=mapping)  # type: ignore[arg-type]
                if (self._over or self._limited) and not self._stopped:
                    args: list[Arg] = [self._keys.prefix, int(self._limited)]
                    await self._link.script("finish")(args=args)
        except (redis_errors.RedisError, OSError, TimeoutError) as exc:
            log.warning(
                "could not record the end of crawl %r (%s): a recrawl will resume it",
                self._keys.crawl_id,
                scrub(str(exc), self._link.url),
            )

    # -- feeding -------------------------------------------------------------------------

    async def put(self, request: FetchRequest) -> bool:
        """Queue a seed once fewer than ``max_pending`` wait; False: seen, or stopped."""
        await self.start()
        while self._pending >= self._max_pending and not self._stopped:
            await self._take_for(0)
            await self._wait(IDLE_POLL_S)
        if self._stopped:
            return False
        root = _root(request.url)
        if root not in self._seed_roots:
            self._note_seed_root(root)
            await self._link.call(lambda: self._link.client.sadd(self._keys.seeds, root))
        return bool(await self._add([request]))

    async def add_many(self, requests: Sequence[FetchRequest]) -> list[FetchRequest]:
        """Queue the requests whose canonical URLs no process has seen; returns those."""
        await self.start()
        return await self._add(requests)

    async def _add(self, requests: Sequence[FetchRequest]) -> list[FetchRequest]:
        unique: dict[bytes, FetchRequest] = {}
        for request in requests:
            unique.setdefault(url_key(request.url), request)
        if not unique:
            return []
        args: list[Arg] = [self._keys.prefix]
        for key, request in unique.items():
            args += [key, host_key(request.url), request.depth, encode_request(request)]
        added = await self._link.run("add", args)
        batch = list(unique.values())
        accepted = [batch[int(index)] for index in added]
        self._pending += len(accepted)
        if accepted:
            self._notify()
        return accepted

    async def mark_seen(self, url: str) -> bool:
        """Record ``url`` as seen by the whole crawl without queueing it; False when it was."""
        await self.start()
        key = url_key(url)
        return bool(await self._link.call(lambda: self._link.client.sadd(self._keys.seen, key)))

    def close_input(self) -> None:
        """This process has no more seeds: the crawl may end once the queue drains."""
        self._input_closed = True
        self._notify()

    def stop(self) -> None:
        """Hand out nothing more here (the crawl goes on in the other processes)."""
        self._stopped = True
        self._notify()

    # -- draining ------------------------------------------------------------------------

    async def get(self) -> Lease | None:
        """The next request whose host may be contacted now; None once the crawl is over.

        Waiting fetch tasks share one take: it asks Redis for as many leases as tasks wait.
        """
        await self.start()
        self._getters += 1
        try:
            while True:
                if self._stopped or self._over:
                    return None
                if self._buffer:
                    return self._buffer.popleft()
                if self._limited:
                    return None
                async with self._take_lock:
                    if self._buffer or time.monotonic() < self._next_take:
                        wait_s = max(self._next_take - time.monotonic(), 0.0)
                    else:
                        wait_s = await self._take_for(min(self._getters, TAKE_MAX))
                if wait_s > 0 and not self._buffer:
                    await self._wait(wait_s)
        finally:
            self._getters -= 1

    async def _take_for(self, want: int) -> float:
        """Take up to ``want`` leases into the buffer; returns how long to wait if none."""
        if self._input_closed and self._feeding:
            self._feeding = False
            await self._renew()
        args: list[Arg] = [
            self._keys.prefix,
            self.process,
            want,
            self._lease_ms,
            self._rng.uniform(1.0, 1.5),
            self._max_requests or 0,
            HOST_SCAN,
        ]
        self._changed.clear()
        reply = await self._link.run("take", args)
        leases, queued, _leased, _retrying, over, wait_ms, limited, seen = reply
        self._pending, self._seen = int(queued), int(seen)
        now = time.monotonic()
        taken: list[Lease] = []
        for token_raw, request_raw, host_raw, delay_ms in leases:
            token = int(token_raw)
            request = decode_request(request_raw)
            self._tokens[request.url] = token
            self._taken_at[token] = now
            if not int(delay_ms):
                # No spacing to keep: the first hop needs no round trip to start.
                self._granted[_text(host_raw)] = request.url
            taken.append(Lease(request, token))
        if taken:
            # Loaded before any fetch task can see the leases: a recrawl asks at once.
            await self._load_memory([lease.request.url for lease in taken])
            self._buffer.extend(taken)
            self._notify()
            return 0.0
        self._limited = bool(int(limited))
        self._over = bool(int(over)) and self._input_closed
        wait_s = min(int(wait_ms) / 1000, IDLE_POLL_S)
        self._next_take = now + wait_s
        return max(wait_s, 0.001)

    async def may_start(self, lease: Lease) -> bool:
        """True when the lease's host may still be contacted now.

        Only a Crawl-delay this process learned after the hand-out (robots.txt) can change
        that: only then is Redis asked.
        """
        host = host_key(lease.request.url)
        slowed = self._slowed_at.get(host)
        if slowed is None or slowed < self._taken_at.get(lease.token, 0.0):
            return True
        reply = await self._link.run("may_start", [self._keys.prefix, host])
        return bool(reply)

    async def renew(self, lease: Lease) -> None:
        """Renew every lease this process holds (the heartbeat does so too)."""
        await self._renew()

    async def end(self, lease: Lease, how: Ending) -> None:
        """The fetch of ``lease`` is over, ended ``how``: its host's slot is free again."""
        request = lease.request
        kind, retry_ms, retry_at = "fetched", 0, 0.0
        if isinstance(how, HeldBack):
            kind = "held"
        elif isinstance(how, Unfetched):
            kind = "unfetched"
        elif isinstance(how, Refused):
            kind = "refused"
        elif isinstance(how, RetryIn):
            kind, retry_ms, retry_at = "retry", int(how.delay_s * 1000), time.time() + how.delay_s
        elif not isinstance(how, Fetched):
            raise TypeError(f"unknown ending {how!r}")
        reason = how.reason if isinstance(how, Refused) else ""
        args: list[Arg] = [self._keys.prefix, lease.token, kind, retry_ms, retry_at]
        kept = await self._link.run("end", [*args, url_key(request.url), reason])
        if kind in ("held", "refused", "retry"):
            self._forget(request.url)
            if self._granted.get(host_key(request.url)) == request.url:
                del self._granted[host_key(request.url)]  # its next hand-out decides again
            if self._memory is not None:
                self._memory.forget(request.url)
        if not kept:
            log.warning(
                "%s: its lease expired before its fetch ended; another process may fetch it too",
                request.url,
            )
        self._notify()

    async def done(self, outcomes: Sequence[Outcome]) -> None:
        """These URLs' records are written (or dropped by a step): finished for good."""
        if not outcomes:
            return
        writes = self._memory.writes() if self._memory is not None else []
        args: list[Arg] = [self._keys.prefix, self.process, len(writes)]
        for field, value in writes:
            args += [field, value]
        for outcome in outcomes:
            token = self._forget(outcome.url)
            failed = outcome.error is not None and outcome.error != "dropped"
            code = outcome.error or str(outcome.status)
            args += [token if token is not None else "", url_key(outcome.url), code, int(failed)]
        await self._link.run("done", args)
        self._notify()

    async def restore(self, outcomes: Sequence[Outcome]) -> None:
        """URLs finished elsewhere (records already written): seen, and never fetched."""
        await self.start()
        for outcome in outcomes:
            await self.mark_seen(outcome.url)
        await self.done(outcomes)

    async def drain_retries(self) -> list[FetchRequest]:
        """Nothing to drain: a retry waits in Redis for whichever process is still crawling."""
        return []

    async def wait_turn(self, url: str) -> Turn:
        """Wait until a request to ``url``'s host may start, for the whole crawl; its turn
        tells Redis when it is on the wire (the delay counts from then) or failed.

        Without a delay to keep, a lease's first hop starts without asking Redis at all.
        """
        host = host_key(url)
        if self._granted.pop(host, None) == url:
            return Turn()
        while True:
            args: list[Arg] = [self._keys.prefix, host, self._rng.uniform(1.0, 1.5)]
            wait_ms = int(await self._link.run("begin", [*args, self._lease_ms]))
            if wait_ms <= 0:
                return Turn(partial(self._settle, host))
            await asyncio.sleep(min(wait_ms / 1000, 1.0))

    async def _settle(self, host: str, sent: bool) -> None:
        args: list[Arg] = [self._keys.prefix, host, self._rng.uniform(1.0, 1.5), int(sent)]
        await self._link.run("sent", args)

    async def set_delay(self, url: str, delay_s: float) -> None:
        """Space requests to ``url``'s host at least ``delay_s`` apart, across all processes."""
        host = host_key(url)
        delay_ms = int(max(self._identity.delay_s, delay_s) * 1000)
        self._slowed_at[host] = time.monotonic()
        await self._hold(host, "delay", delay_ms)

    async def heed(self, url: str, answer: HostAnswer) -> float:
        """A 429/503 holds the host for the whole crawl (Retry-After, else the shared
        back-off); another answer ends a back-off. Returns the hold in seconds."""
        host = host_key(url)
        if not answer.holds:
            if answer.status is not None and host in self._held_hosts:
                self._held_hosts.discard(host)
                await self._hold(host, "reset", 0)
            return 0.0
        self._held_hosts.add(host)
        self._slowed_at[host] = time.monotonic()
        if answer.retry_after_s is not None:
            hold_ms = int(min(answer.retry_after_s, self._max_hold_s) * 1000)
            return await self._hold(host, "hold", hold_ms) / 1000
        return await self._hold(host, "backoff", int(BACKOFF_BASE_S * 1000)) / 1000

    async def _hold(self, host: str, kind: str, ms: int) -> float:
        args: list[Arg] = [
            self._keys.prefix,
            host,
            kind,
            ms,
            self._rng.uniform(0.5, 1.0),
            int(self._max_hold_s * 1000),
        ]
        return float(await self._link.run("hold", args))

    # -- introspection -------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Requests queued for the whole crawl, as Redis said last."""
        return self._pending

    @property
    def outstanding(self) -> int:
        """Requests this process holds leases for and has not finished."""
        return len(self._tokens)

    @property
    def accepts_links(self) -> bool:
        """Always: links queued in Redis are fetched by whichever process is still crawling."""
        return True

    @property
    def seen_count(self) -> int:
        """Distinct canonical URLs the whole crawl has seen, as Redis said last."""
        return self._seen

    @property
    def limit_reached(self) -> bool:
        """True once ``max_pages`` requests were handed out, by all processes together."""
        return self._limited

    @property
    def lost(self) -> bool:
        """True while Redis is unreachable and fetching is paused."""
        return self._link.lost

    # -- shared robots.txt ---------------------------------------------------------------

    async def shared_resource(
        self,
        name: str,
        fetch: Callable[[], Awaitable[bytes]],
        *,
        ttl_s: Callable[[bytes], float],
        wait_s: float = 30.0,
    ) -> bytes:
        """``name``'s bytes, fetched by one process for the whole crawl and kept ``ttl_s``.

        Used for robots.txt: the first process to need it fetches it (under a lock with a
        TTL, so a dead fetcher blocks nobody for long); the others wait and read its answer.
        """
        await self.start()
        key, lock = self._keys.robots(name), self._keys.robots_lock(name)
        deadline = time.monotonic() + wait_s
        while True:
            cached = await self._link.call(lambda: self._link.client.get(key))
            if cached is not None:
                return cached if isinstance(cached, bytes) else cached.encode()
            mine = await self._link.call(
                lambda: self._link.client.set(lock, self.process, nx=True, px=int(wait_s * 1000))
            )
            if mine or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        value = await fetch()
        expiry_ms = max(int(ttl_s(value) * 1000), 1)
        await self._link.call(lambda: self._link.client.set(key, value, px=expiry_ms))
        await self._link.call(lambda: self._link.client.delete(lock))
        return value

    # -- internals -----------------------------------------------------------------------

    async def _load_memory(self, urls: list[str]) -> None:
        """Load the page memory of newly leased ``urls`` (a recrawl asks for it before the
        fetch, synchronously): one HMGET for the whole take."""
        if self._memory is None or not (wanted := self._memory.wanted(urls)):
            return
        fields = [url_key(url) for url in wanted]
        values = await self._link.call(lambda: self._link.client.hmget(self._keys.page, fields))
        self._memory.loaded(wanted, values)

    async def _renew(self) -> None:
        tokens: list[Arg] = list(self._tokens.values())
        args: list[Arg] = [self._keys.prefix, self.process, self._lease_ms, int(self._feeding)]
        args += tokens
        await self._link.run("renew", args)

    async def _beat(self) -> None:
        """Renew this process's leases (and its "still seeding" mark) every lease_s / 3."""
        try:
            while True:
                await asyncio.sleep(self._lease_ms / 3000)
                await self._renew()
                await self._link.call(self._send_skips)
                roots = await self._link.call(lambda: self._link.client.smembers(self._keys.seeds))
                for root in roots:
                    self._note_seed_root(_text(root))
        except FrontierError as exc:
            self._heartbeat_error = exc
            self._notify()

    def _raise_heartbeat_error(self) -> None:
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
        pipe = self._link.client.pipeline(transaction=True)
        pipe.hincrby(self._keys.counts, "skipped", sum(fresh.values()))
        for reason, count in fresh.items():
            pipe.hincrby(self._keys.counts, f"skipped:{reason}", count)
        await pipe.execute()
        self._skips_sent.update(fresh)

    def on_seed_root(self, callback: Callable[[str], None]) -> None:
        """Call ``callback`` with each seed root of the crawl (``scheme://host:port/``), those
        known and those to come: a process joining without seeds learns its scope so."""
        self._on_seed_root = callback
        for root in self._seed_roots:
            callback(root)

    def _note_seed_root(self, root: str) -> None:
        if root not in self._seed_roots:
            self._seed_roots.add(root)
            self._on_seed_root(root)

    def _forget(self, url: str) -> int | None:
        token = self._tokens.pop(url, None)
        if token is not None:
            self._taken_at.pop(token, None)
        return token

    def _notify(self) -> None:
        self._changed.set()
        self._next_take = 0.0

    async def _wait(self, max_wait_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max_wait_s):
                await self._changed.wait()
        self._raise_heartbeat_error()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _root(url: str) -> str:
    """``scheme://host:port/`` of ``url``: what scope needs to know of a seed."""
    return host_key(url) + "/"


def _differences(stored: dict[str, Any], mine: dict[str, Any]) -> list[str]:
    return sorted(key for key in stored.keys() | mine.keys() if stored.get(key) != mine.get(key))


def _process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
