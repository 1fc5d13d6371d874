"""One batch of pages in a worker: each page through the processor, then the memory given back.

It owns what a worker does per batch and per page besides processing (the garbage
collection after a page, the heap trim after a batch); sending batches and recovering from a
dead worker are the main process's (``pipelines.stage``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crawler.models import FetchResult, Record
from pipelines.worker.processor import PageProcessor

PAGE_LEFTOVER_OBJECTS = 200
"""Objects a page may leave tracked before its worker runs a full collection after it."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a worker sends back for one batch.

    ``records`` are to be written; ``dropped`` are pages a step dropped, as parsed, kept
    for their links and so the crawl can count them done. Also its CPU time and its pid.
    """

    records: list[Record]
    dropped: list[Record]
    cpu_s: float
    pid: int


def process_batch(
    processor: PageProcessor,
    results: Sequence[FetchResult],
    *,
    after_page: Callable[[], object] | None = None,
) -> BatchOutcome:
    """Process every page of ``results``, calling ``after_page`` after each one."""
    started = time.process_time()
    records: list[Record] = []
    dropped: list[Record] = []
    for result in results:
        processed = processor(result)
        if processed.record is None:
            dropped.append(processed.links_from)
        else:
            records.append(processed.record)
        del processed
        if after_page is not None:
            after_page()
    return BatchOutcome(records, dropped, time.process_time() - started, os.getpid())


def process_batch_in_worker(
    processor: PageProcessor, results: Sequence[FetchResult]
) -> BatchOutcome:
    """``process_batch`` in a worker process, then give the memory its trees used back.

    A parsed page leaves reference cycles (hundreds of thousands of objects for a page of
    many links) that only a full collection frees, and Python runs one rarely: without
    one after each page a worker holds several pages' trees at once, and without the trim
    glibc keeps the freed heap mapped for the rest of the crawl. ``prepare_worker`` freezes
    what the worker imported, so each collection walks only the page's own objects.
    """
    outcome = process_batch(processor, results, after_page=collect_page_cycles)
    release_free_heap()
    return outcome


def collect_page_cycles() -> None:
    """A full collection after a page whose objects outlived it; nothing after one whose did not.

    The collector's own counters tell, for free: a bs4 tree (all reference cycles) leaves
    thousands of objects, enough to have set off a young collection already, while on the
    lxml path a page's objects go with their last reference and the counters barely move.
    Skipping the needless collections saves some 5% of a worker's time on the lxml path.
    """
    young, middle, old = gc.get_count()
    if middle or old or young > PAGE_LEFTOVER_OBJECTS:
        gc.collect()


def release_free_heap() -> None:
    """Return the free pages of this process's heap to the system (glibc only; else nothing)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    return trim
