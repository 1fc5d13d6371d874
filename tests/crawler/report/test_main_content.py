"""The report's main-content section: pages with and without main content, their words,
thin pages, languages, missing descriptions and canonical URLs, counted only where the
records carry those fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.report import build_report, write_report
from tests.support.reports import rec, write_records

A = "http://a.test"


def words(n: int) -> str:
    return " ".join(["word"] * n)


def page(path: str, n: int | None, **extra: Any) -> dict[str, Any]:
    """A page of a ``--content`` crawl with ``n`` words of main content."""
    content = {} if n is None else {"content": words(n), "markdown": words(n), "meta": {}}
    return rec(f"{A}{path}", **{**content, **extra})


RECORDS = [
    page("/long", 800, description="Long one.", canonical=f"{A}/long"),
    page("/thin", 30, description="Thin.", canonical=f"{A}/thin"),
    page("/thinner", 5, canonical=f"{A}/thinner", meta={"lang": "de", "description": "Meta."}),
    page("/menu-only", 0, description="Nothing here.", canonical=f"{A}/menu-only"),
    page("/doc.pdf", 120, content_type="application/pdf", meta={"title": "PDF"}),
    page("/failed", None, status=500, code="http_5xx"),
]


def section(tmp_path: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    path = write_records(tmp_path / "crawl.jsonl", records)
    data: dict[str, Any] = build_report([path]).data["main_content"]
    return data


def test_pages_with_and_without_main_content_and_their_words(tmp_path: Path) -> None:
    data = section(tmp_path, RECORDS)

    assert data["pages"] == 4  # the HTML pages read by an engine; no PDF, no failure
    assert data["with_content"] == 3
    assert [url for (url,) in data["without_content"]["rows"]] == [f"{A}/menu-only"]
    assert dict(data["words"]) == {
        "1-49": 2, "50-199": 0, "200-499": 0, "500-999": 1, "1000-1999": 0,
        "2000-4999": 0, ">= 5000": 0,
    }  # fmt: skip
    assert data["thin"]["rows"] == [(f"{A}/thinner", 5), (f"{A}/thin", 30)]


def test_languages_descriptions_and_canonicals_from_the_records_or_their_meta(
    tmp_path: Path,
) -> None:
    data = section(tmp_path, RECORDS)

    assert data["languages"]["rows"] == [("en", 3), ("de", 1)]
    assert data["missing_description"]["rows"] == []  # /thinner's is in its meta
    assert [url for (url,) in data["missing_canonical"]["rows"]] == []
    assert data["description_pages"] == data["canonical_pages"] == 4


def test_a_crawl_without_content_shows_no_main_content_counts(tmp_path: Path) -> None:
    records = [rec(f"{A}/", description=None), rec(f"{A}/x", description="Has one.")]
    path = write_records(tmp_path / "crawl.jsonl", records)
    report = write_report([path], tmp_path / "report.html")
    data = report.data["main_content"]

    assert data["pages"] == 0
    assert [url for (url,) in data["missing_description"]["rows"]] == [f"{A}/"]
    html = (tmp_path / "report.html").read_text()
    assert "Pages without a description" in html
    assert "Words of main content" not in html


def test_records_without_those_fields_leave_the_section_out(tmp_path: Path) -> None:
    bare = rec(f"{A}/")
    for key in ("lang", "description", "canonical"):
        del bare[key]
    path = write_records(tmp_path / "crawl.jsonl", [bare])
    write_report([path], tmp_path / "report.html")

    assert 'id="main-content"' not in (tmp_path / "report.html").read_text()


def test_the_section_renders_the_thin_pages(tmp_path: Path) -> None:
    path = write_records(tmp_path / "crawl.jsonl", RECORDS)
    write_report([path], tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()

    assert "Thin pages (fewer than 200 words)" in html
    assert f"{A}/thinner" in html
    assert "Of 4 HTML pages read by a content engine, 3 have main content." in html
