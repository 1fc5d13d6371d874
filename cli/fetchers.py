"""``--fetchers N``: N crawler processes on this machine share one crawl through Redis.

This is their supervisor: it starts them, shows their progress together (and each one's
count), prints one summary of them all and the ``parcrawl merge`` command for their files.
Each fetcher crawls with :func:`cli.session.crawl` and sends its stats and log lines up a pipe.
"""

from __future__ import annotations

import logging
import multiprocessing
import shlex
import signal
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from tqdm import tqdm

from cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK
from cli.session import crawl
from cli.view import (
    PROGRESS_INTERVAL_S,
    Bars,
    configure_logging,
    counted,
    note,
    output_names,
)
from crawler.errors import ParcrawlError, UsageError
from crawler.outputs import check_crawl_files, check_report_file
from crawler.report import report_source, write_report
from crawler.seeds import STDIN
from crawler.settings import ContentSettings, Settings
from crawler.stats import Stats
from pipelines.sinks.markdown import MarkdownFolder, write_llms_files


def run_crawl(settings: Settings, *, quiet: bool) -> int:
    """The crawl ``settings`` describe, in this process or, with ``--fetchers N`` (N > 1), in
    N processes under this one; returns the exit code."""
    if settings.cluster.fetchers > 1:
        # Every fetcher's files before any starts: none crawls while another cannot write.
        count = settings.cluster.fetchers
        check_crawl_files(*(fetcher_output(settings, n) for n in range(1, count + 1)))
        if settings.output.report is not None:  # the fetchers' one report, the parent's
            check_report_file(settings.output.report)
        return run_fetchers(settings, quiet=quiet)
    code, _ = crawl(settings, quiet=quiet)
    return code


def run_fetchers(settings: Settings, *, quiet: bool) -> int:
    """Run ``settings.cluster.fetchers`` crawler processes, each with its own event loop,
    process stage and output file, and wait for them all.

    Every one reads the seeds (Redis drops the repeats) so that none can start before the
    crawl exists. Returns the worst of their exit codes.
    """
    cluster = settings.cluster
    if STDIN in settings.seeds_file:
        raise UsageError("--fetchers N cannot share stdin: give the URLs in a file (-i FILE)")
    outputs = [fetcher_output(settings, index) for index in range(1, cluster.fetchers + 1)]
    context = multiprocessing.get_context("spawn")
    verbose = logging.getLogger().isEnabledFor(logging.INFO)  # -v: each fetcher logs as much
    fetchers: list[_Fetcher] = []
    # Caught before the first fetcher starts: they ignore SIGINT, so a stop must reach them.
    with _Interrupts(fetchers) as interrupts:
        for index, child in enumerate(outputs, start=1):
            if interrupts.count:
                break  # stopped while they were starting: start no more
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_fetcher_main, args=(child, index, writer, verbose), name=f"fetcher-{index}"
            )
            process.start()
            writer.close()  # the child's end: the reader sees EOF once the child is gone
            fetchers.append(_Fetcher(index, child, process, reader))
            interrupts.catch_up(fetchers[-1])
        _supervise(fetchers, interrupts, quiet=quiet)
    codes = [fetcher.exit_code for fetcher in fetchers]
    if not quiet:
        for line in _summary_lines(settings, fetchers):
            note(line)
    # Like one process, which writes no report when it ends in an error: fetchers that all
    # failed (Redis unreachable) leave an earlier report as it was.
    ok = (EXIT_OK, EXIT_INTERRUPTED)
    if settings.output.report is not None and any(code in ok for code in codes):
        sources = [report_source(child.output) for child in outputs]
        written = [source for source in sources if source and Path(source).exists()]
        if written:
            heard = [f.stats for f in fetchers if f.stats is not None]
            # what records do not say (the browser's requests, the autothrottle's changes)
            stats = Stats.combined(heard) if heard else None
            write_report(written, settings.output.report, settings=settings, stats=stats)
            if not quiet:
                note(f"report written to {settings.output.report}")
    content = settings.content
    if content.llms_txt and content.markdown_dir and any(code in ok for code in codes):
        _write_llms(content, quiet=quiet)
    failed = [code for code in codes if code != EXIT_OK]
    return max(failed, key=lambda code: (code != EXIT_INTERRUPTED, code)) if failed else EXIT_OK


