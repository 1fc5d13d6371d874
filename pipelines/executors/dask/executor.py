"""The process stage's executor on a Dask cluster: batches as tasks, the processor sent once.

It turns Dask's outcomes into what the stage understands (``WorkerLost`` for a worker that
died on a task, ``ClusterLost`` for a scheduler gone for good) and waits out a lost
scheduler, saying it is ``paused`` meanwhile; it does not decide what to do with a batch
that failed, or with fetching during a pause (``pipelines.stage``, ``crawler.engine``).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from distributed import Future
from distributed.scheduler import KilledWorker

from crawler.errors import ClusterError, ClusterLost, SharedValuesMissing, WorkerLost
from pipelines.executors.base import counted_workers
from pipelines.executors.dask.checks import check_modules, check_versions
from pipelines.executors.dask.connect import ClusterSpec, Connection, connect, connect_to
from pipelines.executors.dask.remote import PICKLE_PROTOCOL, SharedRef, SharedValues, run_pickled

log = logging.getLogger(__name__)

T = TypeVar("T")

PLUGIN_NAME = "parcrawl-shared"
WORKER_COUNT_REFRESH_S = 1.0
RECONNECT_PAUSE_S = 0.5

MIN_BATCH_PAGES = 64
"""Fewest pages a full batch holds on Dask, whatever ``batch_size`` says.

