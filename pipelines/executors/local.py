"""The local executor: a process pool of this machine, its workers set up for parsing.

It builds the pool (a forkserver, the user's ``__main__`` only when needed: ``pool``) and
presents it (``Executor``); replacing a broken pool is the stage's (``pipelines.stage``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from pipelines.executors.base import LocalPresentation
from pipelines.executors.pool import worker_context
from pipelines.worker import prepare_worker


class LocalPool(LocalPresentation, ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` of ``workers`` that presents itself as an ``Executor``."""

    def __init__(
        self,
        workers: int,
        *,
        with_main: bool = False,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        super().__init__(
            max_workers=workers,
            mp_context=worker_context(with_main=with_main),
            initializer=initializer,
            initargs=initargs,
        )
        self.workers = workers


def default_executor(
    workers: int, *, with_main: bool = False, memory_limit_mb: int | None = None
) -> LocalPool:
    """A local process pool whose workers start from a clean, pre-imported forkserver.

    Forking the crawler itself would copy its event loop and threads into the child; a
    forkserver that has already imported bs4 and lxml starts workers fast and clean.

    Args:
        with_main: run the user's main module in each worker first (multiprocessing's
            usual way); only needed when the work refers to something defined there.
        memory_limit_mb: the most heap one worker may use; None: no limit.
    """
    return LocalPool(
        workers,
        with_main=with_main,
        initializer=prepare_worker,
        initargs=(os.getpid(), memory_limit_mb),
    )
