"""Appending to an output a killed process left (a shared crawl run again): the records it
holds stay, a torn last record is cut, and new records follow on whole lines and rows."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.sinks.csv import CsvSink, encode_rows
from pipelines.sinks.jsonl import JsonlSink, encode_records
from tests.support.records import read_csv, sample_records, write_all


async def test_jsonl_appended_after_a_torn_line_reads_back_whole(tmp_path: Path) -> None:
    records = sample_records()
    target = tmp_path / "out.jsonl"
    earlier = encode_records(records[:2])
    target.write_bytes(earlier + encode_records(records[2:3])[:25])  # killed mid-line
    await write_all(JsonlSink(target, append=True), records[3:])
    lines = target.read_bytes().splitlines(keepends=True)
    assert b"".join(lines[:2]) == earlier  # what was written before, byte for byte
    assert [json.loads(line)["url"] for line in lines] == [
        records[0]["url"],
        records[1]["url"],
        records[3]["url"],
    ]


async def test_csv_appended_after_a_torn_row_has_one_header_and_whole_rows(
    tmp_path: Path,
) -> None:
    records = sample_records()  # the first one's title holds a line break and quotes
    target = tmp_path / "out.csv"
    columns = ["url", "title"]
    earlier = encode_rows([columns, [records[1]["url"], "Plain"]])
    torn = encode_rows([[records[0]["url"], records[0]["title"]]])
    torn = torn[: torn.index("\n") + 1]  # killed inside the quoted cell, after its line break
    target.write_bytes((earlier + torn).encode())
    await write_all(CsvSink(target, columns, in_place=True, append=True), records[2:])
    assert target.read_bytes().startswith(earlier.encode())
    rows = read_csv(target)
    assert [row["url"] for row in rows] == [records[1]["url"], *(r["url"] for r in records[2:])]
    assert target.read_bytes().count(b"url,title") == 1
