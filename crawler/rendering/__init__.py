"""Rendering as the crawl decides it: which fetched pages go to the browser (the mode, the
rules, per-host learning in ``auto`` mode, a cheap guess at pages built by script), and what
a render makes of a page's result, its record and its WARC capture.

The browser itself (Playwright, Chromium, the pool of pages) is ``crawler.render``'s.
"""

from __future__ import annotations

from crawler.rendering.detect import PageShape, page_shape, script_built
from crawler.rendering.learning import Decision, RenderPolicy, adds
from crawler.rendering.renderer import Browser, BrowserRenderer, PageRenderer

__all__ = [
    "Browser",
    "BrowserRenderer",
    "Decision",
    "PageRenderer",
    "PageShape",
    "RenderPolicy",
    "adds",
    "page_shape",
    "script_built",
]
