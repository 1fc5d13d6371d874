"""Tests for the Redis frontier: one crawl shared by several frontiers (processes), leases of a
dead process, politeness for the whole crawl, and a lost Redis. Against a real
``redis-server``. The ``Frontier`` contract it keeps with LocalFrontier: test_lifecycle.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from crawler.errors import ConfigError, FrontierError, UsageError
from crawler.frontier import (
    FETCHED,
    CrawlIdentity,
    Frontier,
    HostAnswer,
    Lease,
    Outcome,
    Rate,
)
from crawler.frontier.redis import (
    RedisBackend,
    RedisFrontier,
    open_redis_backend,
    read_shared_status,
)

# The number of hosts one take scans: an internal of the module under test, reached directly.
from crawler.frontier.redis.frontier import HOST_SCAN
from crawler.jobfile import load_job
from crawler.models import FetchRequest
from crawler.settings import build_settings
from tests.support.redis_server import RedisServer, redis_server, running_redis

__all__ = ["redis_server"]  # the fixture, imported for this module's tests

A = "http://a.example"
B = "http://b.example"

BLOCKED_S = 0.1
"""How long a call must stay pending to count as blocked; only ever a lower bound."""

SOON_S = 10.0
"""Upper bound for a call that should return promptly (generous for a busy machine)."""

FINGERPRINT = {"scope.include": [], "fetch.per_host": 1}


def identity(
    *,
    seeding: bool = True,
    per_host: int = 1,
    delay_s: float = 0.0,
    autothrottle: bool = False,
    **fp: Any,
) -> CrawlIdentity:
    return CrawlIdentity(
        fingerprint={**FINGERPRINT, **fp},
        per_host=per_host,
        delay_s=delay_s,
        max_per_host=None,
        seeding=seeding,
        autothrottle=autothrottle,
    )


def redis_frontier(url: str, crawl_id: str, who: CrawlIdentity, **options: Any) -> RedisFrontier:
    """The frontier of one process's Redis backend, not started."""
    return open_redis_backend(url, crawl_id, who, **options).frontier


@asynccontextmanager
async def shared_backend(
    server: RedisServer,
    crawl_id: str = "t",
    *,
    url: str | None = None,
    who: CrawlIdentity | None = None,
    **options: Any,
) -> AsyncIterator[RedisBackend]:
    """One process's backend on ``server``'s crawl ``crawl_id``, left cleanly at the end."""
    backend = open_redis_backend(url or server.url, crawl_id, who or identity(), **options)
    try:
        await backend.start()
        yield backend
    finally:
        await backend.aclose()


@asynccontextmanager
async def shared(
    server: RedisServer,
    crawl_id: str = "t",
    *,
    url: str | None = None,
    who: CrawlIdentity | None = None,
    **options: Any,
) -> AsyncIterator[RedisFrontier]:
    """One process's frontier on ``server``'s crawl ``crawl_id``, left cleanly at the end."""
    async with shared_backend(server, crawl_id, url=url, who=who, **options) as backend:
        yield backend.frontier


async def blocks(task: asyncio.Future[Any]) -> bool:
    """True when ``task`` is still pending after BLOCKED_S (it is not cancelled)."""
    done, _ = await asyncio.wait({task}, timeout=BLOCKED_S)
    return not done


async def get_soon(frontier: Frontier) -> Lease | None:
    return await asyncio.wait_for(frontier.get(), SOON_S)


def outcome(lease: Lease) -> Outcome:
    return Outcome(lease.request.url, 200, None, lease.request.depth)


async def finish(frontier: Frontier, lease: Lease) -> None:
    await frontier.end(lease, FETCHED)
    await frontier.done([outcome(lease)])


# -- host timing across processes (the one-process rules: test_lifecycle.py) ----------------

CLOCK_SLACK_S = 0.005
"""Redis keeps time in whole milliseconds."""


@pytest.mark.slow
async def test_a_start_whose_process_died_before_sending_holds_the_host_a_lease_at_most(
    redis_server: RedisServer,
) -> None:
    who = identity(delay_s=0.2)
    async with (
        shared(redis_server, who=who, lease_s=1.0) as doomed,
        shared(redis_server, who=who) as other,
    ):
        began = time.monotonic()
        await asyncio.wait_for(doomed.wait_turn(f"{A}/1"), SOON_S)  # and it never says more
        await asyncio.wait_for(other.wait_turn(f"{A}/2"), SOON_S)
        assert time.monotonic() - began >= 1.0 - CLOCK_SLACK_S


# -- one crawl, several processes -----------------------------------------------------------


