"""What runs on Dask workers: a pickled call, the values shared once per crawl, the checks.

Top-level functions and one worker plugin, importable on any worker that has parcrawl; the
main-process side (client, executor, checks) lives in the other modules of this package.
"""

from __future__ import annotations

import gc
import importlib.util
import pickle
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from distributed import WorkerPlugin, get_worker
from distributed.gc import disable_gc_diagnosis

from crawler.errors import SharedValuesMissing

PICKLE_PROTOCOL = 5


@dataclass(frozen=True, slots=True)
class SharedRef:
    """Stands in a pickled call for a value every worker already holds (``SharedValues``)."""

    index: int


class SharedValues(WorkerPlugin):
    """Values sent to every worker once per crawl (the page processor), not with each batch.

    A plugin rather than scattered data: the scheduler gives it to workers that join later
    and to a worker its nanny restarts, so no batch waits for data a dead worker held.
    """

    def __init__(self, name: str, payload: bytes) -> None:
        self.name = name
        self.payload = payload
        self.values: tuple[Any, ...] = ()

    def setup(self, worker: Any) -> None:
        """Unpickle the values once, when the worker starts or the plugin arrives.

        And freeze what the worker holds so far (Dask's own objects included): the stage
        collects garbage after every page, and a collection then walks only the page.
        """
        self.values = pickle.loads(self.payload)  # noqa: S301 (our own client's bytes)
        gc.freeze()
        # Dask times every collection (a psutil call at each start) to warn of long ones;
        # the stage collects after every page, so the timing cost more than the pauses.
        disable_gc_diagnosis(force=True)


class IgnoreInterrupts(WorkerPlugin):
    """Leaves Ctrl-C to the crawler in the workers of a local cluster it started.

    The terminal sends SIGINT to the whole process group: a local worker that took it
    would die mid-batch, while the crawler wants to finish the pages in flight.
    """

    name = "parcrawl-ignore-interrupts"

    def setup(self, worker: Any) -> None:
        """Ignore SIGINT in this worker process (signals are set from the main thread)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_pickled(plugin: str, payload: bytes) -> tuple[bytes, float]:
    """Run the call pickled in ``payload``; returns its pickled result and the call's wall time.

    The call crosses as bytes both ways, so the client counts exactly what it moves and
    Dask sends one opaque frame instead of walking the batch's objects.
    """
    fn, args, kwargs = pickle.loads(payload)  # noqa: S301 (our own client's bytes)
    if any(isinstance(arg, SharedRef) for arg in args):
        shared = get_worker().plugins.get(plugin)
        if not isinstance(shared, SharedValues):
            raise SharedValuesMissing(f"worker plugin {plugin!r} not registered")
        args = tuple(shared.values[a.index] if isinstance(a, SharedRef) else a for a in args)
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    run_s = time.perf_counter() - started
    return pickle.dumps(result, protocol=PICKLE_PROTOCOL), run_s


def worker_version() -> str:
    """The parcrawl version this worker imports."""
    from crawler.version import __version__  # noqa: PLC0415 (checked on the worker, not here)

    return __version__


def missing_modules(modules: list[str]) -> list[str]:
    """The modules of ``modules`` this worker cannot import."""
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing
