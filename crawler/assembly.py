"""Composition, in one place: the frontier, robots.txt cache, admission and dedupe a crawl's
settings ask for, wired to its fetcher and handed to the ``Engine`` ready-built.

``crawler.api.Crawl`` (and through it the CLI) and the tests build engines here; the engine
itself builds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from crawler.admission import Admission, RobotsCache, RobotsResponse, Scope
from crawler.engine import Engine, Parts
from crawler.errors import ConfigError
from crawler.fetch import Fetcher
from crawler.frontier import (
    CrawlIdentity,
    Frontier,
    LocalFrontier,
    SqliteFrontierStore,
    open_redis_frontier,
)
from crawler.frontier.redis_memory import RedisPageMemory
from crawler.models import Record
from crawler.recrawl import Recrawl
from crawler.settings import Settings

if TYPE_CHECKING:
    from crawler.frontier.redis_frontier import RedisFrontier
from crawler.state import CrawlState
from crawler.stats import Stats
from pipelines.dedupe import CrawlDedupe
from pipelines.sinks import Sink
from pipelines.stage import ExecutorFactory, ProcessStage

if TYPE_CHECKING:  # warcio is imported only by crawls that write WARC
    from crawler.archive import Archive


STATE_AND_FRONTIER = (
    "--state and --frontier do not go together: a shared crawl keeps its state in "
    "Redis (run again with the same --crawl-id to resume it)"
)


def check_frontier_choice(settings: Settings) -> None:
    """Refuse a state file for a shared crawl, before either is opened.

    Raises:
        ConfigError: ``state`` and ``cluster.frontier`` both set.
    """
    if settings.cluster.frontier is not None and settings.state is not None:
        raise ConfigError(STATE_AND_FRONTIER)


async def join_shared_frontier(
    settings: Settings, recrawl: Recrawl | None = None, *, more_seeds: bool = False
) -> RedisFrontier | None:
    """The crawl's shared frontier, joined; None when ``settings`` name no Redis frontier.

    Joining is what fails when Redis is unreachable or the crawl id was started with other
    settings, so a crawl joins before it opens any output: a refused process touches no file.

    Raises:
        FrontierError: Redis unreachable, refusing us, or no such crawl to join.
        ConfigError: the crawl id was started with settings that differ.
    """
    if settings.cluster.frontier is None:
        return None
    shared = _redis_frontier(settings, recrawl, seeding=more_seeds)
    try:
        await shared.start()
    except BaseException:
        await shared.aclose()
        raise
    return shared


def build_parts(
    settings: Settings,
    *,
    fetcher: Fetcher,
    state: CrawlState | None = None,
    recrawl: Recrawl | None = None,
    more_seeds: bool = False,
    shared: RedisFrontier | None = None,
) -> Parts:
    """The frontier (SQLite-backed: the state file's, or a scratch one; or a crawl shared
    through Redis), robots.txt cache unless told to ignore it, scope rules when following
    links, admission and dedupe.

    ``more_seeds``: seeds come from elsewhere than ``settings`` too (the API's ``seeds``), so
    this process may start a shared crawl. ``shared``: the shared frontier, already joined
    (``join_shared_frontier``); the parts close it when the crawl ends.
    """
    fetch = settings.fetch
    owned_store: SqliteFrontierStore | None = None
    frontier: Frontier
    if settings.cluster.frontier is not None:
        if state is not None:
            raise ConfigError(STATE_AND_FRONTIER)
        if shared is None:
            shared = _redis_frontier(settings, recrawl, seeding=more_seeds)
        frontier = shared
    else:
        owned_store = SqliteFrontierStore() if state is None else None
        frontier = LocalFrontier(
            per_host=fetch.per_host,
            delay_s=fetch.delay_s,
            store=state.store if state is not None else owned_store,
            max_pending=max(1_000, fetch.concurrency * 4),
            max_requests=settings.scope.max_pages,
            max_per_host=settings.scope.max_pages_per_host,
            max_hold_s=fetch.max_hold_s,
        )

    async def fetch_robots_here(url: str) -> RobotsResponse:
        # robots.txt goes straight to the frontier's gate: it is what admission waits for.
        status, body, failure = await fetcher.fetch_resource(
            url, max_bytes=settings.robots.max_bytes, before_request=frontier.wait_turn
        )
        error = (failure.code, failure.message) if failure is not None else None
        return RobotsResponse(status, body, error)

    fetch_robots = (
        fetch_robots_here
        if shared is None
        else _shared_robots(shared, fetch_robots_here, settings.robots.retry_after_error_s)
    )

    robots = (
        RobotsCache(
            fetch_robots, user_agent=fetch.user_agent, settings=settings.robots, retry=fetch
        )
        if settings.robots.obey
        else None
    )
    admission = Admission(
        scope=Scope(settings.scope) if settings.follow else None,
        robots=robots,
        frontier=frontier,
        guard=fetcher.address_guard,
        log_skipped=settings.log_skipped,
        strip=fetcher.strip_params or None,
    )
    if shared is not None:
        # A process joining without seeds learns the crawl's seed hosts (its scope) from Redis.
        shared.on_seed_root(admission.add_seed)
        shared.count_skips(admission.skipped)  # for `parcrawl status`, which reads Redis
    return Parts(
        frontier,
        admission,
        robots,
        CrawlDedupe(settings.steps),
        owned_store,
        close_frontier=shared.aclose if shared is not None else None,
    )


ROBOTS_KEEP_S = 24 * 3600.0
"""How long a robots.txt answer is shared: RFC 9309 lets a crawler cache it up to 24 hours."""


def _redis_frontier(
    settings: Settings, recrawl: Recrawl | None = None, *, seeding: bool = False
) -> RedisFrontier:
    cluster = settings.cluster
    assert cluster.frontier is not None
    assert cluster.crawl_id is not None
    fetch = settings.fetch
    identity = CrawlIdentity(
        fingerprint=crawl_fingerprint(settings),
        per_host=fetch.per_host,
        delay_s=fetch.delay_s,
        max_per_host=settings.scope.max_pages_per_host,
        seeding=seeding or bool(settings.seeds or settings.seeds_file or settings.sitemaps),
    )
    return open_redis_frontier(
        cluster.frontier,
        cluster.crawl_id,
        identity,
        max_requests=settings.scope.max_pages,
        max_pending=max(1_000, fetch.concurrency * 4),
        max_hold_s=fetch.max_hold_s,
        lease_s=cluster.lease_s,
        give_up_s=cluster.redis_give_up_s,
        # The page memory of a shared crawl lives in Redis, beside its frontier.
        memory=recrawl.store
        if recrawl is not None and isinstance(recrawl.store, RedisPageMemory)
        else None,
        recrawl=settings.recrawl,
    )


def crawl_fingerprint(settings: Settings) -> dict[str, Any]:
    """The settings every process of a shared crawl must agree on: what it crawls (scope,
    robots.txt) and how politely (per-host limit, delay, user agent), by key path."""
    scope = settings.scope.model_dump(mode="json", exclude={"max_duration_s"})
    values: dict[str, Any] = {f"scope.{key}": value for key, value in scope.items()}
    values["follow"] = settings.follow
    values["robots.obey"] = settings.robots.obey
    values["fetch.per_host"] = settings.fetch.per_host
    values["fetch.delay_s"] = settings.fetch.delay_s
    values["fetch.user_agent"] = settings.fetch.user_agent
    return values


def _shared_robots(
    shared: RedisFrontier,
    fetch_here: Callable[[str], Awaitable[RobotsResponse]],
    retry_after_error_s: float,
) -> Callable[[str], Awaitable[RobotsResponse]]:
    """robots.txt fetched once per host for the whole crawl: the first process to need it
    fetches it, the others read its answer from Redis until it expires."""

    async def fetch_robots(url: str) -> RobotsResponse:
        async def fetch() -> bytes:
            answer = await fetch_here(url)
            head = json.dumps([answer.status, answer.error]).encode()
            return head + b"\n" + answer.body

        def keep_s(value: bytes) -> float:
            status, error = json.loads(value.partition(b"\n")[0])
            failed = error is not None or status is None or status >= 500 or status == 429
            return retry_after_error_s if failed else ROBOTS_KEEP_S

        value = await shared.shared_resource(url, fetch, ttl_s=keep_s)
        head, _, body = value.partition(b"\n")
        status, error = json.loads(head)
        return RobotsResponse(status, body, (error[0], error[1]) if error is not None else None)

    return fetch_robots


def build_engine(
    settings: Settings,
    *,
    fetcher: Fetcher,
    stage: ProcessStage,
    sinks: Sequence[Sink],
    stats: Stats | None = None,
    state: CrawlState | None = None,
    recovered: Sequence[Record] = (),
    recrawl: Recrawl | None = None,
    archive: Archive | None = None,
    more_seeds: bool = False,
    shared: RedisFrontier | None = None,
) -> Engine:
    """An engine for one crawl with every part ``settings`` asks for (``more_seeds``: seeds
    come from elsewhere too; ``shared``: a joined shared frontier; see ``build_parts``)."""
    return Engine(
        settings,
        parts=build_parts(
            settings,
            fetcher=fetcher,
            state=state,
            recrawl=recrawl,
            more_seeds=more_seeds,
            shared=shared,
        ),
        fetcher=fetcher,
        stage=stage,
        sinks=sinks,
        stats=stats,
        state=state,
        recovered=recovered,
        recrawl=recrawl,
        archive=archive,
    )


# -- the process stage's executor ([cluster] executor, issue 13) ----------------------------


def executor_factory_for(settings: Settings) -> ExecutorFactory | None:
    """The executor ``settings.cluster.executor`` names; None: the local process pool.

    Raises:
        ConfigError: a Dask executor without the ``cluster`` extra, or with ``workers = 0``.
    """
    cluster = settings.cluster
    if cluster.executor == "local":
        return None
    if settings.workers == 0:
        raise ConfigError(
            f"cluster.executor = {cluster.executor!r} needs workers >= 1 "
            "(workers = 0 parses in the crawler's own process)"
        )
    try:
        from pipelines.cluster import ClusterSpec, DaskExecutorFactory  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(
            f"cluster.executor = {cluster.executor!r} needs Dask: pip install 'parcrawl[cluster]'"
        ) from exc
    spec = ClusterSpec(
        cluster.executor,
        settings.workers,
        connect_timeout_s=cluster.connect_timeout_s,
        reconnect_s=cluster.reconnect_s,
        worker_memory_mb=settings.worker_memory_mb,
    )
    return DaskExecutorFactory(spec)
