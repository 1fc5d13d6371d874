"""Where the frontier keeps what does not fit in memory: the seen set and the overflow queue.

``FrontierStore`` is the protocol; ``MemoryFrontierStore`` keeps everything in memory (small
crawls, tests) and ``SqliteFrontierStore`` keeps it on disk, so millions of URLs cost disk,
not RAM. Scheduling (which host goes next) is the frontier's job, not the store's.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from crawler.models import FetchRequest
from crawler.urls import host_key, url_key

SQLITE_BATCH = 400
"""Rows per statement: well under SQLite's limit of 32,766 bound variables."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one URL ended, as a durable store keeps it for resume and ``parcrawl status``.

    ``depth`` is the request's link distance (the frontier's breadth-first levels count it).
    """

    url: str
    status: int | None
    error: str | None
    depth: int = 0


class FrontierStore(Protocol):
    """The seen set (by 16-byte URL digest) and a queue of requests waiting their turn.

    A ``durable`` store keeps every request until it is marked done, so a crawl killed at
    any moment resumes with nothing lost; the others forget a request once popped.
    """

    durable: bool

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
        """How many requests wait in the queue (not yet popped)."""
        ...

    def min_depth(self) -> int | None:
        """The depth of the shallowest queued request; None when the queue is empty."""
        ...

    def reschedule(self, request: FetchRequest) -> None:
        """Remember a popped request's next attempt and its time (durable stores only)."""
        ...

    def start(self, request: FetchRequest) -> None:
        """A fetch of ``request`` begins: it is in flight until done or rescheduled."""
        ...

    def mark_done(self, outcomes: Sequence[Outcome]) -> list[int]:
        """These requests are finished for good (durable stores forget them now).

        Returns the depths of the queued requests this removed (durable stores only).
        """
        ...

    def unfinished_levels(self) -> dict[int, int]:
        """Requests not yet done, by depth (a resumed crawl starts with these)."""
        ...

    def pages_done(self) -> Counter[str]:
        """Pages an earlier run of a resumed crawl fetched, by host (page limits count them)."""
        ...

    def commit(self) -> None:
        """Make everything so far durable (a no-op for stores that are not)."""
        ...

    def close(self) -> None:
        """Release files and memory; the store is unusable afterwards."""
        ...


class MemoryFrontierStore:
    """Everything in a Python set and heap: fastest, and bounded only by the crawl's size."""

    durable = False

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

    def reschedule(self, request: FetchRequest) -> None:
        """Nothing to remember: the frontier holds the retry."""

    def start(self, request: FetchRequest) -> None:
        """Nothing to remember: nothing outlives the process."""

    def mark_done(self, outcomes: Sequence[Outcome]) -> list[int]:
        """Nothing to forget: popped requests are gone already."""
        return []

    def unfinished_levels(self) -> dict[int, int]:
        return {}

    def pages_done(self) -> Counter[str]:
        return Counter()

    def commit(self) -> None:
        """Nothing is durable."""

    def close(self) -> None:
        self._seen.clear()
        self._queue.clear()


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY, key BLOB NOT NULL, url TEXT NOT NULL, depth INTEGER NOT NULL,
    referrer TEXT, claimed INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 1, not_before REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_order ON queue (claimed, depth, seq);
CREATE INDEX IF NOT EXISTS queue_key ON queue (key);
CREATE TABLE IF NOT EXISTS outcomes (
    url TEXT PRIMARY KEY, host TEXT NOT NULL, status INTEGER, error TEXT
);
"""


LOADED = 1
"""``queue.claimed``: handed to the frontier's memory window, not yet being fetched."""
FETCHING = 2
"""``queue.claimed``: a fetch of it started (``parcrawl status`` calls it in flight)."""

CLAIM = (
    "UPDATE queue SET claimed = 1 WHERE seq IN "
    "(SELECT seq FROM queue WHERE claimed = 0 ORDER BY depth, seq LIMIT ?) "
    "RETURNING depth, seq, url, referrer, attempt, not_before"
)
TAKE = (
    "DELETE FROM queue WHERE seq IN "
    "(SELECT seq FROM queue WHERE claimed = 0 ORDER BY depth, seq LIMIT ?) "
    "RETURNING depth, seq, url, referrer, attempt, not_before"
)


