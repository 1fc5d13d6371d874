"""The JSON Lines sink: one record per line, to a file, stdout, a pipe or a device.

Each batch becomes one unbuffered write of whole lines, so an interrupted crawl leaves no
partial line behind. Streams (``-``, ``/dev/stdout``, ``/dev/null``, a FIFO) are written
as Unix tools write them: no seek, no fsync, and a closed pipe is ``OutputClosed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os
import orjson

from crawler.errors import OutputClosed, OutputError
from crawler.models import Record
from pipelines.sinks import ResumableFile, is_stream, make_parent_folder
from pipelines.sinks.tails import cut_torn_line

STDOUT = "-"

_PLAIN = frozenset({str, int, bool, type(None)})
"""Types orjson writes exactly as ``json`` does (subclasses excluded)."""


def encode_records(records: Sequence[Record]) -> bytes:
    """The JSON Lines bytes of ``records``: UTF-8, one compact object per line.

    orjson writes a record when its bytes are the standard library's (it is about seven
    times faster on a page's record); a record holding anything orjson writes otherwise
    (a NaN, ``1e+16``, a lone surrogate, a non-str key, a type of its own) goes through
    ``json`` as before.
    """
    lines: list[bytes] = []
    for record in records:
        if _orjson_writes_alike(record):
            try:
                lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
                continue
            except TypeError:  # a lone surrogate, an int past 64 bits
                pass
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        lines.append(line.encode("utf-8", "replace"))
    return b"".join(lines)


def _all_alike(items: Iterable[object]) -> bool:
    items = list(items)
    if _PLAIN.issuperset(map(type, items)):  # a page's links: one pass, in C
        return True
    return all(_orjson_writes_alike(item) for item in items)


def _orjson_writes_alike(value: object) -> bool:
    """True when orjson would write ``value`` as ``json.dumps`` does (or refuse it).

    They differ on floats only in exponents and NaN/Infinity: each float is compared.
    """
    if type(value) in _PLAIN:
        return True
    if type(value) is dict:
        return _all_alike(value.values())
    if type(value) is list or type(value) is tuple:
        return _all_alike(value)
    if type(value) is float:
        return orjson.dumps(value) == float.__repr__(value).encode()
    return False  # a subclass or a type of its own: json's way, or json's TypeError


class JsonlSink:
    """Writes records as JSON Lines to ``path`` (``-`` for stdout).

    The file is truncated first, or appended to when ``append`` (a resumed crawl, any
    process of a shared one), after a torn last line is cut.
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

    @property
    def resumable(self) -> ResumableFile | None:
        """A regular file, whose lines read back into records: the one a crawl state
        recovers from. A stream is never read back."""
        return None if self._stream else ResumableFile(self)

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
                    if await aiofiles.os.path.isfile(self.path):
                        await asyncio.to_thread(cut_torn_line, self.path)
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
