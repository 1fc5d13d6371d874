"""A torn last record cut off an output file that a new run appends to.

A process killed mid-write (``kill -9``) may leave half a line or half a CSV row; records
appended after it would be glued to that half. Blocking IO: sinks call these in a thread.
A crawl with a state cuts the same tail itself, past its checkpoint (``crawler.state``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

CHUNK = 1 << 20


def cut_torn_line(path: str | Path) -> int:
    """Cut a last line without its newline off the file at ``path``; its new size.

    Only the end is read: no JSON line holds a raw newline, so the last one ends the lines.
    """
    with open(path, "rb+") as handle:
        size = end = handle.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - CHUNK)
            handle.seek(start)
            newline = handle.read(end - start).rfind(b"\n")
            if newline != -1:
                return _cut(handle, path, size, start + newline + 1)
            end = start
        return _cut(handle, path, size, 0)


def cut_torn_row(path: str | Path, row_ends: Callable[[bytes], list[int]]) -> int:
    """Cut a last CSV row without its line end off the file at ``path``; its new size.

    A quoted cell may hold line breaks, so rows are found from the start (``row_ends``
    gives where each whole row of a chunk starting on a row ends).
    """
    with open(path, "rb+") as handle:
        good = 0
        pending = b""  # read past the last whole row
        while chunk := handle.read(CHUNK):
            pending += chunk
            ends = row_ends(pending)
            if ends:
                good += ends[-1]
                pending = pending[ends[-1] :]
        return _cut(handle, path, good + len(pending), good)


def _cut(handle: BinaryIO, path: str | Path, size: int, keep: int) -> int:
    if keep < size:
        log.warning("%s: removed a partial last record left by a stopped crawl", path)
        handle.truncate(keep)
    return keep
