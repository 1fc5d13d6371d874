"""``llms.txt`` and ``llms-full.txt`` for a crawled site, from its pages' summaries.

The llmstxt.org format: the site's title as ``#``, its description as ``>``, then one ``##``
section per first folder of the pages' paths with a ``- [Title](url): description`` line per
page. ``llms-full.txt`` holds every page's Markdown in turn. Pure: the caller writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

ROOT_SECTION = "Pages"
"""The section of the pages at the top of the site (``/``, ``/about``)."""

PAGE_SEPARATOR = "\n\n---\n\n"
"""Between pages in ``llms-full.txt``; a page's own ``---`` rules become ``***`` (the same
rule in Markdown) so that this line only ever separates pages."""

_MARKDOWN_SPECIAL = re.compile(r"([\\\[\]*_`<>])")
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}
_RULE = re.compile(r"^ {0,3}-{3,}\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


@dataclass(frozen=True)
class PageSummary:
    """What the two files need of one page."""

    url: str
    title: str | None = None
    description: str | None = None
    markdown: str = ""


def llms_files(
    pages: Iterable[PageSummary], *, site_title: str, site_description: str | None = None
) -> tuple[str, str]:
    """The texts of ``llms.txt`` and ``llms-full.txt``, pages in the order given."""
    listed = list(pages)
    return (
        llms_txt(listed, site_title=site_title, site_description=site_description),
        llms_full_txt(listed, site_title=site_title, site_description=site_description),
    )


def llms_txt(
    pages: Sequence[PageSummary], *, site_title: str, site_description: str | None = None
) -> str:
    """``llms.txt``: the site's pages as link lists, one section per first folder."""
    index = LlmsIndex()
    for page in pages:
        index.add(page)
    return index.text(site_title=site_title, site_description=site_description)


def llms_full_txt(
    pages: Sequence[PageSummary], *, site_title: str, site_description: str | None = None
) -> str:
    """``llms-full.txt``: each page's Markdown under its title and URL, pages set apart."""
    blocks = [llms_head(site_title, site_description)]
    blocks += [llms_full_block(page) for page in pages]
    return PAGE_SEPARATOR.join(blocks) + "\n"


class LlmsIndex:
    """``llms.txt`` made a page at a time: the pages' link lines, kept by section (what the
    file itself holds; never their Markdown)."""

    def __init__(self) -> None:
        self._lines: list[tuple[str | None, str, str]] = []  # host, section, line
        self._hosts: set[str | None] = set()

    def add(self, page: PageSummary) -> None:
        """List ``page``: a link under its title, with its description."""
        line = f"- [{_inline(page.title or _fallback_title(page.url))}]({_link(page.url)})"
        if page.description and _one_line(page.description):
            line += f": {_one_line(page.description)}"
        host = urlsplit(page.url).hostname
        self._hosts.add(host)
        self._lines.append((host, _section(page.url), line))

    def text(self, *, site_title: str, site_description: str | None = None) -> str:
        """The file's text: the pages in the order added, grouped by section."""
        several_hosts = len(self._hosts) > 1
        sections: dict[str, list[str]] = {}
        for host, name, line in self._lines:
            key = f"{host}: {name}" if several_hosts else name
            sections.setdefault(key, []).append(line)
        parts = [llms_head(site_title, site_description)]
        parts += [f"## {name}\n\n" + "\n".join(lines) for name, lines in sections.items()]
        return "\n\n".join(parts) + "\n"


def llms_full_block(page: PageSummary) -> str:
    """One page's part of ``llms-full.txt``: its title, its URL and its Markdown."""
    title = _inline(page.title or _fallback_title(page.url))
    body = _without_rules(page.markdown.strip())
    return f"# {title}\n\nSource: {_link(page.url)}" + (f"\n\n{body}" if body else "")


def llms_head(title: str, description: str | None) -> str:
    """The top of both files: the site's title as ``#``, its description as ``>``."""
    head = f"# {_one_line(title) or 'Site'}"
    if description and _one_line(description):
        head += f"\n\n> {_one_line(description)}"
    return head


def _section(url: str) -> str:
    segments = [segment for segment in urlsplit(url).path.split("/") if segment]
    # a page at the top (its path has no folder) belongs to the site, not to a section
    return ROOT_SECTION if len(segments) < 2 else _humanised(segments[0])


def _humanised(segment: str) -> str:
    words = _one_line(unquote(segment).replace("-", " ").replace("_", " "))
    return _inline(words[:1].upper() + words[1:]) if words else ROOT_SECTION


def _fallback_title(url: str) -> str:
    parts = urlsplit(url)
    last = unquote(parts.path.rstrip("/").rpartition("/")[2])
    return last or parts.hostname or url


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _inline(text: str) -> str:
    """``text`` on one line with Markdown's link and emphasis marks escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))


def _link(url: str) -> str:
    """``url`` safe inside ``(...)``: what would end the link percent-encoded."""
    return "".join(_URL_UNSAFE.get(char, char) for char in url.strip())


def _without_rules(markdown: str) -> str:
    lines = markdown.split("\n")
    inside_fence = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            inside_fence = not inside_fence
        elif not inside_fence and _RULE.match(line):
            lines[index] = "***"
    return "\n".join(lines)
