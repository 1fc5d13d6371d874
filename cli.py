"""The ``parcrawl`` command line: parse arguments, build the crawl's parts, show progress.

This is the only composition root; everything it wires is importable and testable alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterable, Iterator, Sequence
from typing import Any, NoReturn

from tqdm import tqdm

from crawler import __version__
from crawler.demo_server import SiteServer
from crawler.demo_site import SyntheticSite
from crawler.engine import Engine
from crawler.errors import ParcrawlError, UsageError
from crawler.fetcher import Fetcher
from crawler.scope import Scope
from crawler.seeds import STDIN, SeedReader, count_seed_lines
from crawler.settings import Settings, build_settings
from crawler.stats import Stats
from pipelines.sinks.jsonl import STDOUT, JsonlSink
from pipelines.stage import ProcessStage

EXIT_OK = 0
EXIT_INTERRUPTED = 130
PROGRESS_INTERVAL_S = 0.2
DEMO_OUTPUT = "parcrawl-demo.jsonl"

log = logging.getLogger("parcrawl")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2, without the usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"parcrawl: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _non_negative_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


# setting path -> (flags, argparse keywords); one table so the CLI and the schema agree.
FETCH_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "fetch.concurrency": (("--concurrency", "-c"), {"type": _positive_int, "metavar": "N"}),
    "fetch.per_host": (("--per-host",), {"type": _positive_int, "metavar": "N"}),
    "fetch.timeout_s": (("--timeout",), {"type": _seconds, "metavar": "S"}),
    "fetch.connect_timeout_s": (("--connect-timeout",), {"type": _seconds, "metavar": "S"}),
    "fetch.read_timeout_s": (("--read-timeout",), {"type": _seconds, "metavar": "S"}),
    "fetch.max_bytes": (("--max-bytes",), {"type": _positive_int, "metavar": "N"}),
    "fetch.max_redirects": (("--max-redirects",), {"type": _non_negative_int, "metavar": "N"}),
    "fetch.user_agent": (("--user-agent",), {"metavar": "UA"}),
    "fetch.delay_s": (("--delay",), {"type": _non_negative_seconds, "metavar": "S"}),
    "workers": (("--workers", "-w"), {"type": _non_negative_int, "metavar": "N"}),
    "batch_size": (("--batch-size",), {"type": _positive_int, "metavar": "N"}),
    "follow": (("--follow",), {"action": "store_const", "const": True}),
    "scope.max_depth": (("--max-depth",), {"type": _non_negative_int, "metavar": "N"}),
    "scope.allow_domains": (("--allow-domain",), {"action": "append", "metavar": "DOMAIN"}),
    "scope.deny_domains": (("--deny-domain",), {"action": "append", "metavar": "DOMAIN"}),
    "scope.include": (("--include",), {"action": "append", "metavar": "REGEX"}),
    "scope.exclude": (("--exclude",), {"action": "append", "metavar": "REGEX"}),
    "scope.max_pages": (("--max-pages",), {"type": _positive_int, "metavar": "N"}),
    "scope.max_pages_per_host": (
        ("--max-pages-per-host",),
        {"type": _positive_int, "metavar": "N"},
    ),
    "scope.max_duration_s": (("--max-duration",), {"type": _seconds, "metavar": "S"}),
    "sitemaps": (("--sitemaps",), {"action": "store_const", "const": True}),
    "robots.obey": (("--ignore-robots",), {"action": "store_const", "const": False}),
    "log_skipped": (("--log-skipped",), {"action": "store_const", "const": True}),
}
OPTION_HELP = {
    "fetch.concurrency": "requests in flight across all hosts (default 16)",
    "fetch.per_host": "requests in flight to one host (default 4)",
    "fetch.timeout_s": "total seconds for one response (default 30)",
    "fetch.connect_timeout_s": "seconds to connect (default 10)",
    "fetch.read_timeout_s": "seconds to wait for the next bytes (default 30)",
    "fetch.max_bytes": "largest body read, in bytes (default 10 MiB)",
    "fetch.max_redirects": "redirects followed per URL (default 10)",
    "fetch.user_agent": f"User-Agent header (default parcrawl/{__version__})",
    "workers": "parse processes; 0 parses in the main process (default: CPU count)",
    "batch_size": "pages sent to a worker at once (default 16)",
    "fetch.delay_s": "least seconds between two requests to one host, jittered (default 0)",
    "follow": "follow links found on pages: crawl the seeds' sites",
    "scope.max_depth": "link hops from a seed to follow (default: no limit)",
    "scope.allow_domains": "stay on this domain and its subdomains (repeatable; default: seeds)",
    "scope.deny_domains": "never fetch from this domain or its subdomains (repeatable)",
    "scope.include": "follow only URLs matching one of these regexes (repeatable)",
    "scope.exclude": "never follow URLs matching this regex (repeatable)",
    "scope.max_pages": "stop after fetching this many pages",
    "scope.max_pages_per_host": "fetch at most this many pages from one host",
    "scope.max_duration_s": "stop the crawl after this many seconds",
    "sitemaps": "also seed from the seed hosts' sitemaps (robots.txt Sitemap: lines, /sitemap.xml)",
    "robots.obey": "do not fetch or obey robots.txt (be sure you may crawl these sites)",
    "log_skipped": "log every URL skipped (robots.txt, scope, traps) with the reason",
}


def build_parser() -> argparse.ArgumentParser:
    """The ``parcrawl`` argument parser with its ``crawl`` and ``demo`` commands."""
    parser = _Parser(
        prog="parcrawl",
        description="Parallel web crawler: async fetching, multi-process parsing, JSONL out.",
    )
    parser.add_argument("--version", action="version", version=f"parcrawl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    crawl = commands.add_parser("crawl", help="fetch and parse a list of URLs")
    crawl.add_argument("urls", nargs="*", metavar="URL", help="URLs to fetch")
    crawl.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="FILE",
        help="a file of URLs, one per line ('-' for stdin); repeatable",
    )
    crawl.add_argument(
        "-o", "--output", default=STDOUT, metavar="FILE", help="JSONL output ('-' = stdout)"
    )
    _add_common(crawl)

    demo = commands.add_parser("demo", help="crawl a generated site served on 127.0.0.1")
    demo.add_argument("--pages", type=_positive_int, default=500, metavar="N")
    demo.add_argument("-o", "--output", default=DEMO_OUTPUT, metavar="FILE")
    _add_common(demo)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    for path, (flags, keywords) in FETCH_OPTIONS.items():
        parser.add_argument(*flags, dest=path, help=OPTION_HELP[path], **keywords)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, no summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every failed fetch")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings the flags ask for; unset flags keep their defaults."""
    values: dict[str, Any] = {}
    for path in FETCH_OPTIONS:
        value = getattr(args, path)
        if value is None:
            continue
        if "." in path:
            section, key = path.split(".")
            values.setdefault(section, {})[key] = value
        else:
            values[path] = value
    settings = build_settings(values)
    Scope.validate(settings.scope)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    _configure_logging(verbose=args.verbose)
    try:
        settings = settings_from_args(args)
        if not settings.robots.obey:
            log.warning("robots.txt is ignored: make sure you may crawl these sites this way")
        if args.command == "demo":
            return _run_demo(args, settings)
        return _run_crawl(args, settings)
    except ParcrawlError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:  # before the crawl's own handlers are installed, or after
        _error("interrupted")
        return EXIT_INTERRUPTED


