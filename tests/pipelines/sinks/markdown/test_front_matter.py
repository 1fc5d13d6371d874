"""The front matter of a page's Markdown file: YAML that reads back as written, whatever the
title holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.sinks.markdown import front_matter, read_front_matter


def _read_back(block: str) -> dict[str, object]:
    """The block as YAML reads it, checked to be what parcrawl's own reader reads."""
    assert block.startswith("---\n")
    assert block.endswith("\n---\n")
    loaded: dict[str, object] = yaml.safe_load(block.removeprefix("---\n").removesuffix("---\n"))
    assert read_front_matter([*block.splitlines(keepends=True), "# Body\n"]) == loaded
    return loaded


def test_the_fields_read_back_as_given() -> None:
    block = front_matter(
        url="https://example.org/tea",
        title="Tea & cake",
        fetched_at=datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        lang="en",
        depth=2,
    )

    assert _read_back(block) == {
        "url": "https://example.org/tea",
        "title": "Tea & cake",
        "description": None,
        "fetched_at": "2024-03-01T09:30:00+00:00",
        "lang": "en",
        "depth": 2,
    }


def test_missing_values_are_null() -> None:
    block = front_matter(
        url="https://example.org/", title=None, fetched_at=None, lang=None, depth=None
    )

    assert _read_back(block) == {
        "url": "https://example.org/",
        "title": None,
        "description": None,
        "fetched_at": None,
        "lang": None,
        "depth": None,
    }


@pytest.mark.parametrize(
    "title",
    [
        'He said "no"\n---\nevil: true',
        "key: value # comment",
        "- a list item",
        "!!python/object:os.system",
        "tab\there, CR\rhere, NUL\x00here",
        "line\u2028separator and \ufeffBOM and \x85NEL",
        "yes",
        "null",
        "1e3",
        "back\\slash",
    ],
)
def test_a_hostile_title_stays_one_string_value(title: str) -> None:
    block = front_matter(url="https://x.example/", title=title, fetched_at=None, lang=None, depth=0)

    assert _read_back(block)["title"] == title
    assert block.count("\n") == 8  # no field spills onto another line


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_reads_back_unchanged_or_with_lone_surrogates_replaced(title: str) -> None:
    block = front_matter(
        url="https://x.example/", title=title, fetched_at="now", lang="en", depth=1
    )
    expected = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in title)

    assert _read_back(block)["title"] == expected


def test_the_description_is_a_field_for_llms_txt() -> None:
    block = front_matter(
        url="https://x.example/", title="T", fetched_at=None, lang=None, depth=0,
        description="What: the page\n---",
    )  # fmt: skip

    assert _read_back(block)["description"] == "What: the page\n---"


@pytest.mark.parametrize(
    "text",
    ["", "# Just Markdown\n", "---\nurl: x\n", "---\nnot a field\n---\n"],
)
def test_what_front_matter_did_not_write_is_not_read_as_one(text: str) -> None:
    assert read_front_matter(text.splitlines(keepends=True)) is None
