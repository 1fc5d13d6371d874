"""``parcrawl status`` of a state file: counts overall and per host, read while a crawl may
be running on it (read-only, never locked)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from crawler.errors import StateError
from crawler.frontier import FETCHING
from crawler.state.file import check
from crawler.urls import host_key

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
    check(state_path)
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
