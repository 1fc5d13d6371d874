"""Where the frontier keeps what does not fit in memory: the seen set and the overflow queue.

``FrontierStore`` is the protocol; ``MemoryFrontierStore`` keeps everything in memory (small
crawls, tests) and ``SqliteFrontierStore`` keeps it on disk, so millions of URLs cost disk,
not RAM. Scheduling (which host goes next) is the frontier's job, not the store's.
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from crawler.models import FetchRequest

SQLITE_BATCH = 400
"""Rows per statement: well under SQLite's limit of 32,766 bound variables."""


class FrontierStore(Protocol):
    """The seen set (by 16-byte URL digest) and a FIFO queue of requests waiting their turn."""

    def mark_seen(self, keys: Sequence[bytes]) -> set[bytes]:
        """Record ``keys`` as seen; returns those that were not seen before."""
        ...

    def seen_count(self) -> int:
        """How many distinct keys were ever marked seen."""
        ...

    def push(self, requests: Iterable[FetchRequest]) -> None:
        """Queue ``requests``."""
        ...

    def pop(self, limit: int) -> list[FetchRequest]:
        """Take up to ``limit`` requests, shallowest depth first, then first queued first."""
        ...

    def queued(self) -> int:
        """How many requests wait in the queue."""
        ...

    def min_depth(self) -> int | None:
        """The depth of the shallowest queued request; None when the queue is empty."""
        ...

    def close(self) -> None:
        """Release files and memory; the store is unusable afterwards."""
        ...


class MemoryFrontierStore:
    """Everything in a Python set and heap: fastest, and bounded only by the crawl's size."""

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self._queue: list[tuple[int, int, FetchRequest]] = []
        self._order = itertools.count()

    def mark_seen(self, keys: Sequence[bytes]) -> set[bytes]:
        fresh = {key for key in keys if key not in self._seen}
        self._seen.update(fresh)
        return fresh

    def seen_count(self) -> int:
        return len(self._seen)

    def push(self, requests: Iterable[FetchRequest]) -> None:
        for request in requests:
            heapq.heappush(self._queue, (request.depth, next(self._order), request))

    def pop(self, limit: int) -> list[FetchRequest]:
        count = min(limit, len(self._queue))
        return [heapq.heappop(self._queue)[2] for _ in range(count)]

    def queued(self) -> int:
        return len(self._queue)

    def min_depth(self) -> int | None:
        return self._queue[0][0] if self._queue else None

    def close(self) -> None:
        self._seen.clear()
        self._queue.clear()


class SqliteFrontierStore:
    """The seen set and queue in one SQLite file (a private temporary one by default).

    Calls run on the event loop's thread on purpose: they are batched, never fsync
    (``synchronous=OFF``: a spill file is worthless after a crash anyway) and hit SQLite's
    page cache or the OS's, so each costs microseconds, less than a hop to a thread.
    """

    def __init__(self, path: Path | None = None, *, cache_mib: int = 64) -> None:
        self._tempdir = None
        if path is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="parcrawl-frontier-")
            path = Path(self._tempdir.name) / "frontier.sqlite"
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.executescript(
            f"""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = OFF;
            PRAGMA temp_store = MEMORY;
            PRAGMA cache_size = -{cache_mib * 1024};
            CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS queue (
                seq INTEGER PRIMARY KEY, url TEXT NOT NULL, depth INTEGER NOT NULL,
                referrer TEXT
            );
            CREATE INDEX IF NOT EXISTS queue_order ON queue (depth, seq);
            """
        )
        self._seen_count = self._db.execute("SELECT count(*) FROM seen").fetchone()[0]
        self._queued = self._db.execute("SELECT count(*) FROM queue").fetchone()[0]

    def mark_seen(self, keys: Sequence[bytes]) -> set[bytes]:
        fresh: set[bytes] = set()
        for start in range(0, len(keys), SQLITE_BATCH):
            chunk = keys[start : start + SQLITE_BATCH]
            placeholders = ",".join("(?)" for _ in chunk)
            rows = self._db.execute(
                f"INSERT INTO seen (key) VALUES {placeholders} "  # noqa: S608 (placeholders only)
                "ON CONFLICT DO NOTHING RETURNING key",
                chunk,
            ).fetchall()
            fresh.update(row[0] for row in rows)
        self._seen_count += len(fresh)
        return fresh

    def seen_count(self) -> int:
        return int(self._seen_count)

    def push(self, requests: Iterable[FetchRequest]) -> None:
        rows = [(r.url, r.depth, r.referrer) for r in requests]
        if not rows:
            return
        with self._transaction():
            self._db.executemany("INSERT INTO queue (url, depth, referrer) VALUES (?, ?, ?)", rows)
        self._queued += len(rows)

    def pop(self, limit: int) -> list[FetchRequest]:
        if self._queued == 0:
            return []
        with self._transaction():
            rows = self._db.execute(
                "DELETE FROM queue WHERE seq IN "
                "(SELECT seq FROM queue ORDER BY depth, seq LIMIT ?) "
                "RETURNING depth, seq, url, referrer",
                (limit,),
            ).fetchall()
        self._queued -= len(rows)
        rows.sort()  # RETURNING gives no order guarantee
        return [FetchRequest(url, depth, referrer) for depth, _, url, referrer in rows]

    def queued(self) -> int:
        return int(self._queued)

    def min_depth(self) -> int | None:
        if not self._queued:
            return None
        row = self._db.execute("SELECT min(depth) FROM queue").fetchone()
        return None if row[0] is None else int(row[0])

    def close(self) -> None:
        self._db.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN ... COMMIT around a block, ROLLBACK on error (the connection is in autocommit)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
