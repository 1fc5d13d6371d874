"""The state file's ``pages`` table: what each page's last fetch left for the next recrawl,
and the start of a new recrawl run over every page it knows.

It owns the table; what a page's memory means is :mod:`crawler.recrawl`'s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from crawler.frontier import SqliteFrontierStore
from crawler.models import FetchRequest
from crawler.recrawl import PageMemory
from crawler.state.file import read_meta
from crawler.urls import url_key

log = logging.getLogger(__name__)

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


def read_page(store: SqliteFrontierStore, url: str) -> PageMemory | None:
    """What the state remembers of ``url`` from its last fetch, or None for a new URL."""
    row = store.connection.execute(
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


def write_pages(store: SqliteFrontierStore, pages: Sequence[PageMemory]) -> None:
    """Keep ``pages`` for the next recrawl; committed with the state's next commit."""
    store.connection.executemany(
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


def finished(store: SqliteFrontierStore) -> bool:
    """True when the last run ended (or left nothing queued): a recrawl starts a new run.

    A run stopped by a limit (``max_pages``, ``max_duration_s``) ended, though URLs stay
    queued; one interrupted or killed did not, and is resumed instead.
    """
    return store.queued() == 0 or read_meta(store.connection, "ended") == "1"


def begin_recrawl(store: SqliteFrontierStore) -> int:
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
