"""The engine: seeds -> frontier -> fetch tasks -> process stage -> sinks, on one event loop.

Stages are joined by bounded queues, so memory stays flat and a slow side holds the other
back instead of piling up work. It owns start-up, the end of the crawl and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from crawler.admission import Admission, RobotsCache, Verdict
from crawler.errors import ClusterLost, OutputClosed
from crawler.fetch import Fetcher, internal_failure, log_internal
from crawler.frontier import (
    FETCHED,
    HELD_BACK,
    UNFETCHED,
    Frontier,
    Lease,
    Outcome,
    Refused,
    RetryIn,
    RetryTiming,
    SqliteFrontierStore,
)
from crawler.group_errors import error_to_report
from crawler.models import FetchFailure, FetchRequest, FetchResult, Record
from crawler.recrawl import Recrawl
from crawler.seeds import SitemapSeeder
from crawler.settings import Settings
from crawler.state import CrawlState
from crawler.stats import Stats
from crawler.urls import host_key
from pipelines.dedupe import CrawlDedupe
from pipelines.sinks import Sink
from pipelines.stage import ProcessStage

if TYPE_CHECKING:  # warcio is imported only by crawls that write WARC
    from crawler.archive import Archive
    from crawler.rendering import PageRenderer

log = logging.getLogger(__name__)

STOP_GRACE_S = 3.0
"""After a stop request, in-flight fetches get this long to finish before being cancelled."""

_END = None


@dataclass(slots=True)
class Parts:
    """The collaborators the engine drives besides the fetcher, stage and sinks.

    ``owned_store`` is a scratch store nobody else holds (no state file): the engine
    closes it, and the robots.txt cache, when the crawl ends.
    """

    frontier: Frontier
    admission: Admission
    robots: RobotsCache | None
    dedupe: CrawlDedupe
    owned_store: SqliteFrontierStore | None = None
    close_frontier: Callable[[], Awaitable[None]] | None = None
    """Leaves a shared frontier (hands back unfinished leases); None for a local one."""

    async def aclose(self) -> None:
        """Release what the crawl owned: the scratch store and robots.txt fetches in flight."""
        if self.owned_store is not None:
            self.owned_store.close()
        if self.close_frontier is not None:
            await self.close_frontier()
        if self.robots is not None:  # a robots.txt fetch must not outlive the crawl
            await self.robots.aclose()


class Engine:
    """Runs one crawl to completion, or until ``stop`` is called.

    It wires stages and builds nothing: the parts (frontier, admission, robots.txt cache,
    dedupe), the fetcher (and through it the HTTP client or transport), the process stage
    (and through it the executor), the sinks and the stats come ready-built, from
    ``crawler.assembly`` or from a test.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        parts: Parts,
        fetcher: Fetcher,
        stage: ProcessStage,
        sinks: Sequence[Sink],
        stats: Stats | None = None,
        state: CrawlState | None = None,
        recovered: Sequence[Record] = (),
        recrawl: Recrawl | None = None,
        archive: Archive | None = None,
        renderer: PageRenderer | None = None,
    ) -> None:
        self.settings = settings
        self._recrawl = recrawl
        self._archive = archive
        self._renderer = renderer
        self.stats = stats or Stats()
        self._parts = parts
        self._frontier = parts.frontier
        self._robots = parts.robots
        self._admission = parts.admission
        self._dedupe = parts.dedupe
        self._fetcher = fetcher
        self._sitemaps = SitemapSeeder(
            fetcher=fetcher, admission=parts.admission, robots=parts.robots, stats=self.stats
        )
        self._stage = stage
        self._sinks = list(sinks)
        self._state = state
        self._recovered = list(recovered)
        self._batches = stage.batches(settings.batch_size)
        # Each item: (records to write, records dropped by a step: links and completion only).
        self._output_queue: asyncio.Queue[tuple[list[Record], list[Record]] | None] = asyncio.Queue(
            self._batches.lanes * 4
        )
        self._fetch_tasks: list[asyncio.Task[None]] = []
        self._timing = RetryTiming(settings.fetch)
        self._stopping = False
        # The last result of each request waiting for its retry: its record on a stop.
        self._waiting: dict[str, FetchResult] = {}
        self._cluster_lost: ClusterLost | None = None  # raised once every record is written

    @property
    def frontier(self) -> Frontier:
        """The crawl's frontier (read-only use: counts for progress)."""
        return self._frontier

    def stop(self, reason: str = "interrupted") -> None:
        """Stop taking new URLs; what is in flight finishes (or is cancelled after a grace).

        ``reason`` other than "interrupted" (e.g. "max_duration") ends the crawl normally.
        """
        if self._stopping:
            return
        self._stopping = True
        self.stats.stop_reason = reason
        self.stats.interrupted = reason == "interrupted"
        self._frontier.stop()
        asyncio.get_running_loop().call_later(STOP_GRACE_S, self._cancel_fetches)

    async def run(self, seeds: AsyncIterable[str]) -> Stats:
        """Crawl ``seeds``; returns the final stats.

        Raises:
            OutputError: a sink failed (the crawl stops; what was written stays valid).
            InputError: a seed file became unreadable.
            ClusterLost: the Dask scheduler was lost; raised after every record made is written.
        """
        opened: list[Sink] = []
        loop = asyncio.get_running_loop()
        max_duration_s = self.settings.scope.max_duration_s
        timer = (
            loop.call_later(max_duration_s, self.stop, "max_duration") if max_duration_s else None
        )
        try:
            for sink in self._sinks:
                await sink.open()
                opened.append(sink)
            if self._recovered:
                await self._restore(self._recovered)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._feed(seeds))
                group.create_task(self._fetch_all())
                group.create_task(self._dispatch())
                group.create_task(self._write())
        except BaseExceptionGroup as group_error:
            raise error_to_report(group_error) from None
        finally:
            if timer is not None:
                timer.cancel()
            self.stats.finished = time.monotonic()
            self.stats.skipped.update(self._admission.skipped)
            self.stats.skipped.update(self._frontier.skipped)
            self.stats.seen = self._frontier.seen_count
            if self._frontier.limit_reached and self.stats.stop_reason is None:
                self.stats.stop_reason = "max_pages"
            if self._renderer is not None:
                await self._renderer.aclose()
            await self._parts.aclose()
            for sink in opened:
                await sink.close()
        if self._cluster_lost is not None:
            raise self._cluster_lost
        return self.stats

    # -- stages ----------------------------------------------------------------------

    async def _feed(self, seeds: AsyncIterable[str]) -> None:
        seed_hosts: dict[str, str] = {}
        async for seed in seeds:
            if self._stopping:
                break
            url = self._fetcher.take_credentials(seed)
            self._admission.add_seed(url)
            seed_hosts.setdefault(host_key(url), url)
            if not await self._frontier.put(FetchRequest(url)):
                if self._stopping:
                    break
                self.stats.duplicate_seeds += 1
        if self._recovered and self._admission.follows_links:
            links = self._admission.links_to_follow(self._recovered)
            self.stats.discovered += len(await self._frontier.add_many(links))
        if self.settings.sitemaps and not self._stopping:
            for seed in seed_hosts.values():
                await self._feed_sitemaps(seed)
        self._frontier.close_input()

    async def _feed_sitemaps(self, seed: str) -> None:
        """Seed from the sitemaps of ``seed``'s site."""
        async for request in self._sitemaps.requests(seed):
            if self._stopping:
                return
            if await self._frontier.put(request):
                self.stats.sitemap_urls += 1

    async def _fetch_all(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._fetch_tasks = [
                group.create_task(self._fetch_loop())
                for _ in range(self.settings.fetch.concurrency)
            ]
        if self._stopping:
            await self._flush_waiting()
        await self._to_parse(_END)

    async def _fetch_loop(self) -> None:
        frontier = self._frontier
        while await self._stage.ready() and (lease := await frontier.get()) is not None:
            request = lease.request
            verdict = await self._may_fetch(request)
            if verdict.skip is not None:
                await frontier.end(lease, Refused(verdict.skip))
                continue
            if verdict.failure is not None:
                await frontier.end(lease, UNFETCHED)
                self.stats.unfetched += 1
                await self._to_parse(FetchResult.unfetched(request, verdict.failure))
                continue
            if not await frontier.may_start(lease):
                # robots.txt brought a Crawl-delay: serve another host meanwhile.
                await frontier.end(lease, HELD_BACK)
                continue
            await self._fetch_one(lease)

    async def _may_fetch(self, request: FetchRequest) -> Verdict:
        """Admission's verdict on ``request``; an unexpected error is that URL's record."""
        try:
            return await self._admission.may_fetch(request)
        except Exception as exc:  # the boundary: one URL's bad value never ends the crawl
            failure = internal_failure(exc)
            log_internal(request.url, failure)
            return Verdict(failure)

    async def _fetch_one(self, lease: Lease) -> None:
        """Fetch the request, then retry it later or pass its result on: never raises for it.

        Any error in handling this one URL (a bad value anywhere in its response) becomes its
        ``internal`` error record; the crawl goes on.
        """
        request = lease.request
        frontier = self._frontier
        admission = self._admission
        try:
            result = await self._fetcher.fetch(
                request,
                check_redirect=partial(admission.vet_redirect, request),
                before_request=admission.wait_turn,
            )
        except Exception as exc:  # the fetcher's own boundary should have caught it
            failure = internal_failure(exc)
            log_internal(request.url, failure)
            result = FetchResult.unfetched(request, failure)
        if self._recrawl is not None or self._archive is not None:
            result = await self._observe(result)
        try:
            delay_s, too_long = await self._timing_of(result)
        except Exception as exc:
            failure = internal_failure(exc)
            log_internal(request.url, failure)
            result = replace(result, failure=failure, body_kept=False)
            delay_s = too_long = None
        if delay_s is not None:
            self._waiting[request.url] = replace(result, body=b"", body_kept=False)
            await frontier.end(lease, RetryIn(delay_s))
            self.stats.retries += 1
            log.info("retrying %s in %.1f s (%s)", request.url, delay_s, _why(result))
            return
        await frontier.end(lease, FETCHED)
        self._waiting.pop(request.url, None)
        admission.settled(request)
        if too_long is not None:
            result = replace(result, failure=too_long, body_kept=False)
        self.stats.count_fetch(result.size, answered=result.status is not None)
        await self._to_parse(result)

    async def _observe(self, result: FetchResult) -> FetchResult:
        """Archive what went over the wire; note what a recrawl remembers of the page.

        Raises:
            OutputError: the archive cannot be written (disk full): the crawl ends.
        """
        capture = None
        if self._archive is not None:
            recrawl = self._recrawl
            previous = recrawl.previous(result.request.url) if recrawl is not None else None
            capture = await self._archive.add(result, previous)
            # the workers need none of it; a rendered DOM's record refers to the response
            archived_as = capture.warc_id if capture is not None else None
            result = replace(result, exchanges=(), archived_as=archived_as)
        if self._recrawl is not None:
            self._recrawl.fetched(result, capture)
        return result

    async def _timing_of(self, result: FetchResult) -> tuple[float | None, FetchFailure | None]:
        """Tell the frontier what the host said; then the retry's delay, or why there is none.

        Returns (seconds until the next attempt, None), or (None, the error of a Retry-After
        beyond ``max_hold_s``), or (None, None): no retry.
        """
        timing = self._timing
        answer = timing.read(result, now_epoch_s=time.time())
        hold_s = await self._frontier.heed(result.final_url, answer)
        rate = await self._frontier.pace(result.final_url, answer)
        if rate is not None:
            host = host_key(result.final_url)
            self.stats.rate_changed(host, rate.limit, rate.delay_s, slowed=rate.slowed)
            log.info("autothrottle: %s now %d at once, +%.2f s", host, rate.limit, rate.delay_s)
        if answer.holds:
            log.info(
                "%s answered %s: holding its host for %.1f s",
                result.final_url,
                answer.status,
                hold_s,
            )
        if not self._retryable(result):
            return None, None
        delay_s = timing.retry_in_s(answer, result.request.attempt)
        if delay_s is None:
            return None, timing.too_long(result.request.url, answer)
        return delay_s, None

    def _retryable(self, result: FetchResult) -> bool:
        fetch = self.settings.fetch
        if result.request.attempt > fetch.retries or self._stopping:
            return False
        failure = result.failure
        # A network failure counts whenever it came, before or after the headers.
        return result.status in fetch.retry_statuses or (
            failure is not None and failure.code in fetch.retry_errors
        )

    async def _flush_waiting(self) -> None:
        """On a stop, a URL waiting out its retry gets its last result as its record."""
        for request in await self._frontier.drain_retries():
            last = self._waiting.pop(request.url, None)
            if last is None:
                continue
            self._admission.settled(request)
            self.stats.count_fetch(last.size, answered=last.status is not None)
            await self._to_parse(last)

    async def _to_parse(self, item: FetchResult | None) -> None:
        """Queue a fetched page (or the end) for ``_dispatch``, rendered first if the crawl
        renders and the page needs it (the browser pool bounds how many at once).

        Raises:
            OutputError: the WARC archive cannot take a rendered page: the crawl ends.
        """
        if item is not None and self._renderer is not None:
            # a render takes seconds: its level need not wait for it (a retry's does not)
            leave = partial(self._frontier.leave_level, item.request)
            item = await self._renderer.render(item, on_render=leave)
        await self._batches.put(item)

    async def _dispatch(self) -> None:
        """Send fetched pages to the stage in batches (``pipelines.batching``); pass the rest on."""
        batches = self._batches
        ended = False
        async with asyncio.TaskGroup() as group:
            while not ended:
                batch, ended = await batches.next()
                pages = [result for result in batch if result.parseable]
                others = [self._stage.unparsed(r) for r in batch if not r.parseable]
                if others:
                    await self._output_queue.put((others, []))
                if not pages:
                    continue
                await batches.start()
                group.create_task(self._process(pages))
        await self._output_queue.put(_END)

    async def _process(self, pages: list[FetchResult]) -> None:
        try:
            outcome = await self._stage.process(pages)
        except ClusterLost as exc:  # stop as on Ctrl-C: the records already made are written
            self._cluster_lost, self.stats.stopped_reason = exc, str(exc)
            self.stop("cluster_lost")
            return
        finally:
            self._batches.finished()
        self.stats.parsed += len(pages)
        await self._output_queue.put((outcome.records, outcome.dropped))

    async def _write(self) -> None:
        """Each batch of records, in order: dedupe, write, count, queue links, mark done."""
        while (item := await self._output_queue.get()) is not _END:
            records, dropped = item
            held: list[Record] = []
            if self._recrawl is not None:
                records, held = self._recrawl.classify(records)
            if self._dedupe.active:
                records, duplicates = self._dedupe.apply(records)
                dropped = dropped + duplicates
            await self._write_out(records)
            if self._recrawl is not None:
                self._recrawl.remember([*records, *held, *dropped])
            self.stats.dropped += len(dropped)
            await self._follow_links([*records, *held, *dropped])
            # Done only after its links are queued, so the crawl never looks over too soon.
            done = [*map(_outcome, records), *map(_outcome, held)]
            await self._frontier.done([*done, *map(_dropped_outcome, dropped)])
            if self._state is not None:
                self._state.checkpoint()
        self.stats.parse_cpu_s = self._stage.cpu_s
        self.stats.worker_pids |= self._stage.worker_pids

    async def _write_out(self, records: list[Record]) -> None:
        """Every sink gets ``records``; counted once written, so the summary adds up."""
        try:
            for sink in self._sinks:
                await sink.write(records)
        except OutputClosed as exc:  # the lines that reached the pipe count as written
            self.stats.count_written(_error_codes(records[: exc.complete]))
            raise
        self.stats.count_written(_error_codes(records))

    async def _follow_links(self, records: list[Record]) -> None:
        """Queue the in-scope links of ``records``, unless the frontier would drop them."""
        if self._admission.follows_links and self._frontier.accepts_links:
            links = self._admission.links_to_follow(records)
            self.stats.discovered += len(await self._frontier.add_many(links))

    # -- helpers ---------------------------------------------------------------------

    async def _restore(self, records: list[Record]) -> None:
        """Records a crashed run wrote but did not mark done: done now, not fetched again.

        Their links are queued once the seeds are read (``_feed``), when scope knows the
        seed hosts.
        """
        await self._frontier.restore([_outcome(record) for record in records])
        if self._recrawl is not None:
            self._recrawl.remember(records)
        self.stats.recovered = len(records)
        log.info("%d records found in the output after the last checkpoint", len(records))
        if self._state is not None:
            self._state.checkpoint()

    def _cancel_fetches(self) -> None:
        for task in self._fetch_tasks:
            if not task.done():
                task.cancel()


def _outcome(record: Record) -> Outcome:
    error = record["error"]
    code = error["code"] if error else None
    return Outcome(record["url"], record["status"], code, record["depth"])


def _error_codes(records: Sequence[Record]) -> list[str | None]:
    return [error["code"] if (error := record["error"]) else None for record in records]


def _dropped_outcome(record: Record) -> Outcome:
    return Outcome(record["url"], record["status"], "dropped", record["depth"])


def _why(result: FetchResult) -> str:
    if result.failure is not None:
        return result.failure.code
    return f"HTTP {result.status}"
