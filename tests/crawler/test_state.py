"""Tests for crawler.state: status counts, retries and page limits kept across a restart,
the lock file, and records written but not marked done (in-process; the kill/resume runs of
whole crawls are in tests/e2e/test_state_resume.py)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawler.api import Crawl, make_settings
from crawler.errors import StateError
from crawler.frontier import LocalFrontier, Outcome, RetryIn, SqliteFrontierStore
from crawler.models import FetchRequest
from crawler.settings import build_settings
from crawler.state import CrawlState, read_status
from crawler.testing import MockSite
from crawler.urls import host_key
from pipelines.sinks import JsonlSink


def urls_in(path: Path) -> Counter[str]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "a partial last line"
    return Counter(json.loads(line)["url"] for line in text.splitlines())


def lock_of(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


async def test_status_counts_in_flight_only_the_fetches_that_started(tmp_path):
    path = tmp_path / "busy.crawl"
    crawl_state = CrawlState.open(path, build_settings({}))
    frontier = LocalFrontier(per_host=1, store=crawl_state.store)
    for host in ("a", "b"):
        await frontier.add_many([FetchRequest(f"http://{host}.test/{n}") for n in range(5)])
    started = await frontier.get()
    assert started is not None
    crawl_state.checkpoint()

    running = read_status(path)  # the crawl runs on: the other nine wait in memory
    assert (running.queued, running.in_flight) == (9, 1)
    assert running.per_host[host_key(started.request.url)]["in flight"] == 1
    assert sum(counts["queued"] for counts in running.per_host.values()) == 9

    crawl_state.close()
    stopped = read_status(path)
    assert (stopped.queued, stopped.in_flight) == (10, 0)
    assert not lock_of(path).exists()


async def test_a_pending_retry_keeps_its_attempt_and_its_time_across_a_restart(tmp_path):
    path = tmp_path / "retry.crawl"
    store = SqliteFrontierStore(path, durable=True)
    frontier = LocalFrontier(per_host=1, store=store)
    frontier.add(FetchRequest("http://a.test/busy"))
    lease = await frontier.get()
    assert lease is not None
    await frontier.end(lease, RetryIn(30))
    store.commit()
    store.close()  # the process dies here, the retry still waiting

    reopened = SqliteFrontierStore(path, durable=True)
    restarted = LocalFrontier(per_host=1, store=reopened)
    restarted.close_input()
    with pytest.raises(TimeoutError):  # not before its time, even after the restart
        await asyncio.wait_for(restarted.get(), 0.3)
    reopened.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        attempt, not_before = db.execute("SELECT attempt, not_before FROM queue").fetchone()
    assert attempt == 2
    assert not_before > time.time() + 25


async def test_page_limits_count_the_pages_done_before_a_restart(tmp_path):
    path = tmp_path / "limits.crawl"
    store = SqliteFrontierStore(path, durable=True)
    earlier = [f"http://a.test/{n}" for n in range(3)]
    store.mark_done([Outcome(url, 200, None) for url in earlier])
    refused = "http://b.test/private"  # robots.txt said no: never fetched, not a page
    store.mark_done([Outcome(refused, None, "robots")])
    store.commit()
    store.close()

    reopened = SqliteFrontierStore(path, durable=True)
    frontier = LocalFrontier(per_host=4, store=reopened, max_requests=6, max_per_host=4)
    for host in ("a", "b"):
        await frontier.add_many([FetchRequest(f"http://{host}.test/new{n}") for n in range(5)])
    frontier.close_input()
    handed_out = Counter[str]()
    while (lease := await asyncio.wait_for(frontier.get(), 30)) is not None:
        handed_out[host_key(lease.request.url)] += 1
    reopened.close()
    # Six pages in all, four per host: a.test had three already.
    assert handed_out == {host_key("http://a.test/"): 1, host_key("http://b.test/"): 2}


def test_a_crawl_that_locked_a_lock_file_just_removed_locks_the_new_one(tmp_path, monkeypatch):
    path, settings = tmp_path / "site.crawl", build_settings({})
    first = CrawlState.open(path, settings)
    real_flock = fcntl.flock
    ended: list[bool] = []

    def first_ends_meanwhile(handle: Any, operation: int) -> None:
        # The first crawl ends (and removes its lock file) after the second opened that
        # file and before it locks it: a lock on the removed file would guard nothing.
        if not ended:
            ended.append(True)
            first.close()
        real_flock(handle, operation)

    monkeypatch.setattr(fcntl, "flock", first_ends_meanwhile)
    second = CrawlState.open(path, settings)
    monkeypatch.undo()
    try:
        assert lock_of(path).read_text() == f"pid {os.getpid()}"
        with pytest.raises(StateError, match="in use by another parcrawl"):
            CrawlState.open(path, settings)
    finally:
        second.close()
    assert not lock_of(path).exists()


async def test_records_written_but_not_marked_done_at_a_stop_are_recovered(tmp_path):
    path, out, settings = tmp_path / "site.crawl", tmp_path / "out.jsonl", build_settings({})
    records = [{"url": f"http://a.test/{n}", "status": 200, "error": None} for n in range(3)]
    crawl_state = CrawlState.open(path, settings)
    sink = JsonlSink(out)
    crawl_state.track(sink)
    await sink.open()
    await sink.write(records[:1])
    crawl_state.checkpoint()  # the first record: written and marked done
    await sink.write(records[1:])  # cancelled (a second Ctrl-C) before being marked done
    await sink.close()
    crawl_state.close()

    resumed = CrawlState.open(path, settings)
    try:
        assert resumed.recover(str(out)) == records[1:]
    finally:
        resumed.close()


async def test_links_of_pages_done_while_stopping_are_crawled_on_resume(tmp_path):
    site = MockSite(
        {
            "/": "<a href='/slow'>slow</a>",
            "/slow": "<a href='/next'>next</a>",
            "/next": "<title>Next</title>",
        }
    )
    out = tmp_path / "out.jsonl"
    settings = make_settings(
        seeds=[site.url("/")],
        follow=True,
        workers=0,
        state=str(tmp_path / "site.crawl"),
        output={"jsonl": str(out)},
    )

    def stop_while_slow_is_fetched(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            job.stop()  # Ctrl-C: the page in flight still finishes and is written
        return site.handler(request)

    job = Crawl(settings, transport=httpx.MockTransport(stop_while_slow_is_fetched))
    stats = await job.run()
    assert stats.interrupted
    assert set(urls_in(out)) == {site.url("/"), site.url("/slow")}

    await Crawl(settings, transport=site.transport()).run()
    assert urls_in(out) == Counter(site.url(path) for path in ("/", "/slow", "/next"))
