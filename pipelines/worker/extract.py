"""Named fields pulled from a parsed page by CSS selector, as the job file's ``extract`` asks.

It owns compiling and applying those rules inside the workers; it does not parse HTML or
decide which pages are parsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin

from crawler.errors import ConfigError
from pipelines.worker.parse import document_base

if TYPE_CHECKING:
    import soupsieve
    from bs4 import Tag

    # Only annotations: the schema (and pydantic) stays out of workers that never see it.
    from crawler.settings import ExtractSettings, FieldRule


URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "cite", "poster", "data", "background", "longdesc"}
)
"""Attributes that hold one URL: a field taking one gives absolute URLs unless
``absolute = false`` (``srcset`` holds several, with sizes: it is left as written)."""


class CompiledField(Protocol):
    """One field's rule, compiled for one kind of tree (bs4 here, lxml in lxml_extract)."""

    @property
    def absolute(self) -> bool:
        """True when the field's values are resolved against the page's base URL."""
        ...

    def value_of(self, root: Any, base: str) -> Any:
        """The field's value on the page whose tree is ``root`` and base URL ``base``."""
        ...


BaseFinder = Callable[[Any, str], str]
"""The base URL of a page's tree (its first ``<base href>``, else its URL): for one kind of
tree, as ``FieldCompiler`` is."""


def resolves(rule: FieldRule) -> bool:
    """True when ``rule``'s values are made absolute URLs: ``absolute``, else its attribute."""
    if rule.absolute is not None:
        return rule.absolute
    return rule.attr is not None and rule.attr.lower() in URL_ATTRIBUTES


def absolute_values(values: Iterable[str], base: str) -> Iterable[str]:
    """``values`` as absolute URLs against ``base``; empty ones stay empty (no value).

    Fragments and other schemes (``mailto:``) are kept: the value is what the page says,
    made absolute, not a link the crawl would follow.
    """
    for value in values:
        if not value:
            yield value
            continue
        try:
            yield urljoin(base, value)
        except ValueError:  # a broken URL (``http://[::1``) is kept as the page wrote it
            yield value


def pick_value(
    values: Iterable[str], every: bool, regex: re.Pattern[str] | None, default: Any
) -> Any:
    """A field's value from what its selector's matches yield, in page order.

    ``values`` is consumed lazily: a single-valued field stops at the first non-empty one.
    Shared by both parse paths, so ``all``, ``regex`` and ``default`` mean the same on each.
    """
    if every:
        kept = [value for value in values if value]
        if regex is not None:
            kept = [found for value in kept if (found := _search(regex, value))]
        return kept or _fallback(default, every)
    # the first match could be empty: a page often has an empty placeholder before the
    # element that holds the value, so the first non-empty one counts
    for value in values:
        if value:
            found = _search(regex, value) if regex is not None else value
            if found:
                return found
            break
    return _fallback(default, every)


def _fallback(default: Any, every: bool) -> Any:
    if default is None:
        return [] if every else None
    # a copy: one default list must not be shared, and mutated, by every record
    return list(default) if isinstance(default, list) else default


@dataclass(frozen=True, slots=True)
class _CompiledField:
    """One field's rule, compiled; pickles by its pattern strings."""

    selector: soupsieve.SoupSieve
    attr: str | None
    all: bool
    regex: re.Pattern[str] | None
    default: Any
    absolute: bool

    def value_of(self, root: Tag, base: str) -> Any:
        values: Iterable[str] = (self._take(el) for el in self.selector.iselect(root))
        if self.absolute:
            values = absolute_values(values, base)
        return pick_value(values, self.all, self.regex, self.default)

    def _take(self, el: Tag) -> str:
        if self.attr is None:
            return " ".join(el.get_text(" ").split())
        value = el.get(self.attr)
        if value is None:
            return ""
        if isinstance(value, list):  # multi-valued attributes such as class or rel
            return " ".join(str(part) for part in value)
        return str(value).strip()


