"""``content=`` in the Python API: ``crawl(url, content="fast")`` gives records with main
content, and a Markdown folder when the settings name one."""

from __future__ import annotations

from pathlib import Path

from crawler.api import crawl
from tests.support.articles import ARTICLE
from tests.support.routes import RouteServer, page


def test_crawl_with_content_gives_main_content_and_markdown_files(tmp_path: Path) -> None:
    routes = {"/": page('<title>Home</title><a href="/story">s</a>'), "/story": page(ARTICLE)}
    with RouteServer(routes) as server:
        result = crawl(
            server.url("/"),
            follow=True,
            workers=0,
            robots={"obey": False},
            content={"engine": "fast", "markdown_dir": str(tmp_path / "md")},
        )
        plain = crawl(server.url("/story"), workers=0, robots={"obey": False})

    story = next(r for r in result.records if r["url"].endswith("/story"))
    assert "salmon have been seen spawning" in (story["content"] or "")
    assert story["markdown_file"] is not None
    assert (tmp_path / "md" / story["markdown_file"]).read_text().count("salmon") >= 1
    assert "content" not in plain.records[0]


def test_content_names_the_engine_alone() -> None:
    with RouteServer({"/story": page(ARTICLE)}) as server:
        result = crawl(server.url("/story"), content="precise", workers=0)

    [record] = result.records
    assert (record["markdown"] or "").startswith("# Rivers return to life")
    assert record["meta"] is not None
