"""Tests for the SQLite sink: typed columns, upserts by URL, databases that are not."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crawler.errors import OutputError
from pipelines.sinks.sqlite import SqliteSink, read_records
from tests.support.records import (
    page,
    sample_records,
    write_all,
)


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
