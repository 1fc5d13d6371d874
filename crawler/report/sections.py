"""The report's numbers: each section's aggregates, read from the scratch database by SQL.

It owns what each section counts and how tables are capped; it draws nothing (``charts``)
and formats nothing (the template). Every table is cut at ``top`` rows with its total kept.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime
from typing import Any

PERCENTILES = (50, 90, 99)
EXAMPLES = 3
"""Example URLs shown per status code and per error code."""
TIME_EDGES_MS = (0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000)
SIZE_EDGES = (0, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20)
SECOND_MS, MINUTE_MS, HOUR_MS, DAY_MS = 1000, 60_000, 3_600_000, 86_400_000
BUCKETS_MS = (
    *(100, 200, 500),
    *(SECOND_MS * n for n in (1, 2, 5, 10, 15, 30)),
    *(MINUTE_MS * n for n in (1, 2, 5, 10, 15, 30)),
    *(HOUR_MS * n for n in (1, 2, 3, 6, 12)),
    DAY_MS,
)
"""Time bucket sizes to choose from, each at most 2.5 times the last; past a day, whole days."""
THIN_WORDS = 200
"""Main content of fewer words than this (but some) makes a thin page, as SEO tools count."""
WORD_EDGES = (1, 50, 200, 500, 1000, 2000, 5000)
MAX_BUCKETS = 40
"""Buckets over the crawl at most: a crawl of any length gets 16 to 40 (from 1.6 s on), few
enough that a small crawl's pages do not stand alone as spikes between empty buckets."""

HOST_LINES = 6
"""Hosts drawn in the rate-per-host chart: those with the most records."""

BUSIEST_HOSTS = (
    "SELECT host FROM pages WHERE host IS NOT NULL AND t IS NOT NULL "
    "GROUP BY host ORDER BY count(*) DESC, host LIMIT ?"
)

Table = dict[str, Any]
"""A capped table: ``rows`` (at most ``top``) and ``total``, the rows there would be."""


def build(connection: sqlite3.Connection, *, top: int) -> dict[str, Any]:
    """Every section of the report, as plain data (lists, dicts, numbers, strings)."""
    query = _Query(connection, top)
    return {
        "summary": query.summary(),
        "timeline": query.timeline(),
        "host_rates": query.host_rates(),
        "statuses": query.statuses(),
        "errors": query.errors(),
        "response_times": query.response_times(),
        "content": query.content(),
        "broken_links": query.broken_links(),
        "quality": query.quality(),
        "main_content": query.main_content(),
    }


