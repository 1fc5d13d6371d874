"""Where the process stage's batches run: a local process pool, or a Dask cluster.

Each executor presents itself through one seam (``Executor``: lanes, batch size, pause,
a lost worker's wording, label, summary), so the stage and the command line never look
inside one. The Dask executor is optional (the ``cluster`` extra): its names are imported
from here on first use, and raise ``ImportError`` without ``distributed``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pipelines.executors.base import (
    Executor,
    ExecutorFactory,
    LocalPresentation,
    PlainExecutor,
    as_executor,
    local_label,
)
from pipelines.executors.local import LocalPool, default_executor
from pipelines.executors.pool import MAIN_GUARD_HINT, PRELOAD, needs_main

if TYPE_CHECKING:
    from pipelines.executors.dask import (
        ClusterSpec,
        DaskExecutor,
        DaskExecutorFactory,
        Traffic,
        open_executor,
    )

_DASK = frozenset(
    {"ClusterSpec", "DaskExecutor", "DaskExecutorFactory", "Traffic", "open_executor"}
)

__all__ = [
    "MAIN_GUARD_HINT",
    "PRELOAD",
    "ClusterSpec",
    "DaskExecutor",
    "DaskExecutorFactory",
    "Executor",
    "ExecutorFactory",
    "LocalPool",
    "LocalPresentation",
    "PlainExecutor",
    "Traffic",
    "as_executor",
    "default_executor",
    "local_label",
    "needs_main",
    "open_executor",
]


def __getattr__(name: str) -> Any:
    # Lazy: a crawl on the local pool never imports distributed (seconds, and optional).
    if name in _DASK:
        return getattr(importlib.import_module("pipelines.executors.dask"), name)
    raise AttributeError(f"module 'pipelines.executors' has no attribute {name!r}")
