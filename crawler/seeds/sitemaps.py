"""Sitemaps: reading XML, gzip and text sitemaps safely, and walking indexes into page URLs.

Fetching is the caller's (``iter_sitemap_urls`` takes a fetch function); finding sitemaps
in robots.txt and deciding which page URLs are in scope are not done here.
"""

from __future__ import annotations

import asyncio
import codecs
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from lxml import etree

from crawler.errors import BodyTooLarge, DecodeError, InvalidUrl, SitemapError
from crawler.fetch import BoundedDecoder
from crawler.urls import canonical_url, normalize_seed

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_SITEMAPS = 1000
CHUNK_BYTES = 64 * 1024
GZIP_FEED_BYTES = 1024
"""gzip bytes inflated per call: at most about 1 MB out of each."""
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
WHITESPACE = b" \t\r\n"
# Sitemaps must be UTF-8, but a UTF-16 byte-order mark still means XML, not a text list.
XML_STARTS = (b"<", b"\xff\xfe", b"\xfe\xff")
MAX_REASON_CHARS = 200

URLSET = "urlset"
SITEMAPINDEX = "sitemapindex"


@dataclass(frozen=True, slots=True)
class Sitemap:
    """What one sitemap file lists, each list in document order."""

    urls: list[str]
    """Page URLs: ``<urlset><url><loc>``, or the lines of a text sitemap."""
    sitemaps: list[str]
    """Child sitemap URLs: ``<sitemapindex><sitemap><loc>``."""


@dataclass(frozen=True, slots=True)
class SitemapResponse:
    """The raw answer to one sitemap fetch: status None means it was not fetched.

    ``error`` says why not (a network error, a refused redirect), when the fetch knows.
    """

    status: int | None
    body: bytes
    error: str | None = None


SitemapFetch = Callable[[str], Awaitable[SitemapResponse]]
"""Fetches one sitemap URL and returns its undecoded body (gzip stays gzip)."""


