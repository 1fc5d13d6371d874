"""The demo: a deterministic synthetic website and a loopback server for it.

Not part of a crawl: ``parcrawl demo``, the tests and the benchmarks use it.
"""

from __future__ import annotations

from crawler.demo.server import SiteServer
from crawler.demo.site import HTML_CONTENT_TYPE, SyntheticSite

__all__ = ["HTML_CONTENT_TYPE", "SiteServer", "SyntheticSite"]
