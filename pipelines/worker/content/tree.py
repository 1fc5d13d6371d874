"""The HTML tree the engines share, and the text of a subtree in paragraphs.

One parse per page: the metadata reader and the engine read the same tree.
"""

from __future__ import annotations

from typing import cast

import lxml.html
from lxml import etree

from crawler.errors import ContentError

BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
        "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
        "section", "summary", "table", "tr", "ul",
    }
)  # fmt: skip
"""Elements that begin and end a paragraph of text (CSS ``display: block`` and the like).
A table's row is a paragraph; its cells are words in it, a space apart."""

CELL_TAGS = frozenset({"td", "th"})


def parse_html(html: str, *, html_elements: bool = False) -> etree._Element:
    """The page's root element, parsed by libxml2 as a browser would forgive it.

    Args:
        html: the decoded page.
        html_elements: ``lxml.html`` elements (what trafilatura takes) rather than plain
            ``lxml.etree`` ones, which are faster to walk.

    Raises:
        ContentError: nothing that parses as HTML (empty, or only NULs and control bytes).
    """
    # Comments and processing instructions dropped at parse time: they are no text, and
    # trafilatura loses the text that follows one inside a paragraph.
    parser = (
        lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
        if html_elements
        else etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
    )
    try:
        # fed, not fromstring: a str with an XML encoding declaration would be refused
        parser.feed(html.replace("\x00", ""))
        root = cast(etree._Element | None, parser.close())
    except (etree.LxmlError, ValueError) as exc:
        raise ContentError(f"not readable as HTML: {exc}") from exc
    if root is None or not isinstance(root.tag, str):
        raise ContentError("not readable as HTML: the document is empty")
    return root


def block_text(element: etree._Element) -> str:
    """The text under ``element``: one paragraph per block, separated by blank lines.

    Whitespace inside a paragraph is collapsed as a browser renders it, except in ``<pre>``,
    whose lines and indentation stay. Comments and processing instructions are no text:
    they are removed from the subtree (the text after them stays).
    """
    # removed, not skipped: lxml's tree walk passes over them along with the text after them
    etree.strip_tags(element, etree.Comment, etree.ProcessingInstruction)
    parts: list[str] = []
    preformatted = 0
    for event, node in etree.iterwalk(element, events=("start", "end")):
        tag = node.tag
        if event == "start":
            if tag in BLOCK_TAGS:
                parts.append("\n\n")
            if tag == "pre":
                preformatted += 1
            if node.text:
                parts.append(_kept(node.text) if preformatted else node.text)
        else:
            if tag == "pre":
                preformatted -= 1
            if tag in BLOCK_TAGS:
                parts.append("\n\n")
            elif tag in CELL_TAGS:
                parts.append(" ")
            if node.tail and node is not element:
                parts.append(_kept(node.tail) if preformatted else node.tail)
    paragraphs = (
        " ".join(block.split()).replace(_KEPT_NEWLINE, "\n").replace(_KEPT_SPACE, " ").strip()
        for block in "".join(parts).split("\n\n")
    )
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


# stand-ins that whitespace collapsing leaves alone, for the whitespace <pre> keeps
_KEPT_NEWLINE = "\x00"
_KEPT_SPACE = "\x01"


def _kept(text: str) -> str:
    return text.replace("\n", _KEPT_NEWLINE).replace(" ", _KEPT_SPACE).replace("\t", _KEPT_SPACE)


def remove_keeping_tail(element: etree._Element) -> None:
    """Remove ``element`` from its tree, keeping the text that follows it (its tail)."""
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
