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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from crawler.errors import StateError
from crawler.frontier_store import SqliteFrontierStore
from crawler.settings import Settings
from crawler.urls import host_key

log = logging.getLogger(__name__)

STATE_VERSION = "1"


class OffsetSource(Protocol):
    """What a state asks of a JSON Lines output: where it is and how much it holds."""

    @property
    def path(self) -> str: ...

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

    Output and state agree through the output offset: each checkpoint commits, in one
    transaction, the URLs done and how many bytes of JSON Lines hold their records. After
    a crash, the lines past that offset are records whose URLs the state did not mark
    done yet; ``recover`` returns them (and cuts a torn last line) so that the crawl
    marks them done instead of fetching them again.
    """

    def __init__(self, path: Path, store: SqliteFrontierStore, lock: TextIO, resumed: bool):
        self.path = path
        self.store = store
        self.resumed = resumed
        self._lock = lock
        self._output: OffsetSource | None = None

    @classmethod
    def open(cls, path: str | Path, settings: Settings) -> CrawlState:
        """Lock and open (or create) the state file at ``path``.

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
            except sqlite3.Error as exc:
                raise StateError(f"cannot open state file {state_path}: {exc}") from exc
        except BaseException:
            lock.close()
            raise
        state = cls(state_path, store, lock, existed)
        state._stamp(fingerprint(settings))
        return state

    def track(self, output: OffsetSource) -> None:
        """Checkpoint ``output``'s offset with every commit (a JSON Lines file)."""
        self._output = output

    def recover(self, jsonl_path: str) -> list[dict[str, Any]]:
        """Records written to ``jsonl_path`` after the last checkpoint; repairs a torn line.

        Call before the output is opened for appending.
        """
        path = Path(jsonl_path)
        if not path.exists():
            return []
        committed = int(self._meta(f"offset:{jsonl_path}") or 0)
        size = path.stat().st_size
        if size < committed:
            log.warning("%s is shorter than the state remembers; it was changed by hand", path)
            committed = 0
        with path.open("rb+") as handle:
            handle.seek(committed)
            tail = handle.read()
            keep = tail.rfind(b"\n") + 1
            if keep < len(tail):
                handle.truncate(committed + keep)
                log.warning("%s: removed a partial last line left by the crash", path)
        records = []
        for line in tail[:keep].splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                log.warning("%s: skipped an unreadable line after the last checkpoint", path)
        return records

    def checkpoint(self) -> None:
        """Commit the state, with the tracked output's offset, in one transaction."""
        if self._output is not None:
            self._set_meta(f"offset:{self._output.path}", str(self._output.offset))
        self.store.commit()

    def close(self) -> None:
        """Commit, close the database and release the lock."""
        with contextlib.suppress(sqlite3.Error):
            self.checkpoint()
        self.store.close()
        self._lock.close()

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


def _lock(path: Path) -> TextIO:
    """An exclusive lock next to the state file; the kernel drops it if the process dies."""
    lock_path = path.with_name(path.name + ".lock")
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
            f"state file {path} is in use by another parcrawl ({holder}); wait for it or stop it"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


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
            parts = ", ".join(f"{kind} {counts[kind]}" for kind in ("queued", "done", "failed"))
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
            per_host.setdefault(host_key(url), Counter())["queued"] += 1
            in_flight += claimed
            queued += 1 - claimed
        for host, error in db.execute("SELECT host, error FROM outcomes"):
            kind = "done" if error is None else "failed"
            per_host.setdefault(host, Counter())[kind] += 1
            done += kind == "done"
            failed += kind == "failed"
    return StatusReport(queued, in_flight, done, failed, per_host)
