"""Tests every file sink must pass alike: batches, paths that fail, agreeing contents."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from crawler.errors import OutputError
from crawler.settings import build_settings
from pipelines.sinks import Sink, sinks_for
from pipelines.sinks.csv import CsvSink
from pipelines.sinks.jsonl import JsonlSink
from pipelines.sinks.sqlite import SqliteSink, read_records
from tests.support.records import (
    COLUMNS,
    page,
    read_csv,
    sample_records,
    write_all,
)

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


def test_each_output_says_whether_a_crawl_state_can_resume_it(tmp_path: Path) -> None:
    settings = build_settings(
        {
            "output": {
                "jsonl": str(tmp_path / "o.jsonl"),
                "csv": {"path": str(tmp_path / "o.csv")},
                "sqlite": str(tmp_path / "o.db"),
            },
            "content": {"engine": "fast", "markdown_dir": str(tmp_path / "md")},
        }
    )
    in_place = {
        type(s).__name__: s.resumable
        for s in sinks_for(settings.output, in_place=True, content=settings.content)
    }
    assert in_place["MarkdownSink"] is None  # pages written whole, again
    assert in_place["SqliteSink"] is None  # upserted: nothing to repair
    jsonl, csv = in_place["JsonlSink"], in_place["CsvSink"]
    assert jsonl is not None
    assert jsonl.row_ends is None  # its lines read back: the records others are made of
    assert csv is not None
    assert csv.row_ends is not None  # cut back to whole rows, and backfilled
    assert csv.backfill is not None
    assert csv.header_rows == 1
    csv_via_partial = sinks_for(build_settings({"output": {"csv": {"path": "o.csv"}}}).output)
    assert [s.resumable for s in csv_via_partial] == [None]  # replaced whole at the end
    assert [s.resumable for s in sinks_for(build_settings({}).output)] == [None]  # stdout
