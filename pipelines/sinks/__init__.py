"""Where records go: the ``Sink`` protocol and its implementations (JSON Lines, CSV, SQLite).

Sinks run in the main process's event loop and write without blocking it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import aiofiles.os

from crawler.errors import OutputError
from crawler.models import Record
from crawler.settings import OutputSettings


class Sink(Protocol):
    """A destination for records; ``write`` gets them in batches as they complete."""

    async def open(self) -> None:
        """Prepare the destination; raise ``OutputError`` (exit 2) if it cannot be written."""

    async def write(self, records: Sequence[Record]) -> None:
        """Store ``records`` durably enough that a crash leaves no partial record."""

    async def close(self) -> None:
        """Finish the destination; safe to call twice and after a failed ``open``."""


async def make_parent_folder(path: str | Path) -> None:
    """Create the folder an output file goes in, as ``mkdir -p`` would.

    Raises:
        OutputError: exit 2, naming the path, when the folder cannot be made (a file in
            the way, no permission).
    """
    parent = Path(path).parent
    try:
        await aiofiles.os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}", exit_code=2) from exc


def sinks_for(
    output: OutputSettings, *, default_stdout: bool = True, resume: bool = False
) -> list[Sink]:
    """The sinks ``output`` asks for; JSON Lines on stdout when it asks for none.

    ``resume``: a resumed crawl appends to its JSON Lines file instead of starting it over.

    Imports are local so that a JSONL-only crawl never loads the CSV or SQLite code.
    """
    sinks: list[Sink] = []
    if output.jsonl:
        from pipelines.sinks.jsonl import JsonlSink  # noqa: PLC0415

        sinks.append(JsonlSink(output.jsonl, append=resume))
    if output.csv is not None:
        from pipelines.sinks.csv import CsvSink  # noqa: PLC0415

        sinks.append(CsvSink(output.csv.path, output.csv.columns))
    if output.sqlite:
        from pipelines.sinks.sqlite import SqliteSink  # noqa: PLC0415

        sinks.append(SqliteSink(output.sqlite))
    if not sinks and default_stdout:
        from pipelines.sinks.jsonl import STDOUT, JsonlSink  # noqa: PLC0415

        sinks.append(JsonlSink(STDOUT))
    return sinks
