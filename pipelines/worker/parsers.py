"""How a worker reads a page: the ``Parser`` seam and its implementations (lxml, bs4, a function).

A parser gives a page's fields and, when the job has extraction rules, the tree they read.
Further page processors (main-content engines, rendered pages) plug in here as parsers; which
one a job gets is chosen once, when its processor is built (``PageProcessor``), never per page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from crawler.models import PageFields
from pipelines.worker.charset import decode_html
from pipelines.worker.lxml_parse import parse_document_lxml, parse_page_lxml
from pipelines.worker.parse import cap_links, parse_document, parse_page


class ParseFn(Protocol):
    """A page parse function: (url, body, headers) -> page fields; importable by name."""

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], /) -> PageFields: ...


class Parser(Protocol):
    """Reads one page in a worker; picklable (it crosses to the workers in the processor)."""

    def read(
        self, url: str, body: bytes, headers: Mapping[str, str], max_links: int
    ) -> tuple[PageFields, object | None]:
        """The page's fields, and the tree the job's rules read when this parse makes it
        on the way (None otherwise: no rules, or rules that read another kind of tree)."""
        ...

    def tree(self, url: str, body: bytes, headers: Mapping[str, str]) -> object:
        """The tree the job's rules read, for a page whose ``read`` gave none."""
        ...


@dataclass(frozen=True, slots=True)
class LxmlParser:
    """The fast path: lxml's own tree; ``keeps_tree`` for rules cssselect runs on it.

    Rules that only soupsieve runs get the bs4 tree, built for each page they read.
    """

    keeps_tree: bool = False

    def read(
        self, url: str, body: bytes, headers: Mapping[str, str], max_links: int
    ) -> tuple[PageFields, object | None]:
        """Fields (and lxml's tree when kept) of the page at ``url``."""
        if self.keeps_tree:
            return parse_document_lxml(url, body, headers, max_links=max_links)
        return parse_page_lxml(url, body, headers, max_links=max_links), None

    def tree(self, url: str, body: bytes, headers: Mapping[str, str]) -> object:
        """The bs4 tree, for rules only soupsieve runs."""
        return parse_document(url, body, headers, max_links=0)[1]


@dataclass(frozen=True, slots=True)
class SoupParser:
    """The bs4 path (``parser = "bs4"``); ``keeps_tree`` when the job has rules to run on it."""

    keeps_tree: bool = False

    def read(
        self, url: str, body: bytes, headers: Mapping[str, str], max_links: int
    ) -> tuple[PageFields, object | None]:
        """Fields (and the soup when kept) of the page at ``url``."""
        if self.keeps_tree:
            return parse_document(url, body, headers, max_links=max_links)
        return parse_page(url, body, headers, max_links=max_links), None

    def tree(self, url: str, body: bytes, headers: Mapping[str, str]) -> object:
        """The soup, as ``read`` keeps it."""
        return parse_document(url, body, headers, max_links=0)[1]


@dataclass(frozen=True, slots=True)
class FunctionParser:
    """A custom parse function, its links capped; rules read a plain bs4 tree of the page."""

    parse: ParseFn

    def read(
        self, url: str, body: bytes, headers: Mapping[str, str], max_links: int
    ) -> tuple[PageFields, object | None]:
        """The function's fields, at most ``max_links`` links of them."""
        return cap_links(self.parse(url, body, headers), max_links), None

    def tree(self, url: str, body: bytes, headers: Mapping[str, str]) -> object:
        """The page's bs4 tree, as the markup came (the function kept nothing)."""
        from bs4 import BeautifulSoup  # noqa: PLC0415 (only a custom parse with rules needs it)

        markup, _ = decode_html(body, headers.get("content-type"))
        return BeautifulSoup(markup, "lxml")


def parser_for(parse: ParseFn, *, lxml_rules: bool = False, soup_rules: bool = False) -> Parser:
    """The parser that runs ``parse``: a built-in one's own path, else the function itself.

    Chosen once per processor: the built-in functions have paths that also give the tree
    the job's rules read (``lxml_rules``: rules cssselect runs; ``soup_rules``: soupsieve).
    """
    if parse is parse_page_lxml:
        return LxmlParser(keeps_tree=lxml_rules)
    if parse is parse_page:
        return SoupParser(keeps_tree=soup_rules)
    return FunctionParser(parse)


def reads_lxml(parse: ParseFn) -> bool:
    """True when ``parse`` is the fast path, whose lxml tree rules cssselect runs can read."""
    return parse is parse_page_lxml
