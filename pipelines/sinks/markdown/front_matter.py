"""The YAML front matter at the top of each page's Markdown file: what the page is and when.

Strings are always double-quoted YAML scalars with every character that could end, bend or
hide them escaped, so a page title can never add a key or break the block. ``read_front_matter``
reads back what ``front_matter`` wrote (llms.txt is made from the files), not YAML at large.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\0"}
_UNESCAPES = {value[1:]: key for key, value in _ESCAPES.items()}
_ESCAPED = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")
_NEEDS_ESCAPE = re.compile(
    r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]'
)  # quotes, controls, the C1 block, line separators, BOM and lone surrogates


def front_matter(
    *,
    url: str,
    title: str | None,
    fetched_at: datetime | str | None,
    lang: str | None,
    depth: int | None,
    description: str | None = None,
) -> str:
    """The ``---``-fenced YAML block for one page, ending with a newline.

    Args:
        url: the page's URL.
        title: its title, None when it has none (written as ``null``).
        fetched_at: when it was fetched; a datetime is written in ISO 8601.
        lang: its language code.
        depth: how many links from a seed it was found.
        description: its summary (meta description), for llms.txt.
    """
    when = fetched_at.isoformat() if isinstance(fetched_at, datetime) else fetched_at
    fields: list[tuple[str, str | int | None]] = [
        ("url", url),
        ("title", title),
        ("description", description),
        ("fetched_at", when),
        ("lang", lang),
        ("depth", depth),
    ]
    lines = [f"{key}: {yaml_scalar(value)}" for key, value in fields]
    return "---\n" + "\n".join(lines) + "\n---\n"


def yaml_scalar(value: str | int | None) -> str:
    """``value`` as one YAML scalar: ``null``, an integer, or a double-quoted string."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # a bool is an int to Python, not a number to YAML
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    if "\ud800" <= char <= "\udfff":
        return "\\ufffd"  # a lone surrogate is no character YAML can carry: the replacement
    return f"\\u{ord(char):04x}"


def read_front_matter(lines: Iterable[str]) -> dict[str, str | int | None] | None:
    """The fields of the front matter that ``lines`` (a file's, newlines kept) start with;
    None when they do not start with one ``front_matter`` could have written.

    It reads only what it needs: the lines up to the closing ``---``.
    """
    found = iter(lines)
    if next(found, None) != "---\n":
        return None
    fields: dict[str, str | int | None] = {}
    for line in found:
        if line == "---\n":
            return fields
        key, colon, value = line.rstrip("\n").partition(": ")
        if not colon:
            return None
        fields[key] = _scalar(value)
    return None  # no closing line: not a whole front matter


def _scalar(text: str) -> str | int | None:
    if text == "null":
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return _ESCAPED.sub(_unescape, text[1:-1])
    try:
        return int(text)
    except ValueError:
        return text


def _unescape(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if escaped.startswith("u"):
        return chr(int(escaped[1:], 16))
    return _UNESCAPES.get(escaped, escaped)
