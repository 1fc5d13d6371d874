"""Tests for crawler.frontier.stores: the seen set, the queue's order, and what a durable store
keeps across a restart; every store behaves alike where the protocol says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.frontier import FrontierStore, MemoryFrontierStore, Outcome, SqliteFrontierStore
from crawler.models import FetchRequest
from crawler.urls import host_key, url_key


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Iterator[FrontierStore]:
    made: FrontierStore = (
        MemoryFrontierStore() if request.param == "memory" else SqliteFrontierStore()
    )
    yield made
    made.close()


def keys(*urls: str) -> list[bytes]:
    return [url_key(url) for url in urls]


def test_a_key_is_fresh_only_the_first_time(store: FrontierStore) -> None:
    assert store.mark_seen(keys("http://a.test/1", "http://a.test/2")) == set(
        keys("http://a.test/1", "http://a.test/2")
    )
    assert store.mark_seen(keys("http://a.test/2", "http://a.test/3")) == set(
        keys("http://a.test/3")
    )
    assert store.seen_count() == 3


def test_pop_gives_the_shallowest_first_then_the_first_queued(store: FrontierStore) -> None:
    store.push([FetchRequest("http://a.test/deep", 2), FetchRequest("http://a.test/x", 1)])
    store.push([FetchRequest("http://a.test/seed", 0), FetchRequest("http://a.test/y", 1)])
    assert store.queued() == 4
    assert store.min_depth() == 0
    assert [r.url for r in store.pop(3)] == [
        "http://a.test/seed",
        "http://a.test/x",
        "http://a.test/y",
    ]
    assert store.queued() == 1
    assert [r.url for r in store.pop(10)] == ["http://a.test/deep"]
    assert store.min_depth() is None
    assert store.pop(10) == []


def test_a_many_thousand_key_batch_is_marked_seen_whole(store: FrontierStore) -> None:
    batch = keys(*(f"http://a.test/{n}" for n in range(5_000)))
    assert len(store.mark_seen(batch)) == 5_000
    assert store.mark_seen(batch) == set()


def test_a_durable_store_keeps_unfinished_requests_and_outcomes_across_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crawl.sqlite"
    store = SqliteFrontierStore(path, durable=True)
    urls = [f"http://a.test/{n}" for n in range(4)]
    store.mark_seen(keys(*urls))
    store.push([FetchRequest(url, 1) for url in urls])
    started = store.pop(2)
    store.start(started[0])
    assert store.mark_done([Outcome(started[0].url, 200, None, 1)]) == [1]
    store.mark_done([Outcome("http://b.test/refused", None, "robots")])
    store.commit()
    store.close()

    reopened = SqliteFrontierStore(path, durable=True)
    try:
        assert reopened.unfinished_levels() == {1: 3}  # the popped, unfinished one too
        assert reopened.pages_done() == {host_key(urls[0]): 1}  # robots refusals are no page
        assert reopened.seen_count() == 4
        assert sorted(r.url for r in reopened.pop(10)) == urls[1:]
    finally:
        reopened.close()


def test_what_a_durable_store_did_not_commit_is_gone_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "crawl.sqlite"
    store = SqliteFrontierStore(path, durable=True)
    store.push([FetchRequest("http://a.test/kept")])
    store.commit()
    store.push([FetchRequest("http://a.test/lost")])
    store.connection.close()  # the process dies: no commit, no orderly close

    reopened = SqliteFrontierStore(path, durable=True)
    try:
        assert [r.url for r in reopened.pop(10)] == ["http://a.test/kept"]
    finally:
        reopened.close()
