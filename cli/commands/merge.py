"""``parcrawl merge FILE... -o FILE``: the outputs of one crawl (``--fetchers N`` writes one
per process, a resumed crawl may repeat URLs) as one record per URL, the best one kept."""

from __future__ import annotations

import argparse

from cli.commands.flags import add_inputs, add_quiet
from cli.exit_codes import EXIT_OK
from cli.view import note
from crawler.outputs import merge_outputs


class MergeCommand:
    """Merge crawl outputs into one file of one record per URL, written whole then renamed."""

    name = "merge"
    summary = "merge outputs of one crawl into one record per URL"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_inputs(parser)
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            metavar="FILE",
            help="the merged output, .jsonl or .sqlite (written whole, then renamed into place)",
        )
        add_quiet(parser)

    def run(self, args: argparse.Namespace) -> int:
        result = merge_outputs(args.inputs, args.output)
        if not args.quiet:
            note(
                f"{result.written:,} records (one per URL) written to {args.output}, "
                f"from {result.read:,} read ({result.dropped:,} set aside for a better one)"
            )
        return EXIT_OK
