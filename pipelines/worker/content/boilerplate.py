"""The fast engine's guess at a page's main content: prune what is rarely content, keep the rest.

Cheap rules in the spirit of resiliparse's and Readability's, none tuned to a site: tags that
are never article text, containers whose class or id names page furniture (navigation,
sharing, cookie banners, comments), blocks that are mostly links; then the ``<article>`` or
``<main>`` that holds most of the remaining text, if any does. The tree is pruned in place.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from lxml import etree

from pipelines.worker.content.tree import remove_keeping_tail

NEVER_CONTENT_TAGS = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "button", "select", "input", "textarea", "label",
)  # fmt: skip
"""Tags whose text is no article's: code, media without text, form controls."""

FURNITURE_TAGS = ("nav", "header", "footer", "aside", "menu", "dialog", "form")
"""Tags of page furniture, pruned like the named furniture: unless they hold the page
(a site built on ASP.NET wraps its whole body in one ``<form>``)."""

FURNITURE_WORDS = (
    "nav", "menu", "footer", "sidebar", "side-bar", "comment", "share", "sharing", "social",
    "cookie", "consent", "banner", "related", "recommend", "newsletter", "subscri",
    "breadcrumb", "popup", "modal", "promo", "widget", "advert", "sponsor", "masthead",
    "toolbar", "pagination", "skip-link", "outbrain", "taboola", "disqus",
)  # fmt: skip
"""Words a class or id gives page furniture, in the usual names of many sites and CMSes;
lowercase, found anywhere in a lowercased name."""

KEPT_TAGS = frozenset({"html", "body", "article", "main"})
"""Never pruned as furniture: a theme calls its article ``<main class="has-sidebar">``."""

MAX_FURNITURE_SHARE = 0.4
"""A container named like furniture that holds more of the text than this is the page."""

MAX_PARAGRAPH_SHARE = 0.5
"""A container named like furniture that holds more of the page's ``<p>`` than this holds
the article (a theme's ``<div class="container with-sidebar">``)."""

MIN_MAIN_SHARE = 0.3
"""An ``<article>``/``<main>`` with less of the text than this is a teaser, not the page."""

MAX_LINK_SHARE = 0.5
"""A block whose text is more than this share of link text is a list of links."""

LINK_LIST_TAGS = ("ul", "ol", "dl", "table", "p", "div", "section")

_TEXT_LENGTH = etree.XPath("string-length(normalize-space(.))")
_PARAGRAPH_COUNT = etree.XPath("count(.//p)")


def main_content(root: etree._Element) -> etree._Element:
    """The element that holds the page's main content, after pruning ``root`` in place."""
    etree.strip_elements(root, *NEVER_CONTENT_TAGS, with_tail=False)
    body = root.find("body")
    body = root if body is None else body
    furniture, marked_main = _scan(body)
    _prune_furniture(body, furniture.union(body.iter(*FURNITURE_TAGS)), _text_length(body))
    main = _largest_main(body, [*body.iter("article", "main"), *marked_main])
    main = body if main is None else main
    _prune_link_lists(main)
    return main


def _prune_furniture(
    body: etree._Element, candidates: set[etree._Element], total_length: float
) -> None:
    if not candidates:
        return
    all_paragraphs = _paragraph_count(body)
    # every length measured before anything is dropped: the outcome must not depend on
    # the order of the candidates (a set's)
    doomed = []
    for element in candidates:
        if element.tag in KEPT_TAGS:
            continue
        length = _text_length(element)
        if length > total_length * MAX_FURNITURE_SHARE:
            continue
        # only a container of some size can hold the article's paragraphs: the share
        # buttons' <div> is not worth counting them in
        if (
            length > total_length * MIN_MAIN_SHARE / 2
            and _paragraph_count(element) > all_paragraphs * MAX_PARAGRAPH_SHARE
        ):
            continue
        doomed.append(element)
    for element in doomed:
        remove_keeping_tail(element)


def _scan(body: etree._Element) -> tuple[set[etree._Element], list[etree._Element]]:
    """One walk over the body: the elements whose class or id holds a furniture word, and
    those marked as the main content (``role=main``, ``itemprop=articleBody``).

    Each walk over a large page costs about as much as its parse: this is the only one in
    Python. The names are searched joined, word by word with ``str.find`` (several times
    faster than a regular expression or a search per name).
    """
    names: list[str] = []
    owners: list[etree._Element] = []
    marked_main: list[etree._Element] = []
    for element in body.iter(etree.Element):
        for attribute in ("class", "id"):
            name = element.get(attribute)
            if name:
                names.append(name.lower())
                owners.append(element)
        if element.get("role") == "main" or element.get("itemprop") == "articleBody":
            marked_main.append(element)
    # a newline ends each name, so no match spans two; bisect finds a match's name
    joined = "\n".join(names)
    ends = list(accumulate(len(name) + 1 for name in names))
    furniture: set[etree._Element] = set()
    for word in FURNITURE_WORDS:
        start = joined.find(word)
        while start != -1:
            furniture.add(owners[bisect_right(ends, start)])
            start = joined.find(word, start + 1)
    return furniture, marked_main


def _largest_main(body: etree._Element, candidates: list[etree._Element]) -> etree._Element | None:
    """The candidate holding the most text, if it holds enough of the page's to be it."""
    root = body.getroottree().getroot()
    # a candidate inside pruned furniture is no longer in the page
    attached = [element for element in candidates if element.getroottree().getroot() is root]
    if not attached:
        return None
    length, element = max(
        ((_text_length(element), element) for element in attached), key=lambda pair: pair[0]
    )
    return element if length >= _text_length(body) * MIN_MAIN_SHARE else None


def _prune_link_lists(main: etree._Element) -> None:
    """Drop the blocks of ``main`` that are mostly link text, unless they hold the page:
    around an article, a wrapper's links (menus, related stories) can outweigh its prose."""
    total_length = _text_length(main)
    links = {link: _text_length(link) for link in main.iter("a")}
    doomed = []
    for element in main.iter(*LINK_LIST_TAGS):
        if element is main or not any(True for _ in element.iter("a")):
            continue
        length = _text_length(element)
        if (
            length
            and length <= total_length * MAX_FURNITURE_SHARE
            and sum(links[link] for link in element.iter("a")) > length * MAX_LINK_SHARE
        ):
            doomed.append(element)
    for element in doomed:
        remove_keeping_tail(element)


def _text_length(element: etree._Element) -> float:
    return float(_TEXT_LENGTH(element))  # type: ignore[arg-type]


def _paragraph_count(element: etree._Element) -> float:
    return float(_PARAGRAPH_COUNT(element))  # type: ignore[arg-type]