def fetcher_output(settings: Settings, index: int) -> Settings:
    """The settings of fetcher ``index``: one process, its own output files (name-INDEX.ext).

    Raises:
        UsageError: the records would go to stdout, which N processes cannot share.
    """
    output = settings.output
    if (output.jsonl in (None, "-") and output.csv is None and output.sqlite is None) or (
        output.jsonl == "-"
    ):
        raise UsageError("--fetchers N needs -o FILE: each process writes its own file")

    def numbered(path: str) -> str:
        file = Path(path)
        return str(file.with_name(f"{file.stem}-{index}{file.suffix}"))

    values: dict[str, Any] = {}
    if output.jsonl is not None:
        values["jsonl"] = numbered(output.jsonl)
    if output.sqlite is not None:
        values["sqlite"] = numbered(output.sqlite)
    if output.csv is not None:
        values["csv"] = output.csv.model_copy(update={"path": numbered(output.csv.path)})
    if output.warc is not None:  # one writer per WARC file: it cuts back what it half wrote
        values["warc"] = output.warc.removesuffix(".warc.gz") + f"-{index}.warc.gz"
    values["report"] = None  # the parent writes one report of all the fetchers' records
    # the fetchers share the Markdown folder; the parent makes llms.txt of it at the end
    content = settings.content.model_copy(update={"llms_txt": None})
    return settings.model_copy(
        update={
            "output": output.model_copy(update=values),
            "cluster": settings.cluster.model_copy(update={"fetchers": 1}),
            "content": content,
        }
    )


def _write_llms(content: ContentSettings, *, quiet: bool) -> None:
    """llms.txt and llms-full.txt of the Markdown folder the fetchers shared."""
    assert content.markdown_dir is not None
    assert content.llms_txt is not None
    assert content.llms_full_txt is not None
    folder = MarkdownFolder(content.markdown_dir)
    write_llms_files(
        folder,
        content.llms_txt,
        content.llms_full_txt,
        site_title=content.site_title,
        site_description=content.site_description,
        leave_out=folder.read_gone(),
    )
    if not quiet:
        note(f"llms.txt written to {content.llms_txt}")


@dataclass
class _Fetcher:
    """One fetcher process as the supervisor sees it: what it said last."""

    index: int
    settings: Settings
    process: BaseProcess
    reader: Connection | None
    stats: Stats | None = None
    queued: int | None = None
    heard: float = field(default_factory=time.monotonic)
    stops: int = 0
    """The stops (SIGTERM) the supervisor passed on to it."""

    @property
    def exit_code(self) -> int:
        code = self.process.exitcode
        if code == -signal.SIGTERM and self.stops:
            return EXIT_INTERRUPTED  # stopped while it started, before it could stop cleanly
        return code if code is not None else 1

    def receive(self) -> str | None:
        """Take one message from the pipe; returns a log line to print, if it was one."""
        assert self.reader is not None
        try:
            kind, payload, queued = self.reader.recv()
        except (EOFError, OSError):  # the fetcher ended (or died): its last word stands
            self.reader.close()
            self.reader = None
            return None
        if kind == "log":
            return str(payload)
        self.stats, self.queued, self.heard = payload, queued, time.monotonic()
        return None

    def count(self) -> str:
        """Its pages fetched for the bar, and how it ended once it has."""
        fetched = f"{self.stats.fetched:,}" if self.stats is not None else "0"
        code = self.process.exitcode
        if code is None:
            return fetched
        return f"{fetched} (done)" if code == EXIT_OK else f"{fetched} (exit {code})"


class _Interrupts:
    """Every Ctrl-C or SIGTERM the supervisor gets is passed on to each fetcher as one
    SIGTERM: the first stops it cleanly, a second at once; the supervisor says so, once.

    The fetchers ignore SIGINT: a terminal's Ctrl-C reaches the whole process group, a
    ``kill -INT`` or a supervisor's only this process, and either way each fetcher must
    get exactly one stop per signal (two would be "stop now").
    """

    def __init__(self, fetchers: list[_Fetcher]) -> None:
        self._fetchers = fetchers
        self.count = 0
        self._said = 0
        self._previous: list[Any] = []

    def __enter__(self) -> _Interrupts:
        self._previous = [
            signal.signal(signal.SIGINT, self._on_stop),
            signal.signal(signal.SIGTERM, self._on_stop),
        ]
        return self

    def __exit__(self, *_exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous[0])
        signal.signal(signal.SIGTERM, self._previous[1])

    def _on_stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.count += 1
        for fetcher in self._fetchers:
            self.catch_up(fetcher)

    def catch_up(self, fetcher: _Fetcher) -> None:
        """Pass ``fetcher`` the stops it has not had (one that started after a stop)."""
        while fetcher.stops < self.count and fetcher.process.exitcode is None:
            fetcher.stops += 1
            fetcher.process.terminate()

    def announce(self) -> None:
        """Say what an interrupt does (outside the signal handler: tqdm takes a lock)."""
        if self.count > self._said:
            self._said = self.count
            if self.count == 1:
                note(
                    "stopping: the fetchers finish their pages in flight (Ctrl-C again to stop now)"
                )
            else:
                note("stopping now")


