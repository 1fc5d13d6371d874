"""Tests for the CSV and SQLite sinks: what a user reads back, crash safety and failures."""

from __future__ import annotations

import csv
import errno
import itertools
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from crawler.errors import OutputClosed, OutputError
from crawler.models import FetchFailure, FetchRequest, FetchResult, PageFields, Record, record_from
from pipelines.sinks import Sink
from pipelines.sinks.csv import CsvSink, column_value, encode_rows, row_ends
from pipelines.sinks.jsonl import JsonlSink
from pipelines.sinks.sqlite import SqliteSink, read_records

FETCHED_AT = "2024-05-01T12:00:00.000Z"
COLUMNS = ["url", "status", "title", "word_count", "error.code"]


def page(
    url: str,
    title: str | None,
    *,
    status: int = 200,
    text: str | None = "some words here",
    links: list[str] | None = None,
    lang: str | None = "en",
    fields: dict[str, Any] | None = None,
    depth: int = 1,
) -> Record:
    """A parsed HTML page's record, as the process stage builds it."""
    request = FetchRequest(url, depth=depth, referrer="http://site.test/")
    result = FetchResult(
        request=request,
        final_url=url,
        status=status,
        headers=(("content-type", "text/html; charset=utf-8"),),
        content_type="text/html; charset=utf-8",
        body=b"<html></html>",
        size=1234,
        elapsed_ms=12.5,
        fetched_at=FETCHED_AT,
    )
    fields_of_page = PageFields(
        title=title,
        description=None,
        lang=lang,
        canonical=url,
        text=text,
        word_count=len(text.split()) if text is not None else None,
        links=links if links is not None else [],
        sha256="ab" * 32,
    )
    record = record_from(result, fields_of_page)
    if fields is not None:
        record["fields"] = fields
    return record


def failed(url: str, code: str, message: str) -> Record:
    """The record of a URL that could not be fetched."""
    request = FetchRequest(url, depth=2, referrer=None)
    return record_from(FetchResult.unfetched(request, FetchFailure(code, message)))


def sample_records() -> list[Record]:
    return [
        page(
            "http://site.test/caf%C3%A9",
            'Café «Zürich» — 東京, "quoted" and\nsplit',
            text="Grüße aus Köln, naïve café",
            links=["http://site.test/a", "http://site.test/ü"],
            lang="de",
            fields={"price": 9.5, "tags": ["new", "süß"], "in_stock": True, "meta": {"by": "Zoë"}},
        ),
        page("http://site.test/plain", "Plain, simple", fields={"price": None, "in_stock": False}),
        page("http://site.test/untitled", None, text=None, lang=None, status=404),
        failed("http://gone.test/", "dns", "name or service not known: gone.test"),
    ]


async def write_all(sink: Sink, *batches: Sequence[Record]) -> None:
    await sink.open()
    try:
        for batch in batches:
            await sink.write(batch)
    finally:
        await sink.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


# -- CSV -------------------------------------------------------------------------------


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


# -- SQLite ----------------------------------------------------------------------------


async def test_sqlite_round_trip_preserves_json_types(tmp_path: Path) -> None:
    database = tmp_path / "out.db"
    records = sample_records()
    await write_all(SqliteSink(database), records)

    assert read_records(database) == records
    first = read_records(database)[0]
    assert first["fields"]["in_stock"] is True
    assert first["fields"]["price"] == 9.5
    assert first["word_count"] == 5
    assert first["error"] is None


async def test_sqlite_columns_hold_the_flat_values(tmp_path: Path) -> None:
    database = tmp_path / "out.db"
    await write_all(SqliteSink(database), sample_records())

    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        rows = {row["url"]: row for row in connection.execute("SELECT * FROM records")}
    connection.close()
    first = rows["http://site.test/caf%C3%A9"]
    assert first["status"] == 200
    assert first["title"] == 'Café «Zürich» — 東京, "quoted" and\nsplit'
    assert first["elapsed_ms"] == 12.5
    assert json.loads(first["links"]) == ["http://site.test/a", "http://site.test/ü"]
    assert json.loads(first["fields"])["tags"] == ["new", "süß"]
    assert first["error_code"] is None
    assert rows["http://site.test/untitled"]["fields"] is None
    gone = rows["http://gone.test/"]
    assert (gone["status"], gone["links"]) == (None, None)
    assert (gone["error_code"], gone["error_message"]) == (
        "dns",
        "name or service not known: gone.test",
    )


