"""PDF text, headings, metadata and links; damaged and encrypted PDFs are one clear error."""

from __future__ import annotations

import pickle

import pytest

from crawler.errors import ContentError
from pipelines.worker.content.pdf import pdf_content
from tests.support.pdfs import encrypted, make_pdf, with_links_and_outline

URL = "https://docs.example/reports/2024.pdf"

REPORT = make_pdf(
    [
        [
            (24, "Annual report"),
            (11, "The river was cleaned this year by many volunteers who came"),
            (11, "from the whole county to help with the work."),
            (16, "Results"),
            (11, "Salmon came back in large numbers and the nests were counted"),
            (11, "by the biologists in the au-"),
            (11, "tumn of the year, after the floods."),
        ],
        [(11, "The second page says what comes next for the rivers.")],
    ],
    info={"Title": "Report 2024", "Author": "County Council", "CreationDate": "D:20240301093000Z"},
    lang="en-GB",
)


def test_the_text_comes_in_paragraphs() -> None:
    content = pdf_content(REPORT, URL).content

    assert content.split("\n\n") == [
        "Annual report",
        "The river was cleaned this year by many volunteers who came from the whole county "
        "to help with the work.",
        "Results",
        "Salmon came back in large numbers and the nests were counted by the biologists in "
        "the autumn of the year, after the floods.",
        "The second page says what comes next for the rivers.",
    ]


def test_lines_in_a_larger_font_are_headings_by_size() -> None:
    markdown = pdf_content(REPORT, URL).markdown

    assert markdown.startswith("# Annual report\n\nThe river was cleaned")
    assert "\n\n## Results\n\n" in markdown


def test_the_outline_gives_the_heading_levels() -> None:
    same_size = make_pdf([[(11, "Overview"), (11, "Some text."), (11, "Detail"), (11, "More.")]])
    pdf = with_links_and_outline(same_size, [], [("Overview", 0), ("Detail", 1)])

    markdown = pdf_content(pdf, URL).markdown

    assert markdown == "# Overview\n\nSome text.\n\n## Detail\n\nMore.\n"


def test_the_metadata_is_read() -> None:
    assert pdf_content(REPORT, URL).meta == {
        "title": "Report 2024",
        "author": "County Council",
        "pages": 2,
        "created": "2024-03-01T09:30:00+00:00",
        "modified": None,
        "lang": "en-gb",
    }


def test_link_annotations_are_absolute_and_only_http() -> None:
    targets = ["https://example.org/a", "/data/b.csv", "mailto:council@example.org", "/data/b.csv"]
    pdf = with_links_and_outline(REPORT, targets)

    assert pdf_content(pdf, URL).links == (
        "https://example.org/a",
        "https://docs.example/data/b.csv",
    )


def test_a_pdf_encrypted_only_against_copying_is_read() -> None:
    assert "Annual report" in pdf_content(encrypted(REPORT, ""), URL).content


def test_a_pdf_that_needs_a_password_is_a_content_error() -> None:
    with pytest.raises(ContentError, match=r"^the PDF is encrypted with a password$"):
        pdf_content(encrypted(REPORT, "secret"), URL)


@pytest.mark.parametrize(
    "body",
    [REPORT[: len(REPORT) // 2], b"%PDF-1.4\n" + bytes(range(256)) * 8, b"", b"<html>no</html>"],
    ids=["truncated", "garbage after the header", "empty", "not a pdf"],
)
def test_a_damaged_pdf_is_a_one_line_content_error(body: bytes) -> None:
    with pytest.raises(ContentError, match=r"^not a readable PDF: [^\n]+$"):
        pdf_content(body, URL)


def test_the_outcome_crosses_a_process_boundary() -> None:
    content = pdf_content(with_links_and_outline(REPORT, ["https://example.org/a"]), URL)

    assert pickle.loads(pickle.dumps(content)) == content
