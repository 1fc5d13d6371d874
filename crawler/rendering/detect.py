"""Does a page's static HTML look built by script? A cheap guess from the bytes and, only
when they hint at it, from lxml's tree; and how much text and how many links a page holds.

Pure functions of bytes: no browser, no network. It does not decide whether to render
(``crawler.rendering.learning`` weighs the guess against what a host has shown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree, html

from crawler.errors import InvalidUrl
from crawler.urls import request_url

LITTLE_TEXT = 200
"""Visible body text (characters, blanks left out) below which a page with scripts is
taken for one its script fills in. The Python docs' shortest page has 1,400; an empty
application shell has none, a loading message some 20."""

NEARLY_EMPTY = 600
"""Visible text below which a framework's client-side markers mean the script builds the
page (a server-rendered Next.js page carries ``__NEXT_DATA__`` and its whole text)."""

NOSCRIPT_TEXT = 1500
"""A ``<noscript>`` asking for JavaScript counts only on a page with less text than this
outside it: many static sites ask so for one widget (a search box) around a full page."""

PLENTY = 2500
"""Visible text (as read from the bytes) past which a page is static whatever else it
holds: a reader has plenty, even if some widget of it waits for a script. Most pages of
the Python docs have more; reading no further keeps detection cheap on them."""

ROOT_IDS = frozenset({"root", "app", "__next", "__nuxt", "___gatsby", "svelte", "q-app"})
"""Ids of the element a single-page application mounts itself on."""

ROOT_TAGS = frozenset({"app-root"})
"""Angular's default root element."""

SILENT = frozenset({"script", "style", "noscript", "template"})
"""Elements whose text a reader never sees."""

ASKS_FOR_SCRIPT = re.compile(
    r"(enable|activate|turn on|switch on|allow)\s+javascript"
    r"|javascript\s+(is\s+)?(required|disabled|needed|must be enabled)"
    r"|(requires?|needs?)\s+javascript"
    r"|javascript\s+to\s+(run|use|view|see)",
    re.IGNORECASE,
)
"""What a ``<noscript>`` says when the page needs its script."""

_ROOT_HINT = re.compile(
    rb"id\s*=\s*[\"']?(?:root|app|__next|__nuxt|___gatsby|svelte|q-app)[\"'\s>]"
    rb"|<app-root|data-reactroot"
)
"""In the lower-cased page: an application root, which sends any page to the full check."""
_SILENT_BLOCK = re.compile(rb"<(script|style|template)\b.*?</\1\s*>", re.DOTALL)
_TAG = re.compile(rb"<[^>]*>")
SILENT_TAGS = (b"script", b"style", b"template")
WINDOW = 16 * 1024
"""Bytes of a page read at a time when counting its text: most static pages have enough
in the first one."""
_CLIENT_MARKERS = ("__NEXT_DATA__", "__NUXT__", "window.__INITIAL_STATE__")

EMPTY_ROOT = "empty_root"
NOSCRIPT = "noscript"
LITTLE = "little_text"
FRAMEWORK = "framework"


def script_built(body: bytes) -> str | None:
    """Why ``body`` (an HTML page as fetched) looks built by script, or None.

    The reasons, strongest first: ``empty_root`` (an application root with nothing in
    it), ``framework`` (client-side framework markers around a nearly empty body),
    ``noscript`` (a ``<noscript>`` asking for JavaScript on a thin page), ``little_text``
    (scripts, and almost no visible text).

    A page without ``<script`` is never one, nor one whose bytes show ``PLENTY`` of text
    outside scripts and styles; nor, unless it names an application root, one with
    ``NOSCRIPT_TEXT``. Only the rest are parsed: most static pages cost a scan or two.
    """
    lowered = body.lower()
    if b"<script" not in lowered:
        return None
    if _has_text(lowered, PLENTY):
        return None  # the common static page: a scan of its first text, no tree
    rooted = _ROOT_HINT.search(lowered) is not None
    if not rooted and _has_text(lowered, NOSCRIPT_TEXT):
        return None
    root = _parse(body)
    if root is None:
        return None
    page_body = root.find("body")
    if page_body is None:
        page_body = root
    if rooted and _empty_root(page_body):
        return EMPTY_ROOT
    text = visible_text_length(page_body)
    if text < NEARLY_EMPTY and _client_framework(root, lowered):
        return FRAMEWORK
    if text < NOSCRIPT_TEXT and _asks_for_script(page_body):
        return NOSCRIPT
    if text < LITTLE_TEXT:
        return LITTLE
    return None


