"""parcrawl's IO side: the asyncio event loop that schedules, fetches and writes.

Parsing and processing live in :mod:`pipelines`, run in worker processes. The Python API
is importable from here: ``from crawler import crawl, acrawl, Settings``.
"""

from __future__ import annotations

import importlib
from typing import Any

from crawler.version import __version__

_API = {
    "crawl": "crawler.api",
    "acrawl": "crawler.api",
    "Crawl": "crawler.api",
    "CrawlResult": "crawler.api",
    "make_settings": "crawler.api",
    "Settings": "crawler.settings",
    "load_job": "crawler.jobfile",
}

__all__ = [  # noqa: RUF022 (version first, then the API in _API's order)
    "__version__",
    "crawl",
    "acrawl",
    "Crawl",
    "CrawlResult",
    "make_settings",
    "Settings",
    "load_job",
]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import crawler` (and every worker process) stays light.
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'crawler' has no attribute {name!r}")
