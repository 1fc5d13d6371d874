"""``parcrawl demo``: crawl a generated site served on 127.0.0.1, to see parcrawl at work
without touching anyone's server (its report is written beside the records)."""

from __future__ import annotations

import argparse

from cli.argtypes import positive_int
from cli.commands.flags import add_crawl_flags, add_output
from cli.commands.report import report_beside
from cli.crawl_settings import settings_from_args, warn_robots_ignored
from cli.fetchers import run_crawl
from cli.view import note
from crawler.api import make_settings
from crawler.demo import SiteServer, SyntheticSite
from crawler.report import report_source

DEMO_OUTPUT = "parcrawl-demo.jsonl"


class DemoCommand:
    """Serve a synthetic site (pages, files, broken links on purpose) and crawl it."""

    name = "demo"
    summary = "crawl a generated site served on 127.0.0.1"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--pages",
            type=positive_int,
            default=500,
            metavar="N",
            help="HTML pages on the demo site, besides its files and broken links (default 500)",
        )
        add_output(parser, default=DEMO_OUTPUT)
        add_crawl_flags(parser)

    def run(self, args: argparse.Namespace) -> int:
        settings, _ = settings_from_args(args)
        warn_robots_ignored(settings)
        site = SyntheticSite(pages=args.pages)
        source = report_source(settings.output)
        if settings.output.report is None and source is not None:
            settings = make_settings(settings, output={"report": report_beside(source)})
        with SiteServer(site) as server:
            if not args.quiet:
                note(
                    f"serving a {args.pages}-page demo site at {server.base_url}, with "
                    f"{len(site.file_paths())} non-HTML files and "
                    f"{len(site.missing_paths())} broken links on purpose"
                )
            # A site crawl starts from the home page; a list crawl takes every URL it has.
            start = [server.url("/")] if settings.follow else site.urls(server.base_url)
            demo = make_settings(settings, seeds=start)
            # As `crawl` does: --fetchers N starts N processes, which reach the server too.
            return run_crawl(demo, quiet=args.quiet)
