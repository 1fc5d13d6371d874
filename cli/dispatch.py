"""The ``parcrawl`` command line: parse arguments, build the crawl's parts, show progress.

This is the only composition root; everything it wires is importable and testable alone.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import crawler.prestart  # the parse workers' server starts while the rest imports
import crawler.runtime  # noqa: F401  (first: the HTTP stack without its unused parts)

# A crawl, its terminal view, the --fetchers supervisor: modules beside this one.
from cli_crawl import EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE_CLOSED, EXIT_USAGE, crawl
from cli_crawl import silence_stdout as _silence_stdout
from cli_fetchers import run_fetchers
from cli_view import configure_logging as _configure_logging
from cli_view import error as _error
from cli_view import note as _note
from crawler import __version__
from crawler.api import make_settings
from crawler.demo import SiteServer, SyntheticSite
from crawler.errors import ParcrawlError, UsageError
from crawler.frontier import shared_status_lines
from crawler.jobfile import JobFile, load_job
from crawler.outputs import merge_outputs
from crawler.report import TOP, report_source, write_report
from crawler.settings import Settings, build_settings
from crawler.sizes import SIZE_FORMS, parse_size
from crawler.startup import Start, check_start
from crawler.state import read_status
from pipelines.sinks import output_for

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


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    "fetch.max_bytes": (("--max-bytes",), {"type": _size, "metavar": "SIZE"}),
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
    "output.warc_max_size": (("--warc-max-size",), {"type": _size, "metavar": "SIZE"}),
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
    "fetch.max_bytes": f"largest body read: {SIZE_FORMS} (default 10MiB)",
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
    "output.warc_max_size": f"start a new numbered WARC file past this size: {SIZE_FORMS}",
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
    """The settings to crawl with: the job file's (for run/check) under the flags' overrides,
    checked for all that would stop the crawl before its first fetch (``check`` = ``run``)."""
    overrides = overrides_from_args(args)
    job = load_job(args.job, overrides) if hasattr(args, "job") else None
    # User steps ("mypackage.steps:clean") import from the job's folder or the current one,
    # as `python -m` would; worker processes inherit this path.
    for folder in (Path.cwd(), job.path.parent.resolve() if job else None):
        if folder is not None and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    settings = job.settings if job is not None else build_settings(overrides)
    hint = "give URLs to crawl, or a URL list with -i FILE" if args.command == "crawl" else None
    check_start(Start(settings, job=str(job.path) if job else None, seeds_hint=hint))
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        # A bare `parcrawl` asks what it can do: the help, not an error about a missing
        # command; on stderr and exit 2 as for any usage error, since nothing was done.
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
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
            print(job.effective_toml(compact=True), end="")
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
    if settings.cluster.fetchers > 1:
        code = run_fetchers(settings, quiet=quiet)
    else:
        code, _ = crawl(settings, quiet=quiet)
    return code


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


def _run_demo(args: argparse.Namespace, settings: Settings) -> int:
    site = SyntheticSite(pages=args.pages)
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
        code, _ = crawl(demo, quiet=args.quiet)
    return code


if __name__ == "__main__":
    sys.exit(main())
