"""What the content engines return: plain, picklable data that crosses the process boundary.

``PageContent`` is one page's main content (text and Markdown) and its metadata; the
metadata is a plain dict (``PageMeta``) so a record can hold it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

Engine = Literal["precise", "fast"]
ENGINES: tuple[Engine, ...] = ("precise", "fast")
DEFAULT_ENGINE: Engine = "precise"


class CheapMeta(TypedDict):
    """The near-free subset of a page's metadata, read from its ``<head>`` alone."""

    lang: str | None
    """The declared language (``<html lang>``, ``Content-Language`` meta), lowercased."""
    description: str | None
    canonical: str | None
    """``<link rel=canonical>``, absolute."""


class PageMeta(CheapMeta):
    """A page's metadata as the engines read it; every key is present, None when absent."""

    lang_detected: bool
    """True when ``lang`` was guessed from the main content because none was declared."""
    title: str | None
    author: str | None
    published: str | None
    """ISO 8601 date or date-time, as precise as the page gives it."""
    modified: str | None
    site_name: str | None
    image: str | None
    """The page's main image, absolute."""
    opengraph: dict[str, str]
    """``og:*`` properties without the prefix (the first value of each)."""
    twitter: dict[str, str]
    """``twitter:*`` card fields without the prefix."""
    json_ld: list[Any]
    """Every JSON-LD block that parsed, as parsed; malformed ones are left out."""


@dataclass(frozen=True)
class PageContent:
    """One page's main content, as an engine extracted it.

    ``content`` is plain text, paragraphs separated by blank lines; ``markdown`` the same
    content with its structure (headings, lists, tables, code, emphasis, links and images
    with absolute URLs). Both are empty when the page has no main content to speak of.
    """

    content: str
    markdown: str
    meta: PageMeta
    engine: str
