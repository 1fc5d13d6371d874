"""One crawl in this process, as the command line runs it: live progress, Ctrl-C, summary.

``crawl``, ``run`` and ``demo`` crawl through here, and so does each process of
``--fetchers N`` (quietly, sending its progress to the parent instead, see :mod:`cli.fetchers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import crawler.runtime
from cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE_CLOSED
from cli.view import (
    PROGRESS_INTERVAL_S,
    Bars,
    bars_allowed,
    changes_line,
    error,
    note,
    print_above_bars,
    records_line,
    records_to_terminal,
)
from crawler.api import Crawl
from crawler.errors import ClusterLost, OutputClosed, ParcrawlError
from crawler.seeds import STDIN, count_seed_lines
from crawler.settings import Settings
from crawler.state import read_status
from crawler.stats import Stats
from pipelines.sinks.lines import PageLines

Reporter = Callable[[Stats, int | None], None]
"""Called with the live stats and the number queued at every progress tick, and at the end."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""What stops a crawl: the first cleanly, a second at once."""


def crawl(
    settings: Settings,
    *,
    quiet: bool,
    report: Reporter | None = None,
    stop_signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
) -> tuple[int, Stats]:
    """Crawl with progress bars (unless ``quiet``) and a summary; returns (exit code, stats).

    With ``report`` (a fetcher of ``--fetchers N``), progress goes to it and Ctrl-C is
    not announced here: the parent says it once for all its fetchers. ``stop_signals``:
    the signals that stop it (a fetcher takes only what its parent passes on).
    """
    lost: list[ClusterLost] = []
    stats = Stats(done_before=_done_before(settings))
    job = Crawl(
        settings,
        stats=stats,
        sinks=_terminal_sinks(settings, quiet=quiet),
    )
    with asyncio.Runner(loop_factory=crawler.runtime.event_loop_factory()) as runner:
        stats = runner.run(
            _crawl_async(job, quiet=quiet, lost=lost, report=report, stop_signals=stop_signals)
        )
    if not quiet:
        where = records_line(settings)
        for line in [*stats.summary_lines(), job.executor_summary(stats), where]:
            if line is not None:
                note(line)
    if settings.output.report is not None:
        if not job.report_written:
            job.write_report()  # a second Ctrl-C cancelled the crawl before its report
        if not quiet:
            note(f"report written to {settings.output.report}")
    if lost:
        error(str(lost[0]))
        return lost[0].exit_code, stats
    if stats.stop_reason == "output_closed":
        silence_stdout()
        return EXIT_PIPE_CLOSED, stats
    return (EXIT_INTERRUPTED if stats.interrupted else EXIT_OK), stats


def _done_before(settings: Settings) -> int:
    """URLs earlier runs of ``settings.state`` finished: a resumed crawl says how many.

    Read before the crawl locks the file; a file that cannot be read is the crawl's own
    error to report, so it counts as none here.
    """
    state = settings.state
    if state is None or settings.recrawl or not Path(state).is_file():
        return 0
    with contextlib.suppress(ParcrawlError, OSError):
        status = read_status(state)
        return status.done + status.failed
    return 0


def _terminal_sinks(settings: Settings, *, quiet: bool) -> list[PageLines] | None:
    if not records_to_terminal(settings):
        return None
    if not quiet:
        note("stdout is a terminal: one line per page; -o FILE or a pipe gets the records")
    return [PageLines(print_above_bars)]


async def _crawl_async(
    job: Crawl,
    *,
    quiet: bool,
    lost: list[ClusterLost],
    report: Reporter | None,
    stop_signals: tuple[signal.Signals, ...],
) -> Stats:
    settings, stats = job.settings, job.stats
    job.check()
    # Seeds are the whole crawl only without links or sitemaps; else the total is unknown.
    if STDIN not in settings.seeds_file and not settings.follow and not settings.sitemaps:
        stats.total = len(settings.seeds) + await count_seed_lines(settings.seeds_file)
    bars = Bars(total=stats.total, enabled=not quiet and bars_allowed(settings))

    announced = False

    def tick() -> None:
        nonlocal announced
        # The executor's own word, once it is ready (a Dask cluster and its dashboard).
        line = None if announced else job.executor_announcement()
        if line is not None:
            announced = True
            if not quiet:
                note(line)
        # The backend's own word first (a shared frontier that lost its Redis: paused).
        notes = job.backend_status_lines()
        if not notes and stats.changes:
            notes = [changes_line(stats)]
        queued = job.queued
        bars.show(
            stats,
            queued=queued,
            middle=stats.parsed,
            fetched_notes=notes,
            middle_note=job.executor_label(),
        )
        if report is not None:
            report(stats, queued)

    async def refresh() -> None:
        while True:
            tick()
            await asyncio.sleep(PROGRESS_INTERVAL_S)

    crawl = asyncio.create_task(job.run())
    ticking = asyncio.get_running_loop().create_task(refresh())
    try:
        with signals_stop(job, crawl, stats, notes=report is None, signums=stop_signals):
            try:
                await crawl
            except asyncio.CancelledError:
                stats.interrupted = True
            except ClusterLost as exc:  # every record made before the loss is written
                lost.append(exc)
            except OutputClosed:
                # Like `yes | head`: the reader has what it wanted; what was not written
                # is counted in the summary, and no state offset claims it.
                stats.stop_reason = "output_closed"
    finally:
        ticking.cancel()
        await asyncio.wait([ticking])  # without taking its CancelledError for this task's
        tick()
        bars.close()
    return stats


@contextlib.contextmanager
def signals_stop(
    job: Crawl,
    crawl: asyncio.Task[Stats],
    stats: Stats,
    *,
    notes: bool = True,
    signums: tuple[signal.Signals, ...] = STOP_SIGNALS,
) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): finish in-flight pages and stop. Second: stop now."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if stats.interrupted:
            if notes:
                note("stopping now")
            crawl.cancel()
            return
        if notes:
            # A SIGTERM comes from a program (kill, systemd, docker stop), not from a key:
            # the way to stop at once is the signal that came, whichever it was.
            again = "Ctrl-C" if signum == signal.SIGINT else signum.name
            note(f"stopping: finishing pages in flight ({again} again to stop now)")
        stats.interrupted = True
        job.stop()

    for signum in signums:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        yield
    finally:
        for signum in signums:
            loop.remove_signal_handler(signum)


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush finds no closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
