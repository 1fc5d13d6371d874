"""Tests for the frontier backends through the ``FrontierBackend`` protocol alone: what the
engine, the API and the command line may ask of either one (local, and Redis against a real
``redis-server``), and what only a shared one does (a cache and seed roots for all)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from crawler.frontier import (
    CrawlIdentity,
    FrontierBackend,
    LocalBackend,
    LocalFrontier,
    SqliteFrontierStore,
    open_shared_backend,
)
from crawler.models import FetchRequest
from tests.support.redis_server import running_redis

Opener = Callable[[], Awaitable[FrontierBackend]]


def identity(*, seeding: bool = True) -> CrawlIdentity:
    return CrawlIdentity(
        fingerprint={"scope.include": []},
        per_host=1,
        delay_s=0.0,
        max_per_host=None,
        seeding=seeding,
    )


@pytest.fixture(params=["local", "redis"])
async def kind(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The backend kind, with a fresh Redis for the shared one (``tmp_path / "url"``)."""
    if request.param == "local":
        yield "local"
        return
    folder = tmp_path / "redis"
    folder.mkdir()
    with running_redis(folder) as server:
        (tmp_path / "url").write_text(server.url)
        yield "redis"


async def started(kind: str, tmp_path: Path, *, seeding: bool = True) -> FrontierBackend:
    if kind == "local":
        store = SqliteFrontierStore()
        backend: FrontierBackend = LocalBackend(
            LocalFrontier(per_host=1, store=store), owned_store=store
        )
    else:
        url = (tmp_path / "url").read_text()
        backend = open_shared_backend(url, "t", identity(seeding=seeding))
    await backend.start()
    return backend


async def test_a_working_backend_is_not_paused_and_has_no_notes(kind: str, tmp_path: Path) -> None:
    backend = await started(kind, tmp_path)
    try:
        assert not backend.paused
        assert backend.status_lines() == []
        assert backend.label
        assert "password" not in backend.label
    finally:
        await backend.aclose()


async def test_its_frontier_queues_and_hands_out(kind: str, tmp_path: Path) -> None:
    backend = await started(kind, tmp_path)
    try:
        assert await backend.frontier.put(FetchRequest("http://a.example/"))
        lease = await backend.frontier.get()
        assert lease is not None
        assert lease.request.url == "http://a.example/"
    finally:
        await backend.aclose()


async def test_only_a_shared_backend_shares_outputs_and_a_cache(kind: str, tmp_path: Path) -> None:
    backend = await started(kind, tmp_path)
    try:
        assert backend.shared is (kind == "redis")
        assert (backend.shared_cache is not None) is (kind == "redis")
    finally:
        await backend.aclose()


async def test_closing_twice_never_raises(kind: str, tmp_path: Path) -> None:
    backend = await started(kind, tmp_path)
    await backend.aclose()
    await backend.aclose()


async def test_a_shared_cache_fetches_once_for_every_process(tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        one = open_shared_backend(server.url, "t", identity())
        two = open_shared_backend(server.url, "t", identity())
        fetched: list[str] = []

        async def fetch(who: str) -> bytes:
            fetched.append(who)
            return f"from {who}".encode()

        try:
            await one.start()
            await two.start()
            assert one.shared_cache is not None
            assert two.shared_cache is not None
            first = await one.shared_cache.fetch_once(
                "robots", lambda: fetch("one"), ttl_s=lambda _v: 60.0
            )
            second = await two.shared_cache.fetch_once(
                "robots", lambda: fetch("two"), ttl_s=lambda _v: 60.0
            )
        finally:
            await one.aclose()
            await two.aclose()
    assert (first, second, fetched) == (b"from one", b"from one", ["one"])


async def test_a_process_without_seeds_learns_the_crawls_seed_roots(tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        seeder = open_shared_backend(server.url, "t", identity())
        joiner = open_shared_backend(server.url, "t", identity(seeding=False))
        roots: list[str] = []
        try:
            await seeder.start()
            await seeder.frontier.put(FetchRequest("http://a.example:8080/page"))
            await joiner.start()
            joiner.connect_admission(roots.append, Counter())
        finally:
            await seeder.aclose()
            await joiner.aclose()
    assert roots == ["http://a.example:8080/"]
