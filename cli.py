"""The ``parcrawl`` command line: parse arguments, build the crawl's parts, show progress.

This is the only composition root; everything it wires is importable and testable alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from tqdm import tqdm

import crawler.prestart  # the parse workers' server starts while the rest imports
import crawler.runtime  # first: the HTTP stack without its unused parts
from crawler import __version__
from crawler.admission import Scope
from crawler.api import Crawl, make_settings
from crawler.assembly import executor_factory_for
from crawler.demo import SiteServer, SyntheticSite
from crawler.errors import ClusterLost, ConfigError, OutputClosed, ParcrawlError, UsageError
from crawler.frontier import PAUSED_FIELD, shared_status_lines
from crawler.jobfile import JobFile, load_job
from crawler.outputs import merge_outputs
from crawler.preflight import check_crawl_files, check_report_file
from crawler.recrawl import CHANGES
from crawler.report import TOP, report_source, write_report
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
    "output.report": (("--report",), {"metavar": "FILE.html"}),
    "recrawl": (("--recrawl",), {"action": "store_const", "const": True}),
    "changed_only": (("--changed-only",), {"action": "store_const", "const": True}),
    "output.warc": (("--warc",), {"metavar": "FILE.warc.gz"}),
    "output.warc_max_size": (("--warc-max-size",), {"metavar": "SIZE"}),
    "cluster.frontier": (("--frontier",), {"metavar": "REDIS_URL"}),
    "cluster.crawl_id": (("--crawl-id",), {"metavar": "NAME"}),
    "cluster.fetchers": (("--fetchers",), {"type": _positive_int, "metavar": "N"}),
    "cluster.executor": (("--executor",), {"metavar": "WHERE"}),
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
    "output.report": "write an HTML report of the crawl to FILE.html at its end (also after "
    "Ctrl-C); needs -o FILE.jsonl or .sqlite",
    "recrawl": "with --state or --frontier: revisit every known page, fetching only what "
    "changed; records get 'change' (new, changed, unchanged, gone)",
    "changed_only": "with --recrawl: write records of new, changed and gone pages only",
    "output.warc": "also archive every request and response in this WARC file",
    "output.warc_max_size": "start a new numbered WARC file past this size (1GB, 500MB, bytes)",
    "cluster.frontier": "share the crawl with other parcrawl processes through this Redis "
    "(redis://host:6379/0, rediss:// for TLS); default: this process alone",
    "cluster.crawl_id": "the shared crawl's name: processes with the same one share it",
    "cluster.fetchers": "crawler processes to run on this machine against --frontier, each "
    "writing its own -o file (NAME-1.jsonl, ...) (default 1)",
    "cluster.executor": "where pages are parsed: local (process pool, default), dask (a local "
    "Dask cluster of --workers processes) or a Dask scheduler's address, tcp://HOST:8786",
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

    status = _command(commands, "status", "show a state file's or a shared crawl's progress")
    status.add_argument("state", nargs="?", metavar="STATE", help="the state file (--state FILE)")
    status.add_argument(
        "--frontier", metavar="REDIS_URL", help="the shared crawl's Redis (with --crawl-id)"
    )
    status.add_argument("--crawl-id", metavar="NAME", help="the shared crawl's name")
    status.add_argument("-q", "--quiet", action="store_true", help=argparse.SUPPRESS)
    status.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)

    report = _command(commands, "report", "an HTML report (charts, broken links) of crawl outputs")
    report.add_argument(
        "inputs", nargs="+", metavar="FILE", help="crawl outputs: .jsonl or .sqlite, one or several"
    )
    report.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE.html",
        help="where the report goes (default: the first input's name with -report.html)",
    )
    report.add_argument(
        "--top",
        type=_positive_int,
        default=TOP,
        metavar="N",
        help=f"rows a table shows at most, the total stated beside it (default {TOP})",
    )
    _add_quiet(report)

    merge = _command(commands, "merge", "merge outputs of one crawl into one record per URL")
    merge.add_argument(
        "inputs", nargs="+", metavar="FILE", help="crawl outputs: .jsonl or .sqlite, one or several"
    )
    merge.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the merged output, .jsonl or .sqlite (written whole, then renamed into place)",
    )
    _add_quiet(merge)

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


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    parser.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)


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
            for line in _status_lines(args):
                print(line)
            return EXIT_OK
        if args.command == "report":
            return _run_report(args)
        if args.command == "merge":
            return _run_merge(args)
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


def _status_lines(args: argparse.Namespace) -> list[str]:
    """A state file's status, or with --frontier a shared crawl's (read from Redis)."""
    if args.frontier is None and args.crawl_id is None:
        if args.state is None:
            raise UsageError("give a state file, or --frontier REDIS_URL --crawl-id NAME")
        return read_status(args.state).lines()
    if args.state is not None:
        raise UsageError("give a state file or --frontier with --crawl-id, not both")
    cluster = build_settings(
        {"cluster": {"frontier": args.frontier, "crawl_id": args.crawl_id}}
    ).cluster
    if cluster.frontier is None:
        raise UsageError("--crawl-id needs --frontier REDIS_URL")
    assert cluster.crawl_id is not None
    return shared_status_lines(cluster.frontier, cluster.crawl_id)


def _run_crawl(settings: Settings, *, quiet: bool) -> int:
    joining = settings.cluster.frontier is not None
    if not settings.seeds and not settings.seeds_file and not joining:
        raise UsageError("give URLs to crawl, or a URL list with -i FILE")
    if settings.cluster.fetchers > 1:
        # Every fetcher's files before any starts: none crawls while another cannot write.
        count = settings.cluster.fetchers
        check_crawl_files(*(fetcher_output(settings, n) for n in range(1, count + 1)))
        if settings.output.report is not None:  # the fetchers' one report, the parent's
            check_report_file(settings.output.report)
        code = _run_fetchers(settings, quiet=quiet)
    else:
        code = _crawl(settings, quiet=quiet)
    _note_report(settings, quiet=quiet)
    return code


def _note_report(settings: Settings, *, quiet: bool) -> None:
    if settings.output.report is not None and not quiet:
        _note(f"report written to {settings.output.report}")


def _report_beside(records: str) -> str:
    """The default report path of a records file: ``docs.jsonl`` -> ``docs-report.html``."""
    path = Path(records)
    return str(path.with_name(f"{path.stem}-report.html"))


def _run_report(args: argparse.Namespace) -> int:
    output = args.output or _report_beside(args.inputs[0])
    report = write_report(args.inputs, output, top=args.top)
    if not args.quiet:
        noun = "record" if report.records == 1 else "records"
        _note(f"report of {report.records:,} {noun} written to {output}")
    return EXIT_OK


def _run_merge(args: argparse.Namespace) -> int:
    result = merge_outputs(args.inputs, args.output)
    if not args.quiet:
        _note(
            f"{result.written:,} records (one per URL) written to {args.output}, "
            f"from {result.read:,} read ({result.dropped:,} set aside for a better one)"
        )
    return EXIT_OK


def _run_fetchers(settings: Settings, *, quiet: bool) -> int:
    """``--fetchers N``: N crawler processes on this machine share the crawl through the
    frontier, each with its own event loop, process stage and output file.

    Every one reads the seeds (Redis drops the repeats) so that none can start before the
    crawl exists. The exit code is the worst of theirs.
    """
    cluster = settings.cluster
    assert cluster.frontier is not None
    assert cluster.crawl_id is not None
    if STDIN in settings.seeds_file:
        raise UsageError("--fetchers N cannot share stdin: give the URLs in a file (-i FILE)")
    outputs = [fetcher_output(settings, index) for index in range(1, cluster.fetchers + 1)]
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_fetcher_main, args=(child, index), name=f"fetcher-{index}")
        for index, child in enumerate(outputs, start=1)
    ]
    for child in children:
        child.start()
    # Ctrl-C reaches every fetcher (one process group): each stops itself cleanly.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for child in children:
            child.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    codes = [child.exitcode if child.exitcode is not None else 1 for child in children]
    if not quiet:
        for index, (child_settings, code) in enumerate(zip(outputs, codes, strict=True), 1):
            _note(f"fetcher {index}: exit {code}, records in {_output_names(child_settings)}")
        with contextlib.suppress(ParcrawlError):
            for line in shared_status_lines(cluster.frontier, cluster.crawl_id):
                _note(line)
    # Like one process, which writes no report when it ends in an error: fetchers that all
    # failed (Redis unreachable) leave an earlier report as it was.
    if settings.output.report is not None and any(c in (EXIT_OK, EXIT_INTERRUPTED) for c in codes):
        sources = [report_source(child.output) for child in outputs]
        written = [source for source in sources if source and Path(source).exists()]
        if written:
            write_report(written, settings.output.report, settings=settings)
    failed = [code for code in codes if code != EXIT_OK]
    return max(failed, key=lambda code: (code != EXIT_INTERRUPTED, code)) if failed else EXIT_OK


def fetcher_output(settings: Settings, index: int) -> Settings:
    """The settings of fetcher ``index``: one process, its own output files (name-INDEX.ext).

    Raises:
        UsageError: the records would go to stdout, which N processes cannot share.
    """
    output = settings.output
    if (output.jsonl in (None, "-") and output.csv is None and output.sqlite is None) or (
        output.jsonl == "-"
    ):
        raise UsageError("--fetchers N needs -o FILE: each process writes its own file")

    def numbered(path: str) -> str:
        file = Path(path)
        return str(file.with_name(f"{file.stem}-{index}{file.suffix}"))

    values: dict[str, Any] = {}
    if output.jsonl is not None:
        values["jsonl"] = numbered(output.jsonl)
    if output.sqlite is not None:
        values["sqlite"] = numbered(output.sqlite)
    if output.csv is not None:
        values["csv"] = output.csv.model_copy(update={"path": numbered(output.csv.path)})
    if output.warc is not None:  # one writer per WARC file: it cuts back what it half wrote
        values["warc"] = output.warc.removesuffix(".warc.gz") + f"-{index}.warc.gz"
    values["report"] = None  # the parent writes one report of all the fetchers' records
    return settings.model_copy(
        update={
            "output": output.model_copy(update=values),
            "cluster": settings.cluster.model_copy(update={"fetchers": 1}),
        }
    )


def _output_names(settings: Settings) -> str:
    output = settings.output
    names = [output.jsonl, output.csv.path if output.csv else None, output.sqlite]
    return ", ".join(name for name in names if name)


def _fetcher_main(settings: Settings, index: int) -> None:
    """One fetcher of ``--fetchers N`` (a spawned process): crawl quietly, exit with its code."""
    _configure_logging(verbose=False)
    logging.getLogger().handlers[0].setFormatter(
        logging.Formatter(f"parcrawl[{index}]: %(levelname)s: %(message)s")
    )
    try:
        code = _crawl(settings, quiet=True)
    except ParcrawlError as exc:
        _error(f"fetcher {index}: {exc}")
        code = exc.exit_code
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)


def _run_demo(args: argparse.Namespace, settings: Settings) -> int:
    site = SyntheticSite(pages=args.pages)
    output = args.output
    source = report_source(settings.output)
    if settings.output.report is None and source is not None:
        settings = make_settings(settings, output={"report": _report_beside(source)})
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
    _note_report(settings, quiet=args.quiet)
    return code


def _crawl(settings: Settings, *, quiet: bool) -> int:
    executor = _ExecutorView(settings)
    lost: list[ClusterLost] = []
    job = Crawl(
        settings,
        stats=Stats(),
        sinks=_terminal_sinks(settings, quiet=quiet),
        executor_factory=executor.factory,
    )
    with asyncio.Runner(loop_factory=crawler.runtime.event_loop_factory()) as runner:
        stats = runner.run(_crawl_async(job, quiet=quiet, executor=executor, lost=lost))
    if not quiet:
        for line in [*stats.summary_lines(), executor.summary(stats)]:
            _note(line)
    if settings.output.report is not None and not job.report_written:
        job.write_report()  # a second Ctrl-C cancelled the crawl before its report
    if lost:
        _error(str(lost[0]))
        return lost[0].exit_code
    if stats.stop_reason == "output_closed":
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    return EXIT_INTERRUPTED if stats.interrupted else EXIT_OK


def _terminal_sinks(settings: Settings, *, quiet: bool) -> list[PageLines] | None:
    if not _records_to_terminal(settings):
        return None
    if not quiet:
        _note("stdout is a terminal: one line per page; -o FILE or a pipe gets the records")
    return [PageLines(_print_above_bars)]


class _ExecutorView:
    """What the progress bars and the summary say about where pages are parsed."""

    def __init__(self, settings: Settings) -> None:
        self.workers = settings.workers
        self.factory = executor_factory_for(settings)
        self.announced = False

    def _dask(self) -> Any:
        return getattr(self.factory, "executor", None)

    def label(self) -> str:
        """``local pool, 4 workers`` or ``dask tcp://host:8786, 3 workers``."""
        dask = self._dask()
        if dask is not None:
            return f"{dask.name}, {dask.workers} workers"
        if self.workers == 0:
            return "inline (no worker processes)"
        return f"local pool, {self.workers} workers"

    def announce(self) -> str | None:
        """A line to print once a Dask executor is connected; None before or after."""
        dask = self._dask()
        if dask is None or self.announced:
            return None
        self.announced = True
        dashboard = f", dashboard {dask.dashboard}" if dask.dashboard else ""
        return f"parsing on {self.label()}{dashboard}"

    def summary(self, stats: Stats) -> str:
        """The summary's executor line: parse and transfer times, bytes moved per page."""
        line = f"executor: {self.label()}"
        dask = self._dask()
        if dask is not None:
            traffic = dask.traffic
            moved = traffic.bytes_sent + traffic.bytes_received
            per_page = moved / stats.parsed if stats.parsed else 0.0
            line += (
                f"; parse {traffic.run_s:.1f} s in workers, transfer {traffic.transfer_s:.1f} s "
                f"(moving and queueing batches); {per_page / 1024:.1f} KiB moved per page"
            )
        return line


