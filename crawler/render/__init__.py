"""Rendering pages built by script in Chromium, through Playwright (``parcrawl[render]``).

A page the crawl fetched is rendered from its fetched body: its document is never fetched
again, and every request its scripts make goes through the crawl's own client (proxy,
cookies, address guard, site headers, User-Agent) or is refused. Playwright is imported
only when a pool starts. ``BrowserMissing`` is ``crawler.errors``'.
"""

from __future__ import annotations

from crawler.render.browser import check_browser
from crawler.render.page import RenderedPage
from crawler.render.pool import BrowserPool

__all__ = ["BrowserPool", "RenderedPage", "check_browser"]
