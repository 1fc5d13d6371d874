"""Parse one HTML page with BeautifulSoup (lxml): title, description, language, text and links.

A pure function of (url, body, headers) so it runs the same in a worker process, inline and
in tests. It returns plain ``str``/``int``/``list`` values: no bs4 object ever leaves it.
It also owns the URL rules both parse paths share (base, canonical, links and their cap);
the fast path, ``pipelines.worker.lxml_parse``, imports them, so bs4 is imported only when used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    # imported here, not above: a worker on the lxml path (pipelines.worker.lxml_parse) shares
    # this module's helpers and must not pay for bs4 (memory, import time)
    from bs4 import BeautifulSoup  # noqa: PLC0415

    markup, _ = decode_html(body, headers.get("content-type"))
    soup = BeautifulSoup(markup, "lxml")
    tags = _TagsOfInterest.collect(soup)
    for tag in tags.invisible:
        tag.decompose()
    # a link, title or meta inside a script, noscript or template went with it: not the page's
    tags.drop_decomposed()
    base = document_base(_attr(tags.bases[0], "href") if tags.bases else None, url)
    lang = _attr(tags.html, "lang") if tags.html is not None else None
    visible = soup.body if soup.body is not None else soup
    words = visible.get_text(" ").split()
    links, links_dropped = resolve_links((_attr(a, "href") for a in tags.anchors), base, max_links)
    fields = PageFields(
        title=_title(tags.titles[0] if tags.titles else None),
        description=first_description((_attr(m, "name"), _attr(m, "content")) for m in tags.metas),
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
    titles: list[Tag] = field(default_factory=list)
    bases: list[Tag] = field(default_factory=list)
    metas: list[Tag] = field(default_factory=list)
    link_tags: list[Tag] = field(default_factory=list)
    anchors: list[Tag] = field(default_factory=list)
    invisible: list[Tag] = field(default_factory=list)

    @classmethod
    def collect(cls, soup: BeautifulSoup) -> _TagsOfInterest:
        from bs4 import Tag  # noqa: PLC0415

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
                found.titles.append(node)
            elif name == "base":
                if "href" in node.attrs:
                    found.bases.append(node)
            elif name == "html":
                found.html = found.html or node
        return found

    def drop_decomposed(self) -> None:
        """Forget the tags that went with a decomposed (invisible) ancestor."""
        self.titles = [tag for tag in self.titles if not tag.decomposed]
        self.bases = [tag for tag in self.bases if not tag.decomposed]
        self.metas = [tag for tag in self.metas if not tag.decomposed]
        self.link_tags = [tag for tag in self.link_tags if not tag.decomposed]
        self.anchors = [tag for tag in self.anchors if not tag.decomposed]


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def normalize_space(text: str) -> str:
    """``text`` with every run of whitespace one space, none at the ends (as str.split sees it)."""
    return " ".join(text.split())


def document_base(href: str | None, url: str) -> str:
    """The URL relative links resolve against: the first ``<base href>``'s, else ``url``."""
    if href and href.strip():
        try:
            return request_url(href, base=url)
        except InvalidUrl:  # a browser ignores an unusable <base href> too
            pass
    return url


def first_description(metas: Iterable[tuple[str | None, str | None]]) -> str | None:
    """The content of the first ``<meta name="description">``, from (name, content) pairs."""
    for name, content in metas:
        if name and name.strip().lower() == "description":
            return normalize_space(content or "") or None
    return None


def canonical_url(href: str | None, base: str) -> str | None:
    """The first ``<link rel=canonical>``'s href made absolute; None when empty or unusable."""
    href = (href or "").strip()
    if not href:
        return None
    try:
        return request_url(href, base=base)
    except InvalidUrl:
        return None


def _title(title: Tag | None) -> str | None:
    if title is None:
        return None
    return normalize_space(title.get_text()) or None


def _canonical(link_tags: Iterable[Tag], base: str) -> str | None:
    for link in link_tags:
        rel = link.get("rel")
        rels = rel if isinstance(rel, list) else str(rel).split()
        if any(value.lower() == "canonical" for value in rels):
            return canonical_url(_attr(link, "href"), base)
    return None


def cap_links(page: PageFields, max_links: int) -> PageFields:
    """``page`` with at most ``max_links`` links, the rest counted: for custom parse functions."""
    links = page["links"]
    if links is None or len(links) <= max_links:
        return page
    dropped = (page.get("links_dropped") or 0) + len(links) - max_links
    return {**page, "links": links[:max_links], "links_dropped": dropped}


def resolve_links(hrefs: Iterable[str | None], base: str, max_links: int) -> tuple[list[str], int]:
    """The page's links (the hrefs of its ``<a>``/``<area>``, in page order) as they would be
    requested, each once, at most ``max_links``; and the number dropped.

    Dropped: links that are no valid http(s) URL, and every link past the cap (counted,
    not resolved: a page of half a million links costs no more than the cap's worth).
    """
    links: dict[str, None] = {}
    # a page repeats its links (navigation, "top", the index): each href is resolved once
    resolved: dict[str, str | None] = {}
    dropped = 0
    for raw in hrefs:
        href = (raw or "").strip()
        if not href or href.startswith("#") or href.lower().startswith(SKIPPED_LINK_SCHEMES):
            continue
        if len(links) >= max_links:
            dropped += 1
            continue
        target = _without_fragment(href)
        if target in resolved:
            absolute = resolved[target]
        else:
            try:
                absolute = request_url(target, base=base)
            except InvalidUrl:
                # an http(s) link that cannot be requested (port 99999, say) is counted
                absolute = None
            resolved[target] = absolute
        if absolute is None:
            if _is_http(href, base):
                dropped += 1
            continue
        links[absolute] = None
    return list(links), dropped


def _without_fragment(href: str) -> str:
    """``href`` up to its ``#``: the same request, resolved once for all its fragments.

    The fragment never takes part in resolving a link and ``request_url`` drops it; a page
    of documentation links to a few pages under thousands of fragments (``os.html#os.stat``),
    and each fragment was a full resolution. Kept whole when the part before the ``#`` ends in
    whitespace, which ``request_url`` would strip but encodes inside a URL.
    """
    head, hash_sign, _ = href.partition("#")
    if not hash_sign or not head or head[-1].isspace():
        return href
    return head


def _is_http(href: str, base: str) -> bool:
    """True when ``href`` means an http(s) URL (relative links inherit the page's scheme)."""
    scheme, colon, _ = href.partition(":")
    if colon and scheme.isascii() and scheme.replace("+", "").replace("-", "").isalnum():
        return scheme.lower() in ("http", "https")
    return base.startswith(("http:", "https:"))
