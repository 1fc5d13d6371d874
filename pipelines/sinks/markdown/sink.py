"""The Markdown folder sink: each page's main content as a Markdown file with front matter,
and ``llms.txt`` / ``llms-full.txt`` made from the folder when the crawl ends.

It runs in the main process before the other sinks, so a record names its file
(``markdown_file``, relative to the folder) wherever it is written. File work goes to a
thread, a batch at a time: the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.errors import InvalidUrl
from crawler.models import Record
from pipelines.sinks.markdown.folder import MarkdownFolder
from pipelines.sinks.markdown.front_matter import front_matter
from pipelines.sinks.markdown.llms_output import write_llms_files
from pipelines.sinks.markdown.paths import markdown_path

if TYPE_CHECKING:
    from pipelines.sinks import ResumableFile

GONE, UNCHANGED = "gone", "unchanged"
"""The values of a recrawl's ``change`` that leave a page's file as it is."""


class MarkdownSink:
    """Writes each record's ``markdown`` to ``folder``/``markdown_path(final URL)``.

    A page with main content gets its file, written whole (a resumed crawl or a recrawl
    rewrites the same file: never a second one). A record names it in ``markdown_file``;
    None when the page has no file (an error, no main content). In a recrawl an unchanged
    page keeps its file and names it; a page found gone keeps its file too, is listed in
    the folder's ``_gone.txt`` and left out of ``llms.txt`` (until it comes back).

    Args:
        folder: the Markdown folder; None: a temporary one, for ``llms.txt`` alone
            (records then name no file, and the folder is removed at the end).
        llms_txt, llms_full_txt: where to write the two files when the crawl ends; None:
            not written.
        site_title, site_description: their head; default: the home page's.
    """

    def __init__(
        self,
        folder: str | Path | None,
        *,
        llms_txt: str | Path | None = None,
        llms_full_txt: str | Path | None = None,
        site_title: str | None = None,
        site_description: str | None = None,
    ) -> None:
        self._given = folder
        self._folder: MarkdownFolder | None = None
        self._llms = (llms_txt, llms_full_txt) if llms_txt and llms_full_txt else None
        self._site = (site_title, site_description)
        self._gone: dict[str, None] = {}
        self._gone_read: frozenset[str] = frozenset()
        self._closed = False

    @property
    def resumable(self) -> ResumableFile | None:
        """None: each page's file is written whole, again on a resumed crawl."""
        return None

    async def open(self) -> None:
        """Create the folder (or a temporary one) and read its gone list.

        Raises:
            OutputError: exit 2: the folder cannot be made or read.
        """
        root = self._given
        if root is None:
            root = await asyncio.to_thread(tempfile.mkdtemp, prefix="parcrawl-md-")
        folder = self._folder = MarkdownFolder(root)
        await asyncio.to_thread(folder.prepare)
        self._gone = await asyncio.to_thread(folder.read_gone)
        self._gone_read = frozenset(self._gone)

    async def write(self, records: Sequence[Record]) -> None:
        """Write the files of ``records``' pages and name them in the records.

        Raises:
            OutputError: a file could not be written (disk full, permissions).
        """
        assert self._folder is not None, "write before open"
        names = await asyncio.to_thread(self._write_batch, self._folder, records)
        if self._given is not None:
            for record, name in zip(records, names, strict=True):
                record["markdown_file"] = name

    async def close(self) -> None:
        """Write the gone list and the llms files; remove a temporary folder. Safe twice."""
        folder, self._folder = self._folder, None
        if folder is None or self._closed:
            return
        self._closed = True
        try:
            if self._gone.keys() != self._gone_read:
                await asyncio.to_thread(folder.write_gone, self._gone)
            if self._llms is not None:
                txt, full = self._llms
                await asyncio.to_thread(
                    write_llms_files,
                    folder,
                    txt,
                    full,
                    site_title=self._site[0],
                    site_description=self._site[1],
                    leave_out=self._gone,
                )
        finally:
            if self._given is None:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(shutil.rmtree, folder.root)

    def _write_batch(self, folder: MarkdownFolder, records: Sequence[Record]) -> list[str | None]:
        """Each record's file name, its file written (in a thread: it blocks)."""
        return [self._write_page(folder, record) for record in records]

    def _write_page(self, folder: MarkdownFolder, record: Record) -> str | None:
        url = record["final_url"] or record["url"]
        change = record.get("change")
        if change == GONE:
            self._gone[url] = None
            return None
        markdown = record.get("markdown")
        has_content = record["error"] is None and bool(markdown and markdown.strip())
        if not has_content and change != UNCHANGED:
            return None
        try:
            name = markdown_path(url)
        except InvalidUrl:
            return None
        if markdown and has_content:
            folder.write(name, _page_file(record, record.get("meta"), markdown))
            self._gone.pop(url, None)  # back again
            return name
        return name if folder.has(name) else None  # unchanged: its file stays


def _page_file(record: Record, meta: Any, markdown: str) -> str:
    """The file's text: the front matter, a blank line, the Markdown."""
    meta = meta if isinstance(meta, dict) else {}
    head = front_matter(
        url=record["final_url"] or record["url"],
        title=_text(meta.get("title")) or record.get("title"),
        description=_text(meta.get("description")) or record.get("description"),
        fetched_at=record["fetched_at"],
        lang=_text(meta.get("lang")) or record.get("lang"),
        depth=record["depth"],
    )
    return f"{head}\n{markdown}" if markdown.endswith("\n") else f"{head}\n{markdown}\n"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
