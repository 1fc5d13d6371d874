"""What a crawl must pass before it starts: every check ``parcrawl run`` makes before its
first fetch, in one place, so that ``parcrawl check`` passes exactly the jobs ``run`` starts.

It owns the list of checks (``START_CHECKS``), not the checks themselves: each stays with
the part it is about (scope rules, seed lists, outputs, the executor).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from crawler.admission import Scope
from crawler.api import Crawl
from crawler.assembly import executor_factory_for
from crawler.errors import ConfigError, UsageError
from crawler.fetch import check_network
from crawler.seeds import STDIN, SeedReader, lists_a_valid_seed
from crawler.settings import Settings
from pipelines.worker import Extractor, validate_steps


@dataclass(frozen=True)
class Start:
    """A crawl about to start: its settings, and how to name what it was given.

    Args:
        settings: the crawl's settings, job file and flags merged.
        job: the job file's name, which prefixes errors naming its keys; None: flags only.
        seeds_hint: how to give seeds, said when there are none (a job file's own message
            names its keys); None: seeds may come from elsewhere (the demo's site, the
            API's ``seeds`` argument).
    """

    settings: Settings
    job: str | None = None
    seeds_hint: str | None = None


StartCheck = Callable[[Start], None]
"""One check: raises a ``UsageError`` (or an ``OutputError``) naming the problem."""


def validate_rules(settings: Settings) -> None:
    """Check what the schema cannot: regexes compile, selectors parse, steps import.

    Raises:
        ConfigError: naming the key path of the first that does not.
    """
    Scope.validate(settings.scope)
    Extractor.validate(settings.extract)
    validate_steps(settings.steps)


def _rules(start: Start) -> None:
    validate_rules(start.settings)


def _seeds_given(start: Start) -> None:
    settings = start.settings
    joining = settings.cluster.frontier is not None  # a shared crawl may be joined unseeded
    if settings.seeds or settings.seeds_file or joining:
        return
    if start.job is not None:
        raise ConfigError("no seeds (set seeds or seeds_file)")
    if start.seeds_hint is not None:
        raise UsageError(start.seeds_hint)


def _crawl_can_open(start: Start) -> None:
    # What the crawl itself checks as it starts (seed files readable, a report's records):
    # the same call, so that the two cannot drift apart.
    Crawl(start.settings).check()


def _a_valid_seed(start: Start) -> None:
    settings = start.settings
    if not lists_a_valid_seed(settings.seeds, settings.seeds_file):
        # None valid (or none at all): read them as the crawl would, which warns of each bad
        # seed and ends with the crawl's error when there were some.
        asyncio.run(_read_all(SeedReader(settings.seeds, settings.seeds_file)))


async def _read_all(reader: SeedReader) -> None:
    async for _ in reader:
        pass


def _fetchers_can_share(start: Start) -> None:
    # `--fetchers N` runs N processes: they cannot share stdin's seeds nor write one stream.
    # (cli's `_run_fetchers` says the same as it starts them; here it is said before
    # anything starts, and by `check`.)
    settings = start.settings
    if settings.cluster.fetchers < 2:
        return
    if STDIN in settings.seeds_file:
        raise UsageError("--fetchers N cannot share stdin: give the URLs in a file (-i FILE)")
    if settings.content.llms_txt is not None and settings.content.markdown_dir is None:
        # llms.txt is made from the folder the fetchers share, once they have all ended
        raise UsageError("--fetchers N with --llms-txt needs --markdown-dir DIR")
    output = settings.output
    files = [name for name in (output.jsonl, output.sqlite) if name not in (None, "-")]
    if output.jsonl == "-" or not (files or output.csv is not None):
        raise UsageError("--fetchers N needs -o FILE: each process writes its own file")


def _extras_installed(start: Start) -> None:
    executor_factory_for(start.settings)  # a Dask executor: the extra, and workers >= 1
    if start.settings.cluster.frontier is not None and importlib.util.find_spec("redis") is None:
        raise ConfigError(
            "cluster.frontier: a Redis frontier needs redis-py: pip install 'parcrawl[cluster]'"
        )


def _network(start: Start) -> None:
    check_network(start.settings.fetch)  # a proxy, CA file or HTTP/2 that cannot work


START_CHECKS: tuple[StartCheck, ...] = (
    _rules,
    _network,
    _seeds_given,
    _crawl_can_open,
    _a_valid_seed,
    _fetchers_can_share,
    _extras_installed,
)
"""Run in order; the first problem ends the check. A new refusal at start goes here."""


def check_start(start: Start) -> None:
    """Raise the first problem that would stop this crawl before its first fetch.

    With a job file, its name prefixes the error, as it does the job file's own errors.

    Raises:
        UsageError: bad rules, no seeds or none valid, a seed file that cannot be read, a
            report with no records to read, a missing extra (exit 2).
    """
    try:
        for check in START_CHECKS:
            check(start)
    except UsageError as exc:  # each of its kinds takes the message alone
        if start.job is None:
            raise
        raise type(exc)(f"{start.job}: {exc}") from exc
