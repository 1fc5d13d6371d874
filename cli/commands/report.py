"""``parcrawl report FILE...``: an HTML report (charts, broken links) of crawl outputs.

It reads records files only; the report a crawl writes itself (``--report``) is the same.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.argtypes import positive_int
from cli.commands.flags import add_inputs, add_quiet
from cli.exit_codes import EXIT_OK
from cli.view import note
from crawler.report import TOP, write_report


def report_beside(records: str) -> str:
    """The default report path of a records file: ``docs.jsonl`` -> ``docs-report.html``."""
    path = Path(records)
    return str(path.with_name(f"{path.stem}-report.html"))


class ReportCommand:
    """Write one HTML report of one or several crawl outputs (JSON Lines, SQLite)."""

    name = "report"
    summary = "an HTML report (charts, broken links) of crawl outputs"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_inputs(parser)
        parser.add_argument(
            "-o",
            "--output",
            default=None,
            metavar="FILE.html",
            help="where the report goes (default: the first input's name with -report.html)",
        )
        parser.add_argument(
            "--top",
            type=positive_int,
            default=TOP,
            metavar="N",
            help=f"rows a table shows at most, the total stated beside it (default {TOP})",
        )
        add_quiet(parser)

    def run(self, args: argparse.Namespace) -> int:
        output = args.output or report_beside(args.inputs[0])
        report = write_report(args.inputs, output, top=args.top)
        if not args.quiet:
            noun = "record" if report.records == 1 else "records"
            note(f"report of {report.records:,} {noun} written to {output}")
        return EXIT_OK
