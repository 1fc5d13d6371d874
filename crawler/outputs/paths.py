"""Every file a crawl will write, checked before it starts, so that a bad path is one line
and exit 2 while nothing is created, emptied or locked yet.

It only looks: opening, appending and repairing stay with the sinks, the state and the archive.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

from crawler.errors import OutputError
from crawler.settings import Settings

REPORT_SUFFIXES = (".html", ".htm")


def check_crawl_files(*runs: Settings) -> None:
    """Check every file the crawls ``runs`` will write (outputs, state, WARC, report,
    the Markdown folder, llms.txt).

    Several settings: the processes of one ``--fetchers N`` crawl, checked all at once so
    that none starts while another could not.

    Raises:
        OutputError: exit 2, naming the first file that cannot be written and why.
    """
    for settings in runs:
        if settings.output.report is not None:
            check_report_name(settings.output.report)
        for path, noun in crawl_files(settings):
            check_file(path, noun)
        if settings.output.sqlite is not None:
            _check_sqlite(Path(settings.output.sqlite))
        if settings.content.markdown_dir is not None:
            check_folder(settings.content.markdown_dir, "Markdown files")


def check_report_file(path: str | Path) -> None:
    """Check the report's name and that it can be written, before it is built.

    Raises:
        OutputError: exit 2.
    """
    check_report_name(path)
    check_file(path, "report")


def crawl_files(settings: Settings) -> Iterator[tuple[Path, str]]:
    """The files (path, what it holds) a crawl with ``settings`` writes; streams left out."""
    output = settings.output
    if output.jsonl is not None and output.jsonl != "-":
        yield Path(output.jsonl), "records"
    if output.csv is not None:
        yield Path(output.csv.path), "records"
    if output.sqlite is not None:
        yield Path(output.sqlite), "records"
    if settings.state is not None:
        yield Path(settings.state), "state"
    if output.warc is not None:
        # Numbered files (warc_max_size) sit beside the name given: its folder is checked.
        yield Path(output.warc), "WARC archive"
    if output.report is not None:
        yield Path(output.report), "report"
    content = settings.content
    if content.llms_txt is not None and content.llms_full_txt is not None:
        yield Path(content.llms_txt), "llms.txt"
        yield Path(content.llms_full_txt), "llms-full.txt"


def check_report_name(path: str | Path) -> None:
    """A report is an HTML page: refuse a name that says otherwise (``x.pdf``).

    Raises:
        OutputError: exit 2.
    """
    if Path(path).suffix.lower() not in REPORT_SUFFIXES:
        raise OutputError(
            f"cannot write the report to {path}: it is an HTML page, name it .html or .htm",
            exit_code=2,
        )


def check_file(path: str | Path, noun: str) -> None:
    """Check that ``path`` can be written as a file holding the ``noun``, touching nothing.

    An existing file is opened for appending and closed (nothing written, not emptied); a
    missing one needs its nearest existing folder to be a writable folder (missing folders
    are created later). A device or a FIFO passes: it is written as a stream.

    Raises:
        OutputError: exit 2: a folder, a file in the way of a folder, no permission.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # absent, or a file stands in its path
        _check_folder_for(path)
        return
    except OSError as exc:
        raise _cannot(path, exc.strerror or str(exc)) from exc
    if stat.S_ISDIR(mode):
        raise OutputError(f"{path} is a folder: give a file name for the {noun}", exit_code=2)
    if not stat.S_ISREG(mode):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    except OSError as exc:
        raise _cannot(path, exc.strerror or str(exc)) from exc


def check_folder(path: str | Path, noun: str) -> None:
    """Check that files can be written under the folder ``path``, touching nothing: an
    existing folder must be writable, a missing one creatable (made later).

    Raises:
        OutputError: exit 2: a file where the folder should be, no permission.
    """
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise OutputError(
            f"cannot write the {noun} under {path}: it is a file, not a folder", exit_code=2
        )
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise _cannot(path, "no permission to write in it")
        return
    _check_folder_for(path)


def _check_folder_for(path: Path) -> None:
    folder = path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise _cannot(path, f"{folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _cannot(path, f"no permission to write in {folder}")


def _check_sqlite(path: Path) -> None:
    """An existing SQLite output must be a database whose ``records`` table (if any) is ours."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
    except sqlite3.Error as exc:
        raise _cannot(path, str(exc)) from exc
    if columns and "url" not in columns:
        raise _cannot(path, "its records table is not parcrawl's (no url column)")


def _cannot(path: Path, reason: str) -> OutputError:
    return OutputError(f"cannot write {path}: {reason}", exit_code=2)
