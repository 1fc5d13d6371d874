"""A PDF's text as paragraphs and Markdown, its metadata and its links, read with pypdf.

Headings are marked only where the PDF shows them: titles of its outline (bookmarks), and
lines set in a larger font than the body text. Paragraphs are the PDF's blank lines and
short lines that end a sentence; a PDF keeps no paragraphs of its own, so this is a guess.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from crawler.errors import ContentError, UsageError
from crawler.urls import InvalidUrl, request_url
from pipelines.worker.content.extras import optional_module
from pipelines.worker.content.time_limit import time_limit

HEADING_SIZE_RATIO = 1.15
"""A line in a font this much larger than the body's is a heading."""

MAX_HEADING_CHARS = 120
MAX_HEADING_LEVEL = 6
SHORT_LINE_SHARE = 0.7
"""A line shorter than this share of the page's usual line, ending a sentence, ends a paragraph."""

_SENTENCE_END = re.compile(r"[.!?:;\"'\u201d)]$")


class PdfMeta(TypedDict):
    """A PDF's document information; every key is present, None when absent."""

    title: str | None
    author: str | None
    pages: int
    created: str | None
    """ISO 8601, as the PDF's ``/CreationDate`` says."""
    modified: str | None
    lang: str | None
    """The catalog's ``/Lang``, lowercased."""


@dataclass(frozen=True)
class PdfContent:
    """A PDF's text (paragraphs split by blank lines), Markdown, metadata and link URLs."""

    content: str
    markdown: str
    meta: PdfMeta
    links: tuple[str, ...]
    """The http(s) targets of its link annotations, absolute, each once, in page order."""


def pdf_content(body: bytes, url: str, *, time_limit_s: float | None = None) -> PdfContent:
    """Read a PDF's text, headings, metadata and links.

    Args:
        body: the PDF's bytes.
        url: where it came from: relative link targets resolve against it.
        time_limit_s: the most wall-clock time the reading may take (see ``time_limit``).

    Raises:
        ContentError: a damaged PDF, one encrypted with a password, or past the time limit.
        UsageError: pypdf (the ``content`` extra) is not installed.
    """
    pypdf = optional_module("pypdf", needed_for="reading PDFs")
    # what pypdf warns of a damaged file ("EOF marker not found") is the record's error
    # message, or nothing a reader needs: not lines on a crawl's terminal
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        with time_limit(time_limit_s):
            return _read(pypdf, body, url)
    except (ContentError, UsageError):
        raise
    except Exception as exc:  # pypdf's errors and what a damaged file makes it raise
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ContentError(f"not a readable PDF: {detail}") from exc


def _read(pypdf: Any, body: bytes, url: str) -> PdfContent:
    reader = pypdf.PdfReader(io.BytesIO(body), strict=False)
    # many PDFs are encrypted only to restrict printing or copying, with an empty password
    if reader.is_encrypted and not reader.decrypt(""):
        raise ContentError("the PDF is encrypted with a password")
    lines: list[tuple[str, float]] = []  # every text line, with its font size
    for page in reader.pages:
        lines.extend(_page_lines(page))
        lines.append(("", 0.0))  # a page ends a paragraph
    headings = _headings(lines, _outline_titles(reader))
    content, markdown = _render(lines, headings)
    return PdfContent(content, markdown, _meta(reader), _links(reader, url))


def _page_lines(page: Any) -> list[tuple[str, float]]:
    """The page's lines as pypdf extracts them, each with its font size: that of the text
    drawn as that whole line, 0 for a line drawn in pieces (mixed fonts: no heading)."""
    sizes: dict[str, float] = {}

    def note_size(text: str, cm: Any, tm: Any, font: Any, font_size: float) -> None:
        # the size a reader sees: the font's, scaled by the text and page matrices
        scale = abs(float(tm[3]) * float(cm[3])) or 1.0
        for line in text.splitlines():
            key = " ".join(line.split())
            if key:
                sizes[key] = max(sizes.get(key, 0.0), float(font_size) * scale)

    text = page.extract_text(visitor_text=note_size) or ""
    out = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        out.append((line, sizes.get(line, 0.0)))
    return out


