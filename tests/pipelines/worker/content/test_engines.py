"""Both content engines on an article in a site's furniture, and on pages that are no article."""

from __future__ import annotations

import pickle
import re
import sys
import time

import pytest
import trafilatura
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.errors import ContentError, UsageError
from pipelines.worker.content import (
    ENGINES,
    Engine,
    PageContent,
    check_engine_installed,
    extract_content,
)
from tests.support.articles import ARTICLE, BASE, BOILERPLATE, GARBAGE, URL


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    chosen: Engine = request.param
    return chosen


def test_the_content_is_the_article_without_the_site_around_it(engine: Engine) -> None:
    page = extract_content(ARTICLE, URL, engine=engine)

    assert page.content.startswith("Rivers return to life after the dams came down")
    assert "salmon have been seen spawning" in page.content
    assert "second generation of fish" in page.content
    assert [word for word in BOILERPLATE if word in page.content] == []
    assert page.engine == engine


def test_the_content_is_plain_text_in_paragraphs(engine: Engine) -> None:
    content = extract_content(ARTICLE, URL, engine=engine).content

    paragraphs = content.split("\n\n")
    assert "What changed" in paragraphs
    assert any(p.startswith("For the first time in a century, salmon") for p in paragraphs)
    assert "**" not in content
    assert "](" not in content  # no Markdown link or image in the plain text


def test_the_markdown_keeps_the_structure(engine: Engine) -> None:
    markdown = extract_content(ARTICLE, URL, engine=engine).markdown

    assert "# Rivers return to life after the dams came down\n" in markdown
    assert "## What changed\n" in markdown
    assert "- Sixty kilometres of river reopened to salmon\n" in markdown
    assert re.search(r"^\| *Elwha *\| *210 *\|", markdown, re.MULTILINE)
    assert "```\nnests = count(survey, min_depth_cm=20)\nprint(nests)\n```" in markdown
    assert "**faster than any model predicted**" in markdown
    assert "*recovery*" in markdown


def test_links_and_images_are_absolute_against_the_base_href(engine: Engine) -> None:
    markdown = extract_content(ARTICLE, URL, engine=engine).markdown

    assert "[county report](https://cdn.example/reports/salmon-2024.pdf)" in markdown
    assert f"![A salmon jumping a weir]({BASE}img/salmon.jpg)" in markdown


def test_the_meta_comes_with_the_content(engine: Engine) -> None:
    meta = extract_content(ARTICLE, URL, engine=engine).meta

    assert meta["title"] == "Rivers return | The Example Times"
    assert meta["description"] == "How three rivers came back to life."
    assert meta["canonical"] == "https://cdn.example/world/rivers"
    assert (meta["lang"], meta["lang_detected"]) == ("en", True)  # the page declares none


def test_the_outcome_crosses_a_process_boundary(engine: Engine) -> None:
    page = extract_content(ARTICLE, URL, engine=engine)

    assert pickle.loads(pickle.dumps(page)) == page


@pytest.mark.parametrize(
    "html",
    ["<html><body></body></html>", "just a few words", "<p>", "<script>var a = 1;</script>"],
    ids=["empty body", "text only", "unclosed", "only a script"],
)
def test_a_page_without_an_article_gives_empty_or_short_content(engine: Engine, html: str) -> None:
    page = extract_content(html, URL, engine=engine)

    assert isinstance(page, PageContent)
    assert "var a" not in page.content
    assert page.markdown.strip() == "" or len(page.markdown) < 40


@pytest.mark.parametrize("html", ["", "\x00\x00\x00"], ids=["empty", "nuls"])
def test_nothing_to_parse_is_a_one_line_content_error(engine: Engine, html: str) -> None:
    with pytest.raises(ContentError, match=r"^not readable as HTML: the document is empty$"):
        extract_content(html, URL, engine=engine)


def test_garbage_bytes_give_some_text_and_no_exception(engine: Engine) -> None:
    page = extract_content(GARBAGE, URL, engine=engine)

    assert isinstance(page.content, str)
    assert "\x00" not in page.content


@pytest.mark.slow
def test_a_paragraph_of_200_000_links_is_text_in_seconds() -> None:
    # html-to-markdown needs 25 s for it, in Rust, where no time limit reaches
    hostile = "<p>" + '<a href="/x">link</a> word ' * 200_000 + "</p>"
    started = time.monotonic()

    page = extract_content(hostile, URL, engine="fast", time_limit_s=20)

    assert time.monotonic() - started < 10
    assert page.markdown.startswith("link word link word")


def test_a_library_failure_is_a_content_error_with_its_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(trafilatura, "bare_extraction", broken)

    failure = r"^the precise engine failed: RuntimeError: boom$"
    with pytest.raises(ContentError, match=failure) as info:
        extract_content(ARTICLE, URL, engine="precise")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_an_unknown_engine_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown content engine 'best'"):
        extract_content(ARTICLE, URL, engine="best")  # type: ignore[arg-type]


def test_a_missing_extra_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "html_to_markdown", None)  # import now fails

    with pytest.raises(UsageError) as info:
        extract_content(ARTICLE, URL, engine="fast")
    message = str(info.value)
    assert "the 'fast' content engine cannot import html_to_markdown" in message
    assert "pip install 'parcrawl[content]'" in message
    assert "\n" not in message


def test_an_engine_can_be_checked_before_a_crawl_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    check_engine_installed("precise")
    check_engine_installed("fast")

    with pytest.raises(UsageError, match="unknown content engine"):
        check_engine_installed("other")


TAG_SOUP = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<div class='nav'>",
                "</div>",
                "<article>",
                "<a href='",
                "'>",
                "</a>",
                "<img src=",
                "<table><tr><td>",
                "<pre>",
                "<script>",
                "<!--",
                "-->",
                "<meta property='og:title' content='",
                "<base href='",
                "javascript:",
                "%",
                "\x00",
                "&amp;",
                "&#0;",
                "<![CDATA[",
                "<?xml version='1.0' encoding='utf-8'?>",
            ]
        ),
        st.text(max_size=40),
    ),
    max_size=40,
).map("".join)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=TAG_SOUP)
def test_tag_soup_gives_content_or_a_content_error_never_a_library_exception(
    engine: Engine, html: str
) -> None:
    try:
        page = extract_content(html, URL, engine=engine)
    except ContentError:
        return
    assert isinstance(page.content, str)
    assert isinstance(page.markdown, str)
