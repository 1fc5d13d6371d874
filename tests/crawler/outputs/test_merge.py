"""``merge_outputs``: one record per URL, the better one kept by a stated, deterministic rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from crawler.errors import RecordsError, UsageError
from crawler.outputs import merge_outputs, open_outputs, read_records
from pipelines.sinks.sqlite import read_records as read_sqlite


def rec(url: str, at: str, *, error: str | None = None, tag: str = "") -> dict[str, Any]:
    return {
        "url": url,
        "status": 500 if error else 200,
        "fetched_at": f"2026-05-01T12:00:{at}.000Z",
        "error": {"code": error, "message": error} if error else None,
        "title": tag,
    }


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    # Two processes of one crawl: each fetched some URLs, and a few URLs twice.
    return [
        write(
            tmp_path / "docs-1.jsonl",
            [
                rec("http://x/a", "01", tag="a ok early"),
                rec("http://x/b", "05", error="http_5xx", tag="b failed late"),
                rec("http://x/c", "03", error="timeout", tag="c failed early"),
                rec("http://x/d", "04", tag="d first of a tie"),
            ],
        ),
        write(
            tmp_path / "docs-2.jsonl",
            [
                rec("http://x/a", "09", tag="a ok later"),
                rec("http://x/b", "02", tag="b ok early"),
                rec("http://x/c", "08", error="http_5xx", tag="c failed later"),
                rec("http://x/d", "04", tag="d second of a tie"),
                rec("http://x/e", "07", tag="e once"),
            ],
        ),
    ]


EXPECTED = {
    "http://x/a": "a ok later",  # both succeeded: the later fetch
    "http://x/b": "b ok early",  # a success beats a later failure
    "http://x/c": "c failed later",  # both failed: the later fetch
    "http://x/d": "d first of a tie",  # same outcome and time: the one read first
    "http://x/e": "e once",
}


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.sqlite"])
def test_one_record_per_url_the_better_one_in_first_seen_order(
    tmp_path: Path, inputs: list[Path], name: str
) -> None:
    output = tmp_path / "out" / name
    result = merge_outputs(inputs, output)
    assert (result.read, result.written, result.dropped) == (9, 5, 4)
    if name.endswith(".sqlite"):
        records = read_sqlite(output)
    else:
        records = list(read_records(open_outputs([output])))
    assert [(r["url"], r["title"]) for r in records] == list(EXPECTED.items())


def test_the_result_does_not_depend_on_anything_but_input_order(
    tmp_path: Path, inputs: list[Path]
) -> None:
    merge_outputs(inputs, tmp_path / "one.jsonl")
    merge_outputs(inputs, tmp_path / "two.jsonl")
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()


def test_sqlite_inputs_merge_too(tmp_path: Path, inputs: list[Path]) -> None:
    merge_outputs(inputs[:1], tmp_path / "first.sqlite")
    merge_outputs([tmp_path / "first.sqlite", inputs[1]], tmp_path / "all.jsonl")
    records = list(read_records(open_outputs([tmp_path / "all.jsonl"])))
    assert {r["url"]: r["title"] for r in records} == EXPECTED


def test_bad_outputs_and_inputs_are_refused_and_nothing_is_written(
    tmp_path: Path, inputs: list[Path]
) -> None:
    with pytest.raises(UsageError, match=r"use \.jsonl or \.sqlite"):
        merge_outputs(inputs, tmp_path / "docs.csv")
    with pytest.raises(UsageError, match="is one of the inputs"):
        merge_outputs(inputs, inputs[0])
    with pytest.raises(RecordsError, match="no such file"):
        merge_outputs([*inputs, tmp_path / "docs-3.jsonl"], tmp_path / "docs.jsonl")
    (tmp_path / "junk.jsonl").write_text("hello\n")
    with pytest.raises(RecordsError, match="not JSON"):
        merge_outputs([*inputs, tmp_path / "junk.jsonl"], tmp_path / "docs.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "docs-1.jsonl",
        "docs-2.jsonl",
        "junk.jsonl",
    ]
