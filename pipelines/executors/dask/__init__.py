"""The Dask executor (private: reach it through ``pipelines.executors``): connecting, checking
the workers, running batches as tasks.

Runs in the main process (``remote`` is what it sends to the workers). Optional: it needs
the ``cluster`` extra (``pip install 'parcrawl[cluster]'``, which brings ``distributed``).
"""

from __future__ import annotations

from pipelines.executors.dask.checks import check_modules, check_versions, modules_of
from pipelines.executors.dask.connect import ClusterSpec, Connection, connect
from pipelines.executors.dask.executor import (
    PLUGIN_NAME,
    DaskExecutor,
    DaskExecutorFactory,
    Traffic,
    open_executor,
)

__all__ = [
    "PLUGIN_NAME",
    "ClusterSpec",
    "Connection",
    "DaskExecutor",
    "DaskExecutorFactory",
    "Traffic",
    "check_modules",
    "check_versions",
    "connect",
    "modules_of",
    "open_executor",
]
