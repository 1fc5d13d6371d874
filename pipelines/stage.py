"""The process stage (main process): batches of fetched pages mapped over worker processes.

It owns the executor (``pipelines.executors``: a local process pool by default, or a Dask
cluster's), its recovery when a worker dies, whether it can take pages now (``ready``: the
fetchers wait on it) and how batches are formed for it (``batches``). It does not decide
what to fetch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from crawler.errors import ClusterLost, WorkerLost, WorkerPoolError
from crawler.models import FetchFailure, FetchResult, Record
from pipelines.batching import Batches
from pipelines.executors import (
    MAIN_GUARD_HINT,
    Executor,
    ExecutorFactory,
    as_executor,
    default_executor,
    local_label,
    needs_main,
)
from pipelines.worker import (
    BatchOutcome,
    PageProcessor,
    ParseFn,
    parse_page,
    process_batch,
    process_batch_in_worker,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

POOL_START_TIMEOUT_S = 120.0
"""Longest wait for a new pool's first worker to answer (generous: a loaded machine)."""

PAUSE_POLL_S = 0.1
"""How often ``ProcessStage.ready`` looks whether a paused executor can take pages again."""


class ProcessStage:
    """Runs ``parse`` over batches of pages, in ``workers`` processes or inline when 0.

    A worker that dies (killed, out of memory, a crashing C extension) breaks the pool.
    The stage then builds a new pool and retries the batch one page at a time in a
    separate single-worker quarantine pool, so that the page that kills its worker is
    found, recorded as ``parse_crash``, and costs no other page its record. A pool that
    cannot start at all is no page's fault: that ends the crawl with ``WorkerPoolError``.

    Args:
        executor_factory: builds an executor from a worker count; default: a local
            process pool (``default_executor``) with ``memory_limit_mb`` per worker.
    """

    def __init__(
        self,
        workers: int,
        *,
        parse: ParseFn = parse_page,
        processor: PageProcessor | None = None,
        executor_factory: ExecutorFactory | None = None,
        memory_limit_mb: int | None = None,
    ) -> None:
        self.workers = workers
        self.min_batch = 1
        """Pages a full batch holds at least, whatever ``batch_size`` says (the executor's)."""
        self._processor = processor or PageProcessor(parse)
        self._custom_factory = executor_factory
        self._memory_limit_mb = memory_limit_mb
        self._factory: ExecutorFactory | None = None
        self._with_main = False  # workers run the user's __main__ (a step lives there)
        self._executor: Executor | None = None
        self._shown: Executor | None = None  # the last one started, for its label and summary
        self._lost = False  # the executor's cluster is gone for good: no page will be parsed
        self._quarantine: Executor | None = None
        self._quarantine_lock = asyncio.Lock()
        self.cpu_s = 0.0
        self.worker_pids: set[int] = set()

    async def __aenter__(self) -> ProcessStage:
        self.start()
        if self._executor is not None:
            await self._check_started(self._executor)
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
        """Start the worker pool once; it is reused for the whole crawl.

        Raises:
            ConfigError: the job's parse function or a step is defined in a ``__main__``
                that worker processes cannot import (stdin, ``-c``, a notebook).
            WorkerPoolError: the pool cannot be created.
            ClusterError: a remote executor's workers cannot run this crawl's processor.
        """
        if not self.inline and self._executor is None:
            executor = self._new_pool(self.workers)
            try:
                executor.share(self._processor)  # once per crawl where calls cost to send
                self.workers = executor.slots
                self.min_batch = executor.min_batch
            except BaseException:
                executor.shutdown(wait=False, cancel_futures=True)
                raise
            self._executor = self._shown = executor

    async def ready(self) -> bool:
        """Wait while the executor cannot take pages: a lost Dask scheduler waited for.

        The fetchers ask before each fetch, so a pause holds fetching back instead of
        filling the queues with pages that may never be parsed.

        Returns:
            True once pages can go (at once for a local pool), False once they never can
            (the cluster was lost for good): fetching ends.
        """
        # Polled: the pause ends in the executor's own thread, within its deadline.
        while (executor := self._executor) is not None and executor.paused and not self._lost:  # noqa: ASYNC110
            await asyncio.sleep(PAUSE_POLL_S)
        return not self._lost

    def close(self) -> None:
        """Stop the workers, dropping batches not yet started."""
        for executor in (self._executor, self._quarantine):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
        self._executor = self._quarantine = None

    async def process(self, batch: Sequence[FetchResult]) -> BatchOutcome:
        """Process ``batch``: a record (or a drop) per page, whatever happens to the workers.

        Raises:
            WorkerPoolError: a pool broke and a new one cannot start.
            ClusterLost: a Dask scheduler went away and did not come back in time.
        """
        if self.inline:
            return self._account(process_batch(self._processor, batch))
        try:
            return await self._process_on_workers(batch)
        except ClusterLost:
            self._lost = True
            raise

    async def _process_on_workers(self, batch: Sequence[FetchResult]) -> BatchOutcome:
        executor = self._executor
        if executor is None:
            raise RuntimeError("ProcessStage.process called before start()")
        try:
            outcome = await _run(executor, process_batch_in_worker, self._processor, batch)
        except BrokenProcessPool:
            await self._replace_broken(executor)
            return await self._process_one_by_one(batch)
        except WorkerLost:  # the executor survived it (``worker_lost`` says in its words)
            log.warning(executor.worker_lost or "a worker died on a batch: one page at a time")
            return await self._process_one_by_one(batch, on=executor)
        return self._account(outcome)

    def batches(self, batch_size: int) -> Batches:
        """Batches for this stage: ``batch_size`` pages (more if the executor asks), one lane
        per worker. Call it once the stage has started (a Dask executor sets both)."""
        return Batches(max(batch_size, self.min_batch), max(self.workers, 1))

    # -- how the executor presents itself (progress, summary) ----------------------------

    def label(self) -> str:
        """Where pages are parsed: ``local pool, 4 workers``, ``dask tcp://host:8786, 2 workers``.

        Before it starts: the local pool the settings ask for."""
        if self._shown is None:
            return local_label(0 if self.inline else self.workers)
        return self._shown.label()

    def announcement(self) -> str | None:
        """A line to print once the executor is ready, if it has one (a Dask cluster's)."""
        return self._shown.announcement() if self._shown is not None else None

    def summary(self, parsed: int) -> list[str]:
        """What the executor adds to the summary's line after its label (Dask: times, bytes)."""
        return self._shown.summary(parsed) if self._shown is not None else []

    def unparsed(self, result: FetchResult) -> Record:
        """The record of a fetched page that is not parsed (a failure, a body that is no HTML),
        with the keys the job's processor gives every record."""
        return self._processor.unparsed(result)

    def _account(self, outcome: BatchOutcome) -> BatchOutcome:
        self.cpu_s += outcome.cpu_s
        self.worker_pids.add(outcome.pid)
        return outcome

    def _new_pool(self, workers: int) -> Executor:
        if self._factory is None:
            self._with_main = self._custom_factory is None and needs_main(self._processor)
            self._factory = self._custom_factory or functools.partial(
                default_executor, with_main=self._with_main, memory_limit_mb=self._memory_limit_mb
            )
        try:
            return as_executor(self._factory(workers), workers)
        except OSError as exc:  # too many processes or open files: no page's fault
            raise WorkerPoolError(f"the parse worker processes could not start: {exc}") from exc

    async def _check_started(self, executor: Executor) -> None:
        """Wait for ``executor``'s first worker to run something trivial.

        Workers start lazily, at the first task: without this, a pool whose workers cannot
        start (an initializer that fails, a main module that crashes when run again) would
        be taken for pages that crash their worker, and every page recorded ``parse_crash``.
        """
        try:
            await asyncio.wait_for(_run(executor, os.getpid), POOL_START_TIMEOUT_S)
        except (BrokenProcessPool, OSError, TimeoutError) as exc:
            executor.shutdown(wait=False, cancel_futures=True)
            reason = str(exc) or type(exc).__name__
            hint = "see the messages above, or set workers = 0 to parse in the crawler's process"
            if self._with_main:
                hint = (
                    "a step or parse function is defined in your main script, which every "
                    f"worker runs again: {MAIN_GUARD_HINT}"
                )
            raise WorkerPoolError(
                f"the parse worker processes could not start ({reason}): {hint}"
            ) from exc

    async def _replace_broken(self, broken: Executor) -> None:
        if self._executor is broken:
            log.warning("a parse worker died; starting a new pool")
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_pool(self.workers)
            await self._check_started(self._executor)

    async def _process_one_by_one(
        self, batch: Sequence[FetchResult], *, on: Executor | None = None
    ) -> BatchOutcome:
        """Each page of ``batch`` alone, one at a time: the one that kills its worker is found.

        ``on``: a remote executor that survives a worker's death (Dask); default: a local
        single-worker quarantine pool, replaced after each death.
        """
        records: list[Record] = []
        dropped: list[Record] = []
        async with self._quarantine_lock:
            for result in batch:
                if on is None and self._quarantine is None:
                    self._quarantine = self._new_pool(1)
                    await self._check_started(self._quarantine)
                quarantine = on or self._quarantine
                assert quarantine is not None
                try:
                    outcome = await _run(
                        quarantine, process_batch_in_worker, self._processor, [result]
                    )
                except (BrokenProcessPool, WorkerLost):
                    if on is None:
                        quarantine.shutdown(wait=False, cancel_futures=True)
                        self._quarantine = None
                    log.warning("parse worker crashed on %s", result.request.url)
                    failure = FetchFailure("parse_crash", "the parse worker died on this page")
                    records.append(self._processor.unparsed(result, failure))
                else:
                    self._account(outcome)
                    records.extend(outcome.records)
                    dropped.extend(outcome.dropped)
        return BatchOutcome(records, dropped, 0.0, os.getpid())


def _run(executor: Executor, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``fn(*args)`` on ``executor``, awaitable (``loop.run_in_executor``'s own way)."""
    return asyncio.wrap_future(executor.submit(fn, *args))
