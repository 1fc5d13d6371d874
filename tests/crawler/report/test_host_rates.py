"""The report's rate per host (from the records) and its autothrottle section (from the
crawl's stats, which the records do not carry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.report import build_report
from crawler.stats import Stats
from tests.support.reports import rec, write_records

A = "http://a.test"
B = "http://b.test"

RECORDS = [
    *(rec(f"{A}/{n}", second=n // 4) for n in range(12)),  # 4 pages/s for 3 s
    *(rec(f"{B}/{n}", second=n) for n in range(3)),  # 1 page/s
]


def test_each_busy_hosts_pages_per_second_over_time(tmp_path: Path) -> None:
    report = build_report([write_records(tmp_path / "crawl.jsonl", RECORDS)])
    rates = report.data["host_rates"]
    assert rates["hosts"] == ["a.test", "b.test"]  # the busiest first
    bucket_s = report.data["timeline"]["bucket_s"]
    for host, pages in ((A, 12), (B, 3)):
        rows = [row for row in rates["rows"] if f"http://{row['host']}" == host]
        assert sum(row["pages_per_s"] for row in rows) * bucket_s == pytest.approx(pages)
    assert "host_rates" in report.specs
    assert "Rate per host" in report.html
    assert "autothrottle" not in report.data  # no stats: nothing to say of it
    assert "<h3>Autothrottle</h3>" not in report.html


def test_the_autothrottles_changes_from_the_crawls_stats(tmp_path: Path) -> None:
    stats = Stats()
    stats.rate_changed(A, 2, 0.0, slowed=0)
    stats.rate_changed(A, 4, 0.0, slowed=0)
    stats.rate_changed(A, 2, 0.0, slowed=1)
    stats.rate_changed(A, 1, 0.0, slowed=2)
    stats.rate_changed(A, 1, 0.8, slowed=3)
    stats.rate_changed(A, 1, 0.4, slowed=3)
    stats.rate_changed(B, 2, 0.0, slowed=0)
    report = build_report([write_records(tmp_path / "crawl.jsonl", RECORDS)], stats=stats)
    section = report.data["autothrottle"]
    assert section["hosts"]["rows"] == [
        {"host": A, "slowed": 3, "least": 1, "longest_s": 0.8, "limit": 1, "delay_s": 0.4},
        {"host": B, "slowed": 0, "least": 2, "longest_s": 0.0, "limit": 2, "delay_s": 0.0},
    ]
    assert [change["limit"] for change in section["changes"] if change["host"] == A] == [
        *(2, 4, 2, 1, 1, 1)
    ]
    assert "autothrottle" in report.specs
    assert "<h3>Autothrottle</h3>" in report.html
