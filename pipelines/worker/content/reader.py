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
from typing import TYPE_CHECKING

from crawler.errors import ContentError, ContentTimeLimit
from crawler.models import EMPTY_PAGE_FIELDS, PageFields, media_type
from pipelines.worker.charset import decode_html
from pipelines.worker.content.engines import extract_content, fast_content_of_tree
from pipelines.worker.content.meta import page_meta
from pipelines.worker.content.model import DEFAULT_ENGINE, Engine, PageContent
from pipelines.worker.content.pdf import pdf_content
from pipelines.worker.lxml_parse import page_fields_of, read_tree
from pipelines.worker.parse import cap_links
from pipelines.worker.parsers import LxmlParser, Parser

if TYPE_CHECKING:  # only annotations: pydantic stays out of the workers
    from crawler.settings import ContentSettings

PDF = "application/pdf"
EMPTY_PAGE = "<html></html>"


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
            return read_pdf(url, body, max_links, self.time_limit_s), None
        fields, tree = self.inner.read(url, body, headers, max_links)
        markup, _ = decode_html(body, content_type)
        if not any(char.isprintable() and not char.isspace() for char in markup):
            markup = EMPTY_PAGE  # no main content, as the one-parse path says: not an error
        try:
            page = extract_content(
                markup, url, engine=self.engine, time_limit_s=self.time_limit_s, images=self.images
            )
        except ContentError as exc:
            return _failed(fields, exc), tree
        return _with_content(fields, page), tree

    def tree(self, url: str, body: bytes, headers: Mapping[str, str]) -> object:
        """The tree the job's rules read, as ``inner`` makes it."""
        return self.inner.tree(url, body, headers)


@dataclass(frozen=True, slots=True)
class OneParseContentParser:
    """The fast path and the ``fast`` engine on one parse of each page (for a job without
    extraction rules, whose tree no rule reads): the page's metadata is read from the
    whole tree, then its fields (scripts and styles removed), then the engine prunes it.

    It saves the engine's own parse, a third of its time; the record is the same as
    ``ContentParser(LxmlParser(), "fast")`` gives.
    """

    time_limit_s: float | None = None
    pdfs: bool = True

    def read(
        self, url: str, body: bytes, headers: Mapping[str, str], max_links: int
    ) -> tuple[PageFields, object | None]:
        """The page's fields with its main content; a PDF's text, metadata and links."""
        content_type = headers.get("content-type")
        if self.pdfs and media_type(content_type) == PDF:
            return read_pdf(url, body, max_links, self.time_limit_s), None
        markup, _ = decode_html(body, content_type)
        root = read_tree(markup)
        meta = page_meta(root, url)  # JSON-LD: before the fields' parse strips scripts
        fields = page_fields_of(root, url, body, max_links=max_links)
        try:
            page = fast_content_of_tree(root, url, meta, time_limit_s=self.time_limit_s)
        except ContentError as exc:
            return _failed(fields, exc), None
        return _with_content(fields, page), None

    def tree(self, url: str, body: bytes, headers: Mapping[str, str]) -> object:
        """No rule reads a tree in the jobs this parser is chosen for: the bs4 one, as ever."""
        return LxmlParser().tree(url, body, headers)


def read_pdf(url: str, body: bytes, max_links: int, time_limit_s: float | None) -> PageFields:
    """A PDF's fields: its text as ``text`` and ``content``, its title, language and links."""
    # the digest is what a recrawl compares, whether the PDF reads or not
    fields: PageFields = {
        **EMPTY_PAGE_FIELDS,
        "links": [],
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    try:
        pdf = pdf_content(body, url, time_limit_s=time_limit_s)
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


def _with_content(fields: PageFields, page: PageContent) -> PageFields:
    return {**fields, "content": page.content, "markdown": page.markdown, "meta": dict(page.meta)}


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


def content_parser(content: ContentSettings, inner: Parser) -> Parser:
    """The parser a job's ``content`` settings ask for, around the job's own ``inner`` one.

    The fast engine after the plain fast path (no rules, so no one else reads its tree)
    shares that path's parse; every other engine and path reads the page again.
    """
    if content.engine == "fast" and inner == LxmlParser():
        return OneParseContentParser(time_limit_s=content.time_limit_s, pdfs=content.pdf)
    engine: Engine = "fast" if content.engine == "fast" else "precise"
    return ContentParser(
        inner,
        engine=engine,
        time_limit_s=content.time_limit_s,
        images=content.images,
        pdfs=content.pdf,
    )
