"""Connecting to Dask: a local cluster of worker processes or an existing scheduler.

It owns the client's configuration (short connect timeout, low allowed-failures, quiet
logs) and the one-line errors of an unreachable scheduler; not the batches (``executor``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from typing import Any

import dask
import distributed
from distributed import Client, LocalCluster

from crawler.errors import ClusterError
from pipelines.executors.dask.remote import IgnoreInterrupts
from pipelines.executors.pool import MAIN_GUARD_HINT, unguarded_main_line

ALLOWED_FAILURES = 0
"""Worker deaths a task may cause before Dask gives up on it (``KilledWorker``).

Dask's default, 3, lets one poison page kill four workers before the stage hears of it;
with 0 the first death is reported and the stage finds the page alone.
"""

LOCAL = "dask"
"""The executor name for a local cluster started by the crawler itself."""


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """Which cluster to use and how patiently.

    Args:
        executor: ``"dask"`` (a local cluster of ``workers`` processes) or an address.
        workers: worker processes of a local cluster (an existing one has its own).
        connect_timeout_s: longest wait for the scheduler when connecting.
        reconnect_s: how long a lost scheduler is waited for mid-crawl.
        worker_memory_mb: memory each worker of a local cluster may use (0: no limit);
            an existing cluster's workers keep their own limit.
    """

    executor: str
    workers: int
    connect_timeout_s: float = 5.0
    reconnect_s: float = 30.0
    worker_memory_mb: int = 0

    @property
    def local(self) -> bool:
        """True for a cluster the crawler starts (and stops) itself."""
        return self.executor == LOCAL


@dataclass(slots=True)
class Connection:
    """A connected client and, for a local cluster, the cluster it owns."""

    client: Client
    cluster: LocalCluster | None
    address: str

    @property
    def dashboard(self) -> str | None:
        """The dashboard's link, only when bokeh is there to serve it."""
        if importlib.util.find_spec("bokeh") is None:
            return None
        link: str | None = self.client.dashboard_link
        return link

    def close(self) -> None:
        """Close the client, then the local cluster (its workers end with it)."""
        with contextlib.suppress(Exception):  # a dead scheduler cannot be told goodbye
            self.client.close(timeout=2)
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close(timeout=10)


def quiet_dask_logs() -> None:
    """Keep Dask's log lines at parcrawl's level: warnings only when parcrawl is verbose.

    Dask logs every worker start, restart and lost connection at INFO or WARNING; the
    crawler reports what matters to the user in its own words.
    """
    level = logging.getLogger().getEffectiveLevel()
    dask_level = level if level <= logging.INFO else logging.CRITICAL
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(dask_level)
    if level > logging.INFO:
        # Dask also logs tracebacks under the name of the module a frame was in (an
        # ``asyncio.tasks`` line for a reconnection it gave up): the handlers drop them.
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, _FromDask) for f in handler.filters):
                handler.addFilter(_FromDask())


class _FromDask(logging.Filter):
    """Drops records logged from Dask's own code, whatever the logger's name."""

    _prefix = os.path.dirname(distributed.__file__)

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.pathname.startswith(self._prefix)


def _dask_config() -> dict[str, Any]:
    """Dask's settings for a local cluster the crawler starts (scheduler and workers)."""
    return {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        # A worker samples its threads' stacks every 10 ms for the dashboard's profile;
        # parsing is all Python, and the sampler takes its GIL from the parse.
        "distributed.worker.profile.enabled": False,
        # One task per batch, sent to a free worker: moving one elsewhere gains nothing,
        # and the scheduler's stealing bookkeeping runs on every transition.
        "distributed.scheduler.work-stealing": False,
        # The scheduler runs in the crawler's process: its twice-a-second psutil sampling
        # (for the dashboard's charts) takes the GIL from the fetchers.
        "distributed.admin.system-monitor.interval": "2s",
        # A worker's memory limit (``worker_memory_mb``) is a hard stop, as on the local
        # pool: over 95% its nanny restarts it, and the page it was parsing becomes that
        # page's ``parse_crash``. Dask's milder steps stay off: spilling results to disk
        # (a batch's records are small and go at once), and pausing a worker above 80%,
        # which on memory the allocator keeps after a big page would leave batches
        # waiting on it for good.
        "distributed.worker.memory.target": False,
        "distributed.worker.memory.spill": False,
        "distributed.worker.memory.pause": False,
        "distributed.worker.memory.terminate": 0.95,
    }


def connect(spec: ClusterSpec) -> Connection:
    """Start a local cluster or connect to ``spec.executor``'s scheduler.

    Raises:
        ClusterError: the scheduler cannot be reached within ``connect_timeout_s``, or the
            local cluster cannot start (or would start the user's unguarded script again).
    """
    quiet_dask_logs()
    if spec.local:
        return _start_local(spec)
    return connect_to(spec.executor, spec.connect_timeout_s)


def connect_to(address: str, timeout_s: float) -> Connection:
    """A client of the scheduler at ``address``, its allowed-failures lowered.

    Raises:
        ClusterError: unreachable within ``timeout_s`` (or not a Dask scheduler).
    """
    try:
        client = Client(address, timeout=timeout_s, set_as_default=False, direct_to_workers=True)
    except (OSError, TimeoutError, ValueError) as exc:
        text = str(exc)
        timed_out = isinstance(exc, TimeoutError) or "Timed out" in text or not text
        reason = "" if timed_out else f" ({text})"
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s"
            f"{reason.splitlines()[0] if reason else ''}: is it running? "
            "(cluster.connect_timeout_s)"
        ) from exc
    try:
        client.run_on_scheduler(_lower_allowed_failures, ALLOWED_FAILURES)
    except Exception as exc:  # the boundary: a scheduler that refuses remote calls
        # Without it a poison page kills more workers, but every page is still recorded.
        logging.getLogger(__name__).info("allowed-failures left as the scheduler has it: %s", exc)
    return Connection(client, None, address)


def _lower_allowed_failures(value: int, dask_scheduler: Any = None) -> None:
    """Runs on the scheduler: the setting is the scheduler's, read once at its start."""
    if dask_scheduler is not None:
        dask_scheduler.allowed_failures = min(dask_scheduler.allowed_failures, value)


def _start_local(spec: ClusterSpec) -> Connection:
    line = unguarded_main_line()
    if line is not None:  # each worker would start this crawl again, and fail: say it now
        raise ClusterError(
            "the local Dask cluster's worker processes run your main script again, which "
            f"starts the crawl at line {line} in each of them: {MAIN_GUARD_HINT}"
        )
    # Dask's HTTP server (the dashboard with bokeh, else health and metrics only) takes port
    # 8787 unless told otherwise: a second crawl on the machine would then collide with the
    # first. Any free loopback port serves both cases.
    dashboard = "127.0.0.1:0"
    memory_limit = spec.worker_memory_mb * 2**20  # 0: no limit
    try:
        with dask.config.set(_dask_config()):
            cluster = LocalCluster(
                n_workers=spec.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=dashboard,
                memory_limit=memory_limit,
                silence_logs=logging.getLogger("distributed").level,  # in the workers too
            )
            client = Client(
                cluster,
                timeout=spec.connect_timeout_s,
                set_as_default=False,
                direct_to_workers=True,
            )
        client.register_plugin(IgnoreInterrupts(), name=IgnoreInterrupts.name)
    except (OSError, TimeoutError, RuntimeError) as exc:  # RuntimeError: "Nanny failed to start"
        raise ClusterError(f"the local Dask cluster could not start: {exc}") from exc
    return Connection(client, cluster, cluster.scheduler_address)