def _run_crawl(args: argparse.Namespace, settings: Settings) -> int:
    if not args.urls and not args.input:
        raise UsageError("give URLs to crawl, or a URL list with -i FILE")
    seeds = SeedReader(args.urls, args.input)
    seeds.check()
    return _crawl(seeds, settings, output=args.output, quiet=args.quiet)


def _run_demo(args: argparse.Namespace, settings: Settings) -> int:
    site = SyntheticSite(pages=args.pages)
    with SiteServer(site) as server:
        if not args.quiet:
            _note(f"serving a {args.pages}-page demo site at {server.base_url}")
        # A site crawl starts from the home page; a list crawl takes every URL the site has.
        start = [server.url("/")] if settings.follow else site.urls(server.base_url)
        seeds = SeedReader(start)
        code = _crawl(seeds, settings, output=args.output, quiet=args.quiet)
    if not args.quiet:
        _note(f"records written to {args.output}")
    return code


def _crawl(seeds: SeedReader, settings: Settings, *, output: str, quiet: bool) -> int:
    stats = asyncio.run(_crawl_async(seeds, settings, output=output, quiet=quiet))
    if not quiet:
        for line in stats.summary_lines():
            _note(line)
    return EXIT_INTERRUPTED if stats.interrupted else EXIT_OK