async def test_processes_share_one_seen_set(redis_server: RedisServer) -> None:
    async with shared(redis_server) as one, shared(redis_server) as two:
        await one.add_many([FetchRequest(f"{A}/a"), FetchRequest(f"{A}/b")])
        added = await two.add_many([FetchRequest(f"{A}/b#x"), FetchRequest(f"{A}/c")])
    assert [request.url for request in added] == [f"{A}/c"]


async def test_the_per_host_limit_holds_across_processes(redis_server: RedisServer) -> None:
    async with shared(redis_server) as one, shared(redis_server) as two:
        await one.add_many([FetchRequest(f"{A}/1"), FetchRequest(f"{A}/2")])
        lease = await get_soon(one)
        assert lease is not None
        second = asyncio.ensure_future(two.get())
        assert await blocks(second)  # per_host=1 and the other process has the host
        await one.end(lease, FETCHED)
        other = await asyncio.wait_for(second, SOON_S)
        assert other is not None
        assert {lease.request.url, other.request.url} == {f"{A}/1", f"{A}/2"}


async def test_the_delay_spaces_hand_outs_across_processes(redis_server: RedisServer) -> None:
    who = identity(per_host=4, delay_s=0.4)
    async with shared(redis_server, who=who) as one, shared(redis_server, who=who) as two:
        await one.add_many([FetchRequest(f"{A}/1"), FetchRequest(f"{A}/2")])
        assert await get_soon(one) is not None
        started = time.monotonic()
        assert await get_soon(two) is not None
        assert time.monotonic() - started >= 0.35  # the jitter only lengthens it


async def test_a_hold_from_one_process_holds_the_host_for_all(redis_server: RedisServer) -> None:
    async with shared(redis_server) as one, shared(redis_server) as two:
        hold_s = await one.heed(f"{A}/x", HostAnswer(503, 0.5))
        assert hold_s == pytest.approx(0.5)
        started = time.monotonic()
        await asyncio.wait_for(two.wait_turn(f"{A}/y"), SOON_S)
        assert time.monotonic() - started >= 0.45
        await asyncio.wait_for(two.wait_turn(f"{B}/y"), 0.3)  # other hosts are not held


async def test_the_autothrottle_keeps_one_rate_per_host_for_every_process(
    redis_server: RedisServer,
) -> None:
    fast, slow = HostAnswer(200, None, 0.02), HostAnswer(200, None, 0.5)
    who = identity(per_host=4, autothrottle=True)
    async with shared(redis_server, who=who) as one, shared(redis_server, who=who) as two:
        assert [await one.pace(f"{A}/x", fast) for _ in range(4)][-1] == Rate(4)
        await two.add_many([FetchRequest(f"{A}/{n}") for n in range(8)])
        leases = [await get_soon(two) for _ in range(4)]  # process two: the host's 4 at once
        fifth = asyncio.ensure_future(two.get())
        assert await blocks(fifth)
        fifth.cancel()
        for _ in range(4):  # process two's first window, under the rate it assumed: refused
            assert await two.pace(f"{A}/x", fast) is None
        for _ in range(9):  # it learnt the rate (4): 2 skipped, then 7 slow
            assert await two.pace(f"{A}/x", slow) is None
        answers = [await one.pace(f"{A}/x", slow) for _ in range(10)]
        assert answers[-1] == Rate(2, 0.0, 1)  # process one slowed the host down
        # Process two's window, slow too, was measured under the rate before that change:
        # refused, not applied a second time.
        assert await two.pace(f"{A}/x", slow) is None
        for lease in leases:
            assert lease is not None
            await two.end(lease, FETCHED)
        assert [await get_soon(two) for _ in range(2)]
        third = asyncio.ensure_future(two.get())
        assert await blocks(third)  # two at once, for process two too
        third.cancel()


@pytest.mark.slow
async def test_a_dead_process_leases_return_with_the_attempt_counted(
    redis_server: RedisServer,
) -> None:
    async with shared(redis_server, lease_s=1.0) as survivor:
        doomed = redis_frontier(redis_server.url, "t", identity(), lease_s=1.0)
        await doomed.put(FetchRequest(f"{A}/1"))
        lease = await get_soon(doomed)
        assert lease is not None
        # As after kill -9: no more renewals, no goodbye.
        assert doomed.session._heartbeat is not None
        doomed.session._heartbeat.cancel()
        again = await get_soon(survivor)
        assert again is not None
        assert (again.request.url, again.request.attempt) == (f"{A}/1", 2)
        status = await read_shared_status(redis_server.url, "t")
        assert status.totals["requeued"] == 1
        await finish(survivor, again)
        await doomed.session.link.client.aclose()


async def test_a_page_that_left_its_level_rejoins_it_when_its_process_stops(
    redis_server: RedisServer,
) -> None:
    async with shared(redis_server) as survivor:
        async with shared(redis_server) as stopping:
            await stopping.put(FetchRequest(f"{A}/"))
            page = await get_soon(stopping)
            assert page is not None
            await stopping.end(page, FETCHED)
            await stopping.leave_level(page.request)  # rendering when the process stops
        await held_back_until_done(survivor, page)


