"""A page's metadata read from its lxml tree: the head's meta tags, OpenGraph, Twitter cards,
JSON-LD and ``<time>``; no extruct, no second parse.

It reads only; the engines call it before they prune the tree. The main content itself is
the engines' business (``pipelines.worker.content.engines``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from lxml import etree

from pipelines.worker.content.language import detect_language
from pipelines.worker.content.model import CheapMeta, PageMeta
from pipelines.worker.parse import canonical_url, document_base, normalize_space

MAX_JSON_LD_CHARS = 1_000_000
"""A JSON-LD block longer than this is skipped: no page needs more, and parsing is not free."""

_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PUBLISHED_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publish-date",
    "dc.date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
)
_MODIFIED_KEYS = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified")
_AUTHOR_KEYS = ("author", "dc.creator", "parsely-author", "sailthru.author", "byl")


def cheap_meta(tree: etree._Element, url: str) -> CheapMeta:
    """The declared language, the description and the canonical URL: near free, every page.

    Args:
        tree: the page's root element (``lxml.etree`` or ``lxml.html``).
        url: the page's URL, which relative URLs resolve against (with ``<base href>``).
    """
    tags = _meta_tags(tree)
    base = page_base(tree, url)
    return {
        "lang": _declared_language(tree, tags),
        "description": _first(tags, "description", "og:description", "twitter:description"),
        "canonical": _canonical(tree, base),
    }


def page_meta(tree: etree._Element, url: str) -> PageMeta:
    """Everything the engines report about a page besides its content.

    The language is the declared one; ``with_detected_language`` fills it in from the main
    content once the engine has it (the whole page's text would be half menus).

    Args:
        tree: the page's root element, before any pruning (JSON-LD lives in scripts).
        url: the page's URL.
    """
    tags = _meta_tags(tree)
    base = page_base(tree, url)
    json_ld = list(_json_ld_blocks(tree))
    things = list(_json_ld_things(json_ld))
    image = _first(tags, "og:image", "og:image:url", "twitter:image", "twitter:image:src")
    return {
        "lang": _declared_language(tree, tags),
        "lang_detected": False,
        "description": _first(tags, "description", "og:description", "twitter:description"),
        "canonical": _canonical(tree, base),
        "title": _first(tags, "og:title", "twitter:title") or _title(tree),
        "author": _first(tags, *_AUTHOR_KEYS) or _json_ld_author(things),
        "published": _first_date(
            *(tags.get(key) for key in _PUBLISHED_KEYS),
            *(thing.get("datePublished") for thing in things),
            *_time_elements(tree),
        ),
        "modified": _first_date(
            *(tags.get(key) for key in _MODIFIED_KEYS),
            *(thing.get("dateModified") for thing in things),
        ),
        "site_name": _first(tags, "og:site_name", "application-name")
        or _json_ld_name(thing.get("publisher") for thing in things),
        "image": canonical_url(image or _json_ld_image(things), base),
        "opengraph": _prefixed(tags, "og:"),
        "twitter": _prefixed(tags, "twitter:"),
        "json_ld": json_ld,
    }


def with_detected_language(meta: PageMeta, main_text: str) -> PageMeta:
    """``meta`` with the language detected from ``main_text`` when the page declared none."""
    if meta["lang"] is not None:
        return meta
    detected = detect_language(main_text)
    return {**meta, "lang": detected, "lang_detected": detected is not None}


def _meta_tags(tree: etree._Element) -> dict[str, str]:
    """Each ``<meta>`` key (``property``, ``name`` or ``itemprop``, lowercased): its first
    non-empty content."""
    tags: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        content = normalize_space(element.get("content") or "")
        if key and content:
            tags.setdefault(key.strip().lower(), content)
    return tags


def _first(tags: dict[str, str], *keys: str) -> str | None:
    return next((tags[key] for key in keys if key in tags), None)


def _prefixed(tags: dict[str, str], prefix: str) -> dict[str, str]:
    return {key[len(prefix) :]: value for key, value in tags.items() if key.startswith(prefix)}


def page_base(tree: etree._Element, url: str) -> str:
    """The URL the page's relative links resolve against: its ``<base href>``, else ``url``."""
    base = next(tree.iter("base"), None)
    return document_base(base.get("href") if base is not None else None, url)


def _canonical(tree: etree._Element, base: str) -> str | None:
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return canonical_url(link.get("href"), base)
    return None


def _title(tree: etree._Element) -> str | None:
    title = next(tree.iter("title"), None)
    if title is None:
        return None
    return normalize_space("".join(str(text) for text in title.itertext())) or None


def _declared_language(tree: etree._Element, tags: dict[str, str]) -> str | None:
    candidates = (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        *(
            element.get("content")
            for element in tree.iter("meta")
            if (element.get("http-equiv") or "").lower() == "content-language"
        ),
        tags.get("language"),
        tags.get("dc.language"),
        tags.get("og:locale"),
    )
    for candidate in candidates:
        tag = (candidate or "").split(",")[0].strip().lower().replace("_", "-")
        if _LANGUAGE_TAG.fullmatch(tag):
            return tag
    return None


def _json_ld_blocks(tree: etree._Element) -> Iterator[Any]:
    """Each JSON-LD block that parses, a list's items one by one; the others skipped."""
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        text = (script.text or "").strip()
        # some sites wrap the JSON in an HTML comment or CDATA marks, as for old browsers
        text = text.removeprefix("<!--").removesuffix("-->").strip()
        text = text.removeprefix("//<![CDATA[").removesuffix("//]]>").strip().rstrip(";")
        if not text or len(text) > MAX_JSON_LD_CHARS:
            continue
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            continue
        yield from parsed if isinstance(parsed, list) else (parsed,)


def _json_ld_things(blocks: list[Any]) -> Iterator[dict[str, Any]]:
    """The JSON-LD objects that may describe the page: the blocks and their ``@graph``."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        yield block
        graph = block.get("@graph")
        if isinstance(graph, list):
            yield from (thing for thing in graph if isinstance(thing, dict))


def _json_ld_name(values: Any) -> str | None:
    """The first name among JSON-LD values that are names or objects with a ``name``."""
    for value in values:
        for item in value if isinstance(value, list) else (value,):
            name = item.get("name") if isinstance(item, dict) else item
            if isinstance(name, str) and name.strip():
                return normalize_space(name)
    return None


def _json_ld_author(things: list[dict[str, Any]]) -> str | None:
    for thing in things:
        authors = thing.get("author")
        items = authors if isinstance(authors, list) else [authors]
        names = [name for item in items if (name := _json_ld_name([item]))]
        if names:
            return ", ".join(dict.fromkeys(names))
    return None


def _json_ld_image(things: list[dict[str, Any]]) -> str | None:
    for thing in things:
        image = thing.get("image")
        first = image[0] if isinstance(image, list) and image else image
        url = first.get("url") if isinstance(first, dict) else first
        if isinstance(url, str) and url.strip():
            return url
    return None


def _time_elements(tree: etree._Element) -> Iterator[str | None]:
    """``<time datetime>`` values, those marked as the publication date first."""
    times = [element for element in tree.iter("time") if element.get("datetime")]
    marked = [
        element
        for element in times
        if element.get("pubdate") is not None or element.get("itemprop") == "datePublished"
    ]
    for element in (*marked, *times):
        yield element.get("datetime")


def _first_date(*candidates: Any) -> str | None:
    """The first candidate that is an ISO 8601 date, normalised; other strings skipped."""
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        text = candidate.strip()
        if _ISO_DATE.fullmatch(text):  # a date alone stays a date, not a midnight
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                continue
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            found = _ISO_DATE.match(text)
            if found:
                try:
                    return datetime.fromisoformat(found.group()).date().isoformat()
                except ValueError:
                    continue
    return None