async def _crawl_async(seeds: SeedReader, settings: Settings, *, output: str, quiet: bool) -> Stats:
    total = None
    if STDIN not in [str(path) for path in seeds.files]:
        total = len(seeds.urls) + await count_seed_lines(seeds.files)
    stats = Stats(total=total)
    async with (
        Fetcher(settings.fetch) as fetcher,
        ProcessStage(settings.workers) as stage,
    ):
        sinks = [JsonlSink(output)]
        engine = Engine(settings, fetcher=fetcher, stage=stage, sinks=sinks, stats=stats)
        crawl = asyncio.create_task(engine.run(_counting(seeds, stats)))
        with _signals_stop(engine, crawl), _progress(stats, quiet=quiet):
            try:
                await crawl
            except asyncio.CancelledError:
                stats.interrupted = True
    stats.invalid_seeds = seeds.invalid
    return stats


async def _counting(seeds: SeedReader, stats: Stats) -> AsyncIterable[str]:
    async for url in seeds:
        yield url
    stats.invalid_seeds = seeds.invalid


@contextlib.contextmanager
def _signals_stop(engine: Engine, crawl: asyncio.Task[Stats]) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): finish in-flight pages and stop. Second: stop now."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if engine.stats.interrupted:
            _note("stopping now")
            crawl.cancel()
            return
        _note("stopping: finishing pages in flight (Ctrl-C again to stop now)")
        engine.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    try:
        yield
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


@contextlib.contextmanager
def _progress(stats: Stats, *, quiet: bool) -> Iterator[None]:
    """Progress bars on stderr, refreshed from the stats by a background task."""
    disable = True if quiet else None  # None: tqdm shows bars only on a terminal
    common: dict[str, Any] = {"file": sys.stderr, "disable": disable, "dynamic_ncols": True}
    fetched = tqdm(total=stats.total, desc="fetched", unit="page", position=0, **common)
    parsed = tqdm(desc="parsed ", unit="page", position=1, **common)
    errors = tqdm(desc="errors ", unit="url", position=2, **common)

    async def refresh() -> None:
        while True:
            for bar, value in ((fetched, stats.fetched), (parsed, stats.parsed)):
                bar.update(value - bar.n)
            errors.update(stats.error_count - errors.n)
            await asyncio.sleep(PROGRESS_INTERVAL_S)

    task = asyncio.get_running_loop().create_task(refresh())
    try:
        yield
    finally:
        task.cancel()
        fetched.update(stats.fetched - fetched.n)
        parsed.update(stats.parsed - parsed.n)
        errors.update(stats.error_count - errors.n)
        for bar in (errors, parsed, fetched):
            bar.close()


class _TqdmHandler(logging.Handler):
    """Log lines printed above the progress bars instead of through them."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # a logging handler must never raise
            self.handleError(record)


def _configure_logging(*, verbose: bool) -> None:
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("parcrawl: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _note(message: str) -> None:
    tqdm.write(f"parcrawl: {message}", file=sys.stderr)


def _error(message: str) -> None:
    print(f"parcrawl: error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
