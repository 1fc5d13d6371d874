"""The report's scales on small and long crawls: whole-number count axes, response times of
answers only, and time buckets sized to the crawl's length."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from crawler.report import Report, build_report
from tests.support.reports import rec, write_records

A = "http://a.test"
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def report_of(tmp_path: Path, records: list[dict[str, Any]]) -> Report:
    return build_report([write_records(tmp_path / "crawl.jsonl", records)])


def at(seconds: float) -> str:
    moment = START + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


SVG = "{http://www.w3.org/2000/svg}"


def count_axis_labels(spec: dict[str, Any], width: int) -> list[str]:
    """The tick labels of ``spec``'s records axis as Vega draws them at ``width`` pixels."""
    import vl_convert  # noqa: PLC0415  # the chart engine the report inlines, run headless

    svg = etree.fromstring(vl_convert.vegalite_to_svg({**spec, "width": width}).encode())
    axes = [g for g in svg.iter(f"{SVG}g") if "titled 'records'" in g.get("aria-label", "")]
    assert len(axes) == 1
    groups = axes[0].iter(f"{SVG}g")
    return [t.text for g in groups if "role-axis-label" in g.get("class", "") for t in g]


def test_count_axes_tick_whole_records_only(tmp_path: Path) -> None:
    # One or two records a bar: Vega's default ticks would be 0, 0.5, 1, 1.5, 2.
    report = report_of(
        tmp_path,
        [
            rec(f"{A}/", depth=0),
            rec(f"{A}/a", status=404, code="http_4xx"),
            rec(f"{A}/b", size=50_000),
        ],
    )
    counted = {
        name: spec
        for name, spec in report.specs.items()
        if any(isinstance(c, dict) and c.get("field") == "count" for c in spec["encoding"].values())
    }
    assert set(counted) == {
        "statuses", "errors", "response_times", "content_types", "sizes", "depths", "hosts"
    }  # fmt: skip
    for name, spec in counted.items():
        for width in (200, 900):  # the page's charts are as wide as the window
            labels = count_axis_labels(spec, width)
            assert labels == [str(n) for n in range(len(labels))], (name, width, labels)


def test_fetches_that_got_no_answer_are_left_out_of_response_times(tmp_path: Path) -> None:
    answered = [
        rec(f"{A}/", elapsed_ms=120.0),
        rec(f"{A}/slow", elapsed_ms=900.0),
        rec(f"{A}/missing", status=404, code="http_4xx", elapsed_ms=40.0),  # an answer
        rec(f"{A}/bad-page", code="parse_error", elapsed_ms=300.0),  # arrived, then failed
    ]
    unanswered = [
        rec(f"{A}/down", status=None, code="connect", elapsed_ms=0.4),
        rec(f"{A}/private", status=None, code="robots_disallowed", elapsed_ms=0.0),
        rec(f"{A}/hung", status=None, code="timeout", elapsed_ms=30_000.0),
        rec(f"{A}/cut", status=200, code="read", elapsed_ms=15_000.0),  # dropped mid-body
    ]
    times = report_of(tmp_path, answered + unanswered).data["response_times"]

    assert times["overall"] == {"count": 4, "p50": 120.0, "p90": 900.0, "p99": 900.0}
    assert times["per_host"]["rows"] == [
        {"host": "a.test", "count": 4, "p50": 120.0, "p90": 900.0, "p99": 900.0}
    ]
    assert [row[0] for row in times["slowest"]["rows"]] == [
        f"{A}/slow", f"{A}/bad-page", f"{A}/", f"{A}/missing"
    ]  # fmt: skip
    assert times["slowest"]["total"] == 4
    assert sum(row["count"] for row in times["histogram"]) == 4
    # The failures are still counted where they belong.
    errors = {row["code"] for row in report_of(tmp_path, unanswered).data["errors"]}
    assert errors == {"connect", "robots_disallowed", "timeout", "read"}


def test_a_short_crawl_of_few_pages_is_not_cut_in_tenths_of_a_second(tmp_path: Path) -> None:
    records = [rec(f"{A}/{n}", fetched_at=at(n * 0.3)) for n in range(31)]  # 9 s, 30 pages
    timeline = report_of(tmp_path, records).data["timeline"]
    assert timeline["bucket_s"] >= 0.5
    assert sum(row["pages"] for row in timeline["rows"]) == 31
    assert max(row["pages_per_s"] for row in timeline["rows"]) <= 2 * 31 / 9


DAY_S = 86_400
SPANS = [
    (4, "0.2 s"), (9, "0.5 s"), (45, "2 s"), (600, "30 s"), (2 * 3600, "5 min"),
    (3 * DAY_S, "2 h"), (6 * DAY_S, "6 h"), (90 * DAY_S, "3 days"), (3 * 365 * DAY_S, "28 days"),
]  # fmt: skip


@pytest.mark.parametrize(("span_s", "bucket"), SPANS)
def test_a_crawl_of_any_length_gets_a_readable_number_of_buckets(
    tmp_path: Path, span_s: float, bucket: str
) -> None:
    steps = 50
    records = [rec(f"{A}/{n}", fetched_at=at(span_s * n / steps)) for n in range(steps + 1)]
    report = report_of(tmp_path, records)
    timeline = report.data["timeline"]
    rows, bucket_s = timeline["rows"], timeline["bucket_s"]
    assert 16 <= len(rows) <= 40
    assert len(rows) == math.floor(span_s / bucket_s) + 1  # the buckets cover the crawl
    assert sum(row["pages"] for row in rows) == steps + 1
    assert rows[0]["time"] == at(0)
    assert f"in buckets of {bucket}," in report.html
