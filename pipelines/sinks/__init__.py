"""Where records go: the ``Sink`` protocol, the sinks a job's output asks for, paths to formats.

Sinks run in the main process's event loop and write without blocking it. Each sink is its
own private module (``jsonl``, ``csv``, ``sqlite``, ``memory``, ``lines``), reached through
this face and imported only when used (an import-linter ``protected`` contract checks it).
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import aiofiles.os

from crawler.errors import OutputError, UsageError
from crawler.models import Record
from crawler.settings import ContentSettings, OutputSettings

if TYPE_CHECKING:
    from pipelines.sinks.csv import CsvSink, row_ends
    from pipelines.sinks.jsonl import JsonlSink
    from pipelines.sinks.lines import PageLines
    from pipelines.sinks.memory import MemorySink
    from pipelines.sinks.sqlite import CREATE_TABLE, UPSERT, SqliteSink, row_of

_LAZY = {
    "CsvSink": "csv",
    "row_ends": "csv",
    "JsonlSink": "jsonl",
    "PageLines": "lines",
    "MemorySink": "memory",
    "SqliteSink": "sqlite",
    "CREATE_TABLE": "sqlite",
    "UPSERT": "sqlite",
    "row_of": "sqlite",
}

__all__ = [
    "CREATE_TABLE",
    "FORMATS",
    "UPSERT",
    "CsvSink",
    "FileOffsets",
    "JsonlSink",
    "MemorySink",
    "OutputSink",
    "PageLines",
    "ResumableFile",
    "Sink",
    "SqliteSink",
    "is_stream",
    "make_parent_folder",
    "output_for",
    "row_ends",
    "row_of",
    "sinks_for",
]


def __getattr__(name: str) -> Any:
    # Lazy, so that a JSONL-only crawl never loads the CSV or SQLite code.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipelines.sinks' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pipelines.sinks.{module}"), name)


FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".sqlite": "sqlite",
    ".db": "sqlite",
}
"""Output formats by file extension; streams ('-', /dev/stdout, a FIFO) take JSON Lines."""


class Sink(Protocol):
    """A destination for records; ``write`` gets them in batches as they complete."""

    async def open(self) -> None:
        """Prepare the destination; raise ``OutputError`` (exit 2) if it cannot be written."""

    async def write(self, records: Sequence[Record]) -> None:
        """Store ``records`` durably enough that a crash leaves no partial record."""

    async def close(self) -> None:
        """Finish the destination; safe to call twice and after a failed ``open``."""


class FileOffsets(Protocol):
    """An output file as a crawl state checkpoints it: where it is, how much it holds."""

    @property
    def path(self) -> str | Path: ...

    @property
    def offset(self) -> int:
        """How many bytes of the file hold whole records (a header row included)."""
        ...


@dataclass(frozen=True, slots=True)
class ResumableFile:
    """How a crawl state keeps a sink's file in step with its checkpoints and, after a
    crash or a stop, makes it agree with the last one before the sink appends to it.

    A file whose lines read back into records (JSON Lines: ``row_ends`` None) is where a
    resumed crawl recovers the records written past the checkpoint. One that cannot be read
    back (CSV) is cut back to the rows those records account for, and the records it lacks
    go to ``backfill``, to be written first.
    """

    file: FileOffsets
    row_ends: Callable[[bytes], list[int]] | None = None
    """Where each whole row of a chunk of the file ends; None: its lines are records."""
    header_rows: int = 0
    """Rows the file starts with that are not records."""
    backfill: Callable[[Sequence[Record]], None] | None = None
    """Takes the records the file lacks, to write them first when it opens."""


class OutputSink(Sink, Protocol):
    """A sink of a crawl's own outputs (what ``sinks_for`` makes), which also says whether
    and how a crawl state resumes it."""

    @property
    def resumable(self) -> ResumableFile | None:
        """Its file as a crawl state resumes it; None when there is nothing to resume: a
        stream, a database that upserts, a folder of files each written whole."""
        ...


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
    output: OutputSettings,
    *,
    default_stdout: bool = True,
    resume: bool = False,
    in_place: bool = False,
    content: ContentSettings | None = None,
) -> list[OutputSink]:
    """The sinks ``output`` asks for; JSON Lines on stdout when it asks for none. With
    ``content`` asking for a Markdown folder or llms.txt, the Markdown sink comes first, so
    that the records the others write name their Markdown file.

    ``resume``: append to the JSON Lines and CSV files instead of starting them over (a
    resumed crawl; any process of a shared crawl, whose outputs hold records Redis has as
    done). ``in_place``: write the CSV file itself, not via ``.partial``, so that the next
    run (``resume``: appending) finds it after any stop, ``kill -9`` included. SQLite
    upserts: it never starts over.

    Imports are local so that a JSONL-only crawl never loads the CSV or SQLite code.
    """
    sinks: list[OutputSink] = []
    if output.jsonl:
        from pipelines.sinks.jsonl import JsonlSink  # noqa: PLC0415

        sinks.append(JsonlSink(output.jsonl, append=resume))
    if output.csv is not None:
        from pipelines.sinks.csv import CsvSink  # noqa: PLC0415

        sinks.append(CsvSink(output.csv.path, output.csv.columns, in_place=in_place, append=resume))
    if output.sqlite:
        from pipelines.sinks.sqlite import SqliteSink  # noqa: PLC0415

        sinks.append(SqliteSink(output.sqlite))
    if not sinks and default_stdout:
        from pipelines.sinks.jsonl import STDOUT, JsonlSink  # noqa: PLC0415

        sinks.append(JsonlSink(STDOUT))
    if content is not None and (content.markdown_dir or content.llms_txt):
        from pipelines.sinks.markdown import MarkdownSink  # noqa: PLC0415

        markdown = MarkdownSink(
            content.markdown_dir,
            llms_txt=content.llms_txt,
            llms_full_txt=content.llms_full_txt,
            site_title=content.site_title,
            site_description=content.site_description,
        )
        sinks.insert(0, markdown)
    return sinks


def output_for(path: str) -> dict[str, Any]:
    """The ``[output]`` keys that write to ``path``, in the format its extension names.

    Raises:
        UsageError: an extension that names no format parcrawl writes (exit 2).
    """
    if path == "-" or is_stream(path):
        return {"jsonl": path}
    suffix = Path(path).suffix.lower()
    kind = FORMATS.get(suffix)
    if kind is None:
        known = ", ".join(FORMATS)
        what = f"extension {suffix!r}" if suffix else "no extension"
        raise UsageError(f"cannot tell the output format of {path} ({what}): use {known}")
    return {"csv": {"path": path}} if kind == "csv" else {kind: path}


def is_stream(path: str) -> bool:
    """True when ``path`` names an existing file that is not a regular one (device, FIFO)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # absent (it will be created) or unreachable (open will say why)
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)
