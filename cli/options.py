"""The flags that set a crawl's settings: each one's name, type, metavar and help, keyed by
the setting it sets (``fetch.max_bytes`` is ``--max-bytes``). Flags that are no setting
(``-o``, ``-i``, ``--pages``) are their commands' own.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from cli.argtypes import non_negative_int, non_negative_seconds, positive_int, seconds, size
from crawler import __version__
from crawler.sizes import SIZE_FORMS

Flag = tuple[tuple[str, ...], dict[str, Any]]
"""A flag's names and its argparse keywords (``type``, ``metavar``, ``action``...)."""

# Users' scripts use these names, types and metavars: they change only with a deprecation.
OPTIONS: dict[str, Flag] = {
    "fetch.concurrency": (("--concurrency", "-c"), {"type": positive_int, "metavar": "N"}),
    "fetch.per_host": (("--per-host",), {"type": positive_int, "metavar": "N"}),
    "fetch.timeout_s": (("--timeout",), {"type": seconds, "metavar": "S"}),
    "fetch.connect_timeout_s": (("--connect-timeout",), {"type": seconds, "metavar": "S"}),
    "fetch.read_timeout_s": (("--read-timeout",), {"type": seconds, "metavar": "S"}),
    "fetch.max_bytes": (("--max-bytes",), {"type": size, "metavar": "SIZE"}),
    "fetch.max_redirects": (("--max-redirects",), {"type": non_negative_int, "metavar": "N"}),
    "fetch.user_agent": (("--user-agent",), {"metavar": "UA"}),
    "fetch.delay_s": (("--delay",), {"type": non_negative_seconds, "metavar": "S"}),
    "workers": (("--workers", "-w"), {"type": non_negative_int, "metavar": "N"}),
    "batch_size": (("--batch-size",), {"type": positive_int, "metavar": "N"}),
    "parser": (("--parser",), {"choices": ("lxml", "bs4")}),
    "follow": (("--follow",), {"action": "store_const", "const": True}),
    "scope.max_depth": (("--max-depth",), {"type": non_negative_int, "metavar": "N"}),
    "scope.allow_domains": (("--allow-domain",), {"action": "append", "metavar": "DOMAIN"}),
    "scope.deny_domains": (("--deny-domain",), {"action": "append", "metavar": "DOMAIN"}),
    "scope.include": (("--include",), {"action": "append", "metavar": "REGEX"}),
    "scope.exclude": (("--exclude",), {"action": "append", "metavar": "REGEX"}),
    "scope.max_pages": (("--max-pages",), {"type": positive_int, "metavar": "N"}),
    "scope.max_pages_per_host": (
        ("--max-pages-per-host",),
        {"type": positive_int, "metavar": "N"},
    ),
    "scope.max_duration_s": (("--max-duration",), {"type": seconds, "metavar": "S"}),
    "sitemaps": (("--sitemaps",), {"action": "store_const", "const": True}),
    "robots.obey": (("--ignore-robots",), {"action": "store_const", "const": False}),
    "log_skipped": (("--log-skipped",), {"action": "store_const", "const": True}),
    "state": (("--state",), {"metavar": "FILE"}),
    "fetch.retries": (("--retries",), {"type": non_negative_int, "metavar": "N"}),
    "fetch.allow_private": (("--allow-private",), {"action": "store_const", "const": True}),
    "output.report": (("--report",), {"metavar": "FILE.html"}),
    "recrawl": (("--recrawl",), {"action": "store_const", "const": True}),
    "changed_only": (("--changed-only",), {"action": "store_const", "const": True}),
    "output.warc": (("--warc",), {"metavar": "FILE.warc.gz"}),
    "output.warc_max_size": (("--warc-max-size",), {"type": size, "metavar": "SIZE"}),
    "cluster.frontier": (("--frontier",), {"metavar": "REDIS_URL"}),
    "cluster.crawl_id": (("--crawl-id",), {"metavar": "NAME"}),
    "cluster.fetchers": (("--fetchers",), {"type": positive_int, "metavar": "N"}),
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


def add_options(parser: argparse.ArgumentParser, paths: Iterable[str] = OPTIONS) -> None:
    """Add the flags of the settings at ``paths``.

    A flag left out of the command line stays None (argparse's default), so that
    :func:`overrides_from_args` passes on only what was given and a job file's value stands.
    """
    for path in paths:
        flags, keywords = OPTIONS[path]
        parser.add_argument(*flags, dest=path, help=OPTION_HELP[path], **keywords)


def overrides_from_args(
    args: argparse.Namespace, *, into: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The settings the flags set, as nested job-file keys; unset flags are left out.

    ``into``: values set already (``-o`` gives the ``output`` section a flag adds to).
    """
    values: dict[str, Any] = {} if into is None else into
    for path in OPTIONS:
        value = getattr(args, path, None)
        if value is None:
            continue
        section, _, key = path.rpartition(".")
        (values.setdefault(section, {}) if section else values)[key] = value
    return values
