"""The Python API: run a crawl from code, to the end (``crawl``) or record by record (``acrawl``).

The CLI is a thin layer over ``Crawl``. Nothing here is global: every crawl has its own
client, worker pool, frontier and stats, so several can run one after another or at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from crawler.assembly import (
    build_engine,
    check_browser_choice,
    check_frontier_choice,
    executor_factory_for,
    start_backend,
    started_browser,
)
from crawler.engine import Engine
from crawler.errors import ConfigError, UsageError
from crawler.fetch import Fetcher
from crawler.frontier import FrontierBackend
from crawler.jobfile import merge
from crawler.models import Record
from crawler.outputs import check_crawl_files
from crawler.recrawl import Recrawl
from crawler.report import report_source, write_report
from crawler.seeds import SeedReader
from crawler.settings import Settings, build_settings
from crawler.state import CrawlState
from crawler.stats import Stats
from pipelines.executors import ExecutorFactory, local_label
from pipelines.sinks import MemorySink, OutputSink, Sink, sinks_for
from pipelines.stage import ProcessStage
from pipelines.worker import PageProcessor, ParseFn

Seeds = Iterable[str] | AsyncIterable[str]

_END = object()

log = logging.getLogger(__name__)


def make_settings(settings: Settings | None = None, **overrides: Any) -> Settings:
    """``settings`` (or the defaults) with ``overrides`` laid over them, validated again.

    Overrides use the job file's keys: ``make_settings(workers=0, fetch={"per_host": 2})``.

    Raises:
        ConfigError: an override the schema refuses, naming its key path.
    """
    base = settings.model_dump(exclude_unset=True) if settings is not None else {}
    return build_settings(merge(base, overrides)) if overrides else settings or build_settings({})


class Crawl:
    """One crawl: build it, ``await run()`` it once, ``stop()`` it from a signal handler.

    Args:
        settings: the crawl's settings; its ``seeds`` and ``seeds_file`` are crawled too.
        seeds: more seed URLs (any iterable, sync or async).
        sinks: where records go besides the outputs ``settings.output`` names (e.g. a
            list in memory); with neither, records go to stdout unless ``default_stdout``
            is false.
        stats: a Stats to fill in (e.g. to watch progress); default: a new one.
        transport: an httpx transport for the crawl's client (``httpx.MockTransport``).
        client: a ready ``httpx.AsyncClient`` to use instead (you close it).
        parse: a custom page parse function instead of the built-in one that
            ``settings.parser`` picks; it must be importable by name, since worker
            processes run it.
        executor_factory: builds the process stage's executor from a worker count;
            default: local worker processes (``pipelines.executors.default_executor``).
            One that presents itself (``pipelines.executors.Executor``) is asked for its
            lanes, pause, label and summary; any other ``concurrent.futures`` executor
            counts as a local pool of that many workers.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        seeds: Seeds = (),
        sinks: Sequence[Sink] | None = None,
        default_stdout: bool = True,
        stats: Stats | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        parse: ParseFn | None = None,
        executor_factory: ExecutorFactory | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats or Stats()
        self._seed_reader = SeedReader(settings.seeds, settings.seeds_file)
        self._extra_seeds = seeds
        self._extra_sinks = list(sinks or ())
        self._default_stdout = default_stdout and not self._extra_sinks
        self._transport = transport
        self._client = client
        self._parse = parse
        self._executor_factory = executor_factory
        self._engine: Engine | None = None
        self._backend: FrontierBackend | None = None
        self._stage: ProcessStage | None = None
        self._stop_requested = False
        self.report_written = False
        """True once the report ``settings.output.report`` asks for is written."""

    def check(self) -> None:
        """Fail early, touching no file: seed files that cannot be read (``InputError``), a
        report with no records file to read or a state file for a shared crawl
        (``ConfigError``), a content engine whose extra is missing (``ExtraMissing``), no
        Playwright or Chromium for a crawl that renders (``BrowserMissing``), a file the
        crawl could not write (``OutputError``, exit 2)."""
        self._seed_reader.check()
        output = self.settings.output
        if output.report is not None and report_source(output) is None:
            raise ConfigError(
                "output.report: the report reads the crawl's records back: "
                "also write them to a .jsonl or .sqlite file (-o FILE)"
            )
        check_frontier_choice(self.settings)
        content = self.settings.content
        if content.engine != "off":
            # the engine's libraries, found but not imported: a crawl without one loads nothing
            from pipelines.worker.content import check_engine_installed  # noqa: PLC0415

            check_engine_installed(content.engine)
            if content.pdf:
                check_engine_installed("pdf")
        check_browser_choice(self.settings)
        check_crawl_files(self.settings)

    def write_report(self) -> None:
        """Write the report ``settings.output.report`` asks for, from the crawl's output.

        ``run`` does this at its end; call it yourself after cancelling ``run``.

        Raises:
            RecordsError: the crawl's output cannot be read back.
            OutputError: the report cannot be written.
        """
        settings = self.settings
        output = settings.output
        source = report_source(output)
        if output.report is None or source is None:
            return
        # A resumed or shared crawl's output holds earlier runs too: their span comes from
        # fetched_at.
        shared = self._backend is not None and self._backend.shared
        appended = settings.state is not None or shared
        duration_s = None if appended else self.stats.elapsed_s
        write_report(
            [source], output.report, settings=settings, duration_s=duration_s, stats=self.stats
        )
        self.report_written = True

    @property
    def queued(self) -> int | None:
        """URLs waiting in the frontier now (for progress); None before the crawl starts."""
        return self._engine.frontier.pending if self._engine is not None else None

    @property
    def paused(self) -> bool:
        """True while fetching is paused: a shared frontier lost its Redis (until it is back)."""
        return self._backend is not None and self._backend.paused

    def backend_status_lines(self) -> list[str]:
        """Notes on where the frontier lives for a progress display (e.g. paused); none
        before the crawl starts or when all is well."""
        return self._backend.status_lines() if self._backend is not None else []

    # -- where pages are parsed, as the executor presents itself (for the command line) ---

    def executor_label(self) -> str:
        """``local pool, 4 workers``, ``dask tcp://host:8786, 3 workers`` (the live count)."""
        stage = self._stage
        return stage.label() if stage is not None else local_label(self.settings.workers)

    def executor_announcement(self) -> str | None:
        """A line worth printing once the executor is ready (a Dask cluster and its
        dashboard); None before, and for a local pool."""
        return self._stage.announcement() if self._stage is not None else None

    def executor_summary(self, stats: Stats) -> str:
        """The summary's executor line: ``executor: <label>``, then what the executor adds."""
        more = self._stage.summary(stats.parsed) if self._stage is not None else []
        return "; ".join([f"executor: {self.executor_label()}", *more])

    def stop(self) -> None:
        """Finish the pages in flight, write them, and end (like Ctrl-C)."""
        self._stop_requested = True
        if self._engine is not None:
            self._engine.stop()

    async def run(self) -> Stats:
        """Run the crawl to its end; returns its stats.

        Everything that can refuse the crawl comes before any file is opened: the paths
        (``check``), the executor, the state file's lock, joining a shared crawl. With
        ``settings.output.report`` set, the report is written once the crawl ends (stopped
        or not).

        Raises:
            InputError: a seed file cannot be read.
            OutputError: an output (or the report) cannot be opened or written.
        """
        self.check()
        settings = self.settings
        self._stage = ProcessStage(
            settings.workers,
            processor=PageProcessor.from_settings(
                settings.extract,
                settings.steps,
                parse=self._parse,
                max_links=settings.scope.max_links_per_page,
                parser=settings.parser,
                content=settings.content,
            ),
            executor_factory=self._executor_factory or executor_factory_for(settings),
            memory_limit_mb=settings.worker_memory_mb or None,
        )
        async with self._stage as stage:
            state = CrawlState.open(settings.state, settings) if settings.state else None
            try:
                stats = await self._run(settings, state, stage)
            finally:
                if state is not None:
                    state.close()
        if settings.output.report is not None:
            await asyncio.to_thread(self.write_report)
        return stats

    async def _run(
        self, settings: Settings, state: CrawlState | None, stage: ProcessStage
    ) -> Stats:
        backend = await start_backend(settings, state, more_seeds=self._extra_seeds != ())
        self._backend = backend
        try:
            return await self._open_and_crawl(settings, state, stage, backend)
        finally:
            if self._engine is None:  # never built: it closes no backend
                await backend.aclose()

    async def _open_and_crawl(
        self,
        settings: Settings,
        state: CrawlState | None,
        stage: ProcessStage,
        backend: FrontierBackend,
    ) -> Stats:
        """The fetcher and the browser, then the outputs, then the crawl: a browser that
        cannot start refuses the crawl before any output file is opened."""
        recrawl = self._recrawl(settings, state, backend)
        conditions = recrawl.conditions if recrawl is not None and recrawl.active else None
        # A resumed state, and any process of a shared crawl (joining, resuming), appends to
        # its outputs: the URLs of the records they hold are done, no one fetches them again.
        append = (state is not None and state.resumed) or backend.shared
        async with (
            Fetcher(
                settings.fetch,
                client=self._client,
                transport=self._transport,
                conditions=conditions,
                capture=settings.output.warc is not None,
            ) as fetcher,
            started_browser(settings, fetcher=fetcher, stats=self.stats) as browser,
        ):
            outputs, recovered = self._outputs(
                settings, state, append=append, in_place=state is not None or backend.shared
            )
            archive = None
            try:
                if settings.output.warc is not None:
                    from crawler.archive import Archive  # noqa: PLC0415 (warcio when asked)

                    archive = Archive(
                        settings.output.warc,
                        settings,
                        max_size=settings.output.warc_max_size,
                        append=append,
                    )
                    await archive.open()
                engine = build_engine(
                    settings,
                    fetcher=fetcher,
                    stage=stage,
                    sinks=[*outputs, *self._extra_sinks],
                    stats=self.stats,
                    state=state,
                    recovered=recovered,
                    recrawl=recrawl,
                    archive=archive,
                    more_seeds=self._extra_seeds != (),
                    backend=backend,
                    browser=browser,
                )
                return await self._crawl(engine, state)
            finally:
                if archive is not None:
                    await archive.close()

    def _recrawl(
        self, settings: Settings, state: CrawlState | None, backend: FrontierBackend
    ) -> Recrawl | None:
        # The backend's page memory: the state file's, or a shared crawl's beside its frontier.
        memory = backend.page_memory
        if memory is None:
            return None
        if state is not None and state.recrawl_queued is not None:
            log.info("recrawl: %d known pages queued again", state.recrawl_queued)
        return Recrawl(
            memory, self.stats, active=settings.recrawl, changed_only=settings.changed_only
        )

    def _outputs(
        self, settings: Settings, state: CrawlState | None, *, append: bool, in_place: bool
    ) -> tuple[list[OutputSink], list[Any]]:
        """The sinks of ``settings.output``, and with a resumed state the records written
        after its last checkpoint (the output files made to agree with them)."""
        resume = state is not None and state.resumed
        outputs = sinks_for(
            settings.output,
            default_stdout=self._default_stdout,
            resume=append,
            in_place=in_place,
            content=settings.content,
        )
        recovered: list[Any] = []
        if state is None:
            return outputs, recovered
        # Each output says how it is resumed. The file whose lines are records comes first:
        # what it recovers is what the others' missing rows are made of.
        files = [file for sink in outputs if (file := sink.resumable) is not None]
        records_file = next((file for file in files if file.row_ends is None), None)
        if records_file is not None:
            state.track(records_file.file)
            if resume:
                recovered = state.recover(str(records_file.file.path))
        for file in files:
            if file.row_ends is None:
                continue
            state.track(file.file)
            if resume:
                missing = state.reconcile(
                    file.file.path, file.row_ends, recovered, header_rows=file.header_rows
                )
                if file.backfill is not None:
                    file.backfill(missing)
        if not files and settings.output.sqlite is None:
            log.warning(
                "with a state file, write records to a JSON Lines, CSV or SQLite file: "
                "records on stdout cannot be reconciled after a crash"
            )
        return outputs, recovered

    async def _crawl(self, engine: Engine, state: CrawlState | None) -> Stats:
        self._engine = engine
        if self._stop_requested:
            engine.stop()
        try:
            stats = await engine.run(self._all_seeds())
        finally:
            self.stats.invalid_seeds = self._seed_reader.invalid
        if state is not None and not stats.interrupted:
            state.finish()
        return stats

    async def _all_seeds(self) -> AsyncIterator[str]:
        extra = self._extra_seeds
        if isinstance(extra, AsyncIterable):
            async for url in extra:
                yield url
        else:
            for url in SeedReader(list(extra)).urls:
                yield url
        async for url in self._seed_reader:
            yield url


