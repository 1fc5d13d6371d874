"""Frontiers for the ``Frontier`` contract suite (tests/crawler/frontier/test_lifecycle.py):
the one place each backend's frontier is built, its fixtures, and the helpers its cases share.
Import the fixtures into the test module (``backend``, ``make_frontier``, ``frontier``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from crawler.frontier import (
    FETCHED,
    CrawlIdentity,
    Frontier,
    Lease,
    LocalFrontier,
    Outcome,
)
from crawler.frontier.redis import open_redis_backend
from crawler.frontier.throttle import MAX_HOSTS
from tests.support.redis_server import RedisServer, running_redis

BLOCKED_S = 0.1
"""How long a call must stay pending to count as blocked; only ever a lower bound."""

SOON_S = 10.0
"""Upper bound for a call that should return promptly (generous for a busy machine)."""

DELAY_S = 0.3
"""A host's delay in the timing cases: long enough to measure, short enough to wait out."""

CLOCK_SLACK_S = 0.005
"""Redis keeps time in whole milliseconds."""

BACKENDS = ["local", "redis"]


async def open_frontier(
    backend: str,
    server: RedisServer | None,
    closing: AsyncExitStack,
    *,
    per_host: int = 1,
    delay_s: float = 0.0,
    max_requests: int | None = None,
    max_per_host: int | None = None,
    max_hold_s: float = 600.0,
    autothrottle: bool = False,
    max_hosts: int = MAX_HOSTS,
) -> Frontier:
    """The one place a test frontier is built, as the crawl builds it, for each backend."""
    if backend == "local":
        return LocalFrontier(
            per_host=per_host,
            delay_s=delay_s,
            max_requests=max_requests,
            max_per_host=max_per_host,
            max_hold_s=max_hold_s,
            autothrottle=autothrottle,
            max_hosts=max_hosts,
        )
    assert server is not None
    identity = CrawlIdentity(
        fingerprint={"scope.include": [], "fetch.per_host": per_host},
        per_host=per_host,
        delay_s=delay_s,
        max_per_host=max_per_host,
        seeding=True,
        autothrottle=autothrottle,
    )
    backend = open_redis_backend(
        server.url,
        "t",
        identity,
        max_requests=max_requests,
        max_hold_s=max_hold_s,
        max_hosts=max_hosts,
    )
    closing.push_async_callback(backend.aclose)
    await backend.start()  # joins the crawl: its settings are known before any call
    return backend.frontier


MakeFrontier = Callable[..., Awaitable[Frontier]]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
async def make_frontier(backend: str, tmp_path: Path) -> AsyncIterator[MakeFrontier]:
    """Builds frontiers of the backend under test (options: ``open_frontier``'s)."""
    async with AsyncExitStack() as closing:
        server = None
        if backend == "redis":
            folder = tmp_path / "redis"
            folder.mkdir()
            server = closing.enter_context(running_redis(folder))

        async def make(**options: Any) -> Frontier:
            return await open_frontier(backend, server, closing, **options)

        yield make


@pytest.fixture
async def frontier(make_frontier: MakeFrontier) -> Frontier:
    """A frontier of the backend under test: one request per host at a time, no delay."""
    return await make_frontier()


async def blocks(task: asyncio.Future[Any]) -> bool:
    """True when ``task`` is still pending after BLOCKED_S (it is not cancelled)."""
    done, _ = await asyncio.wait({task}, timeout=BLOCKED_S)
    return not done


async def get_soon(frontier: Frontier) -> Lease:
    lease = await asyncio.wait_for(frontier.get(), SOON_S)
    assert lease is not None
    return lease


async def crawl_is_over(frontier: Frontier) -> bool:
    return await asyncio.wait_for(frontier.get(), SOON_S) is None


def outcome(lease: Lease) -> Outcome:
    """How ``lease``'s request ended once its record is written: a page fetched."""
    return Outcome(lease.request.url, 200, None, lease.request.depth)


async def finish(frontier: Frontier, lease: Lease) -> None:
    await frontier.end(lease, FETCHED)
    await frontier.done([outcome(lease)])


def since(moment: float) -> float:
    return time.monotonic() - moment
