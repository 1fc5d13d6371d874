"""The JSON Lines sink: one record per line, to a file, stdout, a pipe or a device.

Each batch becomes one unbuffered write of whole lines, so an interrupted crawl leaves no
partial line behind. Streams (``-``, ``/dev/stdout``, ``/dev/null``, a FIFO) are written
as Unix tools write them: no seek, no fsync, and a closed pipe is ``OutputClosed``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os

from crawler.errors import OutputClosed, OutputError
from crawler.models import Record
from pipelines.sinks import is_stream, make_parent_folder

STDOUT = "-"


def encode_records(records: Sequence[Record]) -> bytes:
    """The JSON Lines bytes of ``records``: UTF-8, one compact object per line."""
    return "".join(
        json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in records
    ).encode("utf-8", "replace")


class JsonlSink:
    """Writes records as JSON Lines to ``path`` (``-`` for stdout).

    The file is truncated first, or appended to when ``append`` (a resumed crawl).
    ``offset`` is how many bytes the file holds: a crawl state records it with each
    checkpoint, so that it knows which lines came after.
    """

    def __init__(self, path: str | Path, *, append: bool = False) -> None:
        self.path = str(path)
        self.append = append
        self.offset = 0
        self._file: Any = None
        self._stream = self.path == STDOUT or is_stream(self.path)

    @property
    def to_stdout(self) -> bool:
        """True when records go to a stream (stdout, a pipe, a device), not a regular file.

        A stream cannot be read back, so a crawl state does not track its offset.
        """
        return self._stream

    async def open(self) -> None:
        """Open the output; a missing folder or no permission is a usage error (exit 2)."""
        try:
            if self.path == STDOUT:
                self._file = await aiofiles.open(
                    sys.stdout.fileno(), "wb", buffering=0, closefd=False
                )
            elif self._stream:  # "wb" on a device or FIFO truncates nothing and seeks nowhere
                self._file = await aiofiles.open(self.path, "wb", buffering=0)
            else:
                await make_parent_folder(self.path)
                if self.append:
                    self._file = await aiofiles.open(self.path, "ab", buffering=0)
                else:
                    self._file = await aiofiles.open(self.path, "wb", buffering=0)
                self.offset = await self._file.seek(0, os.SEEK_END)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise OutputError(f"cannot write {self.path}: {reason}", exit_code=2) from exc

    async def write(self, records: Sequence[Record]) -> None:
        """Append ``records``; a failing disk (full, I/O error) raises ``OutputError``.

        A batch that fails half-written (a full disk takes what fits) is cut off again, so
        the file still ends on its last complete line.
        """
        if not records:
            return
        data = encode_records(records)
        try:
            written = 0
            while written < len(data):  # raw writes may be short on pipes and full disks
                count = await self._file.write(data[written:])
                written += count or 0
            self.offset += written
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                complete = data[:written].count(b"\n")
                self.offset += data[:written].rfind(b"\n") + 1
                message = f"{self.path}: the reader closed the pipe"
                raise OutputClosed(message, complete=complete) from exc
            if not self.to_stdout:
                with contextlib.suppress(OSError):
                    await self._file.truncate(self.offset)
            reason = exc.strerror or str(exc)
            raise OutputError(f"cannot write {self.path}: {reason}") from exc

    async def close(self) -> None:
        """Close the file (stdout stays open); a stream is not synced (``/dev/null`` cannot be)."""
        if self._file is not None:
            file, self._file = self._file, None
            try:
                if not self._stream:
                    await file.flush()
                    await aiofiles.os.wrap(os.fsync)(file.fileno())
                await file.close()
            except OSError as exc:
                raise OutputError(f"cannot finish {self.path}: {exc.strerror or exc}") from exc