async def test_a_page_that_left_its_level_rejoins_it_when_its_lease_expires(
    redis_server: RedisServer,
) -> None:
    async with shared(redis_server) as survivor:
        doomed = redis_frontier(redis_server.url, "t", identity(), lease_s=0.3)
        await doomed.put(FetchRequest(f"{A}/"))
        page = await get_soon(doomed)
        assert page is not None
        await doomed.end(page, FETCHED)
        await doomed.leave_level(page.request)
        # As after kill -9 while it renders: no more renewals, no goodbye.
        assert doomed.session._heartbeat is not None
        doomed.session._heartbeat.cancel()
        await held_back_until_done(survivor, page)
        await doomed.session.link.client.aclose()


async def held_back_until_done(frontier: Frontier, left: Lease) -> None:
    """``left``'s page, back in the queue, is handed out by ``frontier`` and holds a link one
    level deeper back until it is done: it is in its level again."""
    again = await get_soon(frontier)
    assert again is not None
    assert again.request.url == left.request.url
    await frontier.add_many([FetchRequest(f"{B}/deeper", depth=left.request.depth + 1)])
    waiting = asyncio.ensure_future(frontier.get())
    assert await blocks(waiting)
    await finish(frontier, again)
    deeper = await asyncio.wait_for(waiting, SOON_S)
    assert deeper is not None
    assert deeper.request.url == f"{B}/deeper"


async def test_max_pages_counts_every_process(redis_server: RedisServer) -> None:
    async with (
        shared(redis_server, max_requests=2) as one,
        shared(redis_server, max_requests=2) as two,
    ):
        await one.add_many([FetchRequest(f"{A}/{n}") for n in range(2)])
        await one.add_many([FetchRequest(f"{B}/{n}") for n in range(2)])
        assert await get_soon(one) is not None
        assert await get_soon(two) is not None
        assert await get_soon(one) is None
        assert one.limit_reached


# -- joining, settings, a lost Redis -----------------------------------------------------


async def test_joining_an_unknown_crawl_is_refused(redis_server: RedisServer) -> None:
    frontier = redis_frontier(redis_server.url, "nope", identity(seeding=False))
    with pytest.raises(FrontierError, match="no crawl 'nope'"):
        await frontier.start()
    await frontier.aclose()


async def test_joining_with_another_scope_is_refused(redis_server: RedisServer) -> None:
    async with shared(redis_server):
        other = redis_frontier(redis_server.url, "t", identity(**{"scope.include": ["/docs/"]}))
        with pytest.raises(ConfigError, match=r"other settings \(scope\.include\)"):
            await other.start()
        await other.aclose()


async def test_redis_unreachable_is_one_line_without_the_password(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)  # never started: nothing listens on its port
    url = f"redis://:hunter2@127.0.0.1:{server.port}/0"
    frontier = redis_frontier(url, "t", identity())
    with pytest.raises(FrontierError) as raised:
        await frontier.start()
    await frontier.aclose()
    message = str(raised.value)
    assert "unreachable" in message
    assert "hunter2" not in message
    assert "\n" not in message


async def test_a_wrong_password_is_refused_without_showing_it(tmp_path: Path) -> None:
    with running_redis(tmp_path, password="right-one") as server:
        url = f"redis://:wrong-one@127.0.0.1:{server.port}/0"
        frontier = redis_frontier(url, "t", identity())
        with pytest.raises(FrontierError) as raised:
            await frontier.start()
        await frontier.aclose()
    assert "wrong-one" not in str(raised.value)
    assert "right-one" not in str(raised.value)


def test_crawl_ids_and_redis_urls_are_validated() -> None:
    with pytest.raises(ConfigError, match="crawl id"):
        build_settings({"cluster": {"frontier": "redis://h/0", "crawl_id": "a b"}})
    with pytest.raises(ConfigError, match="crawl id"):
        build_settings({"cluster": {"frontier": "redis://h/0"}})
    with pytest.raises(ConfigError) as raised:
        build_settings({"cluster": {"frontier": "http://u:s3cret@h/", "crawl_id": "x"}})
    assert "s3cret" not in str(raised.value)
    tls = build_settings({"cluster": {"frontier": "rediss://h:6380/0", "crawl_id": "docs-1"}})
    assert tls.cluster.frontier == "rediss://h:6380/0"


async def test_status_of_an_unknown_crawl_is_a_usage_error(redis_server: RedisServer) -> None:
    with pytest.raises(UsageError, match="no crawl 'other'"):
        await read_shared_status(redis_server.url, "other")