async def test_sqlite_upserts_by_url_keeping_the_latest(tmp_path: Path) -> None:
    database = tmp_path / "out.db"
    first = page("http://site.test/p", "Old title", status=500)
    second = page("http://site.test/p", "New title", status=200, fields={"v": 2})
    third = page("http://site.test/q", "Q")
    await write_all(SqliteSink(database), [first], [third, second])

    stored = read_records(database)
    assert stored == [second, third]
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT url, title, status FROM records ORDER BY url").fetchall()
    connection.close()
    assert rows == [("http://site.test/p", "New title", 200), ("http://site.test/q", "Q", 200)]


async def test_sqlite_upsert_within_one_batch_keeps_the_last(tmp_path: Path) -> None:
    database = tmp_path / "out.db"
    old, new = page("http://site.test/p", "Old"), page("http://site.test/p", "New")
    await write_all(SqliteSink(database), [old, new])
    assert read_records(database) == [new]


async def test_sqlite_keeps_keys_that_have_no_column(tmp_path: Path) -> None:
    database = tmp_path / "out.db"
    record: dict[str, Any] = {**page("http://site.test/d", "Dup"), "near_duplicate_of": "x"}
    await write_all(SqliteSink(database), [record])  # type: ignore[list-item]
    assert read_records(database)[0]["near_duplicate_of"] == "x"


async def test_sqlite_reopens_an_existing_database_and_uses_wal(tmp_path: Path) -> None:
    database = tmp_path / "out.db"
    await write_all(SqliteSink(database), [page("http://site.test/1", "One")])
    await write_all(SqliteSink(database), [page("http://site.test/2", "Two")])

    assert [r["title"] for r in read_records(database)] == ["One", "Two"]
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


async def test_sqlite_not_a_database_is_exit_2(tmp_path: Path) -> None:
    database = tmp_path / "notes.txt"
    database.write_text("these are my notes, not a database\n" * 100, encoding="utf-8")
    sink = SqliteSink(database)
    with pytest.raises(OutputError) as caught:
        await sink.open()
    assert caught.value.exit_code == 2
    assert str(database) in str(caught.value)
    await sink.close()


async def test_sqlite_failure_during_crawl_is_exit_1(tmp_path: Path) -> None:
    database = tmp_path / "out.db"
    sink = SqliteSink(database)
    await sink.open()
    await sink.write([page("http://site.test/1", "One")])
    with sqlite3.connect(database) as other:
        other.execute("DROP TABLE records")
    other.close()

    with pytest.raises(OutputError) as caught:
        await sink.write([page("http://site.test/2", "Two")])
    assert caught.value.exit_code == 1
    assert str(database) in str(caught.value)
    await sink.close()


# -- every file sink -------------------------------------------------------------------

SinkFactory = Callable[[Path], Sink]
FILE_SINKS: dict[str, SinkFactory] = {
    "csv": lambda path: CsvSink(path, COLUMNS),
    "sqlite": SqliteSink,
    "jsonl": JsonlSink,
}


