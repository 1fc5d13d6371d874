"""Tests for the page-lines sink: the one line a person watching the terminal sees per page."""

from __future__ import annotations

from pipelines.sinks.lines import PageLines
from tests.support.records import failed, page, sample_records, write_all


async def test_one_line_per_record_status_url_and_title_or_error() -> None:
    lines: list[str] = []
    await write_all(PageLines(lines.append), sample_records()[1:])
    assert lines == [
        "200 http://site.test/plain  Plain, simple",
        "404 http://site.test/untitled",
        "--- http://gone.test/  [dns]",
    ]


async def test_an_error_shows_its_code_even_when_there_was_a_response() -> None:
    lines: list[str] = []
    broken = page("http://site.test/broken", "Broken")
    broken["error"] = {"code": "parse_error", "message": "ValueError: boom"}
    await write_all(PageLines(lines.append), [broken], [failed("http://x.test/", "dns", "no")])
    assert lines == ["200 http://site.test/broken  [parse_error]", "--- http://x.test/  [dns]"]