A task costs the crawler's process about 3 ms of Dask's own work (its messages to the
scheduler and back, gathering the result) whatever its size, against 0.15 ms on the
local pool, and this process limits a fast crawl. At 16 pages a task that was 0.2 ms
per page, and the local cluster crawled at 0.82 of the pool's speed; at 64 it is 0.05.
"""


@dataclass
class Traffic:
    """What the executor moved and how long it took, over the whole crawl.

    ``run_s`` is the time the calls ran on workers (parsing); ``round_trip_s`` also holds
    pickling, sending, waiting for a free worker and receiving the result.
    """

    tasks: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    run_s: float = 0.0
    round_trip_s: float = 0.0

    @property
    def transfer_s(self) -> float:
        """Time a batch spent on its way to a worker and back, queueing included."""
        return max(self.round_trip_s - self.run_s, 0.0)


@dataclass(eq=False)
class _Job:
    payload: bytes
    future: cf.Future[Any] = field(default_factory=cf.Future)
    sent: float = 0.0


class DaskExecutor(cf.Executor):
    """A ``concurrent.futures.Executor`` whose calls run as tasks on a Dask cluster.

    Each call crosses as pickled bytes (counted in ``traffic``); values given to
    ``share`` reach every worker once and are passed by reference afterwards. A call
    whose worker died raises ``WorkerLost``; once the scheduler has been gone longer than
    ``spec.reconnect_s``, pending and new calls raise ``ClusterLost``.
    """

    def __init__(self, spec: ClusterSpec, connection: Connection) -> None:
        self.spec = spec
        self.traffic = Traffic()
        self._connection = connection
        self._lock = threading.Lock()
        self._shared: tuple[Any, ...] = ()
        self._in_flight: dict[object, tuple[_Job, Future[Any]]] = {}
        self._waiting: list[_Job] = []
        self._recovering = False
        self._scheduler_lost = False  # while recovering: the scheduler went, not a worker
        self._lost: str | None = None
        self._closed = False
        self._workers = self._count_workers()
        self._counted = time.monotonic()

    # -- what the CLI and the stage read (the ``Executor`` seam) ------------------------

    @property
    def name(self) -> str:
        """``dask (local)`` or ``dask tcp://host:port``."""
        return "dask (local)" if self.spec.local else f"dask {self.spec.executor}"

    @property
    def dashboard(self) -> str | None:
        """The dashboard's link when bokeh is installed, else None."""
        return self._connection.dashboard

    @property
    def workers(self) -> int:
        """Workers the scheduler knows (refreshed about once a second while tasks finish)."""
        return self._workers

    @property
    def slots(self) -> int:
        """Tasks the cluster runs at once (its workers' threads): the stage's lanes."""
        try:
            threads: dict[str, int] = self._connection.client.nthreads()
            return max(sum(threads.values()), 1)
        except Exception:  # the boundary: a scheduler gone already
            return max(self._workers, 1)

    @property
    def min_batch(self) -> int:
        """Pages a full batch holds at least on Dask: a task's own cost is amortised."""
        return MIN_BATCH_PAGES

    @property
    def paused(self) -> bool:
        """True while the scheduler is lost (waited for up to ``reconnect_s``, or for good).

        The stage holds fetching back meanwhile (``ProcessStage.ready``).
        """
        with self._lock:  # ``_recover`` ends the wait and sets ``_lost`` in one step
            return (self._recovering and self._scheduler_lost) or self._lost is not None

    @property
    def worker_lost(self) -> str | None:
        """A worker that died fails only its call: the stage runs that batch page by page."""
        return "a Dask worker died on a batch: running its pages one by one"

    def label(self) -> str:
        """``dask tcp://host:8786, 3 workers``."""
        return f"{self.name}, {counted_workers(self.workers)}"

    def announcement(self) -> str | None:
        """``parsing on dask (local), 2 workers, dashboard http://...``."""
        dashboard = f", dashboard {self.dashboard}" if self.dashboard else ""
        return f"parsing on {self.label()}{dashboard}"

    def summary(self, parsed: int) -> list[str]:
        """Parse and transfer times, and bytes moved per page parsed."""
        traffic = self.traffic
        moved = traffic.bytes_sent + traffic.bytes_received
        per_page = moved / parsed if parsed else 0.0
        return [
            f"parse {traffic.run_s:.1f} s in workers, transfer {traffic.transfer_s:.1f} s "
            "(moving and queueing batches)",
            f"{per_page / 1024:.1f} KiB moved per page",
        ]

    # -- Executor -----------------------------------------------------------------------

    def share(self, *values: Any) -> None:
        """Send ``values`` to every worker, present and future; calls then pass them by reference.

        Raises:
            ClusterError: a worker cannot import a module the values refer to.
        """
        check_modules(self._connection.client, values)
        self._shared = values
        self._register(self._connection)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        """Run ``fn(*args, **kwargs)`` on a worker; arguments given to ``share`` by reference.

        Raises:
            ClusterLost: the scheduler was lost for good earlier.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._lost is not None:
                raise ClusterLost(self._lost)
        refs = tuple(self._ref(arg) for arg in args)
        job = _Job(pickle.dumps((fn, refs, kwargs), protocol=PICKLE_PROTOCOL))
        self._send(job)
        return job.future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the client (and a local cluster); calls not finished are cancelled."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            jobs = [job for job, _ in self._in_flight.values()] + self._waiting
            self._in_flight.clear()
            self._waiting.clear()
        for job in jobs:
            job.future.cancel()
        self._connection.close()

    # -- sending and receiving ----------------------------------------------------------

    def _ref(self, arg: Any) -> Any:
        for index, value in enumerate(self._shared):
            if arg is value:
                return SharedRef(index)
        return arg

    def _send(self, job: _Job) -> None:
        with self._lock:
            if self._recovering:
                self._waiting.append(job)
                return
            client = self._connection.client
        try:
            task = client.submit(run_pickled, PLUGIN_NAME, job.payload, pure=False)
        except Exception:  # the boundary: a client that lost its scheduler refuses tasks
            self._requeue(job)
            return
        job.sent = time.perf_counter()
        with self._lock:
            self.traffic.bytes_sent += len(job.payload)
            # Dask releases a task whose last future is dropped: hold it until it ends.
            self._in_flight[task.key] = (job, task)
        task.add_done_callback(self._done)

    def _done(self, task: Future[Any]) -> None:
        """Runs in Dask's callback thread when ``task`` ends, errs or is cancelled."""
        with self._lock:
            entry = self._in_flight.pop(task.key, None)
        if entry is None:
            return  # shut down meanwhile
        job = entry[0]
        if task.status == "error":
            error = task.exception()
            if isinstance(error, KilledWorker):
                _settle(job, error=WorkerLost(str(error)))
            elif isinstance(error, SharedValuesMissing):
                # Dask resent it to a new scheduler before ``_recover`` registered the
                # processor there (or a worker lacks it): register it, send the call again.
                self._requeue(job, scheduler_lost=False)
            else:
                _settle(job, error=error)
            return
        if task.status != "finished":  # cancelled: the scheduler connection went
            self._requeue(job)
            return
        try:
            data, run_s = task.result()
        except Exception:  # the boundary: the connection went while the result came
            self._requeue(job)
            return
        round_trip_s = time.perf_counter() - job.sent
        with self._lock:
            traffic = self.traffic
            traffic.tasks += 1
            traffic.bytes_received += len(data)
            traffic.run_s += run_s
            traffic.round_trip_s += round_trip_s
        try:
            value = pickle.loads(data)  # noqa: S301 (what our own worker function pickled)
        except Exception as exc:  # the boundary: a result this process cannot unpickle
            _settle(job, error=exc)
        else:
            _settle(job, value=value)
        self._refresh_workers()

    def _refresh_workers(self) -> None:
        now = time.monotonic()
        if now - self._counted >= WORKER_COUNT_REFRESH_S:
            self._counted = now
            self._workers = self._count_workers()

    def _count_workers(self) -> int:
        try:
            return len(self._connection.client.nthreads())
        except Exception:  # the boundary: keep the last count while the scheduler is away
            return getattr(self, "_workers", 0)

    # -- a lost scheduler ---------------------------------------------------------------

    def _requeue(self, job: _Job, *, scheduler_lost: bool = True) -> None:
        """Keep ``job`` for ``_recover`` to send again; start it if it is not running.

        ``scheduler_lost`` is False when only the processor was missing where the call
        ran: the scheduler answered, and the user hears nothing of a lost one.
        """
        with self._lock:
            if self._closed:
                job.future.cancel()
                return
            if self._lost is not None:
                _settle(job, error=ClusterLost(self._lost))
                return
            self._waiting.append(job)
            announce = scheduler_lost and not self._scheduler_lost
            self._scheduler_lost = self._scheduler_lost or scheduler_lost
            start = not self._recovering
            self._recovering = True
        if announce:
            log.warning(
                "lost the Dask scheduler at %s: waiting up to %g s for it",
                self._connection.address,
                self.spec.reconnect_s,
            )
        if start:
            threading.Thread(target=self._recover, name="dask-reconnect", daemon=True).start()

    def _recover(self) -> None:
        """Wait up to ``reconnect_s`` for the scheduler; then send the waiting calls again."""
        address = self._connection.address
        if not self._scheduler_lost:
            log.info("a Dask worker lacked the crawl's processor: sending it again")
        deadline = time.monotonic() + self.spec.reconnect_s
        connection: Connection | None = None
        while connection is None and not self._closed:
            connection = self._try_reconnect(deadline)
            if connection is None and time.monotonic() >= deadline:
                break
        with self._lock:
            self._recovering = False
            lost, self._scheduler_lost = self._scheduler_lost, False
            waiting, self._waiting = self._waiting, []
            if connection is None:
                self._lost = (
                    f"lost the Dask scheduler at {address} and it did not come back within "
                    f"{self.spec.reconnect_s:g} s (cluster.reconnect_s): the crawl stopped"
                )
            else:
                self._connection = connection
        if connection is None:
            for job in waiting:
                _settle(job, error=ClusterLost(self._lost or ""))
            return
        if lost:
            log.warning("reconnected to the Dask scheduler at %s", address)
        for job in waiting:
            self._send(job)

    def _try_reconnect(self, deadline: float) -> Connection | None:
        current = self._connection
        status = current.client.status
        pause_s = min(RECONNECT_PAUSE_S, max(deadline - time.monotonic(), 0))
        if status == "connecting" or (status != "running" and current.cluster is not None):
            # Dask's own reconnection is still trying; or a local cluster's scheduler,
            # which lives in this process and cannot come back: wait out the deadline.
            time.sleep(pause_s)
            return None
        candidate = current
        if status != "running":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                candidate = connect_to(
                    current.address, min(self.spec.connect_timeout_s, max(remaining, 0.1))
                )
            except ClusterError:
                time.sleep(pause_s)
                return None
            current.close()
        try:
            check_versions(candidate.client)
            self._register(candidate)
        except Exception as exc:  # the boundary: lost again, or another version came back
            log.info("the Dask scheduler is not ready yet: %s", exc)
            return None
        return candidate

    def _register(self, connection: Connection) -> None:
        payload = pickle.dumps(self._shared, protocol=PICKLE_PROTOCOL)
        self.traffic.bytes_sent += len(payload)
        connection.client.register_plugin(SharedValues(PLUGIN_NAME, payload), name=PLUGIN_NAME)