@dataclass(frozen=True)
class CrawlResult:
    """What ``crawl`` returns: every record, in the order written, and the stats."""

    records: list[Record]
    stats: Stats

    def by_url(self) -> dict[str, Record]:
        """The records keyed by requested URL."""
        return {record["url"]: record for record in self.records}


def crawl(
    seeds: Seeds | str = (),
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    parse: ParseFn | None = None,
    **overrides: Any,
) -> CrawlResult:
    """Crawl to the end and return the records (also written to any outputs configured).

    ``crawl("https://example.org/", follow=True, scope={"max_pages": 50})``. Inside a
    running event loop (Jupyter, async tests) use ``acrawl`` instead.

    Raises:
        ConfigError: invalid settings or overrides.
        UsageError: called from inside a running event loop.
    """
    config = make_settings(settings, **overrides)
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop()
        raise UsageError("crawl() cannot run inside a running event loop: use acrawl()")
    memory = MemorySink()
    # The outputs in config.output are Crawl's to build: only the in-memory list is extra.
    job = Crawl(config, seeds=_as_seeds(seeds), sinks=[memory], transport=transport, parse=parse)
    stats = asyncio.run(job.run())
    return CrawlResult(memory.records, stats)


async def acrawl(
    seeds: Seeds | str = (),
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    parse: ParseFn | None = None,
    stats: Stats | None = None,
    **overrides: Any,
) -> AsyncIterator[Record]:
    """Yield records as they complete, in the running event loop.

    Leaving the ``async for`` early stops the crawl (pages in flight are dropped). Records
    also go to any outputs configured in ``settings.output``.

    Raises:
        ConfigError: invalid settings or overrides.
    """
    config = make_settings(settings, **overrides)
    handoff: asyncio.Queue[object] = asyncio.Queue(maxsize=max(64, config.batch_size * 4))
    job = Crawl(
        config,
        seeds=_as_seeds(seeds),
        sinks=[_QueueSink(handoff)],
        stats=stats,
        transport=transport,
        parse=parse,
    )
    task = asyncio.create_task(job.run())
    try:
        while (item := await handoff.get()) is not _END:
            yield item  # type: ignore[misc]  # only records and _END are queued
        await task
    finally:
        if not task.done():
            job.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _as_seeds(seeds: Seeds | str) -> Seeds:
    return [seeds] if isinstance(seeds, str) else seeds


class _QueueSink:
    """Hands records to ``acrawl``'s consumer through a bounded queue (backpressure)."""

    def __init__(self, queue: asyncio.Queue[object]) -> None:
        self._queue = queue

    async def open(self) -> None:
        """Nothing to prepare."""

    async def write(self, records: Sequence[Record]) -> None:
        for record in records:
            await self._queue.put(record)

    async def close(self) -> None:
        await self._queue.put(_END)
