"""A local worker process's own set-up: Ctrl-C left to the crawler, a watchdog, a memory cap.

Run once per worker as the pool's initializer (``pipelines.executors``); what a worker
does per batch is ``pipelines.worker.batch``'s.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import threading
import time

WATCHDOG_INTERVAL_S = 1.0
"""How often a worker checks that the crawler that started it is still alive."""


def prepare_worker(crawler_pid: int, memory_limit_mb: int | None = None) -> None:
    """Worker initializer: leave Ctrl-C to the crawler, die with it, bound its memory.

    The terminal sends SIGINT to the whole process group; a worker that took it would
    die mid-batch, while the crawler wants to finish the pages in flight. And if the
    crawler is killed outright (``kill -9``), nothing tells a worker waiting for its next
    batch, so a watchdog thread ends it. A page whose tree outgrows the memory limit
    raises ``MemoryError`` in its worker, which becomes that page's record, instead of
    a machine pushed into swap by a few pages with a million links.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit_mb is not None:
        limit_memory(memory_limit_mb * 1024 * 1024)
    gc.freeze()  # the imports live as long as the worker: full collections skip them
    watchdog = threading.Thread(
        target=_exit_when_gone, args=(crawler_pid,), name="crawler-watchdog", daemon=True
    )
    watchdog.start()


def limit_memory(max_bytes: int) -> None:
    """Cap this process's data segment (heap and private mappings) at ``max_bytes``.

    RLIMIT_DATA rather than RLIMIT_AS: the address space also counts shared libraries and
    the arenas malloc reserves per thread without using them.
    """
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        max_bytes = min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (max_bytes, hard))


def _exit_when_gone(pid: int) -> None:
    while True:
        time.sleep(WATCHDOG_INTERVAL_S)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            continue  # the pid exists (reused by another user's process, at worst)
