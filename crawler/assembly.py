"""Composition, in one place: the frontier backend, robots.txt cache, admission and dedupe a
crawl's settings ask for, wired to its fetcher and handed to the ``Engine`` ready-built.

``crawler.api.Crawl`` (and through it the CLI) and the tests build engines here; the engine
itself builds nothing. Where the frontier lives is chosen once, here (``open_backend``);
everything after asks the ``FrontierBackend``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from crawler.admission import Admission, RobotsCache, RobotsResponse, Scope, shared_robots
from crawler.engine import Engine, Parts
from crawler.errors import ConfigError
from crawler.fetch import Fetcher
from crawler.frontier import (
    CrawlIdentity,
    FrontierBackend,
    LocalBackend,
    LocalFrontier,
    SqliteFrontierStore,
    open_shared_backend,
)
from crawler.models import Record
from crawler.recrawl import Recrawl
from crawler.rendering import BrowserRenderer, RenderPolicy
from crawler.settings import RenderRules, Settings
from crawler.state import CrawlState
from crawler.stats import Stats
from pipelines.dedupe import CrawlDedupe
from pipelines.executors import ExecutorFactory
from pipelines.sinks import Sink
from pipelines.stage import ProcessStage

if TYPE_CHECKING:  # warcio and playwright are imported only by crawls that use them
    from crawler.archive import Archive
    from crawler.render import BrowserPool


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


def open_backend(
    settings: Settings, state: CrawlState | None = None, *, more_seeds: bool = False
) -> FrontierBackend:
    """The frontier backend ``settings`` ask for, not started: this process's (over the
    state file's store, or a scratch one), or a crawl shared through ``cluster.frontier``.

    ``more_seeds``: seeds come from elsewhere than ``settings`` too (the API's ``seeds``), so
    this process may start a shared crawl.

    Raises:
        ConfigError: a state file for a shared crawl; redis-py missing; a bad Redis URL.
    """
    fetch = settings.fetch
    cluster = settings.cluster
    if cluster.frontier is None:
        owned_store = SqliteFrontierStore() if state is None else None
        frontier = LocalFrontier(
            per_host=fetch.per_host,
            delay_s=fetch.delay_s,
            store=state.store if state is not None else owned_store,
            max_pending=max(1_000, fetch.concurrency * 4),
            max_requests=settings.scope.max_pages,
            max_per_host=settings.scope.max_pages_per_host,
            max_hold_s=fetch.max_hold_s,
            autothrottle=fetch.autothrottle,
        )
        return LocalBackend(frontier, owned_store=owned_store, page_memory=state)
    if state is not None:
        raise ConfigError(STATE_AND_FRONTIER)
    assert cluster.crawl_id is not None
    identity = CrawlIdentity(
        fingerprint=crawl_fingerprint(settings),
        per_host=fetch.per_host,
        delay_s=fetch.delay_s,
        max_per_host=settings.scope.max_pages_per_host,
        autothrottle=fetch.autothrottle,
        seeding=more_seeds or bool(settings.seeds or settings.seeds_file or settings.sitemaps),
    )
    return open_shared_backend(
        cluster.frontier,
        cluster.crawl_id,
        identity,
        recrawl=settings.recrawl,
        max_requests=settings.scope.max_pages,
        max_pending=max(1_000, fetch.concurrency * 4),
        max_hold_s=fetch.max_hold_s,
        lease_s=cluster.lease_s,
        give_up_s=cluster.redis_give_up_s,
    )


async def start_backend(
    settings: Settings, state: CrawlState | None = None, *, more_seeds: bool = False
) -> FrontierBackend:
    """``open_backend``, started: a shared crawl joined.

    Joining is what fails when Redis is unreachable or the crawl id was started with other
    settings, so a crawl starts its backend before it opens any output: a refused process
    touches no file.

    Raises:
        FrontierError: Redis unreachable, refusing us, or no such crawl to join.
        ConfigError: as ``open_backend``, or the crawl id was started with settings that differ.
    """
    backend = open_backend(settings, state, more_seeds=more_seeds)
    try:
        await backend.start()
    except BaseException:
        await backend.aclose()
        raise
    return backend


def build_parts(
    settings: Settings,
    *,
    fetcher: Fetcher,
    state: CrawlState | None = None,
    more_seeds: bool = False,
    backend: FrontierBackend | None = None,
) -> Parts:
    """The frontier (``backend``'s, or one ``open_backend`` opens), robots.txt cache unless
    told to ignore it (shared by the whole crawl when the backend shares a cache), scope
    rules when following links, admission and dedupe. The parts close the backend when
    the crawl ends.
    """
    fetch = settings.fetch
    if backend is None:
        backend = open_backend(settings, state, more_seeds=more_seeds)
    frontier = backend.frontier

    async def fetch_robots_here(url: str) -> RobotsResponse:
        # robots.txt goes straight to the frontier's gate: it is what admission waits for.
        status, body, failure = await fetcher.fetch_resource(
            url, max_bytes=settings.robots.max_bytes, before_request=frontier.wait_turn
        )
        error = (failure.code, failure.message) if failure is not None else None
        return RobotsResponse(status, body, error)

    cache = backend.shared_cache
    fetch_robots = (
        fetch_robots_here
        if cache is None
        else shared_robots(cache, fetch_robots_here, settings.robots.retry_after_error_s)
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
    backend.connect_admission(admission.add_seed, admission.skipped)
    return Parts(
        frontier, admission, robots, CrawlDedupe(settings.steps), close_frontier=backend.aclose
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
    values["fetch.autothrottle"] = settings.fetch.autothrottle
    values["fetch.user_agent"] = settings.fetch.user_agent
    return values


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
    backend: FrontierBackend | None = None,
    browser: BrowserPool | None = None,
) -> Engine:
    """An engine for one crawl with every part ``settings`` asks for (``more_seeds``: seeds
    come from elsewhere too; ``backend``: the frontier backend, started; see ``build_parts``;
    ``browser``: the started browser pool of a crawl that may render)."""
    stats = stats or Stats()
    renderer = None
    if browser is not None and renders(settings):
        policy = RenderPolicy(settings.render)
        renderer = BrowserRenderer(browser, policy, stats=stats, archive=archive)
    return Engine(
        settings,
        parts=build_parts(
            settings,
            fetcher=fetcher,
            state=state,
            more_seeds=more_seeds,
            backend=backend,
        ),
        fetcher=fetcher,
        stage=stage,
        sinks=sinks,
        stats=stats,
        state=state,
        recovered=recovered,
        recrawl=recrawl,
        archive=archive,
        renderer=renderer,
    )


# -- the browser of a crawl that renders ([render], issue 25) --------------------------------


def renders(settings: Settings) -> bool:
    """True when a page of this crawl may be rendered: the mode, or a rule, is not never."""
    return RenderRules(settings.render).renders


def check_browser_choice(settings: Settings) -> None:
    """Refuse rendering without Playwright or a Chromium, cheaply: nothing is started.

    Raises:
        BrowserMissing: one line saying what to install or set (exit 2).
    """
    if renders(settings):
        from crawler.render import check_browser  # noqa: PLC0415 (only crawls that render)

        check_browser(settings.render)


@contextlib.asynccontextmanager
async def started_browser(
    settings: Settings, *, fetcher: Fetcher, stats: Stats
) -> AsyncIterator[BrowserPool | None]:
    """The browser pool of a crawl that may render, started; None for one that does not.

    A crawl that renders every page (``always``) launches Chromium before any output is
    opened: a browser that does not start touches no file. Any other launches it when a
    page first needs it: a static site may need none, and a launch costs a second of CPU
    (``check_browser_choice`` has already found Playwright and a Chromium; a browser
    that then fails to start fails each render, saying why). The pool is closed however
    the crawl ends, Chromium with it; its restarts are counted in ``stats``.

    Raises:
        BrowserMissing: Playwright or Chromium cannot run.
    """
    if not renders(settings):
        yield None
        return
    from crawler.render import BrowserPool  # noqa: PLC0415 (only crawls that render)

    pool = BrowserPool(settings.render, fetcher=fetcher, allow_private=settings.fetch.allow_private)
    try:
        if settings.render.mode == "always":
            await pool.start()
        yield pool
    finally:
        stats.browser_restarts += pool.restarts
        await pool.aclose()


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
        from pipelines.executors import ClusterSpec, DaskExecutorFactory  # noqa: PLC0415
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
