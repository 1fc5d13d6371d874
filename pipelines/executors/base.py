"""The executor seam: what the process stage and the command line ask of where batches run.

A ``concurrent.futures`` executor that also presents itself: its lanes and batch size,
whether it is paused, what a lost worker means, its label and summary. The local pool
and the Dask executor implement it; ``PlainExecutor`` lends it to any other executor.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


@runtime_checkable
class Executor(Protocol):
    """Where the stage's batches run (a local process pool, a Dask cluster), presenting itself.

    ``submit`` and ``shutdown`` as ``concurrent.futures.Executor`` has them. A worker that
    dies either breaks the executor (``BrokenProcessPool``: the stage replaces it) or, when
    ``worker_lost`` says so, fails only the call it ran (``WorkerLost``: it goes on).
    """

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        """Run ``fn(*args, **kwargs)`` on a worker."""
        ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers; with ``cancel_futures``, calls not started are dropped."""
        ...

    @property
    def slots(self) -> int:
        """Calls it runs at once: the stage's lanes."""
        ...

    @property
    def min_batch(self) -> int:
        """Fewest pages a full batch should hold for a call's own cost to be amortised."""
        ...

    @property
    def paused(self) -> bool:
        """True while calls given to it would only wait (a lost scheduler waited for), or
        fail (lost for good); it ends a pause itself, within its own deadline."""
        ...

    @property
    def worker_lost(self) -> str | None:
        """What to log when a worker died on a batch and the executor survived it; None:
        a dead worker breaks this executor (a local pool)."""
        ...

    def share(self, *values: Any) -> None:
        """Send ``values`` to every worker once; later calls may pass them by reference."""
        ...

    def label(self) -> str:
        """Where pages are parsed, for progress and the summary: ``local pool, 4 workers``."""
        ...

    def announcement(self) -> str | None:
        """A line worth printing once, when the executor is ready (None: nothing to say)."""
        ...

    def summary(self, parsed: int) -> list[str]:
        """What the summary's executor line adds after the label, for ``parsed`` pages."""
        ...


ExecutorFactory = Callable[[int], cf.Executor]
"""Builds the stage's executor from a worker count. What it returns may be any
``concurrent.futures.Executor``: one that is no ``Executor`` is run as a local pool."""


class LocalPresentation:
    """The ``Executor`` members of a pool of ``workers`` processes on this machine."""

    workers: int

    @property
    def slots(self) -> int:
        """Its workers."""
        return self.workers

    @property
    def min_batch(self) -> int:
        """One: a call costs the crawler's process little (about 0.15 ms)."""
        return 1

    @property
    def paused(self) -> bool:
        """Never: its workers are this machine's."""
        return False

    @property
    def worker_lost(self) -> str | None:
        """None: a dead worker breaks the pool (``BrokenProcessPool``)."""
        return None

    def share(self, *values: Any) -> None:
        """Nothing: values go with each call."""

    def label(self) -> str:
        """``local pool, 4 workers``."""
        return local_label(self.workers)

    def announcement(self) -> str | None:
        """None: a local pool is what one expects."""
        return None

    def summary(self, parsed: int) -> list[str]:
        """Nothing to add."""
        return []


class PlainExecutor(LocalPresentation, cf.Executor):
    """Any ``concurrent.futures`` executor, presented as a local pool of ``workers``."""

    def __init__(self, inner: cf.Executor, workers: int) -> None:
        self.inner = inner
        self.workers = workers

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        """The inner executor's ``submit``."""
        return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The inner executor's ``shutdown``."""
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def as_executor(executor: cf.Executor, workers: int) -> Executor:
    """``executor`` as the stage talks to it: itself when it presents itself (``Executor``),
    else a ``PlainExecutor`` around it (a custom factory's ``ProcessPoolExecutor``)."""
    if isinstance(executor, Executor):
        return executor
    return PlainExecutor(executor, workers)


def local_label(workers: int) -> str:
    """``local pool, 4 workers``; ``inline (no worker processes)`` for 0."""
    if workers == 0:
        return "inline (no worker processes)"
    return f"local pool, {counted_workers(workers)}"


def counted_workers(number: int) -> str:
    """``1 worker``, ``2 workers``, ``1,204 workers``."""
    return f"{number:,} worker{'' if number == 1 else 's'}"
