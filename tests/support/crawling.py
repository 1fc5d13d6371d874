"""Run the real engine from a test in one call and get its records back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from crawler.assembly import build_engine
from crawler.fetch import Fetcher
from crawler.models import Record
from crawler.settings import build_settings
from crawler.stats import Stats
from pipelines.sinks import MemorySink
from pipelines.stage import ProcessStage
from pipelines.worker import ParseFn, parse_page


async def _seeds(urls: Sequence[str]) -> AsyncIterator[str]:
    for url in urls:
        yield url


async def run_crawl(
    urls: Sequence[str],
    *,
    parse: ParseFn = parse_page,
    transport: httpx.AsyncBaseTransport | None = None,
    **settings: Any,
) -> tuple[list[Record], Stats]:
    """Crawl ``urls`` with the real engine and return its records and stats.

    ``settings`` are nested setting values, e.g. ``fetch={"concurrency": 4}``; ``transport``
    is the fetcher's, when a test shapes how requests reach the network.
    """
    config = build_settings(settings)
    sink = MemorySink()
    async with (
        Fetcher(config.fetch, transport=transport) as fetcher,
        ProcessStage(config.workers, parse=parse) as stage,
    ):
        # The seeds are `urls`, not settings: a shared (Redis) crawl is started, not joined.
        engine = build_engine(config, fetcher=fetcher, stage=stage, sinks=[sink], more_seeds=True)
        stats = await engine.run(_seeds(urls))
    return sink.records, stats
