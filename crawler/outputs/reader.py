"""Reading a crawl's outputs back: the records of JSON Lines and SQLite files, streamed.

It owns telling a parcrawl output from anything else, with one clear line; it does not
write (``merge`` does) and keeps no more than one record in memory at a time.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import orjson

from crawler.errors import RecordsError

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
RECORD_KEYS = ("url", "status", "error")
"""Keys every parcrawl record has: a JSON object without them is someone else's data."""

Kind = Literal["jsonl", "sqlite"]


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One crawl output to read, its format told by its first bytes (not its name)."""

    path: Path
    kind: Kind

    @classmethod
    def open(cls, path: str | Path) -> OutputFile:
        """Check that ``path`` can be read and say its format.

        Raises:
            RecordsError: the file is missing, a folder or unreadable.
        """
        path = Path(path)
        try:
            with path.open("rb") as file:
                head = file.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            raise RecordsError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise RecordsError(f"{path}: is a folder, not a crawl output") from None
        except OSError as exc:
            raise RecordsError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return cls(path, "sqlite" if head == SQLITE_MAGIC else "jsonl")

    def records(self, *, quiet: bool = False) -> Iterator[dict[str, Any]]:
        """The file's records in the order written; a cut-short last line is skipped.

        The skip is logged as a warning unless ``quiet`` (a second pass over the file).

        Raises:
            RecordsError: the file is not parcrawl output (named with the line or the table).
        """
        if self.kind == "sqlite":
            return _sqlite_records(self.path)
        return _jsonl_records(self.path, quiet=quiet)


def open_outputs(paths: Sequence[str | Path]) -> list[OutputFile]:
    """Every file of ``paths`` checked before any is read, so a typo fails at once.

    Raises:
        RecordsError: no paths, or one of them cannot be read.
    """
    if not paths:
        raise RecordsError("give at least one crawl output (.jsonl or .sqlite) to read")
    return [OutputFile.open(path) for path in paths]


def read_records(files: Sequence[OutputFile], *, quiet: bool = False) -> Iterator[dict[str, Any]]:
    """The records of ``files``, one file after another."""
    for file in files:
        yield from file.records(quiet=quiet)


def is_record(value: object) -> bool:
    """True for a JSON object shaped like a parcrawl record (a string ``url`` and the rest)."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("url"), str)
        and all(key in value for key in RECORD_KEYS)
    )


def _jsonl_records(path: Path, *, quiet: bool) -> Iterator[dict[str, Any]]:
    number = 0
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                if not line.endswith(b"\n"):
                    # The last line of a crawl killed mid-write: everything before it stands.
                    if not quiet:
                        log.warning("%s: line %d is cut short: skipped", path, number)
                    continue
                raise RecordsError(
                    f"{path}: line {number} is not JSON: not a parcrawl output"
                ) from None
            if not is_record(record):
                raise RecordsError(
                    f"{path}: line {number} is not a parcrawl record (no url, status, error)"
                )
            yield record
    if number == 0 and not quiet:
        log.warning("%s: empty: no records", path)


def _sqlite_records(path: Path) -> Iterator[dict[str, Any]]:
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            columns = {row[1] for row in connection.execute("PRAGMA table_info(records)")}
            if "record" not in columns:
                raise RecordsError(f"{path}: a SQLite file without parcrawl's records table")
            rows = connection.execute("SELECT record FROM records ORDER BY rowid")
            for (text,) in rows:
                record = orjson.loads(text) if text is not None else None
                if not is_record(record):
                    raise RecordsError(f"{path}: a records row that is not a parcrawl record")
                yield cast(dict[str, Any], record)
    except sqlite3.Error as exc:
        raise RecordsError(f"cannot read {path}: {exc}") from exc
    except orjson.JSONDecodeError:
        raise RecordsError(f"{path}: a records row that is not JSON") from None
