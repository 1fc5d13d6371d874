"""``parcrawl crawl URL... | -i FILE``: fetch and parse URLs given on the command line."""

from __future__ import annotations

import argparse

from cli.commands.flags import add_crawl_flags, add_output
from cli.crawl_settings import settings_from_args, warn_robots_ignored
from cli.fetchers import run_crawl

SEEDS_HINT = "give URLs to crawl, or a URL list with -i FILE"


class CrawlCommand:
    """Crawl the URLs given (whole sites with ``--follow``), with the flags' settings."""

    name = "crawl"
    summary = "fetch and parse URLs; whole sites with --follow"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("urls", nargs="*", metavar="URL", help="URLs to fetch")
        parser.add_argument(
            "-i",
            "--input",
            action="append",
            default=[],
            metavar="FILE",
            help="a file of URLs, one per line ('-' for stdin); repeatable",
        )
        add_output(parser)
        add_crawl_flags(parser)

    def run(self, args: argparse.Namespace) -> int:
        settings, _ = settings_from_args(args, seeds_hint=SEEDS_HINT)
        warn_robots_ignored(settings)
        return run_crawl(settings, quiet=args.quiet)
