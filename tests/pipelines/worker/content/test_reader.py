"""The content engines in a worker's processor: records gain main content, Markdown and
metadata, keep every field the parse gave, and say content_timeout or content_error."""

from __future__ import annotations

import pickle

import pytest

from crawler.settings import build_settings
from crawler.testing import process_html
from pipelines.worker import LxmlParser, PageProcessor
from pipelines.worker.content.reader import ContentParser, OneParseContentParser, content_parser
from tests.support.articles import ARTICLE, URL
from tests.support.pdfs import make_pdf

JSON_LD = """<script type="application/ld+json">
{"@type": "NewsArticle", "author": {"name": "Ada Lovelace"}, "datePublished": "2024-03-01"}
</script>"""


@pytest.mark.parametrize("engine", ["precise", "fast"])
def test_a_page_gains_content_markdown_and_meta_and_keeps_its_fields(engine: str) -> None:
    plain = process_html(ARTICLE, url=URL)
    read = process_html(ARTICLE, url=URL, content=engine)  # type: ignore[arg-type]
    assert plain is not None
    assert read is not None

    assert {key: read[key] for key in plain} == plain | {"fetched_at": read["fetched_at"]}
    assert "salmon have been seen spawning" in (read["content"] or "")
    assert "Accept all cookies" not in (read["content"] or "")
    assert (read["markdown"] or "").startswith("# Rivers return to life")
    assert read["meta"] is not None
    assert read["meta"]["canonical"] == "https://cdn.example/world/rivers"
    assert read["error"] is None


def test_a_crawl_without_content_has_no_content_keys() -> None:
    record = process_html(ARTICLE, url=URL)
    assert record is not None

    assert not {"content", "markdown", "meta"} & record.keys()


def test_json_ld_is_read_before_scripts_are_stripped() -> None:
    html = ARTICLE.replace("</head>", JSON_LD + "</head>")
    record = process_html(html, url=URL, content="fast")
    assert record is not None
    assert record["meta"] is not None

    assert record["meta"]["author"] == "Ada Lovelace"
    assert record["meta"]["published"] == "2024-03-01"


def test_extraction_rules_read_the_whole_page_not_the_pruned_content() -> None:
    settings = build_settings(
        {"content": "fast", "extract": {"fields": {"menu": {"css": "nav a", "all": True}}}}
    )
    record = process_html(ARTICLE, settings, url=URL)
    assert record is not None

    assert record["fields"]["menu"] == ["World", "Sport", "Arts"]
    assert "World" not in (record["content"] or "").split()


def test_an_engine_past_its_time_limit_is_content_timeout_with_the_fields_kept() -> None:
    huge = "<title>Huge</title>" + "<p>" + "<b>word</b> " * 100_000 + "</p><a href='/next'>n</a>"
    settings = build_settings({"content": {"engine": "precise", "time_limit_s": 0.01}})
    record = process_html(huge, settings, url="https://site.test/huge")
    assert record is not None

    assert record["error"] == {
        "code": "content_timeout",
        "message": "content extraction took longer than 0.01 s",
    }
    assert record["title"] == "Huge"
    assert record["links"] == ["https://site.test/next"]
    assert record["content"] is None
    assert record["markdown"] is None


def test_a_pdf_is_read_as_a_page_of_text() -> None:
    body = make_pdf([[(18.0, "Report"), (11.0, "Salmon came back to the rivers.")]])
    record = process_html(body, url=URL, content_type="application/pdf", content="fast")
    assert record is not None

    assert record["error"] is None
    assert record["content"] == "Report\n\nSalmon came back to the rivers."
    assert record["markdown"] == "# Report\n\nSalmon came back to the rivers.\n"
    assert record["text"] == "Report Salmon came back to the rivers."
    assert record["word_count"] == 7
    assert record["links"] == []
    assert record["meta"] is not None
    assert record["meta"]["pages"] == 1


def test_a_broken_pdf_is_content_error_with_its_digest() -> None:
    record = process_html(b"%PDF-1.7 cut", url=URL, content_type="application/pdf", content=True)
    assert record is not None

    assert record["error"] is not None
    assert record["error"]["code"] == "content_error"
    assert record["sha256"] is not None


@pytest.mark.parametrize("engine", ["precise", "fast"])
def test_the_processor_with_an_engine_crosses_the_process_boundary(engine: str) -> None:
    settings = build_settings({"content": engine})
    processor = PageProcessor.from_settings(
        settings.extract, settings.steps, content=settings.content
    )

    copy = pickle.loads(pickle.dumps(processor))

    assert copy._reader == processor._reader


@pytest.mark.parametrize("html", [ARTICLE, ARTICLE.replace("</head>", JSON_LD + "</head>"), ""])
def test_the_fast_engine_on_the_fast_paths_own_parse_gives_the_same_fields(html: str) -> None:
    headers = {"content-type": "text/html; charset=utf-8"}
    settings = build_settings({"content": "fast"})
    chosen = content_parser(settings.content, LxmlParser())

    assert isinstance(chosen, OneParseContentParser)  # one parse a page, not two
    once, _ = chosen.read(URL, html.encode(), headers, 100)
    twice, _ = ContentParser(LxmlParser(), engine="fast").read(URL, html.encode(), headers, 100)
    assert once == twice
    assert once.get("failure") is None
