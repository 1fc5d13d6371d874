"""Crawl state: a SQLite file that lets a crawl stop at any moment (even ``kill -9``) and resume.

It owns the file's life (lock, version, fingerprint), the output bookkeeping that makes
output and state agree, and ``parcrawl status``. The queue itself is the durable frontier
store's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

from crawler.errors import StateError
from crawler.frontier import FETCHING, SqliteFrontierStore
from crawler.models import FetchRequest
from crawler.recrawl import PageMemory
from crawler.settings import Settings
from crawler.urls import host_key, url_key

log = logging.getLogger(__name__)

STATE_VERSION = "1"


T = TypeVar("T")


class OffsetSource(Protocol):
    """What a state asks of an output file (JSON Lines, CSV): where it is, how much it holds."""

    @property
    def path(self) -> str | Path: ...

    @property
    def offset(self) -> int: ...


def fingerprint(settings: Settings) -> str:
    """A digest of what defines a crawl: its seeds and its scope."""
    defining = {
        "seeds": settings.seeds,
        "seeds_file": settings.seeds_file,
        "follow": settings.follow,
        "scope": settings.scope.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()[:16]


class CrawlState:
    """An open, locked state file. ``open`` it, run the crawl with its ``store``, ``close`` it.

    Output and state agree through the output offsets: each checkpoint commits, in one
    transaction, the URLs done and how many bytes of each output file hold their records.
    After a crash, the lines of JSON Lines past its offset are records whose URLs the state
    did not mark done yet; ``recover`` returns them (and cuts a torn last line) so that the
    crawl marks them done instead of fetching them again. An output that cannot be read
    back into records (CSV) is made to agree with those by ``reconcile``.
    """

    def __init__(self, path: Path, store: SqliteFrontierStore, lock: TextIO, resumed: bool):
        self.path = path
        self.store = store
        self.resumed = resumed
        self._lock = lock
        self._outputs: list[OffsetSource] = []
        self.recrawl_queued: int | None = None
        """Known pages a new recrawl queued when it opened; None when none began."""

    @classmethod
    def open(cls, path: str | Path, settings: Settings) -> CrawlState:
        """Lock and open (or create) the state file at ``path``.

        With ``settings.recrawl`` on a finished crawl, a new run over every known page
        begins (``recrawl_queued`` says how many were queued); an unfinished one resumes.

        Raises:
            StateError: another parcrawl holds it, or it is not a state file of this
                version (it is then left as it was).
        """
        state_path = Path(path)
        lock = _lock(state_path)
        try:
            existed = state_path.exists() and state_path.stat().st_size > 0
            if existed:
                _check(state_path)
            try:
                store = SqliteFrontierStore(state_path, durable=True)
                store.connection.execute(PAGES_SCHEMA)
                if settings.recrawl and _finished(store):
                    queued = _begin_recrawl(store)
                    store.close()  # reopened: the store counts its seen set and queue anew
                    store = SqliteFrontierStore(state_path, durable=True)
                else:
                    queued = None
            except sqlite3.Error as exc:
                raise StateError(f"cannot open state file {state_path}: {exc}") from exc
        except BaseException:
            _unlock(state_path, lock)
            raise
        state = cls(state_path, store, lock, existed)
        state.recrawl_queued = queued
        state._stamp(fingerprint(settings))
        return state

    def finish(self) -> None:
        """Mark the run as ended (not interrupted): the next ``--recrawl`` starts anew."""
        self._set_meta("ended", "1")
        self.store.commit()

    def previous(self, url: str) -> PageMemory | None:
        """What the state remembers of ``url`` from its last fetch, or None for a new URL."""
        row = self.store.connection.execute(
            f"SELECT {PAGE_COLUMNS} FROM pages WHERE url = ?",  # noqa: S608 (constant)
            (url,),
        ).fetchone()
        if row is None:
            return None
        status, etag, modified, sha256, links, depth, referrer, warc_id, warc_date, digest = row
        return PageMemory(
            url,
            status,
            etag,
            modified,
            sha256,
            None if links is None else json.loads(links),
            depth,
            referrer,
            warc_id,
            warc_date,
            digest,
        )

    def remember(self, pages: Sequence[PageMemory]) -> None:
        """Keep ``pages`` for the next recrawl; committed with the next checkpoint."""
        self.store.connection.executemany(
            f"INSERT OR REPLACE INTO pages (url, {PAGE_COLUMNS}) "  # noqa: S608 (constant)
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    page.url,
                    page.status,
                    page.etag,
                    page.last_modified,
                    page.sha256,
                    None if page.links is None else json.dumps(page.links),
                    page.depth,
                    page.referrer,
                    page.warc_id,
                    page.warc_date,
                    page.payload_digest,
                )
                for page in pages
            ],
        )

    def track(self, output: OffsetSource) -> None:
        """Checkpoint ``output``'s offset with every commit (a JSON Lines or CSV file)."""
        self._outputs.append(output)

    def recover(self, jsonl_path: str) -> list[dict[str, Any]]:
        """Records written to ``jsonl_path`` after the last checkpoint; repairs a torn line.

        Call before the output is opened for appending.
        """
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
        """Make an output that cannot be read back into records (CSV) agree with ``recovered``.

        Every output gets each batch in turn, JSON Lines first, so the whole rows past the
        last checkpoint are the first of the ``recovered`` records. Rows beyond those are
        cut (their URLs are not done: they are fetched again), and so is a torn last row.
        Call before the output is opened for appending.

        Args:
            path: the output file.
            row_ends: where each whole row of a chunk of the file ends (offsets past it).
            recovered: what ``recover`` returned (empty without a JSON Lines file).
            header_rows: rows a file starts with that are not records.

        Returns:
            The recovered records the file lacks, to be written to it first.
        """
        committed, _, ends = self._whole_tail(path, row_ends)
        header = header_rows if committed == 0 else 0  # nothing committed: it starts anew
        kept = min(len(ends), header + len(recovered))
        cut = ends[kept - 1] if kept else 0
        if ends and cut < ends[-1]:
            _truncate(Path(path), committed + cut)
            log.info("%s: removed rows the state had not marked done; fetching them again", path)
        return list(recovered[max(kept - header, 0) :])

    def checkpoint(self) -> None:
        """Commit the state, with the tracked outputs' offsets, in one transaction."""
        for output in self._outputs:
            self._set_meta(_offset_key(output.path), str(output.offset))
        self.store.commit()

    def _whole_tail(
        self, path: str | Path, unit_ends: Callable[[bytes], list[int]]
    ) -> tuple[int, bytes, list[int]]:
        """The checkpointed offset of ``path``, the whole units after it, and their ends.

        A torn last unit (a crash mid-write) is cut from the file.
        """
        file = Path(path)
        if not file.exists():
            return 0, b"", []
        committed = int(self._meta(_offset_key(path)) or 0)
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

    def close(self) -> None:
        """Commit, close the database and release the lock (removing its file).

        The outputs' offsets stay where the last checkpoint put them: records written after
        it (a batch cut short by a second Ctrl-C) are not marked done, so a resumed crawl
        recovers them as after a crash instead of writing them twice.
        """
        with contextlib.suppress(sqlite3.Error):
            self.store.commit()
        self.store.close()
        _unlock(self.path, self._lock)

    def _stamp(self, new_fingerprint: str) -> None:
        old = self._meta("fingerprint")
        if old is None:
            self._set_meta("version", STATE_VERSION)
        elif old != new_fingerprint:
            log.warning(
                "%s was started with other seeds or scope; resuming with the new ones",
                self.path,
            )
        self._set_meta("fingerprint", new_fingerprint)
        self._set_meta("ended", "0")
        self.store.commit()

    def _meta(self, key: str) -> str | None:
        row = self.store.connection.execute("SELECT value FROM meta WHERE key = ?", (key,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.store.connection.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


PAGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, status INTEGER, etag TEXT, last_modified TEXT, sha256 TEXT,
    links TEXT, depth INTEGER NOT NULL, referrer TEXT,
    warc_id TEXT, warc_date TEXT, payload_digest TEXT
)
"""
"""Per page, what its last fetch left for a recrawl: validators, digest, links, capture."""

PAGE_COLUMNS = (
    "status, etag, last_modified, sha256, links, depth, referrer, warc_id, warc_date, "
    "payload_digest"
)


def _finished(store: SqliteFrontierStore) -> bool:
    """True when the last run ended (or left nothing queued): a recrawl starts a new run.

    A run stopped by a limit (``max_pages``, ``max_duration_s``) ended, though URLs stay
    queued; one interrupted or killed did not, and is resumed instead.
    """
    row = store.connection.execute("SELECT value FROM meta WHERE key = 'ended'").fetchone()
    return store.queued() == 0 or (row is not None and row[0] == "1")


def _begin_recrawl(store: SqliteFrontierStore) -> int:
    """Forget which URLs were seen and done, and queue every known page again.

    The last run's seeds (depth 0, no referrer) are left to this run's seeds, so that a
    seed is not counted as a duplicate of itself. Returns how many pages were queued.
    """
    db = store.connection
    for table in ("seen", "outcomes", "queue"):
        db.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
    rows = db.execute(
        "SELECT url, depth, referrer FROM pages WHERE NOT (depth = 0 AND referrer IS NULL) "
        "ORDER BY depth, url"
    ).fetchall()
    requests = [FetchRequest(url, depth, referrer) for url, depth, referrer in rows]
    store.mark_seen([url_key(request.url) for request in requests])
    store.push(requests)
    store.commit()
    log.info("recrawl: %d known pages queued besides the seeds", len(requests))
    return len(requests)


def _lock(path: Path) -> TextIO:
    """An exclusive lock next to the state file; the kernel drops it if the process dies.

    A stale lock file (its process was killed) is simply locked again. A holder removes the
    file as it finishes: whoever locked that removed file tries again on a fresh one.
    """
    lock_path = _lock_path(path)
    while True:
        try:
            handle = lock_path.open("a+")
        except OSError as exc:
            raise StateError(f"cannot use state file {path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StateError(
                f"state file {path} is in use by another parcrawl ({holder}); "
                "wait for it or stop it"
            ) from None
        if _is_file(handle, lock_path):
            break
        handle.close()
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def _unlock(path: Path, handle: TextIO) -> None:
    """Remove the lock file, then let go of the lock: no lock file stays behind a clean exit."""
    with contextlib.suppress(OSError):  # gone already, or a read-only folder: harmless
        _lock_path(path).unlink()
    handle.close()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _is_file(handle: TextIO, path: Path) -> bool:
    """True when the open ``handle`` is still the file at ``path`` (not removed, not replaced)."""
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


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


def _check(path: Path) -> None:
    """Refuse, without writing to it, a file that is not a state file of this version."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.Error as exc:
        raise StateError(f"{path} is not a parcrawl state file, or it is damaged ({exc})") from exc
    if row is None:
        raise StateError(f"{path} is not a parcrawl state file (no version)")
    if str(row[0]) != STATE_VERSION:
        raise StateError(
            f"{path} is a version {row[0]} state file; this parcrawl reads version {STATE_VERSION}"
        )


PER_HOST = ("queued", "done", "failed")
"""The per-host counts of ``parcrawl status`` (and "in flight" while a fetch is running)."""


@dataclass(frozen=True)
class StatusReport:
    """What ``parcrawl status`` shows: counts overall and per host."""

    queued: int
    in_flight: int
    done: int
    failed: int
    per_host: dict[str, Counter[str]]

    def lines(self) -> list[str]:
        """The report as text lines."""
        out = [
            f"queued {self.queued}, in flight {self.in_flight}, done {self.done}, "
            f"failed {self.failed}"
        ]
        for host, counts in sorted(self.per_host.items()):
            kinds = ("queued", "in flight", "done", "failed") if self.in_flight else PER_HOST
            parts = ", ".join(f"{kind} {counts[kind]}" for kind in kinds)
            out.append(f"  {host}: {parts}")
        return out


def read_status(path: str | Path) -> StatusReport:
    """Read a state file without changing it (a crawl may be running on it).

    Raises:
        StateError: the file is missing or not a state file of this version.
    """
    state_path = Path(path)
    if not state_path.exists():
        raise StateError(f"state file not found: {state_path}")
    _check(state_path)
    per_host: dict[str, Counter[str]] = {}
    with contextlib.closing(sqlite3.connect(f"file:{state_path}?mode=ro", uri=True)) as db:
        queued = in_flight = done = failed = 0
        for url, claimed in db.execute("SELECT url, claimed FROM queue"):
            # Loaded into a running crawl's memory is still queued: only a started fetch
            # is in flight.
            kind = "in flight" if claimed == FETCHING else "queued"
            per_host.setdefault(host_key(url), Counter())[kind] += 1
            in_flight += kind == "in flight"
            queued += kind == "queued"
        for host, error in db.execute("SELECT host, error FROM outcomes"):
            kind = "done" if error is None else "failed"
            per_host.setdefault(host, Counter())[kind] += 1
            done += kind == "done"
            failed += kind == "failed"
    return StatusReport(queued, in_flight, done, failed, per_host)
