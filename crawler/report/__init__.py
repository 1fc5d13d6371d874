"""The crawl report: one self-contained HTML file of charts and tables from a crawl's outputs.

``write_report`` reads JSON Lines or SQLite outputs in two streaming passes into a scratch
SQLite file (``collect``), queries the sections (``sections``), and renders them with their
Vega-Lite charts (``charts``, ``render``). It reads files; it never fetches.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.outputs import check_report_file, open_outputs, read_records, write_atomically
from crawler.report import collect, rendering, sections
from crawler.report.charts import charts
from crawler.report.render import render, vega_bundle
from crawler.settings import OutputSettings, Settings
from crawler.stats import Stats
from crawler.version import __version__
from pipelines.sinks import is_stream

__all__ = ["TOP", "Report", "build_report", "report_source", "write_report"]

TOP = 50
"""Rows a table shows at most; the total is stated beside it."""


@dataclass(frozen=True, slots=True)
class Report:
    """A report made: its HTML, the sections' data and chart specs behind it."""

    html: str
    data: dict[str, Any]
    specs: dict[str, dict[str, Any]]

    @property
    def records(self) -> int:
        """Records the report was made from."""
        count: int = self.data["summary"]["records"]
        return count


def build_report(
    inputs: Sequence[str | Path],
    *,
    settings: Settings | None = None,
    duration_s: float | None = None,
    top: int = TOP,
    stats: Stats | None = None,
) -> Report:
    """The report of the crawl outputs ``inputs`` (JSON Lines or SQLite, one or several).

    Args:
        settings: the crawl's settings, shown in the summary when known.
        duration_s: the crawl's own running time; default: first to last ``fetched_at``.
        stats: the crawl's own stats, for what records do not say (the autothrottle's
            changes to each host's rate; the browser's requests, probes and restarts).

    Raises:
        RecordsError: an input is missing or not parcrawl output.
    """
    files = open_outputs(inputs)
    with (
        # vl-convert's bundler releases the GIL: the runtime is built while the passes run.
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="vega-bundle") as bundler,
        tempfile.TemporaryDirectory(prefix="parcrawl-report-") as scratch,
        contextlib.closing(sqlite3.connect(Path(scratch) / "report.sqlite")) as db,
    ):
        bundle = bundler.submit(vega_bundle)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        passes = iter((False, True))  # the second pass must not warn again
        collect.load(db, lambda: read_records(files, quiet=next(passes, True)))
        data = sections.build(db, top=top)
        if stats is not None and stats.rate_changes:
            data["autothrottle"] = sections.autothrottle(
                stats.rate_changes,
                stats.slowdowns,
                started_epoch_s=stats.started_epoch_s,
                top=top,
            )
        # Only a crawl that may render gets the section: the others' reports are unchanged.
        if (rendered := rendering.section(db, top=top, stats=stats)) is not None:
            data["rendering"] = rendered
        vega_js = bundle.result()
    specs = charts(data)
    summary = data["summary"]
    duration = duration_s if duration_s is not None else summary["duration_s"]
    context = {
        "title": ", ".join(file.path.name for file in files),
        "sources": [str(file.path) for file in files],
        "made_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "settings": _settings_rows(settings),
        "duration_s": duration,
        "pages_per_s": summary["records"] / duration if duration else None,
    }
    return Report(render(data, specs, context, vega_js), data, specs)


def write_report(
    inputs: Sequence[str | Path],
    output: str | Path,
    *,
    settings: Settings | None = None,
    duration_s: float | None = None,
    top: int = TOP,
    stats: Stats | None = None,
) -> Report:
    """Build the report of ``inputs`` and write it to ``output``, whole or not at all.

    Raises:
        RecordsError: an input is missing or not parcrawl output.
        OutputError: ``output`` cannot be written (exit 2, before the report is built, for a
            name other than .html/.htm, a folder, a folder that cannot be made).
    """
    check_report_file(output)
    report = build_report(inputs, settings=settings, duration_s=duration_s, top=top, stats=stats)
    write_atomically(Path(output), lambda path: path.write_text(report.html, encoding="utf-8"))
    return report


def report_source(output: OutputSettings) -> str | None:
    """The crawl output a report of the crawl reads back: its JSON Lines file, else its SQLite.

    None when the records go only to stdout, a pipe or CSV, which cannot be read again.
    """
    if output.jsonl is not None and output.jsonl != "-" and not is_stream(output.jsonl):
        return output.jsonl
    return output.sqlite


def _settings_rows(settings: Settings | None) -> list[tuple[str, str]]:
    if settings is None:
        return []
    scope = settings.scope
    return [
        ("follow links", "yes" if settings.follow else "no"),
        ("max depth", "no limit" if scope.max_depth is None else str(scope.max_depth)),
        ("max pages", "no limit" if scope.max_pages is None else f"{scope.max_pages:,}"),
        ("concurrency", str(settings.fetch.concurrency)),
        ("per host", str(settings.fetch.per_host)),
        ("delay", f"{settings.fetch.delay_s:g} s"),
        ("autothrottle", "on" if settings.fetch.autothrottle else "off"),
        ("workers", str(settings.workers)),
        ("robots.txt", "obeyed" if settings.robots.obey else "ignored"),
    ]
