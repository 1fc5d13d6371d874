"""The SQLite sink: records upserted by URL into a ``records`` table, off the event loop.

Every SQLite call runs in one thread the sink owns; the loop only awaits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from crawler.errors import OutputError
from crawler.models import Record
from pipelines.sinks import ResumableFile, make_parent_folder

T = TypeVar("T")

# (column, SQL type): the record's own keys, flattened error, then JSON of the whole record.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("url", "TEXT PRIMARY KEY"),
    ("final_url", "TEXT"),
    ("status", "INTEGER"),
    ("content_type", "TEXT"),
    ("bytes", "INTEGER"),
    ("elapsed_ms", "REAL"),
    ("fetched_at", "TEXT"),
    ("depth", "INTEGER"),
    ("referrer", "TEXT"),
    ("title", "TEXT"),
    ("description", "TEXT"),
    ("lang", "TEXT"),
    ("canonical", "TEXT"),
    ("text", "TEXT"),
    ("word_count", "INTEGER"),
    ("links", "TEXT"),
    ("sha256", "TEXT"),
    ("error_code", "TEXT"),
    ("error_message", "TEXT"),
    ("fields", "TEXT"),
    ("record", "TEXT"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
# Columns copied from the record key of the same name.
PLAIN_COLUMNS = tuple(
    name
    for name in COLUMN_NAMES
    if name not in ("links", "error_code", "error_message", "fields", "record")
)

CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS records ("
    + ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    + ")"
)
# Built from the constant names above, never from record data: values go in as parameters.
UPSERT = (
    f"INSERT INTO records ({', '.join(COLUMN_NAMES)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in COLUMN_NAMES)}) "
    "ON CONFLICT(url) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in COLUMN_NAMES[1:])
)
SQLITE_INT_MIN, SQLITE_INT_MAX = -(2**63), 2**63 - 1


def row_of(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """The ``records`` row of ``record``, in ``COLUMN_NAMES`` order."""
    values = {name: _sql_value(record.get(name)) for name in PLAIN_COLUMNS}
    links = record.get("links")
    error = record.get("error")
    fields = record.get("fields")
    values["links"] = None if links is None else _json(links)
    values["error_code"] = _sql_value(error.get("code")) if isinstance(error, dict) else None
    values["error_message"] = _sql_value(error.get("message")) if isinstance(error, dict) else None
    values["fields"] = None if fields is None else _json(fields)
    values["record"] = _json(record)
    return tuple(values[name] for name in COLUMN_NAMES)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The full records stored in the SQLite file ``path``, in first-written order.

    Raises:
        sqlite3.Error: the file is missing or holds no ``records`` table.
    """
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
        rows = connection.execute("SELECT record FROM records ORDER BY rowid").fetchall()
    return [json.loads(record) for (record,) in rows]


class SqliteSink:
    """Upserts records by URL into the ``records`` table of the SQLite file ``path``.

    Each batch is one transaction (WAL mode, ``synchronous=NORMAL``): no crash leaves half a
    batch, and only a power cut can lose the last committed ones. The ``record`` column holds
    the whole record as JSON, so keys without a column of their own are kept too.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        # Touched only from the executor's one thread, which sqlite3 insists on.
        self._connection: sqlite3.Connection | None = None

    @property
    def resumable(self) -> ResumableFile | None:
        """None: a record upserted again is the same row, so a crawl state has nothing
        to repair or carry on in the database."""
        return None

    async def open(self) -> None:
        """Open or create the database and its table.

        Raises:
            OutputError: exit 2 when the file cannot be opened or is not a parcrawl database.
        """
        await make_parent_folder(self.path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-sink")
        try:
            await self._run(self._connect)
        except (sqlite3.Error, OSError) as exc:
            with contextlib.suppress(OutputError):  # the open error is the one to tell
                await self.close()
            raise OutputError(f"cannot write {self.path}: {exc}", exit_code=2) from exc

    async def write(self, records: Sequence[Record]) -> None:
        """Upsert ``records`` in one transaction; a later record for a URL replaces it.

        Raises:
            OutputError: exit 1 when SQLite fails (disk full, I/O error, locked database).
        """
        if not records:
            return
        if self._executor is None:
            raise OutputError(f"cannot write {self.path}: the SQLite sink is not open")
        try:
            await self._run(functools.partial(self._upsert, records))
        except (sqlite3.Error, OSError) as exc:
            raise OutputError(f"cannot write {self.path}: {exc}") from exc

    async def close(self) -> None:
        """Commit, close the database and stop the thread; a no-op when not open."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            # Queued behind any write still running (one thread, FIFO), even a cancelled one.
            await asyncio.get_running_loop().run_in_executor(executor, self._disconnect)
        except (sqlite3.Error, OSError) as exc:
            raise OutputError(f"cannot finish {self.path}: {exc}") from exc
        finally:
            executor.shutdown(wait=True)  # the thread is idle by now: this returns at once

    async def _run(self, call: Callable[[], T]) -> T:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    # -- in the executor's thread ----------------------------------------------------

    def _connect(self) -> None:
        connection = sqlite3.connect(self.path)
        self._connection = connection
        # WAL: readers (a user's sqlite3 shell) never block the crawl's writes, and
        # synchronous=NORMAL is then still crash-safe, with one fsync per checkpoint.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        with connection:
            connection.execute(CREATE_TABLE)
            have = {row[1] for row in connection.execute("PRAGMA table_info(records)")}
            if "url" not in have:
                raise sqlite3.DatabaseError("its records table has no url column")
            for name, kind in COLUMNS:
                if name not in have:  # a table from an older parcrawl: add the new columns
                    connection.execute(f"ALTER TABLE records ADD COLUMN {name} {kind}")

    def _upsert(self, records: Sequence[Record]) -> None:
        assert self._connection is not None
        rows = [row_of(record) for record in records]
        with self._connection:  # one transaction: commits, or rolls back on error
            self._connection.executemany(UPSERT, rows)

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.commit()
            finally:
                connection.close()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _sql_value(value: Any) -> Any:
    # Values a user step put in a record may not bind as-is; store those as JSON text.
    if value is None or isinstance(value, str | float):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if SQLITE_INT_MIN <= value <= SQLITE_INT_MAX else str(value)
    return _json(value)
