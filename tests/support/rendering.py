"""Rendering in tests: a started ``BrowserPool`` on the real Chromium, pages fetched from a
loopback server by a real ``Fetcher``, and waits under a deadline (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from crawler.fetch import Fetcher
from crawler.models import FetchRequest, FetchResult
from crawler.render import BrowserPool
from crawler.settings import build_settings

BROWSER = "/usr/bin/chromium"


@asynccontextmanager
async def started_pool(
    *, allow_private: bool = True, fetch: dict[str, Any] | None = None, **render: Any
) -> AsyncIterator[tuple[BrowserPool, Fetcher]]:
    """A pool on Debian's Chromium with ``render`` settings, and the fetcher it relays
    through (loopback allowed unless ``allow_private`` is False); both closed after."""
    values = {"fetch": {"allow_private": allow_private, "retries": 0, **(fetch or {})}}
    settings = build_settings({**values, "render": {"browser": BROWSER, **render}})
    async with Fetcher(settings.fetch) as fetcher:
        pool = BrowserPool(settings.render, fetcher=fetcher, allow_private=allow_private)
        await pool.start()
        try:
            yield pool, fetcher
        finally:
            await pool.aclose()


async def fetched(fetcher: Fetcher, url: str) -> FetchResult:
    """``url`` as the crawl fetched it: the document a render starts from."""
    result = await fetcher.fetch(FetchRequest(url))
    assert result.failure is None, result.failure
    return result


async def eventually(check: Callable[[], bool], *, timeout_s: float = 10.0) -> None:
    """Poll ``check`` until it holds; fail the test if it does not within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.02)
