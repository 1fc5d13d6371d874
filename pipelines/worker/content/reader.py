"""The content engines as a worker's ``Parser``: a page's fields, then its main content.

``ContentParser`` wraps the parser a job already has (lxml, bs4, a function): that parser's
fields and tree stay as they were, and the engine adds ``content``, ``markdown`` and ``meta``.
A PDF is read whole by ``pdf_content`` instead. An engine that fails or runs past its time
limit costs the page its main content, not its other fields: the record keeps them and says
``content_error`` or ``content_timeout``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from crawler.errors import ContentError, ContentTimeLimit
from crawler.models import EMPTY_PAGE_FIELDS, PageFields, media_type
from pipelines.worker.charset import decode_html
from pipelines.worker.content.engines import extract_content
from pipelines.worker.content.model import DEFAULT_ENGINE, Engine
from pipelines.worker.content.pdf import pdf_content
from pipelines.worker.parse import cap_links
from pipelines.worker.parsers import Parser

PDF = "application/pdf"


@dataclass(frozen=True, slots=True)
class ContentParser:
    """Reads a page with ``inner``, then its main content with ``engine``.

    Args:
        inner: the job's own parser; its fields and the tree its rules read are kept.
        engine: ``precise`` or ``fast``.
        time_limit_s: the most an engine may take on one page (see ``time_limit``: in a
            process's main thread only; a Dask worker's threads run without it).
        images: keep the content's images in the Markdown.
        pdfs: read ``application/pdf`` bodies (else they go to ``inner`` as any page).
    """

    inner: Parser
    engine: Engine = DEFAULT_ENGINE
    time_limit_s: float | None = None
    images: bool = True
    pdfs: bool = True

    def read(
        self, url: str, body: bytes, headers: Mapping[str, str], max_links: int
    ) -> tuple[PageFields, object | None]:
        """The page's fields with its main content; a PDF's text, metadata and links."""
        content_type = headers.get("content-type")
        if self.pdfs and media_type(content_type) == PDF:
            return self._pdf(url, body, max_links), None
        fields, tree = self.inner.read(url, body, headers, max_links)
        markup, _ = decode_html(body, content_type)
        try:
            page = extract_content(
                markup, url, engine=self.engine, time_limit_s=self.time_limit_s, images=self.images
            )
        except ContentError as exc:
            return _failed(fields, exc), tree
        read: PageFields = {
            **fields,
            "content": page.content,
            "markdown": page.markdown,
            "meta": dict(page.meta),
        }
        return read, tree

    def tree(self, url: str, body: bytes, headers: Mapping[str, str]) -> object:
        """The tree the job's rules read, as ``inner`` makes it."""
        return self.inner.tree(url, body, headers)

    def _pdf(self, url: str, body: bytes, max_links: int) -> PageFields:
        # the digest is what a recrawl compares, whether the PDF reads or not
        fields: PageFields = {
            **EMPTY_PAGE_FIELDS,
            "links": [],
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        try:
            pdf = pdf_content(body, url, time_limit_s=self.time_limit_s)
        except ContentError as exc:
            return _failed(fields, exc)
        words = pdf.content.split()
        read: PageFields = {
            **fields,
            "title": pdf.meta["title"],
            "lang": pdf.meta["lang"],
            "text": " ".join(words),
            "word_count": len(words),
            "links": list(pdf.links),
            "content": pdf.content,
            "markdown": pdf.markdown,
            "meta": dict(pdf.meta),
        }
        return cap_links(read, max_links)


def _failed(fields: PageFields, exc: ContentError) -> PageFields:
    """``fields`` of a page whose main content could not be read, saying why."""
    code = "content_timeout" if isinstance(exc, ContentTimeLimit) else "content_error"
    return {
        **fields,
        "content": None,
        "markdown": None,
        "meta": None,
        "failure": {"code": code, "message": str(exc)},
    }
