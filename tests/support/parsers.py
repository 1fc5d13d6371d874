"""Parse functions injected by tests into worker processes; top-level so they pickle by name."""

from __future__ import annotations

import os
from collections.abc import Mapping

from crawler.models import PageFields
from pipelines.worker import parse_page

CRASH_MARKER = "crash-me"
RAISE_MARKER = "raise-me"


def parse_or_die(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
    """Parse normally, but kill the worker process outright on a page whose URL has the marker."""
    if CRASH_MARKER in url:
        os._exit(17)  # what a segfaulting C extension or the OOM killer looks like to the pool
    return parse_page(url, body, headers)


def parse_or_raise(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
    """Parse normally, but raise on a page whose URL has the marker (a bug in user code)."""
    if RAISE_MARKER in url:
        raise ValueError("boom on purpose")
    return parse_page(url, body, headers)


def fail_to_start() -> None:
    """A worker initializer that fails: a pool whose workers can never start."""
    raise RuntimeError("this worker cannot start, on purpose")