async def _crawl_async(
    job: Crawl, *, quiet: bool, executor: _ExecutorView, lost: list[ClusterLost]
) -> Stats:
    settings, stats = job.settings, job.stats
    to_terminal = _records_to_terminal(settings)
    job.check()
    # Seeds are the whole crawl only without links or sitemaps; else the total is unknown.
    if STDIN not in settings.seeds_file and not settings.follow and not settings.sitemaps:
        stats.total = len(settings.seeds) + await count_seed_lines(settings.seeds_file)
    # JSON Lines asked for on a terminal get it whole: bars would draw through the records.
    bars_off = quiet or (_stdout_is_terminal() and _writes_stdout(settings) and not to_terminal)
    crawl = asyncio.create_task(job.run())
    progress = _progress(stats, quiet=bars_off, executor=executor, notes=not quiet)
    with _signals_stop(job, crawl, stats), progress:
        try:
            await crawl
        except asyncio.CancelledError:
            stats.interrupted = True
        except ClusterLost as exc:  # every record made before the loss is written
            lost.append(exc)
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
def _progress(
    stats: Stats, *, quiet: bool, executor: _ExecutorView | None = None, notes: bool = True
) -> Iterator[None]:
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
    pause = _PauseWatcher()
    logging.getLogger().addHandler(pause)

    async def refresh() -> None:
        while True:
            if executor is not None:
                line = executor.announce()
                if line is not None and notes:
                    _note(line)
                parsed.set_postfix_str(executor.label(), refresh=False)
            for bar, value in ((fetched, stats.fetched), (parsed, stats.parsed)):
                bar.update(value - bar.n)
            errors.update(stats.error_count - errors.n)
            if pause.paused:  # a shared frontier lost its Redis (until it is back)
                fetched.set_postfix_str("paused: Redis lost, retrying", refresh=False)
            elif stats.changes:
                fetched.set_postfix_str(_changes_line(stats), refresh=False)
            else:
                fetched.set_postfix_str("", refresh=False)
            await asyncio.sleep(PROGRESS_INTERVAL_S)

    task = asyncio.get_running_loop().create_task(refresh())
    try:
        yield
    finally:
        logging.getLogger().removeHandler(pause)
        task.cancel()
        fetched.update(stats.fetched - fetched.n)
        parsed.update(stats.parsed - parsed.n)
        errors.update(stats.error_count - errors.n)
        for bar in (errors, parsed, fetched):
            bar.close()


def _changes_line(stats: Stats) -> str:
    """A recrawl's counts by kind of change, for the progress bar."""
    return " ".join(f"{kind} {stats.changes[kind]}" for kind in CHANGES)


def _print_above_bars(line: str) -> None:
    tqdm.write(line, file=sys.stdout)


class _PauseWatcher(logging.Handler):
    """Notes from the log whether a shared frontier has paused fetching (Redis lost)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.paused = False

    def emit(self, record: logging.LogRecord) -> None:
        paused = getattr(record, PAUSED_FIELD, None)
        if paused is not None:
            self.paused = bool(paused)


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
