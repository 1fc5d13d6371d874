"""Tests for the JSON Lines sink: full disks, /dev/null, pipes whose reader left."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

from crawler.errors import OutputClosed, OutputError
from pipelines.sinks.jsonl import JsonlSink
from tests.support.records import (
    sample_records,
    write_all,
)


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


def _stdlib_line(record: Any) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode(
        "utf-8", "replace"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"price": 12.5, "name": "Café ☕ 😀", "tags": ["a", "b"], "raw": "\x00\x1f\x7f\u2028"},
        {"big": 1e16, "small": 1e-05, "zero": -0.0, "nan": float("nan"), "inf": float("inf")},
        {"surrogate": "\ud800 half a pair", "huge": 2**70, "pair": (1, 2.5)},
        {"nested": {"deep": [{"x": 1e300}, None, True]}},
    ],
)
async def test_jsonl_lines_are_the_standard_librarys_bytes(
    tmp_path: Path, fields: dict[str, Any]
) -> None:
    records = sample_records()
    records[0]["fields"] = fields
    path = tmp_path / "out.jsonl"
    await write_all(JsonlSink(path), records)
    assert path.read_bytes() == b"".join(_stdlib_line(record) for record in records)
