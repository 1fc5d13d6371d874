"""Parse one HTML page with BeautifulSoup (lxml): title, description, language, text and links.

A pure function of (url, body, headers) so it runs the same in a worker process, inline and
in tests. It returns plain ``str``/``int``/``list`` values: no bs4 object ever leaves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Tag

from crawler.models import PageFields
from crawler.urls import InvalidUrl, request_url
from pipelines.worker.charset import decode_html

INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template"})
LINK_TAGS = frozenset({"a", "area"})
SKIPPED_LINK_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "about:", "ftp:", "file:")
DEFAULT_MAX_LINKS = 5000
"""Links kept per page, as Heritrix's 6,000 outlinks and Nutch's per-page limit do."""


def parse_page(
    url: str, body: bytes, headers: Mapping[str, str], *, max_links: int = DEFAULT_MAX_LINKS
) -> PageFields:
    """Extract the page fields of an HTML response.

    Args:
        url: the page's final URL, against which relative links resolve.
        body: the raw response body, in whatever encoding the server sent.
        headers: response headers with lower-case names (``content-type`` is read for the
            charset; the BOM and ``<meta charset>`` are honoured as a browser would).
        max_links: links kept at most; ``links_dropped`` counts the rest.

    Returns:
        The parsed fields; ``links`` are absolute http(s) URLs as they would be requested
        (percent-encoded, no fragment, no credentials), in page order, each once. Links
        that are no valid URL (a port of 99999, say) are dropped and counted.
    """
    return parse_document(url, body, headers, max_links=max_links)[0]


def parse_document(
    url: str, body: bytes, headers: Mapping[str, str], *, max_links: int = DEFAULT_MAX_LINKS
) -> tuple[PageFields, BeautifulSoup]:
    """Like ``parse_page``, also returning the tree (scripts and styles removed).

    The tree is for extraction rules that run in the same worker; it never leaves it.
    """
    markup, _ = decode_html(body, headers.get("content-type"))
    soup = BeautifulSoup(markup, "lxml")
    tags = _TagsOfInterest.collect(soup)
    for tag in tags.invisible:
        tag.decompose()
    base = _base_url(tags.base, url)
    lang = _attr(tags.html, "lang") if tags.html is not None else None
    visible = soup.body if soup.body is not None else soup
    words = visible.get_text(" ").split()
    links, links_dropped = _links(tags.anchors, base, max_links)
    fields = PageFields(
        title=_title(tags.title),
        description=_meta_description(tags.metas),
        lang=lang.strip() or None if lang else None,
        canonical=_canonical(tags.link_tags, base),
        text=" ".join(words),
        word_count=len(words),
        links=links,
        sha256=hashlib.sha256(body).hexdigest(),
        links_dropped=links_dropped,
    )
    return fields, soup


@dataclass(slots=True)
class _TagsOfInterest:
    """The tags parse_page reads, gathered in one walk of the tree.

    One walk instead of a ``find``/``find_all`` per field: each search walks the whole
    tree, and on a 30 KB page those walks cost a third of the parse.
    """

    html: Tag | None = None
    title: Tag | None = None
    base: Tag | None = None
    metas: list[Tag] = field(default_factory=list)
    link_tags: list[Tag] = field(default_factory=list)
    anchors: list[Tag] = field(default_factory=list)
    invisible: list[Tag] = field(default_factory=list)

    @classmethod
    def collect(cls, soup: BeautifulSoup) -> _TagsOfInterest:
        found = cls()
        for node in soup.descendants:
            if type(node) is not Tag:
                continue
            name = node.name
            if name in LINK_TAGS:
                if "href" in node.attrs:
                    found.anchors.append(node)
            elif name in INVISIBLE_TAGS:
                found.invisible.append(node)
            elif name == "meta":
                found.metas.append(node)
            elif name == "link":
                found.link_tags.append(node)
            elif name == "title":
                found.title = found.title or node
            elif name == "base":
                if found.base is None and "href" in node.attrs:
                    found.base = node
            elif name == "html":
                found.html = found.html or node
        return found


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def _base_url(base: Tag | None, url: str) -> str:
    if base is not None:
        href = _attr(base, "href")
        if href and href.strip():
            try:
                return request_url(href, base=url)
            except InvalidUrl:  # a browser ignores an unusable <base href> too
                pass
    return url


def _title(title: Tag | None) -> str | None:
    if title is None:
        return None
    text = " ".join(title.get_text().split())
    return text or None


def _meta_description(metas: Iterable[Tag]) -> str | None:
    for meta in metas:
        name = _attr(meta, "name")
        if name and name.strip().lower() == "description":
            content = " ".join((_attr(meta, "content") or "").split())
            return content or None
    return None


def _canonical(link_tags: Iterable[Tag], base: str) -> str | None:
    for link in link_tags:
        rel = link.get("rel")
        rels = rel if isinstance(rel, list) else str(rel).split()
        if any(value.lower() == "canonical" for value in rels):
            href = (_attr(link, "href") or "").strip()
            if not href:
                return None
            try:
                return request_url(href, base=base)
            except InvalidUrl:
                return None
    return None


def cap_links(page: PageFields, max_links: int) -> PageFields:
    """``page`` with at most ``max_links`` links, the rest counted: for custom parse functions."""
    links = page["links"]
    if links is None or len(links) <= max_links:
        return page
    dropped = (page.get("links_dropped") or 0) + len(links) - max_links
    return {**page, "links": links[:max_links], "links_dropped": dropped}


def _links(anchors: Iterable[Tag], base: str, max_links: int) -> tuple[list[str], int]:
    """The page's links as they would be requested, at most ``max_links``; and the dropped.

    Dropped: links that are no valid http(s) URL, and every link past the cap (counted,
    not resolved: a page of half a million links costs no more than the cap's worth).
    """
    links: dict[str, None] = {}
    dropped = 0
    for anchor in anchors:
        href = (_attr(anchor, "href") or "").strip()
        if not href or href.startswith("#") or href.lower().startswith(SKIPPED_LINK_SCHEMES):
            continue
        if len(links) >= max_links:
            dropped += 1
            continue
        try:
            absolute = request_url(href, base=base)
        except InvalidUrl:
            if _is_http(href, base):
                dropped += 1  # an http(s) link that cannot be requested (port 99999, say)
            continue
        links[absolute] = None
    return list(links), dropped


def _is_http(href: str, base: str) -> bool:
    """True when ``href`` means an http(s) URL (relative links inherit the page's scheme)."""
    scheme, colon, _ = href.partition(":")
    if colon and scheme.isascii() and scheme.replace("+", "").replace("-", "").isalnum():
        return scheme.lower() in ("http", "https")
    return base.startswith(("http:", "https:"))
