"""The ``parcrawl`` command line: parse arguments, build the crawl's parts, show progress.

This is the only composition root; everything it wires is importable and testable alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from tqdm import tqdm

import crawler.runtime  # first: the HTTP stack without its unused parts
from crawler import __version__
from crawler.admission import Scope
from crawler.api import Crawl, make_settings
from crawler.demo import SiteServer, SyntheticSite
from crawler.errors import ConfigError, OutputClosed, ParcrawlError, UsageError
from crawler.jobfile import JobFile, load_job
from crawler.seeds import STDIN, count_seed_lines
from crawler.settings import Settings, build_settings
from crawler.state import read_status
from crawler.stats import Stats
from pipelines.sinks import output_for
from pipelines.sinks.lines import PageLines
from pipelines.worker import Extractor, validate_steps

EXIT_OK = 0
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell shows for a writer whose reader left
PROGRESS_INTERVAL_S = 0.2
DEMO_OUTPUT = "parcrawl-demo.jsonl"

log = logging.getLogger("parcrawl")

FOLLOW_ONLY = {
    "max_depth": "--max-depth",
    "allow_domains": "--allow-domain",
    "deny_domains": "--deny-domain",
    "include": "--include",
    "exclude": "--exclude",
}


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
OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
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
    "parser": (("--parser",), {"choices": ("lxml", "bs4")}),
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
    "state": (("--state",), {"metavar": "FILE"}),
    "fetch.retries": (("--retries",), {"type": _non_negative_int, "metavar": "N"}),
    "fetch.allow_private": (("--allow-private",), {"action": "store_const", "const": True}),
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
    "parser": "read page and CSS fields from lxml's tree (default, fast) or BeautifulSoup's",
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
    "state": "keep the crawl's state in FILE: stop at any time, run again to resume",
    "fetch.retries": "further attempts after a retryable failure (default 3)",
    "fetch.allow_private": "fetch private and loopback addresses even when the seeds are public",
}


OUTPUT_HELP = (
    "records to FILE, format by extension: .jsonl, .csv, .sqlite/.db; '-' for JSON Lines "
    "on stdout; folders are created (default: stdout)"
)


def build_parser() -> argparse.ArgumentParser:
    """The ``parcrawl`` argument parser with its ``crawl`` and ``demo`` commands."""
    parser = _Parser(
        prog="parcrawl",
        description="Parallel web crawler: async fetching, multi-process parsing.",
    )
    parser.add_argument("--version", action="version", version=f"parcrawl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    crawl = _command(commands, "crawl", "fetch and parse URLs; whole sites with --follow")
    crawl.add_argument("urls", nargs="*", metavar="URL", help="URLs to fetch")
    crawl.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="FILE",
        help="a file of URLs, one per line ('-' for stdin); repeatable",
    )
    crawl.add_argument("-o", "--output", default=None, metavar="FILE", help=OUTPUT_HELP)
    _add_common(crawl)

    run = _command(commands, "run", "run the crawl a job file describes")
    run.add_argument("job", metavar="JOB.toml", help="the job file")
    run.add_argument("-o", "--output", default=None, metavar="FILE", help=OUTPUT_HELP)
    _add_common(run)

    check = _command(commands, "check", "validate a job file and print its effective settings")
    check.add_argument("job", metavar="JOB.toml", help="the job file")
    check.add_argument("-o", "--output", default=None, metavar="FILE", help=OUTPUT_HELP)
    _add_common(check)

    status = _command(commands, "status", "show a state file's progress")
    status.add_argument("state", metavar="STATE", help="the state file (--state FILE)")
    status.add_argument("-q", "--quiet", action="store_true", help=argparse.SUPPRESS)
    status.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)

    demo = _command(commands, "demo", "crawl a generated site served on 127.0.0.1")
    demo.add_argument(
        "--pages",
        type=_positive_int,
        default=500,
        metavar="N",
        help="HTML pages on the demo site, besides its files and broken links (default 500)",
    )
    demo.add_argument(
        "-o",
        "--output",
        default=DEMO_OUTPUT,
        metavar="FILE",
        help=f"where records go, format by extension (default {DEMO_OUTPUT})",
    )
    _add_common(demo)
    return parser


def _command(commands: Any, name: str, summary: str) -> argparse.ArgumentParser:
    """A subcommand whose one-line summary shows in ``parcrawl --help`` and its own help."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=summary, description=summary)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    for path, (flags, keywords) in OPTIONS.items():
        parser.add_argument(*flags, dest=path, help=OPTION_HELP[path], **keywords)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, no summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every failed fetch")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags set, as nested job-file keys; unset flags are left out."""
    values: dict[str, Any] = {}
    if getattr(args, "output", None):
        values["output"] = output_for(args.output)
    if getattr(args, "urls", None):
        values["seeds"] = list(args.urls)
    if getattr(args, "input", None):
        values["seeds_file"] = list(args.input)
    for path in OPTIONS:
        value = getattr(args, path)
        if value is None:
            continue
        if "." in path:
            section, key = path.split(".")
            values.setdefault(section, {})[key] = value
        else:
            values[path] = value
    return values


