"""The process stage on a Dask cluster: connecting, checking the workers, running batches.

Runs in the main process (``remote`` is what it sends to the workers). Optional: it needs
the ``cluster`` extra (``pip install 'parcrawl[cluster]'``, which brings ``distributed``).
"""

from __future__ import annotations

from pipelines.cluster.connect import ClusterSpec, Connection, connect
from pipelines.cluster.executor import DaskExecutor, DaskExecutorFactory, Traffic, open_executor

__all__ = [
    "ClusterSpec",
    "Connection",
    "DaskExecutor",
    "DaskExecutorFactory",
    "Traffic",
    "connect",
    "open_executor",
]
