"""The ``parcrawl`` argument parser: the program's own flags and one sub-parser per command,
each filled in by its command (:mod:`cli.commands`)."""

from __future__ import annotations

import argparse
from typing import NoReturn

from cli.commands import COMMANDS
from crawler import __version__


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2, without the usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"parcrawl: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``parcrawl`` argument parser; ``args.command`` is the name of the command given."""
    parser = Parser(
        prog="parcrawl",
        allow_abbrev=False,
        description="Parallel web crawler: async fetching, multi-process parsing.",
    )
    parser.add_argument("--version", action="version", version=f"parcrawl {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        # The summary shows in `parcrawl --help` and atop the command's own help.
        # Flags spelt in full: ``--cont URL`` would read the URL as --content's engine, and
        # an abbreviation that works today would turn ambiguous with the next flag added.
        sub = subparsers.add_parser(
            command.name,
            help=command.summary,
            description=command.summary,
            allow_abbrev=False,
        )
        command.add_arguments(sub)
    return parser
