"""Recrawl bookkeeping: what each page's last fetch left (``PageMemory``), and what changed since.

It asks for conditional requests (``If-None-Match``, ``If-Modified-Since``), says of each
record whether it is ``new``, ``changed``, ``unchanged`` or ``gone``, gives a 304 the links
of its last run, and keeps every page's facts for the next run. A ``PageMemoryStore`` keeps
them (the state file, or Redis for a shared crawl); its contract lives here, with its user.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from crawler.models import FetchResult, Record
from crawler.stats import Stats

log = logging.getLogger(__name__)

NEW, CHANGED, UNCHANGED, GONE = "new", "changed", "unchanged", "gone"
CHANGES = (NEW, CHANGED, UNCHANGED, GONE)
"""The values of a record's ``change``, in the order the summary shows them."""

GONE_STATUSES = frozenset({404, 410})
NOT_MODIFIED = 304


@dataclass(frozen=True, slots=True)
class PageMemory:
    """What a crawl remembers of one page's last fetch, for the next recrawl.

    ``links`` stand in for the page's own when it answers 304 (not parsed again); the
    ``warc_*`` fields name its last full capture, which a WARC revisit record points at.
    """

    url: str
    status: int | None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    links: list[str] | None = None
    depth: int = 0
    referrer: str | None = None
    warc_id: str | None = None
    warc_date: str | None = None
    payload_digest: str | None = None


class PageMemoryStore(Protocol):
    """Where a crawl keeps what each page's last fetch left for the next recrawl.

    ``CrawlState`` keeps it in the state file; ``RedisPageMemory`` beside a shared
    frontier. ``Recrawl`` asks nothing else of either; both import this contract from
    here, the module that uses it, so neither the state nor the frontier imports the other.
    """

    def previous(self, url: str) -> PageMemory | None:
        """What is remembered of ``url``'s last fetch, or None for a new URL."""
        ...

    def remember(self, pages: Sequence[PageMemory]) -> None:
        """Keep ``pages`` for the next recrawl (written with the records' checkpoint)."""
        ...


@dataclass(frozen=True, slots=True)
class Capture:
    """Where an archive put a page's response: what a later revisit record points at."""

    warc_id: str
    warc_date: str
    payload_digest: str
    revisit: bool = False
    """True when it was a revisit record: the page's full capture stays the earlier one."""


@dataclass(frozen=True, slots=True)
class _Fetched:
    """What a fetch said about a page that its record does not carry."""

    etag: str | None
    last_modified: str | None
    capture: Capture | None


