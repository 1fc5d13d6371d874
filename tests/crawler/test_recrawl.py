"""Recrawls: conditional requests, each record's ``change``, 304s not parsed but followed,
``--changed-only``, and what a state remembers between runs (in-process, loopback site)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from crawler.api import CrawlResult, acrawl, crawl
from crawler.errors import ConfigError
from crawler.models import Record
from tests.support.changing import RECRAWL_SITE, ChangingSite, publish_second_version

SITE = RECRAWL_SITE


def run(site: ChangingSite, state: Path, **settings: Any) -> CrawlResult:
    return crawl(
        site.url("/"),
        follow=True,
        state=str(state),
        workers=0,
        output={"jsonl": str(state.with_suffix(".jsonl"))},
        **settings,
    )


def changes(result: CrawlResult) -> dict[str, str | None]:
    return {record["url"].rsplit("/", 1)[1] or "/": record["change"] for record in result.records}


@pytest.fixture
def site():
    with ChangingSite(SITE, bare=frozenset({"/d"})) as served:
        yield served


def test_a_recrawl_says_exactly_what_changed(site, tmp_path):
    state = tmp_path / "site.crawl"
    first = run(site, state)
    assert all("change" not in record for record in first.records)  # no recrawl: no key
    a_links = first.by_url()[site.url("/a")]["links"]

    publish_second_version(site)
    second = run(site, state, recrawl=True)

    assert changes(second) == {
        "/": "changed",
        "a": "unchanged",  # 304
        "b": "changed",
        "c": "gone",  # no longer linked, and 404
        "d": "unchanged",  # no validators: 200 with the same digest
        "e": "unchanged",  # reached through the links /a had last time
        "new": "new",
    }
    by_url = second.by_url()
    assert site.fetched("/a") == [(True, 304)]
    assert site.fetched("/d") == [(False, 200)]  # nothing to ask a conditional request with
    assert by_url[site.url("/a")]["status"] == 304
    assert by_url[site.url("/a")]["links"] == a_links
    assert by_url[site.url("/a")]["sha256"] == first.by_url()[site.url("/a")]["sha256"]
    assert by_url[site.url("/c")]["error"]["code"] == "http_4xx"
    # Parsed: the 200s only (/, b, d, new); the 304s were not parsed again.
    assert second.stats.parsed == 4
    assert second.stats.changes == {"new": 1, "changed": 2, "unchanged": 3, "gone": 1}
    summary = "\n".join(second.stats.summary_lines())
    assert "changes: new 1, changed 2, unchanged 3, gone 1" in summary


def test_changed_only_writes_only_the_pages_that_changed(site, tmp_path):
    state = tmp_path / "site.crawl"
    run(site, state)
    site.pages["/e"] = "<title>E</title><p>edited</p>"
    del site.pages["/c"]
    second = run(site, state, recrawl=True, changed_only=True)

    assert changes(second) == {"c": "gone", "e": "changed"}
    written = state.with_suffix(".jsonl").read_text().splitlines()
    assert [json.loads(line)["change"] for line in written[-2:]] == ["gone", "changed"]
    stats = second.stats
    assert stats.held_back == 4
    assert stats.unwritten == 0  # the balance holds: held back is not lost
    assert "(4 unchanged not written)" in "\n".join(stats.summary_lines())

    site.clear()
    third = run(site, state, recrawl=True, changed_only=True)  # nothing changed since
    assert third.records == []
    assert third.stats.changes["unchanged"] == 6  # /c, 404 both times, did not change
    for path in ("/", "/a", "/b", "/e"):
        assert site.fetched(path) == [(True, 304)]


def refused_url() -> str:
    """A loopback URL where nothing listens: every connection to it is refused."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"


@pytest.mark.parametrize("first_run_is_a_recrawl", [False, True])
def test_a_url_that_never_answers_is_never_new(site, tmp_path, first_run_is_a_recrawl):
    state, down = tmp_path / "site.crawl", refused_url()
    once = {"recrawl": True} if first_run_is_a_recrawl else {}
    seeds = [site.url("/a"), down]
    output = {"jsonl": str(tmp_path / "out.jsonl")}
    first = crawl(seeds, state=str(state), workers=0, fetch={"retries": 0}, output=output, **once)
    second = crawl(
        seeds, state=str(state), workers=0, fetch={"retries": 0}, output=output, recrawl=True
    )

    for result in (first, second) if first_run_is_a_recrawl else (second,):
        failed = result.by_url()[down]
        assert failed["error"]["code"] == "connect"
        # A failed fetch says nothing of the page, known before or not: no change to tell.
        assert failed["change"] is None
        assert result.stats.changes["new"] == (1 if result is first else 0)  # /a, once
    assert second.by_url()[site.url("/a")]["change"] == "unchanged"


def test_a_recrawl_ended_by_a_limit_starts_over_next_time(site, tmp_path):
    state = tmp_path / "site.crawl"
    run(site, state)
    site.pages["/b"] = "<title>B</title><p>v2</p>"
    partial = run(site, state, recrawl=True, scope={"max_pages": 3})
    assert len(partial.records) == 3
    # A limit ends a run: the next --recrawl starts a new one, over every page again.
    again = run(site, state, recrawl=True)
    assert set(changes(again)) == {"/", "a", "b", "c", "d", "e"}


def test_an_interrupted_recrawl_resumes_instead_of_starting_over(site, tmp_path):
    state = tmp_path / "site.crawl"
    first_run = run(site, state)
    site.pages["/b"] = "<title>B</title><p>v2</p>"

    async def stop_after_two() -> list[Record]:
        seen: list[Record] = []
        async for record in acrawl(
            site.url("/"), follow=True, state=str(state), workers=0, recrawl=True, batch_size=1,
            output={"jsonl": str(state.with_suffix(".jsonl"))},
        ):  # fmt: skip
            seen.append(record)
            if len(seen) == 2:
                break
        return seen

    # /e (found on /a) cannot be fetched until the first part has stopped: whatever the
    # machine's speed, that part cannot finish the recrawl before it is stopped.
    site.holds["/e"] = threading.Event()
    first_part = asyncio.run(stop_after_two())
    site.holds.pop("/e").set()
    rest = run(site, state, recrawl=True)
    assert len(first_part) == 2
    assert 0 < len(rest.records) < 6  # resumed: the pages done before the stop are not redone
    # The output holds the recrawl whole, each page once: what the first part wrote (pages in
    # flight at the break too, which its loop never saw), then the rest.
    lines = state.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines()
    recrawled = [json.loads(line) for line in lines[len(first_run.records) :]]
    assert len(recrawled) == 6
    assert changes(CrawlResult(recrawled, rest.stats)) == {
        "/": "unchanged", "a": "unchanged", "b": "changed", "c": "unchanged",
        "d": "unchanged", "e": "unchanged",
    }  # fmt: skip


def test_a_recrawl_needs_a_state_and_changed_only_needs_a_recrawl():
    with pytest.raises(ConfigError, match=r"recrawl: .*needs a state file"):
        crawl("http://127.0.0.1:9/", recrawl=True)
    with pytest.raises(ConfigError, match=r"changed_only: .*needs recrawl"):
        crawl("http://127.0.0.1:9/", state="x.crawl", changed_only=True)
