"""The report's numbers on a small hand-made JSON Lines file: each one as computed directly."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crawler.report import build_report, write_report
from tests.support.reports import rec, write_records

A = "http://a.test"
B = "http://b.test"


RECORDS = [
    rec(f"{A}/", depth=0, second=0, elapsed_ms=5, size=500, title="Home",
        links=[f"{A}/1", f"{A}/2", f"{A}/gone", f"{B}/", f"{A}/moved"]),
    rec(f"{A}/1", referrer=f"{A}/", second=1, elapsed_ms=40, size=1500, title="Same",
        description="Same words", links=[f"{A}/gone", f"{A}/broken-server"]),
    rec(f"{A}/2", referrer=f"{A}/", second=1, elapsed_ms=90, size=70_000, title="Same",
        description="Same words", links=[f"{A}/1"], near_duplicate_of=f"{A}/1"),
    rec(f"{A}/gone", status=404, code="http_4xx", referrer=f"{A}/", second=2, elapsed_ms=8,
        size=100),
    rec(f"{A}/broken-server", status=503, code="http_5xx", referrer=f"{A}/1", depth=2,
        second=2, elapsed_ms=1200, size=50),
    rec(f"{A}/moved", final_url=f"{A}/new-home", referrer=f"{A}/", second=3, elapsed_ms=300,
        title=None),
    rec(f"{A}/doc.pdf", content_type="application/pdf", referrer=f"{A}/", second=3,
        elapsed_ms=25, size=5_000_000, title=None),
    rec(f"{B}/", referrer=f"{A}/", second=4, elapsed_ms=2500, size=3000, title="B home",
        links=[f"{B}/dns-fail", f"{A}/gone"]),
    rec(f"{B}/dns-fail", status=None, code="dns", referrer=f"{B}/", depth=2, second=5,
        elapsed_ms=None, size=None),
    rec(f"{B}/private", status=None, code="robots_disallowed", referrer=f"{B}/", depth=2,
        second=5, elapsed_ms=0.0, size=None),
]  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("report") / "crawl.jsonl"
    return build_report([write_records(path, RECORDS)]).data


def nearest_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def test_summary_counts_what_the_records_say(data: dict[str, Any]) -> None:
    summary = data["summary"]
    assert summary["records"] == len(RECORDS)
    assert summary["ok"] == sum(r["error"] is None for r in RECORDS)
    assert summary["failed"] == sum(r["error"] is not None for r in RECORDS)
    assert summary["hosts"] == 2
    assert summary["bytes"] == sum(r["bytes"] or 0 for r in RECORDS)
    assert summary["duration_s"] == 5.0  # 12:00:00 to 12:00:05
    assert summary["pages_per_s"] == len(RECORDS) / 5.0


def test_timeline_buckets_add_up_to_every_page_and_error(data: dict[str, Any]) -> None:
    rows = data["timeline"]["rows"]
    assert sum(row["pages"] for row in rows) == len(RECORDS)
    assert sum(row["errors"] for row in rows) == sum(r["error"] is not None for r in RECORDS)
    bucket = data["timeline"]["bucket_s"]
    per_second = Counter(int(r["fetched_at"][17:19]) * 1000 // int(bucket * 1000) for r in RECORDS)
    assert [row["pages"] for row in rows] == [per_second[i] for i in range(len(rows))]
    assert all(row["pages_per_s"] == row["pages"] / bucket for row in rows)


def test_statuses_and_errors_with_example_urls(data: dict[str, Any]) -> None:
    statuses = {row["status"]: row["count"] for row in data["statuses"]}
    expected = Counter("no response" if r["status"] is None else str(r["status"]) for r in RECORDS)
    assert statuses == dict(expected)
    errors = {row["code"]: row for row in data["errors"]}
    assert {code: row["count"] for code, row in errors.items()} == dict(
        Counter(r["error"]["code"] for r in RECORDS if r["error"])
    )
    assert errors["http_4xx"]["examples"] == [f"{A}/gone"]
    by_status = {row["status"]: row["examples"] for row in data["statuses"]}
    assert by_status["200"] == [r["url"] for r in RECORDS if r["status"] == 200][:3]


def test_response_time_percentiles_overall_and_per_host(data: dict[str, Any]) -> None:
    times = data["response_times"]
    # Timed: the fetches that got an answer (a page, a 4xx or 5xx), not the dns failure or
    # the robots.txt refusal.
    timed = [r for r in RECORDS if r["status"] is not None]
    for p in (50, 90, 99):
        assert times["overall"][f"p{p}"] == nearest_rank([r["elapsed_ms"] for r in timed], p)
    per_host = {row["host"]: row for row in times["per_host"]["rows"]}
    for host, base in (("a.test", A), ("b.test", B)):
        values = [r["elapsed_ms"] for r in timed if r["url"].startswith(base)]
        assert per_host[host]["count"] == len(values)
        assert per_host[host]["p90"] == nearest_rank(values, 90)
    assert sum(row["count"] for row in times["histogram"]) == len(timed)
    slowest = [row[0] for row in times["slowest"]["rows"]]
    assert slowest == [r["url"] for r in sorted(timed, key=lambda r: -r["elapsed_ms"])]


def test_content_types_sizes_depths_and_hosts(data: dict[str, Any]) -> None:
    content = data["content"]
    types = dict(content["types"]["rows"])
    assert types == {"text/html": 9, "application/pdf": 1}
    assert content["largest"]["rows"][0][:2] == (f"{A}/doc.pdf", 5_000_000)
    assert sum(row["count"] for row in content["sizes"]) == sum(
        r["bytes"] is not None for r in RECORDS
    )
    assert {row["depth"]: row["count"] for row in content["depths"]} == dict(
        Counter(r["depth"] for r in RECORDS)
    )
    hosts = {host: (pages, ok) for host, pages, ok in content["hosts"]["rows"]}
    assert hosts == {"a.test": (7, 5), "b.test": (3, 1)}


def test_broken_links_are_exactly_the_failed_targets_with_their_linking_pages(
    data: dict[str, Any],
) -> None:
    broken = {row["url"]: sorted(row["pages"]) for row in data["broken_links"]["rows"]}
    # robots_disallowed is a refusal, not a broken link
    assert broken == {
        f"{A}/gone": sorted([f"{A}/", f"{A}/1", f"{B}/"]),
        f"{A}/broken-server": [f"{A}/1"],
        f"{B}/dns-fail": [f"{B}/"],
    }
    counts = {row["url"]: row["referrers"] for row in data["broken_links"]["rows"]}
    assert counts[f"{A}/gone"] == 3
    assert data["broken_links"]["total"] == 3


def test_quality_titles_descriptions_redirects_near_duplicates(data: dict[str, Any]) -> None:
    quality = data["quality"]
    assert [row[0] for row in quality["missing_titles"]["rows"]] == [f"{A}/moved"]
    assert quality["duplicate_titles"]["rows"] == [("Same", 2, f"{A}/1")]
    assert quality["duplicate_descriptions"]["rows"] == [("Same words", 2, f"{A}/1")]
    assert quality["redirects"]["rows"] == [(f"{A}/moved", f"{A}/new-home", 200)]
    assert quality["near_duplicates"]["rows"] == [(f"{A}/2", f"{A}/1")]


def test_tables_are_capped_at_top_with_the_total_stated(tmp_path: Path) -> None:
    path = write_records(tmp_path / "crawl.jsonl", RECORDS)
    report = write_report([path], tmp_path / "report.html", top=2)
    slowest = report.data["response_times"]["slowest"]
    assert len(slowest["rows"]) == 2
    assert slowest["total"] == 8
    assert "The top 2 of 8 timed records." in (tmp_path / "report.html").read_text()


def test_a_url_fetched_twice_is_broken_only_when_no_fetch_succeeded(tmp_path: Path) -> None:
    path = tmp_path / "merged.jsonl"
    records = [
        rec(f"{A}/", links=[f"{A}/flaky", f"{A}/dead"]),
        rec(f"{A}/flaky", status=503, code="http_5xx", referrer=f"{A}/"),
        rec(f"{A}/flaky", referrer=f"{A}/"),
        rec(f"{A}/dead", status=500, code="http_5xx", referrer=f"{A}/"),
        rec(f"{A}/dead", status=500, code="http_5xx", referrer=f"{A}/"),
    ]
    write_records(path, records)
    broken = build_report([path]).data["broken_links"]
    assert [(row["url"], row["pages"]) for row in broken["rows"]] == [(f"{A}/dead", [f"{A}/"])]
