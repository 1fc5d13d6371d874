"""``parcrawl run JOB.toml``: the crawl a job file describes, flags overriding its keys."""

from __future__ import annotations

import argparse

from cli.commands.flags import add_job
from cli.crawl_settings import settings_from_args, warn_robots_ignored
from cli.fetchers import run_crawl


class RunCommand:
    """Crawl as the job file says; a flag given wins over the file's key."""

    name = "run"
    summary = "run the crawl a job file describes"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_job(parser)

    def run(self, args: argparse.Namespace) -> int:
        settings, _ = settings_from_args(args)
        warn_robots_ignored(settings)
        return run_crawl(settings, quiet=args.quiet)
