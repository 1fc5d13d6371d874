"""``parcrawl merge``: the outputs of several processes of one crawl as one record per URL.

It owns the rule that picks a URL's record; the records wait in a temporary SQLite file,
not in memory, and the output appears whole (written beside it, then renamed) or not at all.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from crawler.errors import UsageError
from crawler.outputs.files import write_atomically
from crawler.outputs.paths import check_file
from crawler.outputs.reader import OutputFile, open_outputs, read_records
from pipelines.sinks import CREATE_TABLE, FORMATS, UPSERT, row_of

BATCH = 2000

# A later record replaces the kept one only when it is better: a success over a failure,
# then a later fetched_at. On a tie the record read first stays, so the result does not
# depend on anything but the inputs and their order.
_KEEP_BETTER = """
INSERT INTO best (url, ok, fetched_at, record) VALUES (?, ?, ?, ?)
ON CONFLICT(url) DO UPDATE SET ok = excluded.ok, fetched_at = excluded.fetched_at,
    record = excluded.record
WHERE (excluded.ok, excluded.fetched_at) > (best.ok, best.fetched_at)
"""


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge did: records read, records written (one per URL)."""

    read: int
    written: int

    @property
    def dropped(self) -> int:
        """Records that lost to a better one for the same URL."""
        return self.read - self.written


def merge_outputs(inputs: Sequence[str | Path], output: str | Path) -> MergeResult:
    """Write one record per URL of ``inputs`` to ``output`` (.jsonl or .sqlite by extension).

    Records keep the order in which their URLs first appear in the inputs.

    Raises:
        RecordsError: an input is missing or not parcrawl output.
        UsageError: ``output`` has no known extension or is one of the inputs.
        OutputError: ``output`` cannot be written (exit 2 for a folder).
    """
    output = Path(output)
    check_file(output, "merged records")  # before the inputs are read: a folder is a typo
    kind = FORMATS.get(output.suffix.lower())
    if kind not in ("jsonl", "sqlite"):
        raise UsageError(
            f"cannot tell the merge output's format from {output}: use .jsonl or .sqlite"
        )
    files = open_outputs(inputs)
    _refuse_overwriting_an_input(files, output)
    with (
        tempfile.TemporaryDirectory(prefix="parcrawl-merge-") as scratch,
        contextlib.closing(sqlite3.connect(Path(scratch) / "best.sqlite")) as best,
    ):
        best.execute(
            "CREATE TABLE best (url TEXT PRIMARY KEY, ok INTEGER, fetched_at TEXT, record BLOB)"
        )
        read = _keep_best(best, read_records(files))
        records = (
            orjson.loads(row[0]) for row in best.execute("SELECT record FROM best ORDER BY rowid")
        )
        written = _write(output, kind, records)
    return MergeResult(read=read, written=written)


def _refuse_overwriting_an_input(files: Sequence[OutputFile], output: Path) -> None:
    for file in files:
        with contextlib.suppress(OSError):
            if output.exists() and os.path.samefile(file.path, output):
                raise UsageError(f"{output} is one of the inputs: merge into another file")


def _keep_best(best: sqlite3.Connection, records: Iterable[dict[str, Any]]) -> int:
    read = 0
    rows = (
        (
            record["url"],
            1 if record.get("error") is None else 0,
            str(record.get("fetched_at") or ""),
            orjson.dumps(record),
        )
        for record in records
    )
    while batch := list(itertools.islice(rows, BATCH)):
        with best:
            best.executemany(_KEEP_BETTER, batch)
        read += len(batch)
    return read


def _write(output: Path, kind: str, records: Iterator[dict[str, Any]]) -> int:
    if kind == "sqlite":
        return write_atomically(output, lambda path: _write_sqlite(path, records))
    return write_atomically(output, lambda path: _write_jsonl(path, records))


def _write_jsonl(path: Path, records: Iterator[dict[str, Any]]) -> int:
    count = 0
    with path.open("wb") as file:
        for record in records:
            file.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            count += 1
    return count


def _write_sqlite(path: Path, records: Iterator[dict[str, Any]]) -> int:
    count = 0
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute(CREATE_TABLE)
        rows = (row_of(record) for record in records)
        while batch := list(itertools.islice(rows, BATCH)):
            with connection:
                connection.executemany(UPSERT, batch)
            count += len(batch)
    return count