def _outline_titles(reader: Any) -> dict[str, int]:
    """The outline's (bookmarks') titles, each with its depth as a heading level."""
    titles: dict[str, int] = {}

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            elif getattr(item, "title", None):
                titles.setdefault(" ".join(str(item.title).split()), min(level, MAX_HEADING_LEVEL))

    walk(reader.outline, 1)
    return titles


def _headings(lines: list[tuple[str, float]], outline: dict[str, int]) -> dict[str, int]:
    """The lines that are headings, with their level: the outline's, else by font size."""
    weights: Counter[float] = Counter()
    for line, size in lines:
        if size:
            weights[round(size, 1)] += len(line)
    headings = dict(outline)
    if not weights:
        return headings
    body_size = weights.most_common(1)[0][0]
    larger = sorted(
        {round(size, 1) for _, size in lines if size >= body_size * HEADING_SIZE_RATIO},
        reverse=True,
    )
    for line, size in lines:
        if line and round(size, 1) in larger and len(line) <= MAX_HEADING_CHARS:
            headings.setdefault(line, min(larger.index(round(size, 1)) + 1, MAX_HEADING_LEVEL))
    return headings


def _render(lines: list[tuple[str, float]], headings: dict[str, int]) -> tuple[str, str]:
    """The plain text and the Markdown: paragraphs joined from lines, headings marked."""
    lengths = sorted(len(line) for line, _ in lines if line)
    usual_length = lengths[len(lengths) // 2] if lengths else 0  # the median: a full line
    blocks: list[tuple[int, str]] = []  # (heading level or 0, text)
    paragraph: list[str] = []

    def close_paragraph() -> None:
        if paragraph:
            blocks.append((0, _joined(paragraph)))
            paragraph.clear()

    for line, _ in lines:
        if not line:
            close_paragraph()
        elif line in headings:
            close_paragraph()
            blocks.append((headings[line], line))
        else:
            paragraph.append(line)
            if _SENTENCE_END.search(line) and len(line) < usual_length * SHORT_LINE_SHARE:
                close_paragraph()
    close_paragraph()
    content = "\n\n".join(text for _, text in blocks)
    markdown = "\n\n".join(f"{'#' * level} {text}" if level else text for level, text in blocks)
    return content, markdown + "\n" if markdown else ""


def _joined(lines: list[str]) -> str:
    """Lines of one paragraph as one line; a word hyphenated across two is made whole."""
    text = lines[0]
    for line in lines[1:]:
        if text.endswith("-") and text[-2:-1].isalpha() and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text


def _meta(reader: Any) -> PdfMeta:
    info = reader.metadata
    root = reader.trailer.get("/Root")
    lang = _text(root.get_object().get("/Lang")) if root is not None else None
    return {
        "title": _text(info.title) if info else None,
        "author": _text(info.author) if info else None,
        "pages": len(reader.pages),
        "created": _date(info, "creation_date"),
        "modified": _date(info, "modification_date"),
        "lang": lang.lower() if lang else None,
    }


def _text(value: Any) -> str | None:
    return " ".join(str(value).split()) or None if value is not None else None


def _date(info: Any, name: str) -> str | None:
    """A document date as ISO 8601; None when absent or not a date pypdf can read."""
    if info is None:
        return None
    try:
        value = getattr(info, name)
    except (ValueError, TypeError):  # "D:2024-13-45" and the like
        return None
    return value.isoformat() if isinstance(value, datetime) else None


def _links(reader: Any, url: str) -> tuple[str, ...]:
    links: dict[str, None] = {}
    for page in reader.pages:
        annotations = page.get("/Annots")
        for annotation in annotations.get_object() if annotations is not None else ():
            target = _uri(annotation.get_object())
            if target is None:
                continue
            try:
                links[request_url(target, base=url)] = None
            except InvalidUrl:
                continue  # mailto:, a malformed URI: no page to crawl
    return tuple(links)


def _uri(annotation: Any) -> str | None:
    if annotation.get("/Subtype") != "/Link":
        return None
    action = annotation.get("/A")
    action = action.get_object() if action is not None else None
    if action is None or action.get("/S") != "/URI":
        return None
    uri = action.get("/URI")
    return str(uri) if uri is not None else None
