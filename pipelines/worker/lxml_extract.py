"""The job's CSS fields taken from lxml's tree (cssselect), for the fast parse path.

It owns compiling a field's rule to an XPath over an lxml tree and taking the
same text and attribute values the bs4 path takes; ``all``, ``regex``, ``default`` and
per-URL rules are extract.py's, shared. Selectors beyond the subset where cssselect and
soupsieve agree are left to the bs4 path (``lxml_extractor`` answers None).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError

from pipelines.worker.extract import (
    Extractor,
    absolute_values,
    compile_regex,
    pick_value,
    resolves,
)
from pipelines.worker.lxml_parse import text_nodes
from pipelines.worker.parse import document_base, normalize_space

if TYPE_CHECKING:
    # Only annotations: the schema (and pydantic) stays out of workers that never see it.
    from crawler.settings import ExtractSettings, FieldRule

_PSEUDO = re.compile(r":+([-\w]+)")
_ATTRIBUTE_TEST = re.compile(r"\[\s*([-\w]+)\s*[~|^$*]?=")
SAFE_PSEUDO_CLASSES = frozenset(
    {
        "not",
        "root",
        "first-child",
        "last-child",
        "only-child",
        "nth-child",
        "nth-last-child",
        "first-of-type",
        "last-of-type",
        "only-of-type",
        "nth-of-type",
        "nth-last-of-type",
    }
)
"""Pseudo-classes cssselect and soupsieve agree on; any other (``:has``, ``:contains``,
``:checked``, ``:empty``, ...) sends the job's extraction to the bs4 path, as does an
attribute value test on an attribute soupsieve compares in its own way (``[type=text]``,
``[class="a b"]``)."""

# Attributes whose values selectors compare ignoring ASCII case on an HTML page, as the HTML
# standard lists them ("Case-sensitivity of selectors"). Our own copy: soupsieve keeps its
# list in an internal module, and the soupsieve an older Python 3.11 gets has none. A
# selector testing one of these takes the bs4 path, whatever a soupsieve version does with
# it, so both paths agree either way.
_HTML_CASE_INSENSITIVE_ATTRIBUTES = frozenset(
    {
        "accept", "accept-charset", "align", "alink", "axis", "bgcolor", "charset", "checked",
        "clear", "codetype", "color", "compact", "declare", "defer", "dir", "direction",
        "disabled", "enctype", "face", "frame", "hreflang", "http-equiv", "lang", "language",
        "link", "media", "method", "multiple", "nohref", "noresize", "noshade", "nowrap",
        "readonly", "rel", "rev", "rules", "scope", "scrolling", "selected", "shape", "target",
        "text", "type", "valign", "valuetype", "vlink",
    }
)  # fmt: skip

# bs4's HTML builder splits these attributes on whitespace and the bs4 path joins the
# parts with one space: the same normalisation here keeps ``attr = "class"`` identical
_MULTI_VALUED: dict[str, frozenset[str]] = {
    "*": frozenset({"class", "accesskey", "dropzone"}),
    "a": frozenset({"rel", "rev"}),
    "link": frozenset({"rel", "rev"}),
    "td": frozenset({"headers"}),
    "th": frozenset({"headers"}),
    "form": frozenset({"accept-charset"}),
    "object": frozenset({"archive"}),
    "area": frozenset({"rel"}),
    "icon": frozenset({"sizes"}),
    "iframe": frozenset({"sandbox"}),
    "output": frozenset({"for"}),
}


class LxmlField:
    """One field's rule compiled for lxml; pickles as its rule and compiles again."""

    __slots__ = ("_selector", "absolute", "path", "regex", "rule")

    def __init__(self, path: str, rule: FieldRule) -> None:
        """Compile ``rule``'s selector with cssselect (HTML rules) and its regex.

        Raises:
            ConfigError: the regex does not compile.
            SelectorError: cssselect cannot express the selector.
        """
        self.path = path
        self.rule = rule
        self._selector = CSSSelector(rule.css, translator="html")
        self.regex = compile_regex(f"{path}.regex", rule.regex) if rule.regex else None
        self.absolute = resolves(rule)

    def __reduce__(self) -> tuple[type[LxmlField], tuple[str, FieldRule]]:
        # an XPath object does not pickle; its source does
        return (LxmlField, (self.path, self.rule))

    def value_of(self, root: etree._Element, base: str) -> Any:
        """The field's value on the page whose (invisible-free) tree is ``root``."""
        matches = cast(list[etree._Element], self._selector(root))
        values: Iterable[str] = (self._take(el) for el in matches)
        if self.absolute:
            values = absolute_values(values, base)
        return pick_value(values, self.rule.all, self.regex, self.rule.default)

    def _take(self, el: etree._Element) -> str:
        attr = self.rule.attr
        if attr is None:
            return normalize_space(" ".join(text_nodes(el)))
        value = el.get(attr)
        if value is None:
            return ""
        if attr in _MULTI_VALUED["*"] or attr in _MULTI_VALUED.get(str(el.tag), ()):
            return normalize_space(value)
        return value.strip()


def lxml_extractor(settings: ExtractSettings) -> Extractor | None:
    """An ``Extractor`` for lxml trees; None when a selector needs the bs4 path.

    It reads only the selectors' text: what it returns pickles without bs4 or soupsieve.

    Raises:
        ConfigError: a regex does not compile (selectors are checked by ``Extractor``).
    """
    rules = [*settings.fields.values(), *(f for r in settings.rules for f in r.fields.values())]
    if not all(_safe_for_lxml(rule.css) for rule in rules):
        return None
    try:
        return Extractor(settings, compile_field=LxmlField, base_of=_tree_base)
    except SelectorError:
        return None


def _tree_base(root: etree._Element, url: str) -> str:
    # the first <base> with an href, as the page's links take it (lxml_parse.py)
    for base in root.iter("base"):
        href = base.get("href")
        if href is not None:
            return document_base(href, url)
    return url


def _safe_for_lxml(css: str) -> bool:
    """True when cssselect matches ``css`` exactly as soupsieve does on an HTML page."""
    if not all(name.lower() in SAFE_PSEUDO_CLASSES for name in _PSEUDO.findall(css)):
        return False
    if "|" in css.replace("|=", ""):
        return False  # a namespace (svg|a): soupsieve's to resolve, cssselect's XPath cannot
    # soupsieve may compare the values of these attributes ignoring case (as HTML says),
    # and multi-valued ones (class, rel) with their whitespace normalised; cssselect does
    # neither
    special = _HTML_CASE_INSENSITIVE_ATTRIBUTES | frozenset().union(*_MULTI_VALUED.values())
    return not any(name.lower() in special for name in _ATTRIBUTE_TEST.findall(css))
