"""Parse one HTML page with BeautifulSoup (lxml): title, description, language, text and links.

A pure function of (url, body, headers) so it runs the same in a worker process, inline and
in tests. It returns plain ``str``/``int``/``list`` values: no bs4 object ever leaves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from urllib.parse import urldefrag, urljoin

from bs4 import BeautifulSoup, Tag
from w3lib.encoding import html_to_unicode

from crawler.models import PageFields

INVISIBLE_TAGS = ("script", "style", "noscript", "template")
LINK_TAGS = ("a", "area")
SKIPPED_LINK_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "about:", "ftp:", "file:")


def parse_page(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
    """Extract the page fields of an HTML response.

    Args:
        url: the page's final URL, against which relative links resolve.
        body: the raw response body, in whatever encoding the server sent.
        headers: response headers with lower-case names (``content-type`` is read for the
            charset; the BOM and ``<meta charset>`` are honoured as a browser would).

    Returns:
        The parsed fields; ``links`` are absolute http(s) URLs without fragments, in page
        order, each once.
    """
    _, markup = html_to_unicode(headers.get("content-type"), body)
    soup = BeautifulSoup(markup, "lxml")
    base = _base_url(soup, url)
    for tag in soup.find_all(INVISIBLE_TAGS):
        tag.decompose()
    html = soup.find("html")
    lang = _attr(html, "lang") if isinstance(html, Tag) else None
    visible = soup.body if soup.body is not None else soup
    words = visible.get_text(" ").split()
    return PageFields(
        title=_title(soup),
        description=_meta_description(soup),
        lang=lang.strip() or None if lang else None,
        canonical=_canonical(soup, base),
        text=" ".join(words),
        word_count=len(words),
        links=_links(soup.find_all(LINK_TAGS, href=True), base),
        sha256=hashlib.sha256(body).hexdigest(),
    )


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        href = _attr(base, "href")
        if href and href.strip():
            return urljoin(url, href.strip())
    return url


def _title(soup: BeautifulSoup) -> str | None:
    title = soup.find("title")
    if not isinstance(title, Tag):
        return None
    text = " ".join(title.get_text().split())
    return text or None


def _meta_description(soup: BeautifulSoup) -> str | None:
    for meta in soup.find_all("meta", attrs={"name": True, "content": True}):
        name = _attr(meta, "name")
        if name and name.strip().lower() == "description":
            content = " ".join((_attr(meta, "content") or "").split())
            return content or None
    return None


def _canonical(soup: BeautifulSoup, base: str) -> str | None:
    for link in soup.find_all("link", rel=True, href=True):
        rel = link.get("rel")
        rels = rel if isinstance(rel, list) else str(rel).split()
        if any(value.lower() == "canonical" for value in rels):
            href = (_attr(link, "href") or "").strip()
            return urldefrag(urljoin(base, href))[0] if href else None
    return None


def _links(anchors: Iterable[Tag], base: str) -> list[str]:
    links: dict[str, None] = {}
    for anchor in anchors:
        href = (_attr(anchor, "href") or "").strip()
        if not href or href.startswith("#") or href.lower().startswith(SKIPPED_LINK_SCHEMES):
            continue
        try:
            absolute = urldefrag(urljoin(base, href))[0]
        except ValueError:  # e.g. an invalid IPv6 literal in a hostile page
            continue
        if absolute.startswith(("http://", "https://")):
            links[absolute] = None
    return list(links)
