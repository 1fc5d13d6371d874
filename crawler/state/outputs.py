"""How a crawl's outputs and its state agree after a crash: each checkpoint records how many
bytes of each output hold records the state marked done; what lies past that is recovered
(JSON Lines) or cut (CSV) when the crawl resumes.

It owns the offsets and the files' tails; committing them is the crawl state's.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from crawler.state.file import read_meta, write_meta

log = logging.getLogger(__name__)

T = TypeVar("T")


class OffsetSource(Protocol):
    """What a state asks of an output file (JSON Lines, CSV): where it is, how much it holds."""

    @property
    def path(self) -> str | Path: ...

    @property
    def offset(self) -> int: ...


class OutputOffsets:
    """The outputs a state tracks, and the checkpointed offset of each in its ``meta`` table."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._outputs: list[OffsetSource] = []

    def track(self, output: OffsetSource) -> None:
        """Checkpoint ``output``'s offset with every commit (a JSON Lines or CSV file)."""
        self._outputs.append(output)

    def record(self) -> None:
        """Write every tracked output's offset; the state's commit makes them durable."""
        for output in self._outputs:
            write_meta(self._db, _offset_key(output.path), str(output.offset))

    def recover(self, jsonl_path: str) -> list[dict[str, Any]]:
        """Records written to ``jsonl_path`` after the last checkpoint; repairs a torn line."""
        _, lines, _ = self._whole_tail(jsonl_path, _line_ends)
        records = []
        for line in lines.splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                log.warning("%s: skipped an unreadable line after the last checkpoint", jsonl_path)
        return records

    def reconcile(
        self,
        path: str | Path,
        row_ends: Callable[[bytes], list[int]],
        recovered: Sequence[T],
        *,
        header_rows: int = 0,
    ) -> list[T]:
        """Cut the rows of ``path`` past ``recovered``; returns the recovered it lacks.

        (``CrawlState.reconcile`` says more.)
        """
        committed, _, ends = self._whole_tail(path, row_ends)
        header = header_rows if committed == 0 else 0  # nothing committed: it starts anew
        kept = min(len(ends), header + len(recovered))
        cut = ends[kept - 1] if kept else 0
        if ends and cut < ends[-1]:
            _truncate(Path(path), committed + cut)
            log.info("%s: removed rows the state had not marked done; fetching them again", path)
        return list(recovered[max(kept - header, 0) :])

    def _whole_tail(
        self, path: str | Path, unit_ends: Callable[[bytes], list[int]]
    ) -> tuple[int, bytes, list[int]]:
        """The checkpointed offset of ``path``, the whole units after it, and their ends.

        A torn last unit (a crash mid-write) is cut from the file.
        """
        file = Path(path)
        if not file.exists():
            return 0, b"", []
        committed = int(read_meta(self._db, _offset_key(path)) or 0)
        if file.stat().st_size < committed:
            log.warning("%s is shorter than the state remembers; it was changed by hand", path)
            committed = 0
        with file.open("rb+") as handle:
            handle.seek(committed)
            tail = handle.read()
            ends = unit_ends(tail)
            keep = ends[-1] if ends else 0
            if keep < len(tail):
                handle.truncate(committed + keep)
                log.warning("%s: removed a partial last record left by the crash", path)
        return committed, tail[:keep], ends


def _offset_key(path: str | Path) -> str:
    return f"offset:{os.fspath(path)}"


def _line_ends(data: bytes) -> list[int]:
    """Where each whole line of ``data`` ends (the offset past its newline)."""
    ends = []
    start = 0
    while (newline := data.find(b"\n", start)) != -1:
        start = newline + 1
        ends.append(start)
    return ends


def _truncate(path: Path, size: int) -> None:
    with path.open("rb+") as handle:
        handle.truncate(size)
