"""The report page: self-contained (nothing loaded from anywhere), and page text that cannot
break out of it."""

from __future__ import annotations

from pathlib import Path

from lxml import html as lxml_html

from crawler.report import write_report
from crawler.settings import build_settings
from tests.support.reports import write_records

HOSTILE = '</script><script>alert("x")</script><!--'


def record(url: str, title: str, *, status: int = 200) -> dict[str, object]:
    return {
        "url": url,
        "final_url": url,
        "status": status,
        "content_type": "text/html",
        "bytes": 10,
        "elapsed_ms": 3.0,
        "fetched_at": "2026-05-01T12:00:00.000Z",
        "depth": 0,
        "referrer": None,
        "title": title,
        "links": [f"http://x.test/{HOSTILE}"],
        "error": None if status < 400 else {"code": "http_4xx", "message": HOSTILE},
    }


def test_the_page_loads_nothing_and_shows_hostile_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "crawl.jsonl"
    records = [
        record("http://x.test/a", HOSTILE),
        record("http://x.test/b", HOSTILE),
        record(f"http://x.test/{HOSTILE}", "gone", status=404),
    ]
    write_records(path, records)
    settings = build_settings({"follow": True, "fetch": {"per_host": 3}})
    write_report([path], tmp_path / "report.html", settings=settings)
    page = lxml_html.fromstring((tmp_path / "report.html").read_bytes())

    # Everything inline: no element fetches anything, from a CDN or elsewhere.
    assert page.xpath("//*[@src]") == []
    assert page.xpath("//link") == []
    scripts = page.xpath("//script")
    assert [s.get("type") for s in scripts] == [None, None, "application/json", None]
    assert len(scripts[1].text) > 500_000  # the chart runtime itself

    # The hostile title is a table cell's text, not markup; the page's structure survived.
    duplicates = page.xpath('//section[@id="quality"]//td/text()')
    assert HOSTILE in duplicates
    assert page.xpath("//tr[@data-target]/@data-target") == [f"http://x.test/{HOSTILE}"]
    assert page.xpath("//section/@id") == [
        "summary", "time", "status", "times", "content", "broken", "quality"
    ]  # fmt: skip
    settings_shown = dict(
        zip(page.xpath("//section[@id='summary']//th/text()"),
            page.xpath("//section[@id='summary']//td/text()"), strict=True)
    )  # fmt: skip
    assert settings_shown["follow links"] == "yes"
    assert settings_shown["per host"] == "3"
