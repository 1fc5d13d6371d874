"""``parcrawl status STATE | --frontier URL --crawl-id NAME``: a crawl's progress, read
from its state file or from the Redis a shared crawl lives in, without touching the crawl."""

from __future__ import annotations

import argparse

from cli.backends import shared_crawl_status
from cli.exit_codes import EXIT_OK
from cli.options import add_options
from crawler.errors import UsageError
from crawler.state import read_status

SHARED = ("cluster.frontier", "cluster.crawl_id")
"""The settings (and flags: ``--frontier``, ``--crawl-id``) naming a shared crawl."""


class StatusCommand:
    """Print how far a crawl has come: done, failed, pending; per process when shared."""

    name = "status"
    summary = "show a state file's or a shared crawl's progress"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "state", nargs="?", metavar="STATE", help="the state file (--state FILE)"
        )
        add_options(parser, SHARED)
        parser.add_argument("-q", "--quiet", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)

    def run(self, args: argparse.Namespace) -> int:
        for line in self.lines(args):
            print(line)
        return EXIT_OK

    @staticmethod
    def lines(args: argparse.Namespace) -> list[str]:
        """A state file's status, or with --frontier a shared crawl's (read from Redis)."""
        frontier, crawl_id = (getattr(args, path) for path in SHARED)
        if frontier is None and crawl_id is None:
            if args.state is None:
                raise UsageError("give a state file, or --frontier REDIS_URL --crawl-id NAME")
            return read_status(args.state).lines()
        if args.state is not None:
            raise UsageError("give a state file or --frontier with --crawl-id, not both")
        return shared_crawl_status(frontier, crawl_id)