def urls_in(kind: str, path: Path) -> list[str]:
    if kind == "csv":
        return [row["url"] for row in read_csv(path)]
    if kind == "sqlite":
        return [record["url"] for record in read_records(path)]
    return [json.loads(line)["url"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("kind", ["csv", "sqlite"])
async def test_three_batches_then_close(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"out.{kind}"
    batches = [
        [page(f"http://site.test/{batch}/{n}", f"Page {batch}.{n}") for n in range(5)]
        for batch in range(3)
    ]
    await write_all(FILE_SINKS[kind](path), *batches)
    assert urls_in(kind, path) == [record["url"] for batch in batches for record in batch]


@pytest.mark.parametrize("kind", ["csv", "sqlite"])
async def test_closing_twice_or_unopened_is_fine(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"out.{kind}"
    unopened = FILE_SINKS[kind](path)
    await unopened.close()
    await unopened.close()

    sink = FILE_SINKS[kind](path)
    await write_all(sink, sample_records())
    await sink.close()
    assert len(urls_in(kind, path)) == 4


@pytest.mark.parametrize("kind", ["csv", "sqlite"])
@pytest.mark.parametrize("where", ["folder is a file", "target is a folder"])
async def test_unwritable_path_is_exit_2_naming_it(tmp_path: Path, kind: str, where: str) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    path = {
        "folder is a file": tmp_path / "a-file" / f"out.{kind}",
        "target is a folder": tmp_path / "a-folder",
    }[where]
    sink = FILE_SINKS[kind](path)

    with pytest.raises(OutputError) as caught:
        await sink.open()
    assert caught.value.exit_code == 2
    assert str(path) in str(caught.value)
    await sink.close()  # safe after a failed open
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"]


@pytest.mark.parametrize("kind", ["csv", "sqlite"])
async def test_a_missing_output_folder_is_created(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "out" / "nightly" / f"pages.{kind}"
    sink = FILE_SINKS[kind](path)
    await write_all(sink, sample_records())
    await sink.close()
    assert len(urls_in(kind, path)) == 4


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
@pytest.mark.parametrize("kind", ["csv", "sqlite"])
async def test_read_only_folder_is_exit_2(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        path = folder / f"out.{kind}"
        sink = FILE_SINKS[kind](path)
        with pytest.raises(OutputError) as caught:
            await sink.open()
        assert caught.value.exit_code == 2
        assert str(path) in str(caught.value)
        await sink.close()
    finally:
        folder.chmod(0o700)


async def test_all_sinks_agree_on_urls_and_titles(tmp_path: Path) -> None:
    records = sample_records()
    paths = {kind: tmp_path / f"out.{kind}" for kind in FILE_SINKS}
    for kind, path in paths.items():
        await write_all(FILE_SINKS[kind](path), records[:2], records[2:])

    expected = [(r["url"], r["title"] or "") for r in records]
    csv_rows = [(row["url"], row["title"]) for row in read_csv(paths["csv"])]
    sqlite_rows = [(r["url"], r["title"] or "") for r in read_records(paths["sqlite"])]
    jsonl_lines = paths["jsonl"].read_text(encoding="utf-8").splitlines()
    jsonl_rows = [(r["url"], r["title"] or "") for r in map(json.loads, jsonl_lines)]
    assert csv_rows == sqlite_rows == jsonl_rows == expected


class _DiskFillsUp:
    """Wraps the sink's file: the first write goes through, the next takes what fits
    (``room`` bytes) and then the disk is full."""

    def __init__(self, inner: Any, room: int) -> None:
        self._inner = inner
        self._room = room
        self._writes = 0

    async def write(self, data: bytes) -> int:
        self._writes += 1
        if self._writes == 1:
            return int(await self._inner.write(data))
        if self._room > 0:
            part, self._room = data[: self._room], 0
            return int(await self._inner.write(part))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_full_disk_leaves_jsonl_ending_on_a_complete_line(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = JsonlSink(path)
    await sink.open()
    sink._file = _DiskFillsUp(sink._file, room=100)
    first, second = sample_records()[:2], sample_records()[2:]
    await sink.write(first)
    with pytest.raises(OutputError, match="No space left on device") as caught:
        await sink.write(second)
    assert caught.value.exit_code == 1
    await sink.close()
    lines = path.read_text().splitlines(keepends=True)
    assert [json.loads(line)["url"] for line in lines] == [r["url"] for r in first]
    assert all(line.endswith("\n") for line in lines)


async def test_jsonl_to_dev_null_opens_writes_and_closes(tmp_path: Path) -> None:
    sink = JsonlSink(os.devnull)
    await write_all(sink, sample_records(), sample_records())
    assert sink.to_stdout  # a stream: a crawl state must not track its offset
    assert Path(os.devnull).stat().st_size == 0


async def test_jsonl_to_a_pipe_whose_reader_left_is_output_closed_exit_141(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that the writer's open returns
    sink = JsonlSink(fifo)
    await sink.open()
    os.close(reader)
    with pytest.raises(OutputClosed) as caught:
        await sink.write(sample_records())
    assert caught.value.exit_code == 141
    assert caught.value.complete == 0  # no line reached a reader
    await sink.close()