def _settle(job: _Job, *, value: Any = None, error: BaseException | None = None) -> None:
    """Complete ``job``'s future unless the stage cancelled it meanwhile."""
    if job.future.done() or not job.future.set_running_or_notify_cancel():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(value)


def open_executor(spec: ClusterSpec) -> DaskExecutor:
    """Connect as ``spec`` says, wait for a worker, check versions: a ready executor.

    Raises:
        ClusterError: unreachable, no worker in time, or a worker with another parcrawl.
    """
    connection = connect(spec)
    try:
        try:
            connection.client.wait_for_workers(1, timeout=spec.connect_timeout_s)
        except TimeoutError as exc:
            raise ClusterError(
                f"the Dask scheduler at {connection.address} has no workers "
                f"(waited {spec.connect_timeout_s:g} s): start some with `dask worker`"
            ) from exc
        check_versions(connection.client)
    except BaseException:
        connection.close()
        raise
    return DaskExecutor(spec, connection)


class DaskExecutorFactory:
    """The stage's ``executor_factory`` for a Dask cluster; keeps the executor it made.

    The CLI holds the factory to show the executor's workers, dashboard and traffic.
    """

    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self.executor: DaskExecutor | None = None

    def __call__(self, workers: int) -> DaskExecutor:
        """A connected executor; ``workers`` sizes a local cluster."""
        self.executor = open_executor(replace(self.spec, workers=workers))
        return self.executor
