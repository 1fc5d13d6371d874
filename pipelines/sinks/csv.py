"""The CSV sink: chosen record columns, one row per record, written via a ``.partial`` file.

Rows go to ``<name>.partial`` as they come and land on the target only in ``close()``;
with a crawl state they go to the target itself, which the state keeps resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os

from crawler.errors import OutputError
from crawler.models import Record, value_at
from pipelines.sinks import ResumableFile, make_parent_folder
from pipelines.sinks.tails import cut_torn_row

PARTIAL_SUFFIX = ".partial"
ENCODING = "utf-8"


def column_value(record: Mapping[str, Any], column: str) -> str:
    """The CSV text of ``column`` in ``record``; dotted names reach into nested dicts.

    A missing key (or a dotted name through a None) is empty, like None itself.
    """
    return cell_text(value_at(record, column))


def cell_text(value: Any) -> str:
    """One cell: None is empty, bools are ``true``/``false``, lists and dicts are JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def row_ends(data: bytes) -> list[int]:
    """Where each whole row of CSV ``data`` ends (the offset past its line end).

    A newline inside a quoted field does not end a row: a field is quoted from one ``"``
    to the next (an escaped ``""`` toggles twice), so a row ends at a newline after an even
    number of quotes. Works on the UTF-8 bytes: ``"`` and newline never occur inside a
    multi-byte character.
    """
    ends = []
    quotes = start = 0
    while (newline := data.find(b"\n", start)) != -1:
        quotes += data.count(b'"', start, newline)
        start = newline + 1
        if quotes % 2 == 0:
            ends.append(start)
    return ends


def encode_rows(rows: Sequence[Sequence[str]]) -> str:
    """The CSV text of ``rows``: RFC 4180 quoting, CRLF line ends."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerows(rows)
    return buffer.getvalue()


class CsvSink:
    """Writes the ``columns`` of every record to the CSV file ``path``, replacing it on close.

    Until ``close()``, rows live in ``<path>.partial`` beside the target, so a crash never
    leaves a half-written target; the previous target, if any, stays as it was. Each batch
    is one write of whole rows followed by a flush, so if the process is killed (SIGKILL)
    the ``.partial`` file still holds the header and every row of each batch written so far.

    ``in_place`` (a crawl with a state) writes the target itself instead: the state records
    ``offset`` with each checkpoint and repairs the file after a crash (``row_ends``), and
    a resumed crawl (``append``) carries on at its end, rows the file lacks (``backfill``)
    first. A process of a shared crawl writes in place and appends too (no state: a torn
    last row is cut first); the header is written only to an empty file.
    """

    def __init__(
        self,
        path: str | Path,
        columns: Sequence[str],
        *,
        in_place: bool = False,
        append: bool = False,
    ) -> None:
        if not columns:
            raise ValueError("CsvSink needs at least one column")
        self.path = Path(path)
        self.in_place = in_place
        self.append = append and in_place
        self.partial_path = self.path.with_name(self.path.name + PARTIAL_SUFFIX)
        self._writing = self.path if in_place else self.partial_path
        self.columns = tuple(columns)
        self._file: Any = None
        self._failed = False
        self._backfill: list[Record] = []
        # Bytes known to hold whole rows; a failed write is cut back to this on close.
        self._good_size = 0

    @property
    def offset(self) -> int:
        """How many bytes of the file hold whole rows (header included)."""
        return self._good_size

    @property
    def resumable(self) -> ResumableFile | None:
        """Written in place, its rows are cut back to a checkpoint and backfilled; via
        ``.partial`` it is replaced whole at the end, and nothing is resumed."""
        if not self.in_place:
            return None
        return ResumableFile(self, row_ends, header_rows=1, backfill=self.backfill)

    def backfill(self, records: Sequence[Record]) -> None:
        """Write ``records`` first when the sink opens (a resumed crawl's missing rows)."""
        self._backfill = list(records)

    async def open(self) -> None:
        """Create ``<path>.partial`` and write the header row.

        Raises:
            OutputError: exit 2 when the folder is missing, not writable, or the target
                is a directory.
        """
        if await aiofiles.os.path.isdir(self.path):
            raise OutputError(f"cannot write {self.path}: is a directory", exit_code=2)
        await make_parent_folder(self.path)
        try:
            if self.append and await aiofiles.os.path.isfile(self._writing):
                await asyncio.to_thread(cut_torn_row, self._writing, row_ends)
            self._file = await aiofiles.open(
                self._writing,
                "a" if self.append else "w",
                encoding=ENCODING,
                errors="replace",
                newline="",
            )
            self._good_size = await aiofiles.os.path.getsize(self._writing)
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.path}: {exc.strerror or exc}", exit_code=2
            ) from exc
        try:
            if self._good_size == 0:
                await self._write_text(encode_rows([self.columns]))
        except OutputError as exc:
            await self._discard()
            raise OutputError(str(exc), exit_code=2) from exc
        backfill, self._backfill = self._backfill, []
        await self.write(backfill)

    async def write(self, records: Sequence[Record]) -> None:
        """Append one row per record.

        Raises:
            OutputError: exit 1 when the disk fails (full, I/O error).
        """
        if not records:
            return
        if self._file is None:
            raise OutputError(f"cannot write {self.path}: the CSV sink is not open")
        if self._failed:
            # Appending after a failed write would follow a half row; the crawl must stop.
            raise OutputError(f"cannot write {self.path}: an earlier write failed")
        rows = [[column_value(record, column) for column in self.columns] for record in records]
        await self._write_text(encode_rows(rows))

    async def close(self) -> None:
        """Move the rows written so far onto the target (in place: just sync them).

        A no-op when not open.

        Raises:
            OutputError: exit 1 when the file cannot be finished or renamed; the rows then
                stay in ``<path>.partial``.
        """
        if self._file is None:
            return
        file, self._file = self._file, None
        # After a failed write, half a row may be on disk or still buffered (so closing can
        # fail again); the truncate drops it, so only whole rows reach the target.
        with contextlib.suppress(OSError):
            await file.close()
        try:
            await aiofiles.os.wrap(_truncate_and_sync)(self._writing, self._good_size)
            if not self.in_place:
                await aiofiles.os.replace(self.partial_path, self.path)
        except OSError as exc:
            raise OutputError(f"cannot finish {self.path}: {exc.strerror or exc}") from exc

    async def _write_text(self, text: str) -> None:
        try:
            await self._file.write(text)
            # The flush makes the batch one write to the OS: rows never straddle batches.
            await self._file.flush()
        except OSError as exc:
            self._failed = True
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._good_size += len(text.encode(ENCODING, "replace"))

    async def _discard(self) -> None:
        file, self._file = self._file, None
        # Already failing: the open error is the one to tell.
        with contextlib.suppress(OSError):
            await file.close()
        if self.append:
            return  # the rows of the runs before are the user's
        with contextlib.suppress(OSError):
            await aiofiles.os.remove(self._writing)


def _truncate_and_sync(path: Path, size: int) -> None:
    # The fsync before the rename: otherwise a power cut could leave an empty target.
    with path.open("r+b") as file:
        if os.fstat(file.fileno()).st_size != size:
            file.truncate(size)
        os.fsync(file.fileno())
