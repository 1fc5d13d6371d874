"""``llms.txt`` and ``llms-full.txt`` written from a Markdown folder, at a crawl's end.

The folder is the crawl's memory of its pages (a resumed crawl's and a recrawl's included),
so the files list every page it holds but those a recrawl found gone. Memory stays bounded:
one page's Markdown at a time goes to ``llms-full.txt``; ``llms.txt`` holds a line a page.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Container, Iterator
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from crawler.errors import OutputError
from pipelines.sinks.markdown.folder import TEMPORARY_PREFIX, MarkdownFolder
from pipelines.sinks.markdown.front_matter import read_front_matter
from pipelines.sinks.markdown.llms import (
    PAGE_SEPARATOR,
    LlmsIndex,
    PageSummary,
    llms_full_block,
    llms_head,
)

DEFAULT_TITLE = "Site"


def write_llms_files(
    folder: MarkdownFolder,
    txt: str | Path,
    full: str | Path,
    *,
    site_title: str | None = None,
    site_description: str | None = None,
    leave_out: Container[str] = (),
) -> int:
    """Write ``llms.txt`` to ``txt`` and ``llms-full.txt`` to ``full``, each whole or not at
    all, from the pages of ``folder``; returns how many pages they list.

    Args:
        site_title: the files' title; default: the home page's (a URL path of ``/``), else
            the first page's host.
        site_description: their summary line; default: the home page's description.
        leave_out: URLs not to list (pages a recrawl found gone).

    Raises:
        OutputError: a file cannot be written.
    """
    index = LlmsIndex()
    home: PageSummary | None = None
    first_host: str | None = None
    count = 0
    for page in _pages(folder, leave_out, with_markdown=False):
        index.add(page)
        count += 1
        first_host = first_host or urlsplit(page.url).hostname
        if home is None and urlsplit(page.url).path in ("", "/"):
            home = page
    title = site_title or (home.title if home else None) or first_host or DEFAULT_TITLE
    description = site_description or (home.description if home else None)
    _write_whole(
        Path(txt), lambda out: out.write(index.text(site_title=title, site_description=description))
    )

    def write_full(out: TextIO) -> None:
        out.write(llms_head(title, description))
        for page in _pages(folder, leave_out, with_markdown=True):
            out.write(PAGE_SEPARATOR)
            out.write(llms_full_block(page))
        out.write("\n")

    _write_whole(Path(full), write_full)
    return count


def _pages(
    folder: MarkdownFolder, leave_out: Container[str], *, with_markdown: bool
) -> Iterator[PageSummary]:
    """Each page file parcrawl wrote (its front matter names its URL), one at a time."""
    for path in folder.pages():
        try:
            with path.open(encoding="utf-8", errors="replace") as file:
                fields = read_front_matter(file)
                markdown = file.read() if with_markdown and fields is not None else ""
        except OSError:
            continue  # removed or unreadable since the walk: not a page to list
        if fields is None:
            continue  # a file of someone else's in the folder
        url, title, description = fields.get("url"), fields.get("title"), fields.get("description")
        if not isinstance(url, str) or url in leave_out:
            continue
        yield PageSummary(
            url,
            title if isinstance(title, str) else None,
            description if isinstance(description, str) else None,
            markdown,
        )


def _write_whole(path: Path, write: Callable[[TextIO], object]) -> None:
    temporary = path.with_name(f"{TEMPORARY_PREFIX}{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("w", encoding="utf-8", errors="replace") as out:
            write(out)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
