"""The report's streaming passes: each record reduced to one row of facts in a scratch SQLite.

It owns what is kept of a record (no text, no links) and the broken-links join; the
queries that read the rows back are ``sections``'. Memory does not grow with the crawl.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from crawler.models import media_type

BATCH = 2000

NOT_BROKEN = frozenset(
    {
        # refusals and page-level troubles: the link itself leads somewhere fine
        "robots_disallowed",
        "redirect_out_of_scope",
        "private_address",
        "duplicate",
        "retry_after_too_long",
        "robots_unavailable",
        "parse_error",
        "parse_crash",
        "parse_too_large",
        "step_error",
        "content_error",
        "content_timeout",
        "internal",
    }
)
"""Error codes that do not make a link broken; every other error, and 4xx/5xx, does."""

ANSWERED = frozenset(
    {
        *("http_4xx", "http_5xx", "parse_error", "parse_crash", "parse_too_large", "step_error"),
        *("content_error", "content_timeout"),
    }
)
"""Error codes of a fetch that got its whole answer, so its ``elapsed_ms`` is a response time.

Any other failure (refused before fetching, dns, connect, timeout, a body cut short) has no
response time: its 0 ms or its timeout would only skew the percentiles and slowest pages.
"""

# pages.elapsed_ms is a response time: null for a fetch that got no answer (``ANSWERED``).
SCHEMA = (
    """CREATE TABLE pages (
        seq INTEGER PRIMARY KEY, url TEXT NOT NULL, host TEXT, final_url TEXT, status INTEGER,
        error_code TEXT, error_message TEXT, ok INTEGER, broken INTEGER, elapsed_ms REAL,
        bytes INTEGER, depth INTEGER, referrer TEXT, media TEXT, t REAL, title TEXT,
        description TEXT, html INTEGER, near_duplicate_of TEXT, content_words INTEGER,
        lang TEXT, lang_known INTEGER, has_description INTEGER, has_canonical INTEGER,
        rendered INTEGER, render_reason TEXT)""",
    "CREATE TABLE broken (url TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE refs (target TEXT, source TEXT, PRIMARY KEY (target, source)) WITHOUT ROWID",
)
INDEXES = (
    "CREATE INDEX pages_elapsed ON pages (elapsed_ms)",
    "CREATE INDEX pages_host_elapsed ON pages (host, elapsed_ms)",
    "CREATE INDEX pages_url ON pages (url)",
)
_INSERT = f"INSERT INTO pages VALUES ({', '.join('?' * 26)})"  # noqa: S608
# A link is kept only when its target is broken: the scratch file holds the report's
# links, not the crawl's.
_INSERT_REF = (
    "INSERT OR IGNORE INTO refs SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM broken WHERE url = ?1)"
)

_NETLOC = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")

Records = Callable[[], Iterator[dict[str, Any]]]
"""Reads the input from its start again: each call is one streaming pass."""


def is_broken(record: dict[str, Any]) -> bool:
    """True when a link to this record's URL is broken: 4xx, 5xx or a failed fetch."""
    status = record.get("status")
    if isinstance(status, int) and status >= 400:
        return True
    error = record.get("error")
    return isinstance(error, dict) and error.get("code") not in NOT_BROKEN


def load(connection: sqlite3.Connection, records: Records) -> int:
    """Fill the scratch database from two passes over ``records``; returns the record count."""
    for statement in SCHEMA:
        connection.execute(statement)
    count = 0
    rows = (_row(seq, record) for seq, record in enumerate(records()))
    while batch := list(itertools.islice(rows, BATCH)):
        with connection:
            connection.executemany(_INSERT, batch)
        count += len(batch)
    with connection:
        for statement in INDEXES:
            connection.execute(statement)
        # A URL fetched twice (merged outputs, a resumed crawl) is broken only if no fetch of
        # it succeeded.
        connection.execute(
            "INSERT INTO broken SELECT url FROM pages GROUP BY url HAVING min(broken) = 1"
        )
        connection.execute(
            "INSERT OR IGNORE INTO refs SELECT p.url, p.referrer FROM pages p "
            "JOIN broken b ON b.url = p.url WHERE p.referrer IS NOT NULL"
        )
    (any_broken,) = connection.execute("SELECT EXISTS (SELECT 1 FROM broken)").fetchone()
    if any_broken:
        _join_links(connection, records())
    return count


def _join_links(connection: sqlite3.Connection, records: Iterable[dict[str, Any]]) -> None:
    pairs = (
        (link, record["url"])
        for record in records
        if isinstance(links := record.get("links"), list)
        for link in links
        if isinstance(link, str)
    )
    while batch := list(itertools.islice(pairs, BATCH * 10)):
        with connection:
            connection.executemany(_INSERT_REF, batch)


def _row(seq: int, record: dict[str, Any]) -> tuple[Any, ...]:
    url: str = record["url"]
    error = record.get("error")
    code = message = None
    if isinstance(error, dict):
        code, message = _text(error.get("code")), _text(error.get("message"))
    media = media_type(_text(record.get("content_type")))
    status = _int(record.get("status"))
    return (
        seq,
        url,
        _host(url),
        _text(record.get("final_url")),
        status,
        code,
        message,
        int(error is None),
        int(is_broken(record)),
        _number(record.get("elapsed_ms")) if error is None or code in ANSWERED else None,
        _int(record.get("bytes")),
        _int(record.get("depth")),
        _text(record.get("referrer")),
        media or None,
        _epoch_s(record.get("fetched_at")),
        _text(record.get("title")),
        _text(record.get("description")),
        int(error is None and media in ("text/html", "application/xhtml+xml")),
        _text(record.get("near_duplicate_of")),
        *_page_facts(record),
        *_render_facts(record),
    )


def _page_facts(
    record: dict[str, Any],
) -> tuple[int | None, str | None, int, int | None, int | None]:
    """Main content's words, the language (and whether the record says), whether it has a
    description and a canonical URL: None where the record carries no such field (a crawl
    without ``--content`` has no ``content``), so the report counts only what was looked at.
    """
    meta = record.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    content = record.get("content")
    words = len(content.split()) if isinstance(content, str) else None
    lang = _text(meta.get("lang")) or _text(record.get("lang"))
    return (
        words,
        lang,
        int("lang" in record or "lang" in meta),
        _present(record, meta, "description"),
        _present(record, meta, "canonical"),
    )


def _render_facts(record: dict[str, Any]) -> tuple[int | None, str | None]:
    """Whether the page was rendered and why: both None for a record without ``rendered`` (a
    crawl that never renders, a fetch that failed before the renderer saw it), so the
    Rendering section counts only the records that say and is left out when none does.
    """
    rendered = record.get("rendered")
    if not isinstance(rendered, bool):
        return None, None
    return int(rendered), _text(record.get("render_reason"))


def _present(record: dict[str, Any], meta: dict[str, Any], key: str) -> int | None:
    if key not in record and key not in meta:
        return None
    return int(bool(_text(meta.get(key)) or _text(record.get(key))))


def _host(url: str) -> str:
    # A regex, not urlsplit: a third of the first pass's time went to splitting URLs.
    match = _NETLOC.match(url)
    return match[1].lower() if match else ""


def _epoch_s(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if -(2**63) <= value < 2**63 else None  # what SQLite can hold


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
