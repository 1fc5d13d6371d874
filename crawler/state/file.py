"""The state file's life: its lock (one parcrawl at a time), its version, its ``meta`` table.

It owns the file as a file; what the tables mean is the crawl state's, the queue's the
durable frontier store's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import TextIO

from crawler.errors import StateError

STATE_VERSION = "1"


def lock(path: Path) -> TextIO:
    """An exclusive lock next to the state file; the kernel drops it if the process dies.

    A stale lock file (its process was killed) is simply locked again. A holder removes the
    file as it finishes: whoever locked that removed file tries again on a fresh one.

    Raises:
        StateError: another parcrawl holds it, or the lock file cannot be made.
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


def unlock(path: Path, handle: TextIO) -> None:
    """Remove the lock file, then let go of the lock: no lock file stays behind a clean exit."""
    with contextlib.suppress(OSError):  # gone already, or a read-only folder: harmless
        _lock_path(path).unlink()
    handle.close()


def check(path: Path) -> None:
    """Refuse, without writing to it, a file that is not a state file of this version.

    Raises:
        StateError: not a state file, damaged, or of another version.
    """
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


def read_meta(db: sqlite3.Connection, key: str) -> str | None:
    """The ``meta`` value of ``key``, or None when unset."""
    found = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if found is None else str(found[0])


def write_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    """Set ``key`` in ``meta``; committed with the state's next commit."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


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