def settings_from_args(args: argparse.Namespace) -> tuple[Settings, JobFile | None]:
    """The settings to crawl with: the job file's (for run/check) under the flags' overrides."""
    overrides = overrides_from_args(args)
    job = load_job(args.job, overrides) if hasattr(args, "job") else None
    # User steps ("mypackage.steps:clean") import from the job's folder or the current one,
    # as `python -m` would; worker processes inherit this path.
    for folder in (Path.cwd(), job.path.parent.resolve() if job else None):
        if folder is not None and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    settings = job.settings if job is not None else build_settings(overrides)
    try:
        validate_rules(settings)
    except ConfigError as exc:
        raise ConfigError(f"{job.path}: {exc}" if job is not None else str(exc)) from exc
    _warn_ignored(settings)
    return settings, job


def _warn_ignored(settings: Settings) -> None:
    """Say so when link-following options are set for a crawl that follows no links."""
    if settings.follow:
        return
    scope = settings.scope
    ignored = [flag for key, flag in FOLLOW_ONLY.items() if getattr(scope, key) not in (None, [])]
    if ignored:
        verb = "applies" if len(ignored) == 1 else "apply"
        log.warning("%s %s only with --follow: ignored", ", ".join(ignored), verb)


def validate_rules(settings: Settings) -> None:
    """Check what the schema cannot: regexes compile, steps import (ConfigError if not)."""
    Scope.validate(settings.scope)
    Extractor.validate(settings.extract)
    validate_steps(settings.steps)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    _configure_logging(verbose=args.verbose)
    try:
        if args.command == "status":
            for line in read_status(args.state).lines():
                print(line)
            return EXIT_OK
        settings, job = settings_from_args(args)
        if args.command == "check":
            assert job is not None
            print(compact_toml(job.effective_toml()), end="")
            _note(f"{args.job}: valid")
            return EXIT_OK
        if not settings.robots.obey:
            log.warning("robots.txt is ignored: make sure you may crawl these sites this way")
        if args.command == "demo":
            return _run_demo(args, settings)
        return _run_crawl(settings, quiet=args.quiet)
    except ParcrawlError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:  # before the crawl's own handlers are installed, or after
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `parcrawl check job.toml | head`: the reader has seen enough
        _silence_stdout()
        return EXIT_PIPE_CLOSED


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush finds no closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def compact_toml(text: str, width: int = 96) -> str:
    """``text`` with arrays packed, not one item a line: a screenful rather than 170 lines."""
    lines: list[str] = []
    items: list[str] | None = None
    for line in text.splitlines():
        if items is None:
            if line.endswith("= ["):
                items = []
            lines.append(line)
        elif line != "]":
            items.append(line.strip().removesuffix(","))
        else:
            lines.extend(_packed(lines.pop(), items, width))
            items = None
    return "\n".join(lines) + "\n"


def _packed(opening: str, items: list[str], width: int) -> list[str]:
    one_line = opening + ", ".join(items) + "]"
    if len(one_line) <= width:
        return [one_line]
    rows = [opening]
    for item in items:
        if len(rows) > 1 and len(rows[-1]) + len(item) + 2 <= width:
            rows[-1] += f" {item},"
        else:
            rows.append(f"    {item},")
    return [*rows, "]"]


