"""The ``parcrawl`` dispatcher: parse the arguments, hand them to their command, and turn
what it raises into one line on stderr and an exit code (as Scrapy's ``cmdline``).

The commands themselves are :mod:`cli.commands`; nothing here knows what one does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cli.commands import COMMANDS
from cli.exit_codes import EXIT_INTERRUPTED, EXIT_PIPE_CLOSED, EXIT_USAGE
from cli.options import settle_optional_values
from cli.parser import build_parser
from cli.session import silence_stdout
from cli.view import configure_logging, error
from crawler.errors import ParcrawlError

BY_NAME = {command.name: command for command in COMMANDS}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``sys.argv[1:]`` unless ``argv``); returns the exit code."""
    parser = build_parser()
    given = sys.argv[1:] if argv is None else argv
    if not given:
        # A bare `parcrawl` asks what it can do: the help, not an error about a missing
        # command; on stderr and exit 2 as for any usage error, since nothing was done.
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(settle_optional_values(given))
    configure_logging(verbose=args.verbose)
    try:
        return BY_NAME[args.command].run(args)
    except ParcrawlError as exc:
        error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:  # before the crawl's own handlers are installed, or after
        error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `parcrawl check job.toml | head`: the reader has seen enough
        silence_stdout()
        return EXIT_PIPE_CLOSED
