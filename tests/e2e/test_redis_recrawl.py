"""A recrawl of a shared crawl from the command line: --recrawl --changed-only with
--frontier, on a loopback site that changed since the first crawl, against a real Redis."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.changing import CLI_RECRAWL_SITE, ChangingSite
from tests.support.cli import parcrawl
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # the fixture, imported for this module's tests


def test_recrawl_of_a_shared_crawl_from_the_command_line(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    day1, day2 = tmp_path / "day1.jsonl", tmp_path / "day2.jsonl"
    shared = ["--follow", "--frontier", redis_server.url, "--crawl-id", "docs", "-w", "0"]
    with ChangingSite(CLI_RECRAWL_SITE) as site:
        first = parcrawl("crawl", site.url("/"), *shared, "-o", str(day1))
        assert first.returncode == 0, first.stderr
        site.pages["/b"] = "<title>B</title><p>two</p>"
        del site.pages["/c"]
        site.clear()
        second = parcrawl(
            "crawl", site.url("/"), *shared, "-o", str(day2), "--recrawl", "--changed-only"
        )
    assert second.returncode == 0, second.stderr
    records = [json.loads(line) for line in day2.read_text().splitlines()]
    assert {(r["url"], r["change"]) for r in records} == {
        (site.url("/b"), "changed"),
        (site.url("/c"), "gone"),
    }
    assert "changes: new 0, changed 1, unchanged 3, gone 1 (3 unchanged not written)" in (
        second.stderr
    )
    assert site.fetched("/a") == [(True, 304)]
    assert "Traceback" not in second.stderr
