"""What the command line shows on a terminal while crawling: progress bars, notes, log lines.

It owns the wording and drawing of live progress, whether bars may be drawn at all, and
where records go; running a crawl is :mod:`cli.session`'s, several fetchers
:mod:`cli.fetchers`', what the backends say of themselves :mod:`cli.backends`'.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from crawler.recrawl import CHANGES
from crawler.settings import Settings
from crawler.stats import Stats

PROGRESS_INTERVAL_S = 0.2
ERROR_KINDS_SHOWN = 3
"""Error codes the errors bar names (the commonest); the summary names them all."""


def note(message: str) -> None:
    """A ``parcrawl: …`` line on stderr, printed above any progress bars."""
    tqdm.write(f"parcrawl: {message}", file=sys.stderr)


def error(message: str) -> None:
    """A ``parcrawl: error: …`` line on stderr."""
    print(f"parcrawl: error: {message}", file=sys.stderr)


def print_above_bars(line: str) -> None:
    """A line on stdout (a page on a terminal) that the bars redraw below, not through."""
    tqdm.write(line, file=sys.stdout)


def counted(number: int, noun: str) -> str:
    """``1 worker``, ``2 workers``, ``1,204 pages``."""
    return f"{number:,} {noun if number == 1 else noun + 's'}"


# -- where records go -------------------------------------------------------------------


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def writes_stdout(settings: Settings) -> bool:
    """True when the records go to stdout as JSON Lines (-o -, /dev/stdout, or no output)."""
    output = settings.output
    if output.jsonl is None:
        return output.csv is None and output.sqlite is None
    if output.jsonl == "-":
        return True
    with contextlib.suppress(OSError):
        return os.path.samestat(os.stat(output.jsonl), os.fstat(sys.stdout.fileno()))
    return False


def records_to_terminal(settings: Settings) -> bool:
    """True when no output is named and stdout is a terminal: show lines, not records."""
    output = settings.output
    no_output = output.jsonl is None and output.csv is None and output.sqlite is None
    return no_output and stdout_is_terminal()


def bars_allowed(settings: Settings) -> bool:
    """False when bars on stderr would draw through records a person is reading.

    Records on stdout reach the screen when stdout is the terminal (``-o -``) or a pipe
    whose reader prints them to it (``-o - | jq``): a pipe's reader cannot be seen from
    here, so a pipe counts as the terminal. A file (``> out.jsonl``) or the page lines
    shown on a terminal (printed above the bars) leave room for the bars.
    """
    if records_to_terminal(settings) or not writes_stdout(settings):
        return True
    try:
        mode = os.fstat(sys.stdout.fileno()).st_mode
    except (OSError, ValueError):
        return True
    return not (stdout_is_terminal() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode))


def output_names(settings: Settings) -> list[str]:
    """The files a crawl's records go to, as given (``-`` is stdout)."""
    output = settings.output
    names = [output.jsonl, output.csv.path if output.csv else None, output.sqlite]
    return [name for name in names if name]


def records_line(settings: Settings) -> str | None:
    """The summary's last word: where the records are; None when they were on the screen."""
    if records_to_terminal(settings):
        return None
    names = ["stdout" if name == "-" else name for name in output_names(settings)]
    return f"records written to {', '.join(names) or 'stdout'}"


# -- progress bars ----------------------------------------------------------------------


class Bars:
    """Three bars on stderr: pages fetched (and queued), pages parsed or records written,
    and URLs whose record is an error. tqdm shows them only on a terminal.

    A bar without a known total shows a count, the elapsed time and the rate, never tqdm's
    ``?unit/s`` placeholder; the errors bar names its commonest codes instead of a rate.
    """

    def __init__(
        self,
        *,
        total: int | None,
        enabled: bool,
        middle: str = "parsed ",
        middle_unit: str = "pages",
    ) -> None:
        common: dict[str, Any] = {
            "file": sys.stderr,
            "disable": None if enabled else True,  # None: tqdm draws only on a terminal
            "dynamic_ncols": True,
            # The bars make way for the summary, which says the same in final form.
            "leave": False,
        }
        counter = "{desc}: {n_fmt} {unit} [{elapsed}{postfix}]"
        # A known total gets tqdm's full bar (percentage, ETA, its own rate: "12.3page/s").
        self.fetched = tqdm(
            total=total,
            desc="fetched",
            unit="page" if total is not None else "pages",
            bar_format=None if total is not None else counter,
            position=0,
            **common,
        )
        self.middle = tqdm(desc=middle, unit=middle_unit, bar_format=counter, position=1, **common)
        self.errors = tqdm(
            desc="errors ",
            unit="urls",
            bar_format="{desc}: {n_fmt} {unit}{postfix}",
            position=2,
            **common,
        )
        self._total = total

    def show(
        self,
        stats: Stats,
        *,
        queued: int | None,
        middle: int,
        fetched_notes: Sequence[str] = (),
        middle_note: str = "",
    ) -> None:
        """Redraw from ``stats``; notes go after the fetched count, comma-separated."""
        notes = [] if self._total is not None else [f"{stats.fetched / stats.elapsed_s:.1f}/s"]
        if queued is not None:
            notes.append(f"queued {queued:,}")
        notes.extend(fetched_notes)
        self.fetched.set_postfix_str(", ".join(notes), refresh=False)
        self.middle.set_postfix_str(middle_note, refresh=False)
        kinds = ", ".join(
            f"{code} {n:,}" for code, n in stats.errors.most_common(ERROR_KINDS_SHOWN)
        )
        self.errors.set_postfix_str(kinds, refresh=False)
        for bar, value in (
            (self.fetched, stats.fetched),
            (self.middle, middle),
            (self.errors, stats.error_count),
        ):
            bar.update(value - bar.n)
            bar.refresh()

    def close(self) -> None:
        for bar in (self.errors, self.middle, self.fetched):
            bar.close()


def changes_line(stats: Stats) -> str:
    """A recrawl's counts by kind of change, for the progress bar."""
    return " ".join(f"{kind} {stats.changes[kind]}" for kind in CHANGES)


# -- log lines --------------------------------------------------------------------------


class TqdmHandler(logging.Handler):
    """Log lines printed above the progress bars instead of through them."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # a logging handler must never raise
            self.handleError(record)


def configure_logging(*, verbose: bool, handler: logging.Handler | None = None) -> None:
    """Log warnings (everything with ``verbose``) through ``handler``, above the bars."""
    handler = handler or TqdmHandler()
    if handler.formatter is None:
        handler.setFormatter(logging.Formatter("parcrawl: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
