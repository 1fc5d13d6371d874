"""Reading crawl outputs back: JSON Lines and SQLite, and one clear line for anything else."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from pathlib import Path

import orjson
import pytest

from crawler.errors import RecordsError
from crawler.outputs import open_outputs, read_records
from pipelines.sinks import SqliteSink
from tests.support.records import sample_records, write_all


def jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def urls(paths: list[Path]) -> list[str]:
    return [record["url"] for record in read_records(open_outputs(paths))]


def test_reads_jsonl_and_sqlite_outputs_one_after_another(tmp_path: Path) -> None:
    samples = sample_records()
    records = [dict(r) for r in samples]
    first = jsonl(tmp_path / "a.jsonl", records[:2])
    second = tmp_path / "b.sqlite"
    asyncio.run(write_all(SqliteSink(second), samples[2:]))
    files = open_outputs([first, second])
    assert [file.kind for file in files] == ["jsonl", "sqlite"]
    assert list(read_records(files)) == records


def test_a_cut_short_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = jsonl(tmp_path / "killed.jsonl", [dict(r) for r in sample_records()])
    with path.open("ab") as file:
        file.write(orjson.dumps(dict(sample_records()[0]))[:40])  # a write cut by kill -9
    with caplog.at_level(logging.WARNING):
        assert len(urls([path])) == 4
    assert [r.getMessage() for r in caplog.records] == [f"{path}: line 5 is cut short: skipped"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json at all\n", "line 1 is not JSON: not a parcrawl output"),
        (b'{"name": "x"}\n', "line 1 is not a parcrawl record (no url, status, error)"),
        (b"[1, 2]\n", "line 1 is not a parcrawl record"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "line 1 is not JSON"),
    ],
)
def test_a_file_that_is_not_parcrawl_output_is_named_in_one_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "other.jsonl"
    path.write_bytes(content)
    with pytest.raises(RecordsError, match=re.escape(message)) as caught:
        urls([path])
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_missing_files_and_folders_fail_before_anything_is_read(tmp_path: Path) -> None:
    good = jsonl(tmp_path / "good.jsonl", [dict(sample_records()[0])])
    with pytest.raises(RecordsError, match=r"missing\.jsonl: no such file"):
        open_outputs([good, tmp_path / "missing.jsonl"])
    with pytest.raises(RecordsError, match="is a folder"):
        open_outputs([tmp_path])
    with pytest.raises(RecordsError, match="give at least one"):
        open_outputs([])


def test_a_sqlite_file_without_a_records_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE things (name TEXT)")
    connection.close()
    with pytest.raises(RecordsError, match="without parcrawl's records table"):
        urls([path])
