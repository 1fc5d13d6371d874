"""The page-lines sink: one short line per record, for a person watching a terminal.

Whole records (page text included) would flood the screen; this shows what was fetched.
It prints through a callable it is given, so the CLI can keep its progress bars intact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from crawler.models import Record


class PageLines:
    """Emits ``STATUS URL  title`` (or ``STATUS URL  [error code]``) for each record."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit

    async def open(self) -> None:
        """Nothing to prepare."""

    async def write(self, records: Sequence[Record]) -> None:
        """Emit a line per record."""
        for record in records:
            self._emit(page_line(record))

    async def close(self) -> None:
        """Nothing to finish."""


def page_line(record: Record) -> str:
    """One record as a line: status (``---`` without a response), URL, title or error code."""
    status = record["status"] if record["status"] is not None else "---"
    line = f"{status} {record['url']}"
    error = record["error"]
    if error is not None:
        return f"{line}  [{error['code']}]"
    title = record["title"]
    return f"{line}  {title}" if title else line