def _run_crawl(settings: Settings, *, quiet: bool) -> int:
    if not settings.seeds and not settings.seeds_file:
        raise UsageError("give URLs to crawl, or a URL list with -i FILE")
    return _crawl(settings, quiet=quiet)


def _run_demo(args: argparse.Namespace, settings: Settings) -> int:
    site = SyntheticSite(pages=args.pages)
    output = args.output
    with SiteServer(site) as server:
        if not args.quiet:
            _note(
                f"serving a {args.pages}-page demo site at {server.base_url}, with "
                f"{len(site.file_paths())} non-HTML files and {len(site.missing_paths())} "
                "broken links on purpose"
            )
        # A site crawl starts from the home page; a list crawl takes every URL the site has.
        start = [server.url("/")] if settings.follow else site.urls(server.base_url)
        demo = make_settings(settings, seeds=start)
        code = _crawl(demo, quiet=args.quiet)
    if not args.quiet and code != EXIT_PIPE_CLOSED:
        _note(f"records written to {output}")
    return code


def _crawl(settings: Settings, *, quiet: bool) -> int:
    with asyncio.Runner(loop_factory=crawler.runtime.event_loop_factory()) as runner:
        stats = runner.run(_crawl_async(settings, quiet=quiet))
    if not quiet:
        for line in stats.summary_lines():
            _note(line)
    if stats.stop_reason == "output_closed":
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    return EXIT_INTERRUPTED if stats.interrupted else EXIT_OK


async def _crawl_async(settings: Settings, *, quiet: bool) -> Stats:
    stats = Stats()
    to_terminal = _records_to_terminal(settings)
    if to_terminal and not quiet:
        _note("stdout is a terminal: one line per page; -o FILE or a pipe gets the records")
    sinks = [PageLines(_print_above_bars)] if to_terminal else None
    job = Crawl(settings, stats=stats, sinks=sinks)
    job.check()
    # Seeds are the whole crawl only without links or sitemaps; else the total is unknown.
    if STDIN not in settings.seeds_file and not settings.follow and not settings.sitemaps:
        stats.total = len(settings.seeds) + await count_seed_lines(settings.seeds_file)
    # JSON Lines asked for on a terminal get it whole: bars would draw through the records.
    bars_off = quiet or (_stdout_is_terminal() and _writes_stdout(settings) and not to_terminal)
    crawl = asyncio.create_task(job.run())
    with _signals_stop(job, crawl, stats), _progress(stats, quiet=bars_off):
        try:
            await crawl
        except asyncio.CancelledError:
            stats.interrupted = True
        except OutputClosed:
            # Like `yes | head`: the reader has what it wanted; what was not written is
            # counted in the summary, and no state offset claims it.
            stats.stop_reason = "output_closed"
    return stats


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _writes_stdout(settings: Settings) -> bool:
    """True when the records go to stdout as JSON Lines (-o -, /dev/stdout, or no output)."""
    output = settings.output
    if output.jsonl is None:
        return output.csv is None and output.sqlite is None
    if output.jsonl == "-":
        return True
    with contextlib.suppress(OSError):
        return os.path.samestat(os.stat(output.jsonl), os.fstat(sys.stdout.fileno()))
    return False


def _records_to_terminal(settings: Settings) -> bool:
    """True when no output is named and stdout is a terminal: show lines, not records."""
    output = settings.output
    no_output = output.jsonl is None and output.csv is None and output.sqlite is None
    return no_output and _stdout_is_terminal()


@contextlib.contextmanager
def _signals_stop(job: Crawl, crawl: asyncio.Task[Stats], stats: Stats) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): finish in-flight pages and stop. Second: stop now."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stats.interrupted:
            _note("stopping now")
            crawl.cancel()
            return
        _note("stopping: finishing pages in flight (Ctrl-C again to stop now)")
        stats.interrupted = True
        job.stop()

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
    # leave=False: the bars make way for the summary, which says the same in final form.
    common: dict[str, Any] = {
        "file": sys.stderr,
        "disable": disable,
        "dynamic_ncols": True,
        "leave": False,
    }
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


def _print_above_bars(line: str) -> None:
    tqdm.write(line, file=sys.stdout)


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
