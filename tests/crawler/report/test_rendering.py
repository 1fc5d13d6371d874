"""The report's Rendering section: pages rendered, read as fetched and failed renders, per
host and by reason, from the records; the browser's requests, probes and restarts from the
crawl's stats; and no section at all for a crawl that never renders."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest
from lxml import html as lxml_html

from cli import main
from crawler.models import Record
from crawler.report import build_report
from crawler.stats import Stats
from pipelines.sinks.sqlite import SqliteSink
from tests.support.reports import rec, write_records

APP = "http://app.test"
DOCS = "http://docs.test"


@pytest.fixture(autouse=True)
def no_chart_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """The section is tables only: these tests skip building the charts' runtime (a second
    or so, once per process), so each one stays fast run alone."""
    monkeypatch.setattr("crawler.report.vega_bundle", lambda: "")


def page(url: str, rendered: bool, reason: str, **extra: Any) -> dict[str, Any]:
    """A record of a crawl that may render (a failed render: ``code`` render_*)."""
    return rec(url, rendered=rendered, render_reason=reason, **extra)


RECORDS = [
    *(page(f"{APP}/{n}", True, "host_dynamic") for n in range(4)),
    page(f"{APP}/slow", False, "host_dynamic", code="render_timeout"),
    page(f"{APP}/gone", False, "not_ok", status=404, code="http_4xx"),
    *(page(f"{DOCS}/{n}", False, "static_html") for n in range(3)),
    page(f"{DOCS}/search", True, "rule"),
    page(f"{DOCS}/api", False, "rule"),
    page(f"{DOCS}/map", True, "noscript"),
    page(f"{DOCS}/heavy", False, "framework", code="render_crash"),
    rec(f"{DOCS}/down", status=None, code="dns"),  # never reached the renderer: no keys
]


def rows(html: str, table: str) -> list[list[str]]:
    """The text of each cell of the table ``table`` (its id), a list per data row."""
    page_html = lxml_html.fromstring(html)
    return [
        [cell.text_content().strip() for cell in row.xpath("td")]
        for row in page_html.xpath(f"//table[@id='{table}']//tr[td]")
    ]


def report_of(tmp_path: Path, records: list[dict[str, Any]], **kwargs: Any) -> Any:
    return build_report([write_records(tmp_path / "crawl.jsonl", records)], **kwargs)


def test_totals_and_failures_by_code(tmp_path: Path) -> None:
    report = report_of(tmp_path, RECORDS)
    section = report.data["rendering"]

    totals = [section[key] for key in ("pages", "rendered", "as_fetched", "failed")]
    assert totals == [13, 6, 5, 2]  # the dns failure says nothing of rendering: not counted
    page_html = lxml_html.fromstring(report.html)
    cards = page_html.xpath("//section[@id='rendering']//*[@class='cards']/div")
    shown = {card.xpath("string(span)"): card.xpath("string(b)") for card in cards}
    assert shown == {"pages rendered": "6", "read as fetched": "5", "render failures": "2"}
    assert rows(report.html, "render-failures") == [["render_crash", "1"], ["render_timeout", "1"]]
    assert '<a href="#rendering">Rendering</a>' in report.html


def test_per_host_busiest_first_with_its_main_reason(tmp_path: Path) -> None:
    report = report_of(tmp_path, RECORDS)

    assert rows(report.html, "render-hosts") == [
        ["docs.test", "2", "4", "1", "static_html"],
        ["app.test", "4", "1", "1", "host_dynamic"],
    ]
    assert "hosts shown" not in report.html


def test_the_host_table_is_cut_at_top_with_the_total_stated(tmp_path: Path) -> None:
    report = report_of(tmp_path, RECORDS, top=1)

    assert rows(report.html, "render-hosts") == [["docs.test", "2", "4", "1", "static_html"]]
    assert "1 of 2 hosts shown." in report.html


def test_reasons_to_render_and_to_read_as_fetched_counted_apart(tmp_path: Path) -> None:
    report = report_of(tmp_path, RECORDS)

    # "rule" both sends a page to the browser and keeps one from it: a row in each table.
    assert rows(report.html, "render-reasons") == [
        ["host_dynamic", "4", "1"], ["framework", "0", "1"], ["noscript", "1", "0"],
        ["rule", "1", "0"],
    ]  # fmt: skip
    assert rows(report.html, "fetched-reasons") == [
        ["static_html", "3"], ["not_ok", "1"], ["rule", "1"]
    ]  # fmt: skip


def test_the_browsers_work_from_the_crawls_stats(tmp_path: Path) -> None:
    stats = Stats(
        render_requests=96,
        render_blocked=Counter(type=9, origin=3),
        render_probes=2,
        browser_restarts=1,
    )
    report = report_of(tmp_path, RECORDS, stats=stats)

    page_html = lxml_html.fromstring(report.html)
    table = page_html.xpath("//table[@id='render-browser']//tr")
    shown = {row.xpath("string(th)"): row.xpath("string(td)") for row in table}
    assert shown == {
        "requests its pages made, served by the crawl's client": "96",
        "requests blocked": "12",
        "blocked: type": "9",
        "blocked: origin": "3",
        "probes (rendered beside the crawl to check a guess; records as fetched)": "2",
        "browser restarts": "1",
    }


def test_without_stats_only_what_the_records_say(tmp_path: Path) -> None:
    report = report_of(tmp_path, RECORDS)

    assert report.data["rendering"]["browser"] is None
    assert 'id="render-browser"' not in report.html
    assert "Not known: this report was made from output files alone (requests" in report.html


def test_a_crawl_that_never_renders_has_no_rendering_section(tmp_path: Path) -> None:
    records = [record for record in RECORDS if "rendered" not in record]
    records += [rec(f"{APP}/{n}") for n in range(3)]
    report = report_of(tmp_path, records, stats=Stats())

    assert "rendering" not in report.data
    page_html = lxml_html.fromstring(report.html)
    assert page_html.xpath("//section[@id='rendering']") == []
    assert "#rendering" not in report.html


def test_parcrawl_report_reads_render_fields_from_jsonl_and_sqlite(tmp_path: Path) -> None:
    jsonl = write_records(tmp_path / "crawl.jsonl", RECORDS)
    sqlite = tmp_path / "crawl.sqlite"

    async def write_sqlite() -> None:
        sink = SqliteSink(sqlite)
        await sink.open()
        await sink.write([cast(Record, record) for record in RECORDS])
        await sink.close()

    asyncio.run(write_sqlite())
    for source in (jsonl, sqlite):
        output = tmp_path / f"{source.suffix[1:]}-report.html"
        assert main(["report", str(source), "-o", str(output), "--quiet"]) == 0
        html = output.read_text(encoding="utf-8")
        assert rows(html, "render-hosts")[0] == ["docs.test", "2", "4", "1", "static_html"]


def test_parcrawl_report_of_an_output_without_render_fields(tmp_path: Path) -> None:
    plain = write_records(tmp_path / "plain.jsonl", [rec(f"{APP}/{n}") for n in range(3)])
    output = tmp_path / "plain-report.html"

    assert main(["report", str(plain), "-o", str(output), "--quiet"]) == 0
    assert 'id="rendering"' not in output.read_text(encoding="utf-8")