class SqliteFrontierStore:
    """The seen set and queue in one SQLite file: a private temporary one, or a crawl state.

    Calls run on the event loop's thread on purpose: they are batched and hit SQLite's page
    cache or the OS's, so each costs microseconds, less than a hop to a thread. A spill
    file (``durable=False``) never syncs: it is worthless after a crash anyway. A durable
    one (a ``--state`` file) keeps popped requests, marked claimed, until ``mark_done``,
    and works inside one long transaction that ``commit`` ends: WAL mode with
    ``synchronous=NORMAL`` makes a commit an append to the log, not an fsync.

    ``claimed`` tells apart a request merely loaded into memory (``LOADED``) from one whose
    fetch started (``FETCHING``): only the latter is in flight. Both are unclaimed again
    when the store closes, or when it opens after a crash, so they are fetched again.
    """

    def __init__(
        self, path: Path | None = None, *, durable: bool = False, cache_mib: int = 64
    ) -> None:
        self._tempdir = None
        if path is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="parcrawl-frontier-")
            path = Path(self._tempdir.name) / "frontier.sqlite"
        self.path = path
        self.durable = durable
        self._db = sqlite3.connect(path, isolation_level=None)
        sync = "NORMAL" if durable else "OFF"
        self._db.executescript(
            f"""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = {sync};
            PRAGMA temp_store = MEMORY;
            PRAGMA cache_size = -{cache_mib * 1024};
            """
            + SCHEMA
        )
        if durable:
            # In flight when the last run stopped: not done, so fetched again.
            self._db.execute("UPDATE queue SET claimed = 0 WHERE claimed != 0")
        self._seen_count = self._db.execute("SELECT count(*) FROM seen").fetchone()[0]
        self._queued = self._db.execute("SELECT count(*) FROM queue").fetchone()[0]
        if durable:
            self._db.execute("BEGIN")

    @property
    def connection(self) -> sqlite3.Connection:
        """The database, for the crawl state's own tables (meta)."""
        return self._db

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
        rows = [
            (url_key(r.url), r.url, r.depth, r.referrer, r.attempt, r.not_before) for r in requests
        ]
        if not rows:
            return
        with self._transaction():
            self._db.executemany(
                "INSERT INTO queue (key, url, depth, referrer, attempt, not_before) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        self._queued += len(rows)

    def pop(self, limit: int) -> list[FetchRequest]:
        if self._queued == 0:
            return []
        with self._transaction():
            rows = self._db.execute(CLAIM if self.durable else TAKE, (limit,)).fetchall()
        self._queued -= len(rows)
        rows.sort()  # RETURNING gives no order guarantee
        return [
            FetchRequest(url, depth, referrer, attempt, not_before)
            for depth, _, url, referrer, attempt, not_before in rows
        ]

    def queued(self) -> int:
        return int(self._queued)

    def min_depth(self) -> int | None:
        if not self._queued:
            return None
        row = self._db.execute("SELECT min(depth) FROM queue WHERE claimed = 0").fetchone()
        return None if row[0] is None else int(row[0])

    def reschedule(self, request: FetchRequest) -> None:
        if self.durable:
            self._db.execute(
                "UPDATE queue SET attempt = ?, not_before = ?, claimed = ? WHERE key = ?",
                (request.attempt, request.not_before, LOADED, url_key(request.url)),
            )

    def start(self, request: FetchRequest) -> None:
        if self.durable:
            self._db.execute(
                "UPDATE queue SET claimed = ? WHERE key = ?", (FETCHING, url_key(request.url))
            )

    def mark_done(self, outcomes: Sequence[Outcome]) -> list[int]:
        if not self.durable or not outcomes:
            return []
        depths: list[int] = []
        for outcome in outcomes:
            rows = self._db.execute(
                "DELETE FROM queue WHERE key = ? RETURNING depth, claimed",
                (url_key(outcome.url),),
            ).fetchall()
            for depth, claimed in rows:
                depths.append(int(depth))
                self._queued -= not claimed
        self._db.executemany(
            "INSERT INTO outcomes (url, host, status, error) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (url) DO UPDATE SET status = excluded.status, error = excluded.error",
            [(o.url, host_key(o.url), o.status, o.error) for o in outcomes],
        )
        return depths

    def unfinished_levels(self) -> dict[int, int]:
        rows = self._db.execute("SELECT depth, count(*) FROM queue GROUP BY depth").fetchall()
        return {int(depth): int(count) for depth, count in rows}

    def pages_done(self) -> Counter[str]:
        # A URL robots.txt refused was never fetched: it takes no place under the limits.
        rows = self._db.execute(
            "SELECT host, count(*) FROM outcomes WHERE error IS NULL OR error != 'robots' "
            "GROUP BY host"
        )
        return Counter({str(host): int(count) for host, count in rows})

    def commit(self) -> None:
        if self.durable:
            self._db.execute("COMMIT")
            self._db.execute("BEGIN")

    def close(self) -> None:
        if self.durable:
            # Nothing is loaded or in flight once this process lets go of the queue (if this
            # fails, opening the state again unclaims them all the same).
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("UPDATE queue SET claimed = 0 WHERE claimed != 0")
            if self._db.in_transaction:
                self._db.execute("COMMIT")
        self._db.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        # A durable store is always inside its long transaction already.
        return contextlib.nullcontext() if self.durable else _Transaction(self._db)


class _Transaction:
    """BEGIN ... COMMIT around a block, ROLLBACK on error (the connection is in autocommit)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
