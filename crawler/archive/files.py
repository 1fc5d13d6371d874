"""WARC files on disk: numbered rotation past a size, whole records only, repair after a crash.

Blocking IO, used from the archive's writer thread only. It knows nothing of HTTP or
records' contents: it writes bytes that are whole gzip members (one WARC record each).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

log = logging.getLogger(__name__)

SUFFIX = ".warc.gz"
READ_CHUNK = 1 << 20

Opener = Callable[[Path, str], BinaryIO]
"""Opens a WARC file (path, mode); tests pass one whose writes fail like a full disk."""


def open_file(path: Path, mode: str) -> BinaryIO:
    """Open a WARC file in binary ``mode`` (``w`` or ``a``)."""
    return cast(BinaryIO, path.open(mode + "b"))


class WarcFiles:
    """The WARC file being written, and the numbered ones after it past ``max_size``.

    Without ``max_size`` everything goes to ``path``. With it, files are named
    ``NAME-00000.warc.gz``, ``NAME-00001.warc.gz``, ...: a new one starts when the next
    records would take the current one past ``max_size`` (a single larger record still goes
    whole into a file of its own). A write that fails (disk full) is cut back off the file,
    so every file always ends on a complete record.

    Args:
        path: the ``--warc`` path, ending in ``.warc.gz``.
        max_size: bytes per file, or None for one file.
        header: bytes starting every file and every run appending to one (its ``warcinfo``
            record), given the file's name.
        append: continue the last file (a resumed crawl), after cutting a torn last record.
        opener: how files are opened (tests).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_size: int | None,
        header: Callable[[str], bytes],
        append: bool = False,
        opener: Opener = open_file,
    ) -> None:
        self._path = Path(path)
        self._max_size = max_size
        self._header = header
        self._opener = opener
        self._number = 0
        self._file: BinaryIO | None = None
        self._size = 0
        self.written: list[Path] = []
        """Every file written to, in order."""
        if append:
            self._number = max(self._numbers(), default=0)
            current = self.current_path
            if current.exists():
                self._size = repair(current)
                self._file = opener(current, "a")
                self.written.append(current)
                self._append(header(current.name))  # this run's settings, before its records

    @property
    def current_path(self) -> Path:
        """The file records go to now."""
        if self._max_size is None:
            return self._path
        return self._path.with_name(f"{_stem(self._path)}-{self._number:05d}{SUFFIX}")

    def write(self, data: bytes) -> None:
        """Append ``data`` (whole records) to the current file, rotating first if needed.

        Raises:
            OSError: the write failed; the file was cut back to its last whole record.
        """
        if self._file is None:
            self._start(self.current_path)
        elif self._max_size is not None and self._size + len(data) > self._max_size:
            self._number += 1
            self._start(self.current_path)
        self._append(data)

    def close(self) -> None:
        """Flush and close the current file."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _start(self, path: Path) -> None:
        self.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._opener(path, "w")
        self._size = 0
        self.written.append(path)
        self._append(self._header(path.name))

    def _append(self, data: bytes) -> None:
        assert self._file is not None
        start = self._size
        try:
            self._file.write(data)
            self._file.flush()
        except OSError:
            self._cut(start)
            raise
        self._size += len(data)

    def _cut(self, size: int) -> None:
        """Take a partly written record off the file: it ends on a whole record again."""
        assert self._file is not None
        try:
            self._file.seek(size)
            self._file.truncate(size)
            self._file.flush()
        except OSError as exc:  # a file that cannot even be cut is repaired on resume
            log.warning("%s: could not remove a partial record: %s", self.current_path, exc)

    def _numbers(self) -> list[int]:
        if self._max_size is None:
            return [0]
        pattern = re.compile(re.escape(_stem(self._path)) + r"-(\d{5,})" + re.escape(SUFFIX))
        folder = self._path.parent
        if not folder.is_dir():
            return []
        return [int(m.group(1)) for p in folder.iterdir() if (m := pattern.fullmatch(p.name))]


def _stem(path: Path) -> str:
    return path.name.removesuffix(SUFFIX)


def repair(path: Path) -> int:
    """Cut a torn last gzip member (a record a crash interrupted) off ``path``; its new size.

    Every record is its own gzip member, so the file is sound up to the end of the last
    member that decompresses to its end.

    Raises:
        OSError: not even the first member is whole: the file is left as it was.
    """
    good = offset = 0
    decompressor = zlib.decompressobj(wbits=31)
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            while chunk:
                try:
                    decompressor.decompress(chunk)
                except zlib.error:
                    return _truncate(path, good)
                if not decompressor.eof:
                    offset += len(chunk)
                    break
                offset += len(chunk) - len(decompressor.unused_data)
                good = offset
                chunk = decompressor.unused_data
                decompressor = zlib.decompressobj(wbits=31)
    return _truncate(path, good)


def _truncate(path: Path, size: int) -> int:
    if size == 0 and os.path.getsize(path) > 0:
        raise OSError(f"{path} does not start with a whole gzip member: not a WARC file of ours")
    if os.path.getsize(path) > size:
        log.warning("%s: removed a partial record left by a crash", path)
        with path.open("rb+") as handle:
            handle.truncate(size)
    return size
