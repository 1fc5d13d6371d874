"""Arguments several commands share: a job file, crawl outputs to read, where records go,
the crawl's settings, quiet and verbose."""

from __future__ import annotations

import argparse

from cli.options import add_options

OUTPUT_HELP = (
    "records to FILE, format by extension: .jsonl, .csv, .sqlite/.db; '-' for JSON Lines "
    "on stdout; folders are created (default: stdout)"
)


def add_output(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """``-o FILE``: where the records go (the format is the file's extension)."""
    help_text = OUTPUT_HELP
    if default is not None:
        help_text = f"where records go, format by extension (default {default})"
    parser.add_argument("-o", "--output", default=default, metavar="FILE", help=help_text)


def add_job(parser: argparse.ArgumentParser) -> None:
    """A job file, ``-o`` and the crawl's flags, which win over the file's keys (run, check)."""
    parser.add_argument("job", metavar="JOB.toml", help="the job file")
    add_output(parser)
    add_crawl_flags(parser)


def add_inputs(parser: argparse.ArgumentParser) -> None:
    """The crawl outputs a command reads (report, merge)."""
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE",
        help="crawl outputs: .jsonl or .sqlite, one or several",
    )


def add_crawl_flags(parser: argparse.ArgumentParser) -> None:
    """Every flag that sets a crawl's settings, then ``-q`` and ``-v`` for its progress."""
    add_options(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, no summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every failed fetch")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``-q`` for a command whose only word is a summary line (``-v`` taken, unused)."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    parser.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
