"""``parcrawl check JOB.toml``: refuse what ``run`` would refuse, or print the settings.

Nothing is fetched and no file is written: the same start check as ``run``'s, then the
effective settings (the file's keys under the flags, every default filled in) as TOML.
"""

from __future__ import annotations

import argparse

from cli.commands.flags import add_job
from cli.crawl_settings import settings_from_args
from cli.exit_codes import EXIT_OK
from cli.view import note


class CheckCommand:
    """Validate a job file (and the flags given with it) and print its effective settings."""

    name = "check"
    summary = "validate a job file and print its effective settings"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_job(parser)

    def run(self, args: argparse.Namespace) -> int:
        _, job = settings_from_args(args)
        assert job is not None  # a job file is check's one positional
        print(job.effective_toml(compact=True), end="")
        note(f"{args.job}: valid")
        return EXIT_OK