async def test_a_lost_redis_pauses_the_crawl_until_it_is_back(tmp_path: Path) -> None:
    with running_redis(tmp_path, appendonly=True) as server:
        async with shared_backend(server) as backend:
            frontier = backend.frontier
            await frontier.add_many([FetchRequest(f"{A}/{n}") for n in range(3)])
            server.stop()
            taking = asyncio.ensure_future(frontier.get())
            assert await blocks(taking)
            assert backend.paused
            assert backend.status_lines() == ["paused: Redis lost, retrying"]
            server.start()  # with AOF on: the queue survived the restart
            lease = await asyncio.wait_for(taking, SOON_S)
            assert lease is not None
            assert not backend.paused
            assert backend.status_lines() == []
            await finish(frontier, lease)
            urls = {lease.request.url}
            for _ in range(2):
                item = await get_soon(frontier)
                assert item is not None
                urls.add(item.request.url)
                await finish(frontier, item)
    assert urls == {f"{A}/{n}" for n in range(3)}


async def test_redis_lost_for_too_long_ends_the_crawl_with_one_line(tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        async with shared(server, give_up_s=0.5) as frontier:
            server.stop()
            with pytest.raises(FrontierError, match=r"lost for \d+ s: giving up"):
                await asyncio.wait_for(frontier.get(), SOON_S)


async def test_status_counts_per_host_and_process_without_the_password(tmp_path: Path) -> None:
    with running_redis(tmp_path, password="pw-42") as server:
        async with shared(server, process="proc-1") as frontier:
            await frontier.add_many([FetchRequest(f"{A}/1"), FetchRequest(f"{B}/1")])
            lease = await get_soon(frontier)
            assert lease is not None
            await finish(frontier, lease)
            lines = (await read_shared_status(server.url, "t")).lines()
    text = "\n".join(lines)
    assert "pw-42" not in text
    assert lines[0] == f"crawl t on redis://:***@127.0.0.1:{server.port}/0"
    assert "queued 1, leased 0, retrying 0, done 1, failed 0" in lines[1]
    assert "  proc-1  leased 0  done 1  failed 0  last heard 0 s ago" in lines
    done_host = lease.request.url.rsplit("/", 1)[0] + ":80"
    assert f"  {done_host}  queued 0  done 1  failed 0" in lines


async def test_rediss_reaches_redis_over_tls(tmp_path: Path) -> None:
    with running_redis(tmp_path, password="tls-pw", tls=True) as server:
        assert server.url.startswith("rediss://")
        async with shared(server) as one, shared(server) as two:
            await one.add_many([FetchRequest(f"{A}/1")])
            assert await two.add_many([FetchRequest(f"{A}/1")]) == []
            lease = await get_soon(two)
            assert lease is not None
            await finish(two, lease)
        status = await read_shared_status(server.url, "t")
    assert status.totals["done"] == 1


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_a_live_process_keeps_its_leases_past_their_expiry(
    redis_server: RedisServer,
) -> None:
    async with (
        shared(redis_server, lease_s=1.0) as slow,
        shared(redis_server, lease_s=1.0) as other,
    ):
        await slow.add_many([FetchRequest(f"{A}/1")])
        lease = await get_soon(slow)
        assert lease is not None
        # Three lease periods of work: the heartbeat renews it, nobody else gets the URL.
        stolen = asyncio.ensure_future(other.get())
        done, _ = await asyncio.wait({stolen}, timeout=3.0)
        assert not done
        await finish(slow, lease)
        slow.close_input()
        other.close_input()
        assert await asyncio.wait_for(stolen, SOON_S) is None


def test_a_job_files_redis_password_is_never_shown(tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text('[cluster]\nfrontier = "redis://crawler:pa55@10.0.0.5:6379/0"\ncrawl_id = "d"\n')
    shown = load_job(job).effective_toml()
    assert "pa55" not in shown
    assert 'frontier = "redis://crawler:***@10.0.0.5:6379/0"' in shown


async def test_hosts_waiting_for_a_level_do_not_hide_the_hosts_with_work(
    redis_server: RedisServer,
) -> None:
    async with shared(redis_server, who=identity(per_host=1)) as frontier:
        await frontier.add_many([FetchRequest(f"{A}/")])
        seed = await get_soon(frontier)
        assert seed is not None
        # More hosts waiting for depth 1 than one take looks at, queued before the one
        # host that still has depth-0 work.
        waiting = [FetchRequest(f"http://h{n}.example/", depth=1) for n in range(HOST_SCAN + 5)]
        await frontier.add_many(waiting)
        # (hosts of equal time go in name order: this one after them all)
        await frontier.add_many([FetchRequest("http://zz.example/")])
        lease = await get_soon(frontier)
        assert lease is not None
        assert lease.request.url == "http://zz.example/"
