"""Crash-safe crawl state: a SQLite file that lets a crawl stop at any moment and resume,
and ``parcrawl status`` of it. ``CrawlState`` is the open file; the queue in it is the
durable frontier store's.
"""

from __future__ import annotations

from crawler.state.crawl import CrawlState, fingerprint
from crawler.state.file import STATE_VERSION
from crawler.state.outputs import OffsetSource
from crawler.state.status import StatusReport, read_status

__all__ = [
    "STATE_VERSION",
    "CrawlState",
    "OffsetSource",
    "StatusReport",
    "fingerprint",
    "read_status",
]
