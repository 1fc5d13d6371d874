"""Named fields pulled from a parsed page by CSS selector, as the job file's ``extract`` asks.

It owns compiling and applying those rules inside the workers; it does not parse HTML or
decide which pages are parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import soupsieve
from bs4 import Tag

from crawler.errors import ConfigError
from crawler.settings import ExtractSettings, FieldRule


@dataclass(frozen=True, slots=True)
class _CompiledField:
    """One field's rule, compiled; pickles by its pattern strings."""

    selector: soupsieve.SoupSieve
    attr: str | None
    all: bool
    regex: re.Pattern[str] | None
    default: Any

    def value_of(self, root: Tag) -> Any:
        if self.all:
            values = [value for el in self.selector.select(root) if (value := self._take(el))]
            if self.regex is not None:
                values = [kept for value in values if (kept := _search(self.regex, value))]
            return values or self._fallback()
        # select_one would stop at the first match even when it is empty; a page often
        # has an empty placeholder before the element that holds the value
        for el in self.selector.iselect(root):
            value = self._take(el)
            if value:
                found = _search(self.regex, value) if self.regex is not None else value
                if found:
                    return found
                break
        return self._fallback()

    def _fallback(self) -> Any:
        if self.default is None:
            return [] if self.all else None
        # a copy: one default list must not be shared, and mutated, by every record
        return list(self.default) if isinstance(self.default, list) else self.default

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
    fields: dict[str, _CompiledField]


class Extractor:
    """Compiled extraction rules, applied to one page at a time; picklable.

    ``extract.fields`` apply to every page; each ``extract.rules`` entry adds its fields
    (overriding a global field of the same name) to pages whose URL its ``match`` searches.
    """

    def __init__(self, settings: ExtractSettings) -> None:
        """Compile ``settings``.

        Raises:
            ConfigError: a regex or CSS selector does not compile; the message names its key.
        """
        self._fields = _compile_fields("extract.fields", settings.fields)
        self._rules = tuple(
            _CompiledRule(
                _compile_regex(f"extract.rules[{index}].match", rule.match),
                _compile_fields(f"extract.rules[{index}].fields", rule.fields),
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

    def fields_for(self, url: str, soup: Tag) -> dict[str, Any]:
        """The named fields of the page at ``url``, parsed as ``soup``.

        Values are plain ``str`` (or lists of them, or a field's ``default``): nothing that
        drags the tree into pickle.
        """
        rules = dict(self._fields)
        for rule in self._rules:
            if rule.match.search(url):
                rules.update(rule.fields)
        return {name: field.value_of(soup) for name, field in rules.items()}


def _compile_fields(path: str, fields: dict[str, FieldRule]) -> dict[str, _CompiledField]:
    return {name: _compile_field(f"{path}.{name}", rule) for name, rule in fields.items()}


def _compile_field(path: str, rule: FieldRule) -> _CompiledField:
    try:
        selector = soupsieve.compile(rule.css)
    except (soupsieve.SelectorSyntaxError, NotImplementedError, ValueError) as exc:
        # NotImplementedError is soupsieve's answer to pseudo-elements (``p::before``);
        # its syntax errors draw the selector and a caret over several lines
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"{path}.css: not a valid CSS selector: {reason}") from exc
    regex = _compile_regex(f"{path}.regex", rule.regex) if rule.regex is not None else None
    return _CompiledField(selector, rule.attr, rule.all, regex, rule.default)


def _compile_regex(path: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{path}: not a valid regex: {exc}") from exc
