"""Parse functions injected by tests into worker processes; top-level so they pickle by name."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from crawler.models import PageFields
from pipelines.worker import parse_page

CRASH_MARKER = "crash-me"
HOG_MARKER = "hog-memory"
HOG_MB = 600
"""What a page with ``HOG_MARKER`` in its URL takes: more than a worker limited to 256 MB."""
RAISE_MARKER = "raise-me"


def parse_or_die(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
    """Parse normally, but kill the worker process outright on a page whose URL has the marker."""
    if CRASH_MARKER in url:
        os._exit(17)  # what a segfaulting C extension or the OOM killer looks like to the pool
    return parse_page(url, body, headers)


def parse_or_hog(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
    """Parse normally, but take ``HOG_MB`` of memory and hold it on a page with the marker.

    Held until the worker is stopped (at most a minute), as a runaway parse would be.
    """
    if HOG_MARKER in url:
        hog = b"x" * (HOG_MB * 2**20)  # written, so resident: a worker's limit sees it
        time.sleep(60)
        del hog
    return parse_page(url, body, headers)


def parse_or_raise(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
    """Parse normally, but raise on a page whose URL has the marker (a bug in user code)."""
    if RAISE_MARKER in url:
        raise ValueError("boom on purpose")
    return parse_page(url, body, headers)


def fail_to_start() -> None:
    """A worker initializer that fails: a pool whose workers can never start."""
    raise RuntimeError("this worker cannot start, on purpose")
