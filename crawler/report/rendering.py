"""The report's Rendering section: which pages went to the browser, which were read as
fetched, which renders failed, per host and by reason; and what only the crawl's stats know.

Its own module (not ``sections``) so that a crawl that never renders builds the report it
always did: ``section`` is None when no record says ``rendered``, and the page leaves the
section out. (``render`` is the other thing: it renders the report page itself.)
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crawler.stats import Stats

RENDER_FAILURES = ("render_timeout", "render_crash")
"""Error codes of a render that failed: the page is kept as fetched, with this error."""

# A failed render says rendered: false with the reason it was to be rendered for: it is
# counted apart, not among the pages read as fetched because they did not need a browser.
_FAILED = f"(rendered = 0 AND coalesce(error_code IN {RENDER_FAILURES!r}, 0))"
_OUTCOMES = f"sum(rendered), sum({_FAILED}), sum(rendered = 0 AND NOT {_FAILED})"
_MAIN_REASON = (
    "SELECT render_reason FROM pages q WHERE q.host = p.host AND q.rendered IS NOT NULL "
    "GROUP BY render_reason ORDER BY count(*) DESC, render_reason LIMIT 1"
)


def section(
    connection: sqlite3.Connection, *, top: int, stats: Stats | None = None
) -> dict[str, Any] | None:
    """The Rendering section from the scratch database (``collect``), or None when no record
    carries ``rendered`` (a crawl that never renders, or output of an older parcrawl).

    ``stats``: the crawl's own, for what records do not say (its pages' requests, probes,
    browser restarts); None for a report made later from output files alone.
    """
    pages, rendered, failed, as_fetched = connection.execute(
        f"SELECT count(*), {_OUTCOMES} FROM pages WHERE rendered IS NOT NULL"  # noqa: S608
    ).fetchone()
    if not pages:
        return None
    hosts = connection.execute(
        f"SELECT host, {_OUTCOMES}, ({_MAIN_REASON}) FROM pages p "  # noqa: S608
        "WHERE rendered IS NOT NULL GROUP BY host ORDER BY count(*) DESC, host LIMIT ?",
        (top,),
    ).fetchall()
    (host_total,) = connection.execute(
        "SELECT count(DISTINCT host) FROM pages WHERE rendered IS NOT NULL"
    ).fetchone()
    reasons = connection.execute(
        f"SELECT coalesce(render_reason, '(none)'), {_OUTCOMES} FROM pages "  # noqa: S608
        "WHERE rendered IS NOT NULL GROUP BY render_reason ORDER BY render_reason"
    ).fetchall()
    failures = connection.execute(
        f"SELECT error_code, count(*) FROM pages WHERE {_FAILED} "  # noqa: S608
        "GROUP BY error_code ORDER BY count(*) DESC, error_code"
    ).fetchall()
    return {
        "pages": pages,
        "rendered": rendered,
        "failed": failed,
        "as_fetched": as_fetched,
        "failures": failures,
        "hosts": {
            "rows": [
                {"host": host, "rendered": r, "failed": f, "as_fetched": a, "reason": reason}
                for host, r, f, a, reason in hosts
            ],
            "total": host_total,
            "top": top,
        },
        # "rule" is a reason both to render and not to: each list counts its own pages.
        "render_reasons": sorted(
            ((reason, r, f) for reason, r, f, _ in reasons if r or f),
            key=lambda row: -(row[1] + row[2]),
        ),
        "fetched_reasons": sorted(
            ((reason, a) for reason, _, _, a in reasons if a), key=lambda row: -row[1]
        ),
        "browser": None if stats is None else browser(stats),
    }


def browser(stats: Stats) -> dict[str, Any]:
    """What the browser did that no record says: the requests its pages made (served by the
    crawl's client, or blocked, by reason), probes rendered beside the crawl, restarts."""
    return {
        "requests": stats.render_requests,
        "blocked": sum(stats.render_blocked.values()),
        "blocked_by": stats.render_blocked.most_common(),
        "probes": stats.render_probes,
        "restarts": stats.browser_restarts,
    }