class _Query:
    def __init__(self, connection: sqlite3.Connection, top: int) -> None:
        self._db = connection
        self._top = top

    def _all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def _one(self, sql: str, *params: Any) -> Any:
        return self._db.execute(sql, params).fetchone()[0]

    def _table(self, count_sql: str, rows_sql: str, *params: Any) -> Table:
        rows = self._all(f"{rows_sql} LIMIT ?", *params, self._top)
        return {"rows": rows, "total": self._one(count_sql, *params), "top": self._top}

    def summary(self) -> dict[str, Any]:
        records, ok, hosts, size, first, last = self._db.execute(
            "SELECT count(*), sum(ok), count(DISTINCT host), sum(bytes), min(t), max(t) FROM pages"
        ).fetchone()
        duration_s = (last - first) if first is not None and last is not None else None
        return {
            "records": records,
            "ok": ok or 0,
            "failed": records - (ok or 0),
            "urls": self._one("SELECT count(DISTINCT url) FROM pages"),
            "hosts": hosts,
            "bytes": size or 0,
            "first": _iso(first),
            "last": _iso(last),
            "duration_s": duration_s,
            "pages_per_s": records / duration_s if duration_s else None,
        }

    def timeline(self) -> dict[str, Any]:
        first, last = self._db.execute("SELECT min(t), max(t) FROM pages").fetchone()
        if first is None:
            return {"bucket_s": None, "bucket": None, "rows": []}
        bucket_ms = _bucket_ms(round((last - first) * 1000))
        bucket_s = bucket_ms / 1000
        # Whole milliseconds, so that bucket edges do not move with float rounding.
        counts = {
            index: (pages, errors)
            for index, pages, errors in self._all(
                "SELECT CAST(round((t - ?) * 1000) AS INTEGER) / ? AS b, count(*), "
                "count(error_code) FROM pages WHERE t IS NOT NULL GROUP BY b",
                first,
                bucket_ms,
            )
        }
        rows = []
        for index in range(max(counts, default=0) + 1):
            pages, errors = counts.get(index, (0, 0))
            rows.append(
                {
                    "time": _iso(first + index * bucket_s),
                    "pages_per_s": pages / bucket_s,
                    "errors_per_s": errors / bucket_s,
                    "pages": pages,
                    "errors": errors,
                }
            )
        return {"bucket_s": bucket_s, "bucket": _duration(bucket_ms), "rows": rows}

    def host_rates(self) -> dict[str, Any]:
        """Each of the busiest hosts' pages per second over time, in the timeline's buckets:
        the rate a site actually got (what ``--per-host``, delays and the autothrottle let)."""
        first, last = self._db.execute("SELECT min(t), max(t) FROM pages").fetchone()
        hosts = [host for (host,) in self._all(BUSIEST_HOSTS, HOST_LINES)]
        if first is None or not hosts:
            return {"bucket": None, "hosts": [], "rows": []}
        bucket_ms = _bucket_ms(round((last - first) * 1000))
        counts = {
            (host, index): pages
            for host, index, pages in self._all(
                "SELECT host, CAST(round((t - ?) * 1000) AS INTEGER) / ? AS b, count(*) "
                "FROM pages WHERE t IS NOT NULL AND host IN ("
                + BUSIEST_HOSTS
                + ") GROUP BY host, b",
                first,
                bucket_ms,
                HOST_LINES,
            )
        }
        buckets = max((index for _, index in counts), default=0) + 1
        rows = [
            {
                "time": _iso(first + index * bucket_ms / 1000),
                "host": host,
                "pages_per_s": counts.get((host, index), 0) / (bucket_ms / 1000),
            }
            for host in hosts
            for index in range(buckets)
        ]
        return {"bucket": _duration(bucket_ms), "hosts": hosts, "rows": rows}

    def statuses(self) -> list[dict[str, Any]]:
        counts = self._all(
            "SELECT status, count(*) FROM pages GROUP BY status ORDER BY count(*) DESC, status"
        )
        examples = self._examples("status")
        return [
            {
                "status": "no response" if status is None else str(status),
                "count": count,
                "examples": examples.get(status, []),
            }
            for status, count in counts
        ]

    def errors(self) -> list[dict[str, Any]]:
        counts = self._all(
            "SELECT error_code, count(*), min(error_message) FROM pages "
            "WHERE error_code IS NOT NULL GROUP BY error_code ORDER BY count(*) DESC, error_code"
        )
        examples = self._examples("error_code")
        return [
            {"code": code, "count": count, "message": message, "examples": examples.get(code, [])}
            for code, count, message in counts
        ]

    def _examples(self, column: str) -> dict[Any, list[str]]:
        # ``column`` is one of this module's own names, never user data.
        rows = self._all(
            f"SELECT key, url FROM (SELECT {column} AS key, url, "  # noqa: S608
            f"row_number() OVER (PARTITION BY {column} ORDER BY seq) AS n FROM pages) "
            "WHERE n <= ?",
            EXAMPLES,
        )
        examples: dict[Any, list[str]] = {}
        for key, url in rows:
            examples.setdefault(key, []).append(url)
        return examples

    def response_times(self) -> dict[str, Any]:
        overall = self._percentiles("elapsed_ms IS NOT NULL")
        hosts = self._all(
            "SELECT host, count(*) FROM pages WHERE elapsed_ms IS NOT NULL GROUP BY host "
            "ORDER BY count(*) DESC, host LIMIT ?",
            self._top,
        )
        per_host = [
            {"host": host, **self._percentiles("host = ? AND elapsed_ms IS NOT NULL", host)}
            for host, _ in hosts
        ]
        return {
            "overall": overall,
            "per_host": {
                "rows": per_host,
                "total": self._one(
                    "SELECT count(DISTINCT host) FROM pages WHERE elapsed_ms IS NOT NULL"
                ),
                "top": self._top,
            },
            "histogram": self._histogram("elapsed_ms", TIME_EDGES_MS, _ms_label),
            "slowest": self._table(
                "SELECT count(*) FROM pages WHERE elapsed_ms IS NOT NULL",
                "SELECT url, elapsed_ms, status FROM pages WHERE elapsed_ms IS NOT NULL "
                "ORDER BY elapsed_ms DESC, seq",
            ),
        }

    def _percentiles(self, where: str, *params: Any) -> dict[str, Any]:
        # ``where`` is one of this module's own conditions; values go in as parameters.
        count = self._one(f"SELECT count(*) FROM pages WHERE {where}", *params)  # noqa: S608
        result: dict[str, Any] = {"count": count}
        for p in PERCENTILES:
            rank = max(math.ceil(p / 100 * count) - 1, 0)  # nearest-rank percentile
            value = self._db.execute(
                f"SELECT elapsed_ms FROM pages WHERE {where} "  # noqa: S608
                "ORDER BY elapsed_ms LIMIT 1 OFFSET ?",
                (*params, rank),
            ).fetchone()
            result[f"p{p}"] = value[0] if value else None
        return result

    def _histogram(self, column: str, edges: tuple[int, ...], label: Any) -> list[dict[str, Any]]:
        # Edges are this module's constants: the bins are counted by SQLite, not in Python.
        cases = " ".join(f"WHEN {column} < {edge} THEN {i}" for i, edge in enumerate(edges[1:]))
        counts = [0] * len(edges)
        for index, count in self._all(
            f"SELECT CASE {cases} ELSE {len(edges) - 1} END AS b, count(*) "  # noqa: S608
            f"FROM pages WHERE {column} IS NOT NULL GROUP BY b"
        ):
            counts[index] += count
        return [
            {"bin": label(edges, index), "order": index, "count": count}
            for index, count in enumerate(counts)
        ]

    def content(self) -> dict[str, Any]:
        return {
            "types": self._table(
                "SELECT count(DISTINCT coalesce(media, '')) FROM pages",
                "SELECT coalesce(media, '(none)'), count(*) FROM pages GROUP BY media "
                "ORDER BY count(*) DESC, media",
            ),
            "sizes": self._histogram("bytes", SIZE_EDGES, _size_label),
            "largest": self._table(
                "SELECT count(*) FROM pages WHERE bytes IS NOT NULL",
                "SELECT url, bytes, media FROM pages WHERE bytes IS NOT NULL "
                "ORDER BY bytes DESC, seq",
            ),
            "depths": [
                {"depth": depth, "count": count}
                for depth, count in self._all(
                    "SELECT depth, count(*) FROM pages WHERE depth IS NOT NULL "
                    "GROUP BY depth ORDER BY depth"
                )
            ],
            "hosts": self._table(
                "SELECT count(DISTINCT host) FROM pages",
                "SELECT host, count(*), sum(ok) FROM pages GROUP BY host "
                "ORDER BY count(*) DESC, host",
            ),
        }

    def broken_links(self) -> dict[str, Any]:
        targets = self._all(
            "SELECT b.url, (SELECT count(*) FROM refs r WHERE r.target = b.url) AS n, "
            "(SELECT coalesce(status, '') || ' ' || coalesce(error_code, '') FROM pages p "
            " WHERE p.url = b.url ORDER BY seq DESC LIMIT 1) "
            "FROM broken b ORDER BY n DESC, b.url LIMIT ?",
            self._top,
        )
        rows = [
            {
                "url": url,
                "why": why.strip(),
                "referrers": n,
                "pages": [
                    source
                    for (source,) in self._all(
                        "SELECT source FROM refs WHERE target = ? ORDER BY source LIMIT ?",
                        url,
                        self._top,
                    )
                ],
            }
            for url, n, why in targets
        ]
        return {
            "rows": rows,
            "total": self._one("SELECT count(*) FROM broken"),
            "links": self._one("SELECT count(*) FROM refs"),
            "top": self._top,
        }

    def quality(self) -> dict[str, Any]:
        return {
            "missing_titles": self._table(
                "SELECT count(*) FROM pages WHERE html AND coalesce(title, '') = ''",
                "SELECT url FROM pages WHERE html AND coalesce(title, '') = '' ORDER BY seq",
            ),
            "duplicate_titles": self._duplicates("title"),
            "duplicate_descriptions": self._duplicates("description"),
            "redirects": self._table(
                "SELECT count(*) FROM pages WHERE final_url IS NOT NULL AND final_url != url",
                "SELECT url, final_url, status FROM pages "
                "WHERE final_url IS NOT NULL AND final_url != url ORDER BY seq",
            ),
            "near_duplicates": self._table(
                "SELECT count(*) FROM pages WHERE near_duplicate_of IS NOT NULL",
                "SELECT url, near_duplicate_of FROM pages "
                "WHERE near_duplicate_of IS NOT NULL ORDER BY seq",
            ),
        }

    def main_content(self) -> dict[str, Any]:
        """Main content and page metadata, each over the HTML pages whose records carry it."""
        ok_html = "html AND ok"
        with_content = f"{ok_html} AND content_words IS NOT NULL"
        counts = dict(
            self._all(
                f"SELECT content_words > 0, count(*) FROM pages WHERE {with_content} GROUP BY 1"  # noqa: S608
            )
        )
        words = [
            (f"{low}-{high - 1}" if high else f">= {low}", n)
            for low, high, n in self._word_buckets(with_content)
        ]
        return {
            "pages": sum(counts.values()),
            "with_content": counts.get(1, 0),
            "without_content": self._urls(f"{with_content} AND content_words = 0"),
            "words": words,
            "thin_words": THIN_WORDS,
            "thin": self._table(
                f"SELECT count(*) FROM pages WHERE {with_content} "  # noqa: S608
                "AND content_words BETWEEN 1 AND ?",
                f"SELECT url, content_words FROM pages WHERE {with_content} "  # noqa: S608
                "AND content_words BETWEEN 1 AND ? ORDER BY content_words, seq",
                THIN_WORDS - 1,
            ),
            "lang_pages": self._one(f"SELECT count(*) FROM pages WHERE {ok_html} AND lang_known"),  # noqa: S608
            "languages": self._table(
                f"SELECT count(DISTINCT lang) FROM pages WHERE {ok_html} AND lang_known",  # noqa: S608
                f"SELECT coalesce(lang, ''), count(*) FROM pages "  # noqa: S608
                f"WHERE {ok_html} AND lang_known GROUP BY lang ORDER BY count(*) DESC, lang",
            ),
            "missing_description": self._urls(f"{ok_html} AND has_description = 0"),
            "description_pages": self._known(ok_html, "has_description"),
            "missing_canonical": self._urls(f"{ok_html} AND has_canonical = 0"),
            "canonical_pages": self._known(ok_html, "has_canonical"),
        }

    def _word_buckets(self, where: str) -> list[tuple[int, int | None, int]]:
        """Pages with main content per word-count bucket (``WORD_EDGES``), empty ones too."""
        bucket = " ".join(
            f"WHEN content_words < {high} THEN {i}" for i, high in enumerate(WORD_EDGES[1:])
        )
        counts = dict(
            self._all(
                f"SELECT CASE {bucket} ELSE {len(WORD_EDGES) - 1} END, count(*) FROM pages "  # noqa: S608
                f"WHERE {where} AND content_words >= {WORD_EDGES[0]} GROUP BY 1"
            )
        )
        highs = [*WORD_EDGES[1:], None]
        return [(low, highs[i], counts.get(i, 0)) for i, low in enumerate(WORD_EDGES)]

    def _urls(self, where: str) -> Table:
        return self._table(
            f"SELECT count(*) FROM pages WHERE {where}",  # noqa: S608
            f"SELECT url FROM pages WHERE {where} ORDER BY seq",  # noqa: S608
        )

    def _known(self, where: str, column: str) -> int:
        return int(self._one(f"SELECT count(*) FROM pages WHERE {where} AND {column} IS NOT NULL"))  # noqa: S608

    def _duplicates(self, column: str) -> Table:
        # Pages of one URL fetched twice are one page, not a duplicate of themselves.
        groups = (
            f"SELECT {column} AS value, count(DISTINCT url) AS n, min(url) AS example "  # noqa: S608
            f"FROM pages WHERE html AND coalesce({column}, '') != '' "
            f"GROUP BY {column} HAVING n > 1"
        )
        return self._table(
            f"SELECT count(*) FROM ({groups})",  # noqa: S608
            f"SELECT value, n, example FROM ({groups}) ORDER BY n DESC, value",  # noqa: S608
        )


