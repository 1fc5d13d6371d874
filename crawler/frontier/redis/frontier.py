"""RedisFrontier, the ``Frontier`` of a crawl shared by several processes through Redis:
one queue, seen set, host timing and lease table for all of them.

Each change is one atomic Lua script (:mod:`.scripts`); this module owns when to call them
and the leases this process holds. Joining, the heartbeat and leaving are its session's
(:mod:`.session`); calls go through a ``RedisLink``, which rides out a lost Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Sequence
from functools import partial
from typing import Any

import redis.asyncio as aioredis

from crawler.frontier.backend import CrawlIdentity
from crawler.frontier.hosts import BACKOFF_BASE_S, HostAnswer, Turn
from crawler.frontier.lifecycle import Ending, Lease
from crawler.frontier.recent import RecentTimes
from crawler.frontier.redis.link import Arg
from crawler.frontier.redis.memory import RedisPageMemory
from crawler.frontier.redis.scripts import decode_request, encode_ending, encode_request
from crawler.frontier.redis.session import RedisSession, text
from crawler.frontier.stores import Outcome
from crawler.frontier.throttle import (
    MAX_DELAY_S,
    MAX_HOSTS,
    MIN_DELAY_S,
    START_LIMIT,
    Rate,
    ThrottleRegistry,
)
from crawler.models import FetchRequest
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
    What it keeps per host is bounded (``max_hosts``, the ones it dealt with last): a host
    forgotten costs a round trip or a refused proposal, never a wrong start.
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
        max_hosts: int = MAX_HOSTS,
    ) -> None:
        self._tokens: dict[str, int] = {}  # url -> token of the lease this process holds
        self.session = RedisSession(
            client,
            url=url,
            crawl_id=crawl_id,
            identity=identity,
            lease_s=lease_s,
            give_up_s=give_up_s,
            held=self._tokens.values,
            wake=self._notify,
            process=process,
            rng=rng,
            memory=memory,
            recrawl=recrawl,
        )
        self._keys = self.session.keys
        self._link = self.session.link
        self._rng = self.session.rng
        self._lease_ms = self.session.lease_ms
        self._base_delay_s = identity.delay_s
        self.skipped: Counter[str] = Counter()
        self._max_requests = max_requests
        self._max_pending = max_pending
        self._max_hold_s = max_hold_s
        self._memory = memory
        self._take_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._buffer: deque[Lease] = deque()
        self._taken_at: dict[int, float] = {}
        self._granted: dict[str, str] = {}  # host -> url whose first hop may start at once
        self._timed_at = RecentTimes(max_hosts)  # host -> when its timing last changed here
        self._held_hosts: set[str] = set()
        self._autothrottle = identity.autothrottle
        self._per_host = identity.per_host
        start = Rate(min(START_LIMIT, identity.per_host))
        self._throttles = ThrottleRegistry(start, max_hosts=max_hosts)
        self._getters = 0
        self._next_take = 0.0
        self._pending = 0
        self._seen = 0
        self._over = False
        self._limited = False
        self._input_closed = False
        self._stopped = False

    @property
    def process(self) -> str:
        """This process's name in the crawl (host:pid unless given)."""
        return self.session.process

    # -- start and stop ------------------------------------------------------------------

    async def start(self) -> None:
        """Join (or create) the crawl (see ``RedisSession.start``).

        Raises:
            FrontierError: Redis unreachable, a wrong password, or no such crawl to join.
            ConfigError: the crawl id was started with settings that differ incompatibly.
        """
        await self.session.start()

    async def aclose(self) -> None:
        """Leave the crawl: leases never finished go back to the queue (not counted as an
        attempt), the heartbeat stops, the connection closes. Never raises."""
        tokens = [*self._tokens.values(), *(lease.token for lease in self._buffer)]
        await self.session.aclose(
            tokens, ended=(self._over or self._limited) and not self._stopped, limited=self._limited
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
        await self.session.add_seed_root(request.url)
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
        added, dropped = await self._link.run("add", args)
        self._count_dropped(dropped)
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
        if self._input_closed and self.session.feeding:
            self.session.feeding = False
            await self.session.renew()
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
        leases, queued, _leased, _retrying, over, wait_ms, limited, seen, dropped = reply
        self._count_dropped(dropped)
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
                self._granted[text(host_raw)] = request.url
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

    def _count_dropped(self, dropped: Any) -> None:
        # The scripts count the drops in Redis too (status); this is the process's summary.
        if int(dropped):
            self.skipped["max_pages_per_host"] += int(dropped)

    async def may_start(self, lease: Lease) -> bool:
        """True when the lease's host may still be contacted now.

        Only what this process did to the host after the hand-out can change that (a
        request started, robots.txt's Crawl-delay learned, a hold): only then is Redis asked,
        so a lease on an untouched host starts without a round trip.
        """
        host = host_key(lease.request.url)
        slowed = self._timed_at.get(host)
        if slowed is None or slowed < self._taken_at.get(lease.token, 0.0):
            return True
        reply = await self._link.run("may_start", [self._keys.prefix, host])
        return bool(reply)

    async def renew(self, lease: Lease) -> None:
        """Renew every lease this process holds (the heartbeat does so too)."""
        await self.session.renew()

    async def end(self, lease: Lease, how: Ending) -> None:
        """The fetch of ``lease`` is over, ended ``how``: its host's slot is free again."""
        request = lease.request
        kind, retry_ms, retry_at, reason = encode_ending(how)
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

    async def leave_level(self, request: FetchRequest) -> None:
        """``request`` (fetched, its record not yet done) renders in a browser: its level
        stops waiting for it, for every process, so one slow page does not stall the next
        depth. Its lease stays (renewed, ``done`` ends it); a lease that goes back to the
        queue (released, expired) rejoins its level. Once per lease, after its ``end``."""
        token = self._tokens.get(request.url)  # ``done`` still needs it
        if token is not None and int(await self._link.run("leave", [self._keys.prefix, token])):
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
                self._timed_at[host] = time.monotonic()  # leases taken before: ask may_start
                return Turn(partial(self._settle, host))
            await asyncio.sleep(min(wait_ms / 1000, 1.0))

    async def _settle(self, host: str, sent: bool) -> None:
        args: list[Arg] = [self._keys.prefix, host, self._rng.uniform(1.0, 1.5), int(sent)]
        await self._link.run("sent", args)

    async def set_delay(self, url: str, delay_s: float) -> None:
        """Space requests to ``url``'s host at least ``delay_s`` apart, across all processes."""
        host = host_key(url)
        delay_ms = int(max(self._base_delay_s, delay_s) * 1000)
        self._timed_at[host] = time.monotonic()
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
        self._timed_at[host] = time.monotonic()
        if answer.retry_after_s is not None:
            hold_ms = int(min(answer.retry_after_s, self._max_hold_s) * 1000)
            return await self._hold(host, "hold", hold_ms) / 1000
        return await self._hold(host, "backoff", int(BACKOFF_BASE_S * 1000)) / 1000

    async def pace(self, url: str, answer: HostAnswer) -> Rate | None:
        """The autothrottle reads an answer of ``url``'s host: its new rate when changed.

        Each process measures its own answers, but the rate is the host's, one for the
        crawl, in Redis: a proposal applies only if the rate's version is still the one
        its window was measured under (else another process acted first; this one learns).
        """
        if not self._autothrottle:
            return None
        host = host_key(url)
        throttle = self._throttles.answered(host)  # forgotten: slow start, version 0
        proposal = throttle.observe(answer, per_host=self._per_host)
        if proposal is None:
            return None
        args: list[Arg] = [
            self._keys.prefix,
            host,
            proposal.verdict,
            int(proposal.latency_s * 1000),
            throttle.version,
            int(MIN_DELAY_S * 1000),
            int(MAX_DELAY_S * 1000),
        ]
        limit, delay_ms, slowed, changed, version = await self._link.run("throttle", args)
        throttle.version = int(version)
        throttle.changed(rate := Rate(int(limit), int(delay_ms) / 1000, int(slowed)))
        if not int(changed):
            return None
        self._timed_at[host] = time.monotonic()  # leases taken before: ask may_start
        self._notify()
        return rate

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

    # -- internals -----------------------------------------------------------------------

    async def _load_memory(self, urls: list[str]) -> None:
        """Load the page memory of newly leased ``urls`` (a recrawl asks for it before the
        fetch, synchronously): one HMGET for the whole take."""
        if self._memory is None or not (wanted := self._memory.wanted(urls)):
            return
        fields = [url_key(url) for url in wanted]
        values = await self._link.call(lambda: self._link.client.hmget(self._keys.page, fields))
        self._memory.loaded(wanted, values)

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
        self.session.raise_heartbeat_error()
