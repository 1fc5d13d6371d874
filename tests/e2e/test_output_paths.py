"""Files a command cannot write, as a user meets them: one error line and exit 2 before the
crawl (or the report, or the merge) starts, and the files of an earlier run left as they were.

Paths are made unwritable by a file standing where a folder must be: tests may run as root,
for whom permissions are no obstacle.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import parcrawl

SEED = "http://127.0.0.1:9/"  # refused at once: a crawl that starts writes its error record
RECORD = b'{"url":"http://example.test/","status":200,"error":null}\n'


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("parcrawl: error: "), lines
    return lines[0].removeprefix("parcrawl: error: ")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder holding an earlier crawl's records (``out.jsonl``), a file and folders (two
    named like files)."""
    (tmp_path / "out.jsonl").write_bytes(RECORD * 3)
    (tmp_path / "a-file").write_text("a file where a folder should be")
    for folder in ("a-folder", "archive.warc.gz", "r.html"):
        (tmp_path / folder).mkdir()
    return tmp_path


def on_disk(folder: Path) -> dict[str, bytes | None]:
    return {p.name: p.read_bytes() if p.is_file() else None for p in folder.iterdir()}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--warc", "a-file/x.warc.gz"], "cannot write a-file/x.warc.gz: a-file is a file"),
        (["--report", "a-file/r.html"], "cannot write a-file/r.html: a-file is a file"),
        (["--state", "a-file/s.crawl"], "cannot write a-file/s.crawl: a-file is a file"),
        (["--report", "report.pdf"], "cannot write the report to report.pdf: it is an HTML"),
        (["--report", "r.html"], "r.html is a folder: give a file name for the report"),
        (["--state", "a-folder"], "a-folder is a folder: give a file name for the state"),
        (
            ["--warc", "archive.warc.gz"],
            "archive.warc.gz is a folder: give a file name for the WARC archive",
        ),
    ],
)
def test_a_file_the_crawl_cannot_write_stops_it_before_it_starts(
    work: Path, args: list[str], message: str
) -> None:
    before = on_disk(work)
    result = parcrawl("crawl", SEED, "-o", "out.jsonl", *args, cwd=work)
    assert message in one_error_line(result)
    assert on_disk(work) == before  # the earlier records are still there; nothing new


def test_records_to_a_folder_say_so(work: Path) -> None:
    (work / "pages.jsonl").mkdir()
    before = on_disk(work)
    result = parcrawl("crawl", SEED, "-o", "pages.jsonl", cwd=work)
    assert one_error_line(result) == "pages.jsonl is a folder: give a file name for the records"
    assert on_disk(work) == before


def test_a_sqlite_output_that_is_not_a_database_stops_the_crawl_before_the_jsonl(
    work: Path,
) -> None:
    (work / "notes.sqlite").write_text("shopping list\n")
    job = work / "job.toml"
    job.write_text(f'seeds = ["{SEED}"]\n[output]\njsonl = "out.jsonl"\nsqlite = "notes.sqlite"\n')
    before = on_disk(work)
    result = parcrawl("run", str(job), cwd=work)
    message = one_error_line(result)
    assert message.startswith("cannot write ")
    assert message.endswith("notes.sqlite: file is not a database")
    assert on_disk(work) == before


def test_every_fetchers_file_is_checked_before_any_fetcher_starts(work: Path) -> None:
    (work / "out-1.jsonl").write_bytes(RECORD)
    (work / "out-2.jsonl").mkdir()
    before = on_disk(work)
    result = parcrawl(
        "crawl", SEED, "-o", "out.jsonl", "--fetchers", "2", "--crawl-id", "x",
        "--frontier", "redis://127.0.0.1:9/0", cwd=work,
    )  # fmt: skip
    assert one_error_line(result) == "out-2.jsonl is a folder: give a file name for the records"
    assert on_disk(work) == before


@pytest.mark.parametrize("name", ["merged", "merged.jsonl"])
def test_merge_into_a_folder_says_so(work: Path, name: str) -> None:
    (work / name).mkdir()
    result = parcrawl("merge", "out.jsonl", "-o", name, cwd=work)
    assert one_error_line(result) == f"{name} is a folder: give a file name for the merged records"
    assert not list((work / name).iterdir())


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("a-folder", "cannot write the report to a-folder: it is an HTML page"),
        ("r.html", "r.html is a folder: give a file name for the report"),
        ("report.pdf", "cannot write the report to report.pdf: it is an HTML page"),
    ],
)
def test_a_report_that_cannot_be_written_is_refused_before_it_is_built(
    work: Path, output: str, message: str
) -> None:
    before = on_disk(work)
    result = parcrawl("report", "out.jsonl", "-o", output, cwd=work)
    assert message in one_error_line(result)
    assert on_disk(work) == before


def test_a_crawl_whose_dask_scheduler_does_not_answer_touches_no_file(work: Path) -> None:
    before = on_disk(work)
    result = parcrawl(
        "crawl", SEED, "-o", "out.jsonl", "--state", "s.crawl", "--warc", "a.warc.gz",
        "--report", "report.html", "--executor", "tcp://127.0.0.1:9", cwd=work,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert on_disk(work) == before  # no state file made, no archive, no report