def _search(regex: re.Pattern[str], value: str) -> str | None:
    """Group 1 of ``regex`` in ``value`` when it has groups, else the whole match."""
    match = regex.search(value)
    if match is None:
        return None
    kept: str | None = match.group(1) if regex.groups else match.group(0)
    # an optional group that took no part in the match is no value, nor is an empty one
    return kept or None


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    match: re.Pattern[str]
    fields: dict[str, CompiledField]


FieldCompiler = Callable[[str, "FieldRule"], CompiledField]
"""Compiles one field's rule (given its key path for error messages) for one kind of tree."""


class Extractor:
    """Compiled extraction rules, applied to one page at a time; picklable.

    ``extract.fields`` apply to every page; each ``extract.rules`` entry adds its fields
    (overriding a global field of the same name) to pages whose URL its ``match`` searches.
    """

    def __init__(
        self,
        settings: ExtractSettings,
        compile_field: FieldCompiler | None = None,
        base_of: BaseFinder | None = None,
    ) -> None:
        """Compile ``settings``, for bs4 trees unless ``compile_field`` and ``base_of`` (the
        same kind of tree's) say otherwise.

        Raises:
            ConfigError: a regex or CSS selector does not compile; the message names its key.
        """
        compiler = compile_field or _compile_field
        self._base_of = base_of or _soup_base
        self._fields = _compile_fields("extract.fields", settings.fields, compiler)
        self._rules = tuple(
            _CompiledRule(
                compile_regex(f"extract.rules[{index}].match", rule.match),
                _compile_fields(f"extract.rules[{index}].fields", rule.fields, compiler),
            )
            for index, rule in enumerate(settings.rules)
        )

    @staticmethod
    def validate(settings: ExtractSettings) -> None:
        """Check every regex and CSS selector of ``settings`` compiles.

        Raises:
            ConfigError: naming the key, e.g. ``extract.fields.price.regex: not a valid regex``.
        """
        Extractor(settings)

    @property
    def empty(self) -> bool:
        """True when there are no fields and no rules: nothing to extract."""
        return not self._fields and not self._rules

    def fields_for(self, url: str, soup: Any) -> dict[str, Any]:
        """The named fields of the page at ``url``, parsed as ``soup`` (the compiler's tree).

        Values are plain ``str`` (or lists of them, or a field's ``default``): nothing that
        drags the tree into pickle.
        """
        rules = dict(self._fields)
        for rule in self._rules:
            if rule.match.search(url):
                rules.update(rule.fields)
        # looked up once a page, and only when a field wants it: a page without a <base>
        # costs a walk of the whole tree
        base = self._base_of(soup, url) if any(f.absolute for f in rules.values()) else url
        return {name: field.value_of(soup, base) for name, field in rules.items()}


def _compile_fields(
    path: str, fields: dict[str, FieldRule], compile_field: FieldCompiler
) -> dict[str, CompiledField]:
    return {name: compile_field(f"{path}.{name}", rule) for name, rule in fields.items()}


def _compile_field(path: str, rule: FieldRule) -> _CompiledField:
    # here, not above: soupsieve imports bs4, which the lxml path does without
    import soupsieve  # noqa: PLC0415

    try:
        selector = soupsieve.compile(rule.css)
    except (soupsieve.SelectorSyntaxError, NotImplementedError, ValueError) as exc:
        # NotImplementedError is soupsieve's answer to pseudo-elements (``p::before``);
        # its syntax errors draw the selector and a caret over several lines
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"{path}.css: not a valid CSS selector: {reason}") from exc
    regex = compile_regex(f"{path}.regex", rule.regex) if rule.regex is not None else None
    return _CompiledField(selector, rule.attr, rule.all, regex, rule.default, resolves(rule))


def _soup_base(soup: Tag, url: str) -> str:
    from bs4 import Tag  # noqa: PLC0415 (only a soup's page gets here: bs4 is loaded)

    # the first <base> with an href, as the page's links take it (parse.py)
    base = soup.find("base", href=True)
    href = base.get("href") if isinstance(base, Tag) else None
    return document_base(href if isinstance(href, str) else None, url)


def compile_regex(path: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{path}: not a valid regex: {exc}") from exc
