"""The process stage: batches of fetched pages mapped over a pool of worker processes.

It owns the pool (any ``concurrent.futures.Executor``: a local process pool by default, a
Dask executor later) and its recovery when a worker dies. It does not decide what to fetch.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType

from crawler.models import FetchFailure, FetchResult, Record, record_from
from pipelines.parse import parse_page
from pipelines.processor import PageProcessor, ParseFn

log = logging.getLogger(__name__)

ExecutorFactory = Callable[[int], Executor]

WATCHDOG_INTERVAL_S = 1.0
"""How often a worker checks that the crawler that started it is still alive."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a worker sends back for one batch.

    ``records`` are to be written; ``dropped`` are pages a step dropped, as parsed, kept
    for their links and so the crawl can count them done. Also its CPU time and its pid.
    """

    records: list[Record]
    dropped: list[Record]
    cpu_s: float
    pid: int


def process_batch(processor: PageProcessor, results: Sequence[FetchResult]) -> BatchOutcome:
    """Process every page of ``results``; runs inside a worker process."""
    started = time.process_time()
    records: list[Record] = []
    dropped: list[Record] = []
    for result in results:
        processed = processor(result)
        if processed.record is None:
            dropped.append(processed.links_from)
        else:
            records.append(processed.record)
    return BatchOutcome(records, dropped, time.process_time() - started, os.getpid())


def default_executor(workers: int) -> Executor:
    """A local process pool whose workers start from a clean, pre-imported forkserver.

    Forking the crawler itself would copy its event loop and threads into the child; a
    forkserver that has already imported bs4 and lxml starts workers fast and clean.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pipelines.stage"])
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=prepare_worker,
        initargs=(os.getpid(),),
    )


def prepare_worker(crawler_pid: int) -> None:
    """Worker initializer: leave Ctrl-C to the crawler, and die with it.

    The terminal sends SIGINT to the whole process group; a worker that took it would
    die mid-batch, while the crawler wants to finish the pages in flight. And if the
    crawler is killed outright (``kill -9``), nothing tells a worker waiting for its next
    batch, so a watchdog thread ends it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watchdog = threading.Thread(
        target=_exit_when_gone, args=(crawler_pid,), name="crawler-watchdog", daemon=True
    )
    watchdog.start()


def _exit_when_gone(pid: int) -> None:
    while True:
        time.sleep(WATCHDOG_INTERVAL_S)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            continue  # the pid exists (reused by another user's process, at worst)


class ProcessStage:
    """Runs ``parse`` over batches of pages, in ``workers`` processes or inline when 0.

    A worker that dies (killed, out of memory, a crashing C extension) breaks the pool.
    The stage then builds a new pool and retries the batch one page at a time in a
    separate single-worker quarantine pool, so that the page that kills its worker is
    found, recorded as ``parse_crash``, and costs no other page its record.
    """

    def __init__(
        self,
        workers: int,
        *,
        parse: ParseFn = parse_page,
        processor: PageProcessor | None = None,
        executor_factory: ExecutorFactory = default_executor,
    ) -> None:
        self.workers = workers
        self._processor = processor or PageProcessor(parse)
        self._factory = executor_factory
        self._executor: Executor | None = None
        self._quarantine: Executor | None = None
        self._quarantine_lock = asyncio.Lock()
        self.crashes = 0
        self.cpu_s = 0.0
        self.worker_pids: set[int] = set()

    async def __aenter__(self) -> ProcessStage:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def inline(self) -> bool:
        """True when pages are parsed in the event loop's own process (``workers == 0``)."""
        return self.workers == 0

    def start(self) -> None:
        """Start the worker pool once; it is reused for the whole crawl."""
        if not self.inline and self._executor is None:
            self._executor = self._factory(self.workers)

    def close(self) -> None:
        """Stop the workers, dropping batches not yet started."""
        for executor in (self._executor, self._quarantine):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
        self._executor = self._quarantine = None

    async def process(self, batch: Sequence[FetchResult]) -> BatchOutcome:
        """Process ``batch``: a record (or a drop) per page, whatever happens to the workers."""
        if self.inline:
            return self._account(process_batch(self._processor, batch))
        executor = self._executor
        if executor is None:
            raise RuntimeError("ProcessStage.process called before start()")
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(executor, process_batch, self._processor, batch)
        except BrokenProcessPool:
            self._replace_broken(executor)
            return await self._process_one_by_one(batch)
        return self._account(outcome)

    def _account(self, outcome: BatchOutcome) -> BatchOutcome:
        self.cpu_s += outcome.cpu_s
        self.worker_pids.add(outcome.pid)
        return outcome

    def _replace_broken(self, broken: Executor) -> None:
        if self._executor is broken:
            log.warning("a parse worker died; starting a new pool")
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._factory(self.workers)

    async def _process_one_by_one(self, batch: Sequence[FetchResult]) -> BatchOutcome:
        loop = asyncio.get_running_loop()
        records: list[Record] = []
        dropped: list[Record] = []
        async with self._quarantine_lock:
            for result in batch:
                if self._quarantine is None:
                    self._quarantine = self._factory(1)
                quarantine = self._quarantine
                try:
                    outcome = await loop.run_in_executor(
                        quarantine, process_batch, self._processor, [result]
                    )
                except BrokenProcessPool:
                    quarantine.shutdown(wait=False, cancel_futures=True)
                    self._quarantine = None
                    self.crashes += 1
                    log.warning("parse worker crashed on %s", result.request.url)
                    failure = FetchFailure("parse_crash", "the parse worker died on this page")
                    records.append(record_from(result, failure=failure))
                else:
                    self._account(outcome)
                    records.extend(outcome.records)
                    dropped.extend(outcome.dropped)
        return BatchOutcome(records, dropped, 0.0, os.getpid())
