"""A ``parcrawl crawl`` starts its parse workers' server while the command line still imports.

The local pool's workers fork from a forkserver that imports the parse code first (a new
interpreter, lxml and the rest: some 0.15 s). Started when the pool is built, that comes
after the crawler's own imports and before the first fetch, with the second core idle;
started here, from the command line's imports, it runs beside them and is ready by the time
the pool asks for it. The pool finds it running and uses it (``multiprocessing`` keeps one
forkserver per process). A crawl that turns out not to want it (``workers = 0`` or a Dask
executor in a job file) leaves it idle until the crawl ends, when it exits with it.

Imported by ``cli`` alone, right after ``crawler.runtime`` (its package, which Python
imports first); on any other command line (tests
importing ``cli``, ``parcrawl report``, ``--workers 0``, ``--help``) it does nothing.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import sys
from collections.abc import Sequence

import pipelines.executors

NOT_LOCAL_WORKERS = frozenset({"-h", "--help", "--executor", "--fetchers"})
"""Options of ``crawl`` after which the local pool is not started by this process (or not at
all): help, a Dask executor, fetcher processes that each start their own."""


def wants_local_workers(argv: Sequence[str]) -> bool:
    """True when ``argv`` (without the program name) is a crawl that starts a local pool."""
    if not argv or argv[0] != "crawl":
        return False
    args = list(argv[1:])
    for index, arg in enumerate(args):
        name, has_value, value = arg.partition("=")
        if name in NOT_LOCAL_WORKERS:
            return False
        if name in ("--workers", "-w"):
            if not has_value:
                value = args[index + 1] if index + 1 < len(args) else ""
            if value.strip() == "0":
                return False
        elif arg.startswith("-w") and not arg.startswith("--") and arg[2:].strip() == "0":
            return False
    return True


def start_worker_server() -> None:
    """Start the forkserver the local pool's workers fork from, with what it preloads."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(pipelines.executors.PRELOAD)  # as the local pool has it
    multiprocessing.forkserver.ensure_running()


if wants_local_workers(sys.argv[1:]):
    start_worker_server()