def _supervise(fetchers: list[_Fetcher], interrupts: _Interrupts, *, quiet: bool) -> None:
    """Relay the fetchers' log lines and draw their progress until every one has ended."""
    bars = Bars(total=None, enabled=not quiet, middle="written", middle_unit="records")
    started = time.monotonic()
    try:
        while True:
            readers = {f.reader: f for f in fetchers if f.reader is not None}
            running = [f.process.sentinel for f in fetchers if f.process.exitcode is None]
            if not readers and not running:
                break
            for ready in wait([*readers, *running], timeout=PROGRESS_INTERVAL_S):
                fetcher = readers.get(ready) if isinstance(ready, Connection) else None
                line = fetcher.receive() if fetcher is not None else None
                if line is not None:
                    tqdm.write(line, file=sys.stderr)
            interrupts.announce()
            # Zeros until the first word: the bars show from the start, not after the
            # fetchers' start-up (a new interpreter each, some seconds on a busy machine).
            heard = [f.stats for f in fetchers if f.stats is not None]
            stats = Stats.combined(heard) if heard else Stats(started=started)
            bars.show(
                stats,
                queued=max(fetchers, key=lambda f: f.heard).queued,
                middle=stats.written,
                fetched_notes=["per fetcher " + " | ".join(f.count() for f in fetchers)],
            )
    finally:
        bars.close()
    for fetcher in fetchers:
        fetcher.process.join()


def _summary_lines(settings: Settings, fetchers: list[_Fetcher]) -> list[str]:
    """The usual summary of all the fetchers together, each one's outcome, and how to
    merge their files into one record per URL."""
    heard = [f.stats for f in fetchers if f.stats is not None]
    lines = Stats.combined(heard).summary_lines() if heard else []
    for fetcher in fetchers:
        written = fetcher.stats.written if fetcher.stats is not None else 0
        names = ", ".join(output_names(fetcher.settings))
        lines.append(
            f"fetcher {fetcher.index}: exit {fetcher.exit_code}, "
            f"{counted(written, 'record')} in {names}"
        )
    merged = report_source(settings.output)
    if merged is not None:
        parts = [report_source(f.settings.output) or "" for f in fetchers]
        command = shlex.join(["parcrawl", "merge", *parts, "-o", merged])
        lines.append(f"one record per URL in one file: {command}")
    return lines


def _fetcher_main(settings: Settings, index: int, pipe: Connection, verbose: bool) -> None:
    """One fetcher of ``--fetchers N`` (a spawned process): crawl without bars, sending its
    progress and log lines to the supervisor; exit with its code."""
    # The supervisor passes every stop on as a SIGTERM; a Ctrl-C at the terminal reaches
    # this process too, and taking it as well would make one key press two stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = _Channel(pipe)
    handler = _ChannelHandler(channel)
    handler.setFormatter(logging.Formatter(f"parcrawl[{index}]: %(levelname)s: %(message)s"))
    configure_logging(verbose=verbose, handler=handler)
    stats: Stats | None = None
    try:
        code, stats = crawl(
            settings, quiet=True, report=channel.progress, stop_signals=(signal.SIGTERM,)
        )
    except ParcrawlError as exc:
        channel.send("log", f"parcrawl: error: fetcher {index}: {exc}")
        code = exc.exit_code
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    if stats is not None:
        channel.send("final", stats)
    pipe.close()
    sys.exit(code)


class _Channel:
    """A fetcher's end of the pipe to its supervisor; a supervisor gone is no error."""

    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe

    def send(self, kind: str, payload: object, queued: int | None = None) -> None:
        with suppress(OSError, ValueError):
            self._pipe.send((kind, payload, queued))

    def progress(self, stats: Stats, queued: int | None) -> None:
        self.send("progress", stats, queued)


class _ChannelHandler(logging.Handler):
    """A fetcher's log lines, sent to the supervisor to print above its bars."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._channel.send("log", self.format(record))
        except Exception:  # a logging handler must never raise
            self.handleError(record)
