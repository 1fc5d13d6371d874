"""The ``parcrawl`` commands, one module each (as Scrapy's ``scrapy/commands/``): each adds
its own arguments and runs itself; the dispatcher (:mod:`cli.dispatch`) only picks one.

A new command is a module here with a class of the ``Command`` shape, listed in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
from typing import Protocol

from cli.commands.check import CheckCommand
from cli.commands.crawl import CrawlCommand
from cli.commands.demo import DemoCommand
from cli.commands.merge import MergeCommand
from cli.commands.report import ReportCommand
from cli.commands.run import RunCommand
from cli.commands.status import StatusCommand


class Command(Protocol):
    """One ``parcrawl`` command: its name, its one-line summary, its arguments, its run."""

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str:
        """Shown in ``parcrawl --help`` and atop the command's own help."""
        ...

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's positionals and flags to its own parser."""

    def run(self, args: argparse.Namespace) -> int:
        """Do the command; returns the exit code (errors are raised, the dispatcher says them).

        Raises:
            ParcrawlError: with its exit code, said in one line by the dispatcher.
        """
        ...


COMMANDS: tuple[Command, ...] = (
    CrawlCommand(),
    RunCommand(),
    CheckCommand(),
    StatusCommand(),
    ReportCommand(),
    MergeCommand(),
    DemoCommand(),
)
"""Every command, in the order ``parcrawl --help`` lists them."""

__all__ = ["COMMANDS", "Command"]
