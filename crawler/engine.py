"""The engine: seeds -> frontier -> fetch tasks -> process stage -> sinks, on one event loop.

Stages are joined by bounded queues, so memory stays flat and a slow side holds the other
back instead of piling up work. It owns start-up, the end of the crawl and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Sequence

from crawler.errors import ParcrawlError
from crawler.fetcher import Fetcher
from crawler.frontier import Frontier
from crawler.models import FetchRequest, FetchResult, Record, record_from
from crawler.settings import Settings
from crawler.stats import Stats
from pipelines.sinks import Sink
from pipelines.stage import ProcessStage

log = logging.getLogger(__name__)

STOP_GRACE_S = 3.0
"""After a stop request, in-flight fetches get this long to finish before being cancelled."""

_END = None


class Engine:
    """Runs one crawl to completion, or until ``stop`` is called.

    Collaborators are injected so tests can pass fakes: the fetcher (and through it the
    HTTP client or transport), the process stage (and through it the executor), the
    sinks and the stats.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        fetcher: Fetcher,
        stage: ProcessStage,
        sinks: Sequence[Sink],
        stats: Stats | None = None,
        frontier: Frontier | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats or Stats()
        self._fetcher = fetcher
        self._stage = stage
        self._sinks = list(sinks)
        self._frontier = frontier or Frontier(
            per_host=settings.fetch.per_host,
            max_pending=max(1_000, settings.fetch.concurrency * 4),
        )
        batch = settings.process.batch_size
        lanes = max(stage.workers, 1)
        self._parse_queue: asyncio.Queue[FetchResult | None] = asyncio.Queue(batch * lanes * 2)
        self._output_queue: asyncio.Queue[list[Record] | None] = asyncio.Queue(lanes * 4)
        self._batches_in_flight = asyncio.Semaphore(lanes * 2)
        self._fetch_tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def frontier(self) -> Frontier:
        """The crawl's frontier (read-only use: counts for progress)."""
        return self._frontier

    def stop(self) -> None:
        """Stop taking new URLs; what is in flight finishes (or is cancelled after a grace)."""
        if self._stopping:
            return
        self._stopping = True
        self.stats.interrupted = True
        self._frontier.stop()
        asyncio.get_running_loop().call_later(STOP_GRACE_S, self._cancel_fetches)

    async def run(self, seeds: AsyncIterable[str]) -> Stats:
        """Crawl ``seeds``; returns the final stats.

        Raises:
            OutputError: a sink failed (the crawl stops; what was written stays valid).
            InputError: a seed file became unreadable.
        """
        opened: list[Sink] = []
        try:
            for sink in self._sinks:
                await sink.open()
                opened.append(sink)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._feed(seeds))
                group.create_task(self._fetch_all())
                group.create_task(self._dispatch())
                group.create_task(self._write())
        except BaseExceptionGroup as group_error:
            raise _first_parcrawl_error(group_error) from None
        finally:
            self.stats.finished = time.monotonic()
            for sink in opened:
                await sink.close()
        return self.stats

    # -- stages ----------------------------------------------------------------------

    async def _feed(self, seeds: AsyncIterable[str]) -> None:
        async for url in seeds:
            if self._stopping:
                break
            if not await self._frontier.put(FetchRequest(url)):
                if self._stopping:
                    break
                self.stats.duplicate_seeds += 1
        self._frontier.close_input()

    async def _fetch_all(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._fetch_tasks = [
                group.create_task(self._fetch_loop())
                for _ in range(self.settings.fetch.concurrency)
            ]
        await self._parse_queue.put(_END)

    async def _fetch_loop(self) -> None:
        frontier = self._frontier
        while (request := await frontier.get()) is not None:
            try:
                result = await self._fetcher.fetch(request)
            finally:
                frontier.release(request)
            self._count_fetch(result)
            await self._parse_queue.put(result)

    async def _dispatch(self) -> None:
        """Group fetched pages into batches for the workers; pass the rest straight on."""
        queue = self._parse_queue
        limit = self.settings.process.batch_size
        ended = False
        async with asyncio.TaskGroup() as group:
            while not ended:
                item = await queue.get()
                batch: list[FetchResult] = []
                while True:
                    if item is _END:
                        ended = True
                        break
                    batch.append(item)
                    if len(batch) >= limit or queue.empty():
                        break
                    item = queue.get_nowait()
                pages = [result for result in batch if result.is_html]
                others = [record_from(result) for result in batch if not result.is_html]
                if others:
                    await self._output_queue.put(others)
                if pages:
                    await self._batches_in_flight.acquire()
                    group.create_task(self._process(pages))
        await self._output_queue.put(_END)

    async def _process(self, pages: list[FetchResult]) -> None:
        try:
            records = await self._stage.process(pages)
        finally:
            self._batches_in_flight.release()
        self.stats.parsed += len(records)
        await self._output_queue.put(records)

    async def _write(self) -> None:
        while (records := await self._output_queue.get()) is not _END:
            for sink in self._sinks:
                await sink.write(records)
            self.stats.written += len(records)
            for record in records:
                error = record["error"]
                if error is not None and error["code"] in ("parse_error", "parse_crash"):
                    self.stats.errors[error["code"]] += 1
            self._frontier.complete(len(records))
        self.stats.parse_cpu_s = self._stage.cpu_s
        self.stats.worker_pids |= self._stage.worker_pids

    # -- helpers ---------------------------------------------------------------------

    def _count_fetch(self, result: FetchResult) -> None:
        stats = self.stats
        stats.fetched += 1
        stats.bytes += result.size or 0
        if result.failure is None:
            stats.fetch_ok += 1
        else:
            stats.errors[result.failure.code] += 1

    def _cancel_fetches(self) -> None:
        for task in self._fetch_tasks:
            if not task.done():
                task.cancel()


def _first_parcrawl_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a failed task group: ours first, then whatever came."""
    for leaf in _leaves(group):
        if isinstance(leaf, ParcrawlError):
            return leaf
    for leaf in _leaves(group):
        if not isinstance(leaf, asyncio.CancelledError):
            return leaf
    return asyncio.CancelledError()


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaves.extend(_leaves(exc))
        else:
            leaves.append(exc)
    return leaves