@dataclass(frozen=True, slots=True)
class PageShape:
    """What a reader gets from a page: its visible text's length and the links it holds."""

    text: int
    links: frozenset[str]


def page_shape(body: bytes | str, base_url: str) -> PageShape:
    """The visible text length and the absolute http(s) links (fragments dropped) of a page."""
    root = _parse(body)
    if root is None:
        return PageShape(0, frozenset())
    page_body = root.find("body")
    links = set()
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href or href.startswith("#"):
            continue
        try:  # as the crawl would request it, so both shapes of a page compare alike
            links.add(request_url(href, base=base_url))
        except InvalidUrl:  # javascript:, mailto:, a broken link: nothing to follow
            continue
    text = visible_text_length(page_body if page_body is not None else root)
    return PageShape(text, frozenset(links))


def visible_text_length(element: html.HtmlElement) -> int:
    """Characters of text a reader sees in ``element``, blanks left out."""
    total = _solid(element.text_content())
    for silent in element.iter(*SILENT):
        total -= _solid(silent.text_content())
    return max(total, 0)


def _has_text(lowered: bytes, need: int) -> bool:
    """True when the body of a (lower-cased) page has about ``need`` characters of text
    outside its scripts and styles: read from the bytes, a window at a time, up to where
    there are enough (each window's tags stripped by the regex engine, not a Python loop:
    a third of the time on the Python docs)."""
    start = max(lowered.find(b"<body"), 0)
    size = len(lowered)
    found = 0
    while start < size:
        end = _window_end(lowered, start)
        text = _TAG.sub(b"", _SILENT_BLOCK.sub(b"", lowered[start:end]))
        found += len(text) - sum(text.count(blank) for blank in b" \n\t\r")
        if found >= need:
            return True
        start = end
    return False


def _window_end(lowered: bytes, start: int) -> int:
    """Where the window from ``start`` ends: ``WINDOW`` bytes on, or past the end of a
    script, style or template opened in it (its text is never read as the page's)."""
    end = min(start + WINDOW, len(lowered))
    opened = max(lowered.rfind(b"<" + tag, start, end) for tag in SILENT_TAGS)
    if opened < 0:
        return end
    tag = next(tag for tag in SILENT_TAGS if lowered.startswith(b"<" + tag, opened))
    closed = lowered.find(b"</" + tag, opened)
    if closed < 0:
        return len(lowered)
    return max(end, lowered.find(b">", closed) + 1 or len(lowered))


def _parse(body: bytes | str) -> html.HtmlElement | None:
    try:
        return html.document_fromstring(body)
    except (etree.ParserError, ValueError):  # empty, or no element at all
        return None


def _empty_root(page_body: html.HtmlElement) -> bool:
    for element in page_body.iter():
        if not isinstance(element.tag, str):
            continue
        is_root = (
            element.get("id") in ROOT_IDS
            or element.tag in ROOT_TAGS
            or element.get("data-reactroot") is not None
        )
        if is_root and visible_text_length(element) == 0 and element.find(".//a") is None:
            return True
    return False


def _client_framework(root: html.HtmlElement, lowered: bytes) -> bool:
    if b"data-server-rendered" in lowered:
        return False  # the server rendered it: the text is there, or there is none
    if root.find(".//*[@ng-version]") is not None:
        return True
    return any(script.text and _markers_in(script.text) for script in root.iter("script")) or (
        root.find(".//script[@id='__NEXT_DATA__']") is not None
    )


def _markers_in(text: str) -> bool:
    return any(marker in text for marker in _CLIENT_MARKERS)


def _asks_for_script(page_body: html.HtmlElement) -> bool:
    return any(
        ASKS_FOR_SCRIPT.search(element.text_content() or "")
        for element in page_body.iter("noscript")
    )


def _solid(text: str) -> int:
    """Characters of ``text`` that are not blanks."""
    return len(text) - sum(text.count(blank) for blank in " \n\t\r\xa0")
