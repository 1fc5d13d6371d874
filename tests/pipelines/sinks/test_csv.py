"""Tests for the CSV sink: the rows a user reads back, resuming, crash safety, full disks."""

from __future__ import annotations

import errno
import itertools
import json
from pathlib import Path

import pytest

from crawler.errors import OutputError
from pipelines.sinks.csv import CsvSink, column_value, encode_rows, row_ends
from tests.support.records import (
    COLUMNS,
    read_csv,
    sample_records,
    write_all,
)


async def test_csv_rows_read_back_as_the_chosen_columns(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    records = sample_records()
    await write_all(CsvSink(target, COLUMNS), records)

    assert read_csv(target) == [
        {
            "url": "http://site.test/caf%C3%A9",
            "status": "200",
            "title": 'Café «Zürich» — 東京, "quoted" and\nsplit',
            "word_count": "5",
            "error.code": "",
        },
        {
            "url": "http://site.test/plain",
            "status": "200",
            "title": "Plain, simple",
            "word_count": "3",
            "error.code": "",
        },
        {
            "url": "http://site.test/untitled",
            "status": "404",
            "title": "",
            "word_count": "",
            "error.code": "",
        },
        {
            "url": "http://gone.test/",
            "status": "",
            "title": "",
            "word_count": "",
            "error.code": "dns",
        },
    ]


async def test_csv_dotted_columns_reach_into_fields_and_error(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    columns = [
        "url",
        "fields.price",
        "fields.tags",
        "fields.in_stock",
        "fields.meta",
        "fields.meta.by",
        "fields.missing",
        "error.message",
        "links",
        "elapsed_ms",
    ]
    await write_all(CsvSink(target, columns), sample_records())

    rows = read_csv(target)
    assert list(rows[0]) == columns
    first, plain, untitled, gone = rows
    assert first["fields.price"] == "9.5"
    assert first["fields.tags"] == '["new", "süß"]'
    assert json.loads(first["fields.tags"]) == ["new", "süß"]
    assert first["fields.in_stock"] == "true"
    assert json.loads(first["fields.meta"]) == {"by": "Zoë"}
    assert first["fields.meta.by"] == "Zoë"
    assert first["links"] == '["http://site.test/a", "http://site.test/ü"]'
    assert first["elapsed_ms"] == "12.5"
    assert plain["fields.price"] == ""
    assert plain["fields.in_stock"] == "false"
    assert untitled["fields.price"] == ""  # a record without fields at all
    assert untitled["links"] == "[]"
    assert gone["error.message"] == "name or service not known: gone.test"
    assert gone["links"] == ""
    assert all(row["fields.missing"] == "" for row in rows)


async def test_csv_is_utf8_with_crlf_rows(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    await write_all(CsvSink(target, ["url", "title"]), sample_records()[:2])

    data = target.read_bytes()
    assert data.startswith(b"url,title\r\n")
    assert "Zürich".encode() in data
    assert data.endswith(b'"Plain, simple"\r\n')


async def test_csv_target_appears_only_on_close(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    partial = tmp_path / "out.csv.partial"
    sink = CsvSink(target, COLUMNS)
    records = sample_records()

    await sink.open()
    await sink.write(records[:2])
    assert not target.exists()
    # What a SIGKILL would leave behind: the header and every whole row written so far.
    assert [row["url"] for row in read_csv(partial)] == [r["url"] for r in records[:2]]
    await sink.write(records[2:])
    assert [row["url"] for row in read_csv(partial)] == [r["url"] for r in records]
    assert not target.exists()

    await sink.close()
    assert target.exists()
    assert not partial.exists()
    assert [row["url"] for row in read_csv(target)] == [r["url"] for r in records]


async def test_csv_previous_target_survives_until_close(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("url\r\nhttp://old.test/\r\n", encoding="utf-8")
    sink = CsvSink(target, ["url"])

    await sink.open()
    await sink.write(sample_records())
    assert read_csv(target) == [{"url": "http://old.test/"}]
    await sink.close()
    assert len(read_csv(target)) == 4


async def test_csv_with_no_records_has_just_the_header(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    await write_all(CsvSink(target, COLUMNS), [])
    assert target.read_bytes() == ",".join(COLUMNS).encode() + b"\r\n"


def test_csv_row_ends_find_only_whole_rows_even_with_line_breaks_in_cells() -> None:
    rows = [[column_value(record, column) for column in COLUMNS] for record in sample_records()]
    rows.append(['a "" b', "\r\n", '"', "x\ny", ""])
    data = encode_rows(rows).encode()
    whole = list(itertools.accumulate(len(encode_rows([row]).encode()) for row in rows))
    assert "\n" in rows[0][2], "the first title spans lines"

    assert row_ends(data) == whole
    for cut in range(len(data) + 1):  # a crash may cut the file anywhere
        assert row_ends(data[:cut]) == [end for end in whole if end <= cut]


async def test_csv_in_place_resumes_after_its_last_row(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    records = sample_records()
    first = CsvSink(target, ["url", "title"], in_place=True)
    await first.open()
    await first.write(records[:1])
    # Rows land on the target as they come: a crawl state can resume from them.
    assert [row["url"] for row in read_csv(target)] == [records[0]["url"]]
    assert first.offset == target.stat().st_size
    await first.close()

    resumed = CsvSink(target, ["url", "title"], in_place=True, append=True)
    resumed.backfill(records[1:2])  # recovered from the JSON Lines, missing here
    await write_all(resumed, records[2:])

    rows = read_csv(target)
    assert [row["url"] for row in rows] == [r["url"] for r in records]
    assert rows[0]["title"] == records[0]["title"]
    assert resumed.offset == target.stat().st_size
    assert not (tmp_path / "out.csv.partial").exists()


async def test_csv_in_place_resume_of_an_empty_file_writes_the_header(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"")  # the first run was killed before its header was written
    await write_all(CsvSink(target, ["url"], in_place=True, append=True), sample_records()[:2])
    assert [row["url"] for row in read_csv(target)] == [r["url"] for r in sample_records()[:2]]


async def test_csv_interrupted_crawl_keeps_the_rows_written(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    records = sample_records()

    async def interrupted_crawl() -> None:
        sink = CsvSink(target, ["url"])
        await sink.open()
        try:
            await sink.write(records[:3])
            raise KeyboardInterrupt
        finally:
            await sink.close()  # what the engine does on Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        await interrupted_crawl()
    assert [row["url"] for row in read_csv(target)] == [r["url"] for r in records[:3]]


async def test_csv_disk_full_is_exit_1_and_leaves_only_whole_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"
    records = sample_records()
    sink = CsvSink(target, ["url", "title"])
    await sink.open()
    await sink.write(records[:1])

    file = sink._file
    real_write = file.write

    async def half_then_full(text: str) -> int:
        await real_write(text[: len(text) // 2])
        await file.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(file, "write", half_then_full)
    with pytest.raises(OutputError) as caught:
        await sink.write(records[1:])
    assert caught.value.exit_code == 1
    assert "No space left on device" in str(caught.value)
    assert str(target) in str(caught.value)

    await sink.close()
    assert [row["url"] for row in read_csv(target)] == [records[0]["url"]]
    assert read_csv(target)[0]["title"] == records[0]["title"]