def autothrottle(
    rate_changes: dict[str, list[tuple[float, int, float]]],
    slowdowns: dict[str, int],
    *,
    started_epoch_s: float,
    top: int,
) -> dict[str, Any]:
    """What the autothrottle did, from the crawl's stats (records do not say): per host it
    changed, its slow-downs, lowest rate and last one; and every change, timed, to chart.

    ``rate_changes``: per host, (seconds into the crawl, requests in flight, added delay).
    """
    hosts = sorted(rate_changes, key=lambda host: (-slowdowns.get(host, 0), host))
    rows = []
    for host in hosts[:top]:
        changes = rate_changes[host]
        rows.append(
            {
                "host": host,
                "slowed": slowdowns.get(host, 0),
                "least": min(limit for _, limit, _ in changes),
                "longest_s": max(delay_s for _, _, delay_s in changes),
                "limit": changes[-1][1],
                "delay_s": changes[-1][2],
            }
        )
    points = [
        {"time": _iso(started_epoch_s + at_s), "host": host, "limit": limit, "delay_s": delay_s}
        for host in hosts[:HOST_LINES]
        for at_s, limit, delay_s in rate_changes[host]
    ]
    return {"hosts": {"rows": rows, "total": len(hosts), "top": top}, "changes": points}


def _bucket_ms(span_ms: int) -> int:
    """The smallest bucket that cuts ``span_ms`` into at most ``MAX_BUCKETS``."""
    # A span of n buckets exactly starts an (n + 1)th: the last record opens it.
    fitting = (bucket for bucket in BUCKETS_MS if span_ms < MAX_BUCKETS * bucket)
    return next(fitting, DAY_MS * (span_ms // (MAX_BUCKETS * DAY_MS) + 1))


def _duration(ms: int) -> str:
    """A bucket's size as people say it: ``0.5 s``, ``15 min``, ``3 h``, ``2 days``."""
    for unit_ms, unit in ((DAY_MS, "day"), (HOUR_MS, "h"), (MINUTE_MS, "min")):
        if ms >= unit_ms and ms % unit_ms == 0:
            count = ms // unit_ms
            return f"{count} {unit}s" if unit == "day" and count > 1 else f"{count} {unit}"
    return f"{ms / 1000:g} s"


def _iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms_label(edges: tuple[int, ...], index: int) -> str:
    low = edges[index]
    if index + 1 == len(edges):
        return f">= {_ms(low)}"
    return f"{_ms(low)}-{_ms(edges[index + 1])}"


def _ms(value: int) -> str:
    return f"{value // 1000} s" if value >= 1000 else f"{value} ms"


def _size_label(edges: tuple[int, ...], index: int) -> str:
    low = edges[index]
    if index + 1 == len(edges):
        return f">= {_size(low)}"
    return f"{_size(low)}-{_size(edges[index + 1])}"


def _size(value: int) -> str:
    if value >= 1 << 20:
        return f"{value >> 20} MiB"
    return f"{value >> 10} KiB" if value else "0"
