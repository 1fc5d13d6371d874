"""Composition, in one place: the frontier, robots.txt cache, admission and dedupe a crawl's
settings ask for, wired to its fetcher and handed to the ``Engine`` ready-built.

``crawler.api.Crawl`` (and through it the CLI) and the tests build engines here; the engine
itself builds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from crawler.admission import Admission, RobotsCache, RobotsResponse, Scope
from crawler.engine import Engine, Parts
from crawler.errors import ConfigError
from crawler.fetch import Fetcher
from crawler.frontier import LocalFrontier, SqliteFrontierStore
from crawler.models import Record
from crawler.settings import Settings
from crawler.state import CrawlState
from crawler.stats import Stats
from pipelines.dedupe import CrawlDedupe
from pipelines.sinks import Sink
from pipelines.stage import ExecutorFactory, ProcessStage


def build_parts(settings: Settings, *, fetcher: Fetcher, state: CrawlState | None = None) -> Parts:
    """The frontier (SQLite-backed: the state file's, or a scratch one), robots.txt cache
    unless told to ignore it, scope rules when following links, admission and dedupe."""
    owned_store = SqliteFrontierStore() if state is None else None
    fetch = settings.fetch
    frontier = LocalFrontier(
        per_host=fetch.per_host,
        delay_s=fetch.delay_s,
        store=state.store if state is not None else owned_store,
        max_pending=max(1_000, fetch.concurrency * 4),
        max_requests=settings.scope.max_pages,
        max_per_host=settings.scope.max_pages_per_host,
        max_hold_s=fetch.max_hold_s,
    )

    async def fetch_robots(url: str) -> RobotsResponse:
        # robots.txt goes straight to the frontier's gate: it is what admission waits for.
        status, body, failure = await fetcher.fetch_resource(
            url, max_bytes=settings.robots.max_bytes, before_request=frontier.wait_turn
        )
        error = (failure.code, failure.message) if failure is not None else None
        return RobotsResponse(status, body, error)

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
    )
    return Parts(frontier, admission, robots, CrawlDedupe(settings.steps), owned_store)


def build_engine(
    settings: Settings,
    *,
    fetcher: Fetcher,
    stage: ProcessStage,
    sinks: Sequence[Sink],
    stats: Stats | None = None,
    state: CrawlState | None = None,
    recovered: Sequence[Record] = (),
) -> Engine:
    """An engine for one crawl with every part ``settings`` asks for."""
    return Engine(
        settings,
        parts=build_parts(settings, fetcher=fetcher, state=state),
        fetcher=fetcher,
        stage=stage,
        sinks=sinks,
        stats=stats,
        state=state,
        recovered=recovered,
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
    )
    return DaskExecutorFactory(spec)
