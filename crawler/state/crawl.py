"""CrawlState: an open, locked state file that lets a crawl stop at any moment (even
``kill -9``) and resume, and a recrawl compare with the last run.

It ties together the file's life (:mod:`.file`), the outputs' agreement with it
(:mod:`.outputs`) and the pages' memory (:mod:`.pages`); the queue itself is the durable
frontier store's, ``parcrawl status`` is :mod:`.status`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from crawler.errors import StateError
from crawler.frontier import SqliteFrontierStore
from crawler.recrawl import PageMemory
from crawler.settings import Settings
from crawler.state.file import STATE_VERSION, check, lock, read_meta, unlock, write_meta
from crawler.state.outputs import OffsetSource, OutputOffsets
from crawler.state.pages import PAGES_SCHEMA, begin_recrawl, finished, read_page, write_pages

log = logging.getLogger(__name__)

T = TypeVar("T")


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

    def __init__(self, path: Path, store: SqliteFrontierStore, held: TextIO, resumed: bool):
        self.path = path
        self.store = store
        self.resumed = resumed
        self._lock = held
        self._outputs = OutputOffsets(store.connection)
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
        held = lock(state_path)
        try:
            existed = state_path.exists() and state_path.stat().st_size > 0
            if existed:
                check(state_path)
            try:
                store = SqliteFrontierStore(state_path, durable=True)
                store.connection.execute(PAGES_SCHEMA)
                if settings.recrawl and finished(store):
                    queued = begin_recrawl(store)
                    store.close()  # reopened: the store counts its seen set and queue anew
                    store = SqliteFrontierStore(state_path, durable=True)
                else:
                    queued = None
            except sqlite3.Error as exc:
                raise StateError(f"cannot open state file {state_path}: {exc}") from exc
        except BaseException:
            unlock(state_path, held)
            raise
        state = cls(state_path, store, held, existed)
        state.recrawl_queued = queued
        state._stamp(fingerprint(settings))
        return state

    def finish(self) -> None:
        """Mark the run as ended (not interrupted): the next ``--recrawl`` starts anew."""
        self._set_meta("ended", "1")
        self.store.commit()

    def previous(self, url: str) -> PageMemory | None:
        """What the state remembers of ``url`` from its last fetch, or None for a new URL."""
        return read_page(self.store, url)

    def remember(self, pages: Sequence[PageMemory]) -> None:
        """Keep ``pages`` for the next recrawl; committed with the next checkpoint."""
        write_pages(self.store, pages)

    def track(self, output: OffsetSource) -> None:
        """Checkpoint ``output``'s offset with every commit (a JSON Lines or CSV file)."""
        self._outputs.track(output)

    def recover(self, jsonl_path: str) -> list[dict[str, Any]]:
        """Records written to ``jsonl_path`` after the last checkpoint; repairs a torn line.

        Call before the output is opened for appending.
        """
        return self._outputs.recover(jsonl_path)

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
        return self._outputs.reconcile(path, row_ends, recovered, header_rows=header_rows)

    def checkpoint(self) -> None:
        """Commit the state, with the tracked outputs' offsets, in one transaction."""
        self._outputs.record()
        self.store.commit()

    def close(self) -> None:
        """Commit, close the database and release the lock (removing its file).

        The outputs' offsets stay where the last checkpoint put them: records written after
        it (a batch cut short by a second Ctrl-C) are not marked done, so a resumed crawl
        recovers them as after a crash instead of writing them twice.
        """
        with contextlib.suppress(sqlite3.Error):
            self.store.commit()
        self.store.close()
        unlock(self.path, self._lock)

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
        return read_meta(self.store.connection, key)

    def _set_meta(self, key: str, value: str) -> None:
        write_meta(self.store.connection, key, value)
