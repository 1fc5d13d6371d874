"""The process stage (main process): batches of fetched pages mapped over worker processes.

It owns the pool (any ``concurrent.futures.Executor``: a local process pool by default, a
Dask cluster's with ``pipelines.cluster``), its recovery when a worker dies, and whether
the executor can take pages now (``ready``: the fetchers wait on it). It does not decide
what to fetch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from crawler.errors import ClusterLost, WorkerLost, WorkerPoolError
from crawler.models import FetchFailure, FetchResult, Record
from pipelines.batching import Batches
from pipelines.pool import MAIN_GUARD_HINT, needs_main, worker_pool
from pipelines.worker import (
    BatchOutcome,
    PageProcessor,
    ParseFn,
    parse_page,
    prepare_worker,
    process_batch,
    process_batch_in_worker,
)

log = logging.getLogger(__name__)

ExecutorFactory = Callable[[int], Executor]

POOL_START_TIMEOUT_S = 120.0
"""Longest wait for a new pool's first worker to answer (generous: a loaded machine)."""

PAUSE_POLL_S = 0.1
"""How often ``ProcessStage.ready`` looks whether a paused executor can take pages again."""


@runtime_checkable
class RemoteExecutor(Protocol):
    """An executor whose workers live elsewhere (a Dask cluster's): values are sent once.

    Its futures raise ``WorkerLost`` when a worker died running the call; it keeps
    working, so the stage re-runs that batch page by page on it.
    """

    @property
    def slots(self) -> int:
        """Calls it runs at once: the stage's worker count (lanes) for the engine."""
        ...

    @property
    def min_batch(self) -> int:
        """Fewest pages a full batch should hold for a call's own cost to be amortised."""
        ...

    def broadcast(self, *values: Any) -> None:
        """Send ``values`` to every worker once; later calls pass them by reference."""
        ...


@runtime_checkable
class Pausable(Protocol):
    """An executor that can be unable to take calls for a while (a Dask cluster's scheduler
    lost and waited for); it ends the pause itself, within its own deadline."""

    @property
    def paused(self) -> bool:
        """True while calls given to it would only wait (or fail: lost for good)."""
        ...


def default_executor(
    workers: int, *, with_main: bool = False, memory_limit_mb: int | None = None
) -> Executor:
    """A local process pool whose workers start from a clean, pre-imported forkserver.

    Forking the crawler itself would copy its event loop and threads into the child; a
    forkserver that has already imported bs4 and lxml starts workers fast and clean.

    Args:
        with_main: run the user's main module in each worker first (multiprocessing's
            usual way); only needed when the work refers to something defined there.
        memory_limit_mb: the most heap one worker may use; None: no limit.
    """
    return worker_pool(
        workers,
        initializer=prepare_worker,
        initargs=(os.getpid(), memory_limit_mb),
        with_main=with_main,
    )


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
        self._pausable: Pausable | None = None
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
            if isinstance(executor, RemoteExecutor):
                try:
                    executor.broadcast(self._processor)  # once per crawl, not per batch
                    self.workers = executor.slots
                    self.min_batch = executor.min_batch
                except BaseException:
                    executor.shutdown(wait=False, cancel_futures=True)
                    raise
            self._pausable = executor if isinstance(executor, Pausable) else None
            self._executor = executor

    async def ready(self) -> bool:
        """Wait while the executor cannot take pages: a lost Dask scheduler waited for.

        The fetchers ask before each fetch, so a pause holds fetching back instead of
        filling the queues with pages that may never be parsed.

        Returns:
            True once pages can go (at once for a local pool), False once they never can
            (the cluster was lost for good): fetching ends.
        """
        # Polled: the pause ends in the executor's own thread, within its deadline.
        while self._pausable is not None and self._pausable.paused and not self._lost:  # noqa: ASYNC110
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
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                executor, process_batch_in_worker, self._processor, batch
            )
        except BrokenProcessPool:
            await self._replace_broken(executor)
            return await self._process_one_by_one(batch)
        except WorkerLost:
            log.warning("a Dask worker died on a batch: running its pages one by one")
            return await self._process_one_by_one(batch, on=executor)
        return self._account(outcome)

    def batches(self, batch_size: int) -> Batches:
        """Batches for this stage: ``batch_size`` pages (more if the executor asks), one lane
        per worker. Call it once the stage has started (a Dask executor sets both)."""
        return Batches(max(batch_size, self.min_batch), max(self.workers, 1))

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
            return self._factory(workers)
        except OSError as exc:  # too many processes or open files: no page's fault
            raise WorkerPoolError(f"the parse worker processes could not start: {exc}") from exc

    async def _check_started(self, executor: Executor) -> None:
        """Wait for ``executor``'s first worker to run something trivial.

        Workers start lazily, at the first task: without this, a pool whose workers cannot
        start (an initializer that fails, a main module that crashes when run again) would
        be taken for pages that crash their worker, and every page recorded ``parse_crash``.
        """
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(executor, os.getpid), POOL_START_TIMEOUT_S)
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
        loop = asyncio.get_running_loop()
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
                    outcome = await loop.run_in_executor(
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
