"""The fast engine's guess at a page's main content: prune what is rarely content, keep the rest.

Cheap rules in the spirit of resiliparse's and Readability's, none tuned to a site: tags that
are never article text, containers whose class or id names a page furniture (navigation,
sharing, cookie banners, comments), blocks that are mostly links; then the ``<article>`` or
``<main>`` that holds most of the remaining text, if any does. The tree is pruned in place.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import cast

from lxml import etree

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
_MAIN_CANDIDATES = etree.XPath(
    "//article | //main | //*[@itemprop='articleBody'] | //*[@role='main']"
)


def main_content(root: etree._Element) -> etree._Element:
    """The element that holds the page's main content, after pruning ``root`` in place."""
    etree.strip_elements(root, *NEVER_CONTENT_TAGS, with_tail=False)
    body = root.find("body")
    body = root if body is None else body
    _prune_furniture(root, _text_length(body))
    main = _largest_main(root, _text_length(body))
    main = body if main is None else main
    _prune_link_lists(main)
    return main


def _prune_furniture(root: etree._Element, total_length: float) -> None:
    candidates = _named_like_furniture(root).union(root.iter(*FURNITURE_TAGS))
    if not candidates:
        return
    all_paragraphs = _paragraph_count(root)
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
        _drop(element)


def _named_like_furniture(root: etree._Element) -> set[etree._Element]:
    """The elements of the body whose class or id contains a furniture word.

    One regular-expression scan of all the names joined, not one search per name: a page
    has a thousand names, and the scan is most of this engine's time otherwise.
    """
    body = root.find("body")
    names: list[str] = []
    owners: list[etree._Element] = []
    for element in (root if body is None else body).iter(etree.Element):
        for attribute in ("class", "id"):
            name = element.get(attribute)
            if name:
                names.append(name.lower())
                owners.append(element)
    # a newline ends each name, so no match spans two; bisect finds a match's name
    joined = "\n".join(names)
    ends = list(accumulate(len(name) + 1 for name in names))
    found: set[etree._Element] = set()
    for word in FURNITURE_WORDS:  # str.find per word: several times faster than one regex
        start = joined.find(word)
        while start != -1:
            found.add(owners[bisect_right(ends, start)])
            start = joined.find(word, start + 1)
    return found


def _largest_main(root: etree._Element, total_length: float) -> etree._Element | None:
    elements = cast(list[etree._Element], _MAIN_CANDIDATES(root))
    candidates = [(_text_length(element), element) for element in elements]
    if not candidates:
        return None
    length, element = max(candidates, key=lambda candidate: candidate[0])
    return element if length >= total_length * MIN_MAIN_SHARE else None


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
        _drop(element)


def _drop(element: etree._Element) -> None:
    """Remove ``element``, keeping the text that follows it (its tail)."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _text_length(element: etree._Element) -> float:
    return float(_TEXT_LENGTH(element))  # type: ignore[arg-type]


def _paragraph_count(element: etree._Element) -> float:
    return float(_PARAGRAPH_COUNT(element))  # type: ignore[arg-type]
