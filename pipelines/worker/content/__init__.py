"""Main content, Markdown and metadata of pages (HTML and PDF), for search indexes and LLMs.

Worker side and pure: each function takes a page and returns plain picklable data. The
libraries behind the engines (the ``content`` extra) are imported when an engine first runs.
Their errors (``ContentError``, ``ContentTimeLimit``, ``ExtraMissing``) are ``crawler.errors``'.
"""

from __future__ import annotations

from pipelines.worker.content.engines import (
    extract_content,
    fast_content,
    precise_content,
    tidy_markdown,
)
from pipelines.worker.content.extras import check_engine_installed
from pipelines.worker.content.language import detect_language
from pipelines.worker.content.meta import cheap_meta, page_meta, with_detected_language
from pipelines.worker.content.model import (
    DEFAULT_ENGINE,
    ENGINES,
    CheapMeta,
    Engine,
    PageContent,
    PageMeta,
)
from pipelines.worker.content.pdf import PdfContent, PdfMeta, pdf_content
from pipelines.worker.content.time_limit import can_interrupt, time_limit
from pipelines.worker.content.tree import block_text, parse_html

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "CheapMeta",
    "Engine",
    "PageContent",
    "PageMeta",
    "PdfContent",
    "PdfMeta",
    "block_text",
    "can_interrupt",
    "cheap_meta",
    "check_engine_installed",
    "detect_language",
    "extract_content",
    "fast_content",
    "page_meta",
    "parse_html",
    "pdf_content",
    "precise_content",
    "tidy_markdown",
    "time_limit",
    "with_detected_language",
]