class Recrawl:
    """Compares each fetch with the store's memory of the page; remembers it for next time.

    With ``active`` false (a plain crawl with ``--state`` or ``--frontier``) it only
    remembers, so that a later ``--recrawl`` has something to compare with; records get no
    ``change``.

    Args:
        store: where the pages' memory is kept (the open crawl state, or Redis).
        stats: counts each kind of change (``Stats.changes``).
        active: this run is a recrawl: conditional requests, ``change`` in records.
        changed_only: hold back the records of unchanged pages (their links still count).
    """

    def __init__(
        self, store: PageMemoryStore, stats: Stats, *, active: bool, changed_only: bool = False
    ) -> None:
        self.store = store
        self._stats = stats
        self.active = active
        self._changed_only = changed_only
        # Filled as fetches start or end, emptied as their records are written: bounded by
        # the pages between the two (the engine's queues are bounded).
        self._fetched: dict[str, _Fetched] = {}
        self._known: dict[str, PageMemory | None] = {}

    def previous(self, url: str) -> PageMemory | None:
        """The state's memory of ``url``'s last fetch (None: a new page, or no recrawl)."""
        if not self.active:
            return None
        if url not in self._known:  # one look-up per page, kept until its record is written
            self._known[url] = self.store.previous(url)
        return self._known[url]

    def conditions(self, url: str) -> dict[str, str] | None:
        """The conditional request headers for ``url``, from its last fetch's validators."""
        page = self.previous(url)
        if page is None or page.status is None or page.status >= 300:
            return None  # nothing worth a 304 to ask about
        headers = {}
        if page.etag:
            headers["If-None-Match"] = page.etag
        if page.last_modified:
            headers["If-Modified-Since"] = page.last_modified
        return headers or None

    def fetched(self, result: FetchResult, capture: Capture | None = None) -> None:
        """Note what ``result``'s response said that its record will not carry."""
        self._fetched[result.request.url] = _Fetched(
            result.header("etag"), result.header("last-modified"), capture
        )

    def classify(self, records: Sequence[Record]) -> tuple[list[Record], list[Record]]:
        """Set each record's ``change``; returns (records to write, records held back).

        A 304 gets its links and digest from the last run, so the crawl goes on through
        it. Only ``changed_only`` holds records back: those of unchanged pages.
        """
        if not self.active:
            return list(records), []
        shown: list[Record] = []
        held: list[Record] = []
        for record in records:
            page = self.previous(record["url"])
            change = _change(record, page)
            if change == UNCHANGED and record["status"] == NOT_MODIFIED and page is not None:
                record["links"] = page.links
                record["sha256"] = page.sha256
            record["change"] = change
            if change is not None:
                self._stats.changes[change] += 1
            (held if self._changed_only and change == UNCHANGED else shown).append(record)
        self._stats.held_back += len(held)
        return shown, held

    def remember(self, records: Sequence[Record]) -> None:
        """Keep what the next recrawl compares with; committed with the next checkpoint.

        A failure that says nothing about the page (a timeout, a 5xx) keeps what was known.
        """
        pages = []
        for record in records:
            url = record["url"]
            fetched = self._fetched.pop(url, None)
            page = self._known.pop(url) if url in self._known else self.store.previous(url)
            if record["error"] is not None and record["status"] not in GONE_STATUSES:
                continue
            pages.append(_memory(record, fetched, page))
        if pages:
            self.store.remember(pages)


def _change(record: Record, page: PageMemory | None) -> str | None:
    """``new``, ``changed``, ``unchanged``, ``gone``, or None when the fetch says nothing.

    A failure other than 404/410 is None even for a page never seen: it is not remembered
    (``Recrawl.remember``), so calling it new would call it new again on every run.
    """
    status = record["status"]
    if record["error"] is not None and status not in GONE_STATUSES:
        return None
    if page is None:
        return NEW
    if status == NOT_MODIFIED:
        return UNCHANGED
    if status in GONE_STATUSES:
        return UNCHANGED if page.status in GONE_STATUSES else GONE
    if record["sha256"] is not None:
        return UNCHANGED if record["sha256"] == page.sha256 else CHANGED
    # A body not read (not HTML): the same status and size is as far as one can tell.
    same = page.status == status and page.sha256 is None
    return UNCHANGED if same else CHANGED


def _memory(record: Record, fetched: _Fetched | None, page: PageMemory | None) -> PageMemory:
    """The memory of ``record``'s page: a 304 keeps the last full fetch's digest and links."""
    etag = fetched.etag if fetched is not None else None
    modified = fetched.last_modified if fetched is not None else None
    capture = fetched.capture if fetched is not None else None
    if record["status"] == NOT_MODIFIED and page is not None:
        kept = replace(page, depth=record["depth"], referrer=record["referrer"])
        kept = replace(kept, etag=etag or page.etag, last_modified=modified or page.last_modified)
        if capture is not None and not capture.revisit:
            kept = replace(kept, warc_id=capture.warc_id, warc_date=capture.warc_date)
        return kept
    memory = PageMemory(
        record["url"],
        record["status"],
        etag,
        modified,
        record["sha256"],
        record["links"],
        record["depth"],
        record["referrer"],
    )
    if capture is None:
        return memory
    if capture.revisit and page is not None:  # the full capture is still the earlier one
        return replace(
            memory,
            warc_id=page.warc_id,
            warc_date=page.warc_date,
            payload_digest=page.payload_digest,
        )
    return replace(
        memory,
        warc_id=capture.warc_id,
        warc_date=capture.warc_date,
        payload_digest=capture.payload_digest,
    )