def parse_sitemap(body: bytes, *, url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Sitemap:
    """Read one sitemap: XML ``<urlset>`` or ``<sitemapindex>``, plain text, either gzipped.

    The format is told from the bytes, not from ``url`` or headers. ``<loc>`` values and
    lines that are not absolute http(s) URLs are dropped.

    Args:
        body: the sitemap as served, gzip-compressed or not.
        url: where it came from; only named in log lines.
        max_bytes: the most decompressed bytes to read.

    Raises:
        SitemapError: too large, bad gzip, malformed XML, declared entities, or XML that
            is not a sitemap.
    """
    is_xml, chunks = _sniff(_decompressed(body, max_bytes))
    sitemap = _parse_xml(chunks) if is_xml else _parse_text(chunks)
    log.debug(
        "%s: sitemap lists %d pages, %d sitemaps", url, len(sitemap.urls), len(sitemap.sitemaps)
    )
    return sitemap


async def iter_sitemap_urls(
    start: Sequence[str],
    fetch: SitemapFetch,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_sitemaps: int = DEFAULT_MAX_SITEMAPS,
    on_error: Callable[[str, str], None] | None = None,
) -> AsyncIterator[str]:
    """Yield the page URLs of the ``start`` sitemaps and of every index they lead to.

    Indexes are followed depth first, so pages come in the order a reader of the files
    would meet them. Each sitemap URL is read at most once and at most ``max_sitemaps`` are
    read in all, so an index that lists itself, or a loop of indexes, ends.

    Args:
        start: sitemap URLs to read first, in order.
        fetch: gets one sitemap's raw body.
        max_bytes: the most decompressed bytes to read from one sitemap.
        max_sitemaps: the most sitemaps to fetch in all.
        on_error: called with (sitemap URL, one-line reason) for each sitemap that is
            skipped (HTTP error, network error, unreadable); the walk goes on. A warning
            is logged when it is None.
    """
    report = on_error or _log_skipped
    valid: list[str] = []
    for text in start:
        try:
            valid.append(normalize_seed(text))
        except InvalidUrl as exc:
            report(text, str(exc))
    pending = valid[::-1]  # a stack: pop() takes the next sitemap in document order
    seen: set[str] = set()
    fetched = 0
    while pending:
        url = pending.pop()
        key = canonical_url(url)
        if key in seen:
            continue
        if fetched >= max_sitemaps:
            more = len({canonical_url(left) for left in pending} - seen - {key})
            report(
                url,
                f"not read: the limit of {max_sitemaps} sitemaps was reached "
                f"({more} more not read)",
            )
            return
        seen.add(key)
        fetched += 1
        response = await fetch(url)
        if response.status is None:
            report(url, response.error or "network error")
            continue
        if not 200 <= response.status < 300:
            report(url, f"HTTP {response.status}")
            continue
        try:
            # Parsing up to max_bytes of XML is CPU work: keep it off the event loop.
            sitemap = await asyncio.to_thread(
                parse_sitemap, response.body, url=url, max_bytes=max_bytes
            )
        except SitemapError as exc:
            report(url, str(exc))
            continue
        for page in sitemap.urls:
            yield page
        pending.extend(reversed(sitemap.sitemaps))


def _log_skipped(url: str, reason: str) -> None:
    log.warning("%s: sitemap skipped: %s", url, reason)


def _decompressed(body: bytes, max_bytes: int) -> Iterator[bytes]:
    """``body``'s bytes in chunks, gunzipped when it starts with the gzip magic."""
    if not body.startswith(GZIP_MAGIC):
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
        for offset in range(0, len(body), CHUNK_BYTES):
            yield body[offset : offset + CHUNK_BYTES]
        return
    # The response bodies' decoder: bounded at every call, several members, padding ignored.
    # Fed small slices, so that a bomb inflates one small piece at a time.
    decoder = BoundedDecoder("gzip", max_bytes)
    try:
        for offset in range(0, len(body), GZIP_FEED_BYTES):
            chunk = decoder.feed(body[offset : offset + GZIP_FEED_BYTES])
            if chunk:
                yield chunk
        last = decoder.flush()
    except BodyTooLarge:
        raise _too_large(max_bytes) from None
    except DecodeError as exc:
        raise SitemapError(f"not valid gzip data ({exc})") from exc
    if not decoder.complete:
        raise SitemapError("gzip data is truncated")
    if last:
        yield last


def _too_large(max_bytes: int) -> SitemapError:
    return SitemapError(f"sitemap larger than {max_bytes} bytes")


def _sniff(chunks: Iterator[bytes]) -> tuple[bool, Iterator[bytes]]:
    """Whether the document is XML (its first non-blank byte is ``<``), and all its chunks."""
    read: list[bytes] = []
    for chunk in chunks:
        significant = chunk.removeprefix(UTF8_BOM) if not read else chunk
        read.append(chunk)
        significant = significant.lstrip(WHITESPACE)
        if significant:
            return significant.startswith(XML_STARTS), itertools.chain(read, chunks)
    return False, iter(read)


def _parse_text(chunks: Iterator[bytes]) -> Sitemap:
    """A text sitemap: one URL per line, UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    urls: list[str] = []
    # The pieces of the line not yet ended; joined once, so a huge line costs linear time.
    partial: list[str] = []
    for chunk in chunks:
        lines = decoder.decode(chunk).split("\n")
        if len(lines) > 1:
            lines[0] = "".join([*partial, lines[0]])
            partial = []
        partial.append(lines.pop())
        urls.extend(_valid_urls(lines))
    partial.append(decoder.decode(b"", final=True))
    urls.extend(_valid_urls(["".join(partial)]))
    return Sitemap(urls=urls, sitemaps=[])


def _valid_urls(texts: list[str]) -> Iterator[str]:
    for text in texts:
        if not text.strip():
            continue
        try:
            yield normalize_seed(text)
        except InvalidUrl:
            continue


def _new_parser() -> etree.XMLPullParser:
    # Hostile input: never resolve entities, never load a DTD or anything else from the
    # network or disk, keep libxml2's size and depth limits (huge_tree off).
    return etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _parse_xml(chunks: Iterator[bytes]) -> Sitemap:
    parser = _new_parser()
    reader = _XmlReader()
    try:
        for chunk in chunks:
            parser.feed(chunk)
            reader.read(parser.read_events())
        parser.close()
        reader.read(parser.read_events())
    except etree.XMLSyntaxError as exc:
        # libxml2 parses ahead within a chunk, so its own entity-amplification guard can
        # stop it before the root's start event reached us: read that event now, so a
        # document declaring entities is named for that and not just called malformed.
        reader.read(parser.read_events())
        raise SitemapError(f"malformed XML: {_one_line(str(exc))}") from exc
    return Sitemap(urls=reader.urls, sitemaps=reader.sitemaps)


def _one_line(text: str) -> str:
    line = text.splitlines()[0] if text else "no details"
    return line[:MAX_REASON_CHARS]


class _XmlReader:
    """Collects ``<loc>``s from parse events, dropping each entry once read."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.sitemaps: list[str] = []
        self._depth = 0
        self._entry_tag = ""
        self._loc_tag = ""
        self._into = self.urls

    def read(self, events: Iterator[tuple[str, object]]) -> None:
        for event, element in events:
            if not isinstance(element, etree._Element):
                continue
            if event == "start":
                self._depth += 1
                if self._depth == 1:
                    self._begin(element)
                continue
            if self._depth == 2:
                self._take(element)
            self._depth -= 1

    def _begin(self, root: etree._Element) -> None:
        # The whole DTD has been parsed once the root starts. A sitemap never needs entities,
        # so any declared one rejects the document rather than trusting it to stay unexpanded.
        dtd = root.getroottree().docinfo.internalDTD
        if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[attr-defined]
            raise SitemapError("entities are not allowed in a sitemap (the DOCTYPE declares some)")
        name = etree.QName(root)
        if name.localname == URLSET:
            entry, self._into = "url", self.urls
        elif name.localname == SITEMAPINDEX:
            entry, self._into = "sitemap", self.sitemaps
        else:
            raise SitemapError(
                f"not a sitemap: the root element is <{name.localname[:50]}>, "
                "not <urlset> or <sitemapindex>"
            )
        # Entries share the root's namespace (sitemaps.org's, an older one, or none), so
        # extension elements such as <image:loc> are never taken for page URLs.
        prefix = f"{{{name.namespace}}}" if name.namespace else ""
        self._entry_tag, self._loc_tag = prefix + entry, prefix + "loc"

    def _take(self, entry: etree._Element) -> None:
        if entry.tag == self._entry_tag:
            loc = entry.find(self._loc_tag)
            if loc is not None and loc.text:
                self._into.extend(_valid_urls([loc.text]))
        # Memory stays proportional to the URLs kept, not to the document.
        entry.clear()
        parent = entry.getparent()
        while parent is not None and entry.getprevious() is not None:
            del parent[0]
