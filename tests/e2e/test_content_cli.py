"""``parcrawl crawl --content``: main content in the records, a Markdown folder, llms.txt, PDFs,
on a loopback site with hostile file names and a broken PDF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.sinks.markdown import read_front_matter
from tests.support.articles import ARTICLE
from tests.support.cli import parcrawl
from tests.support.pdfs import make_pdf
from tests.support.routes import Reply, RouteServer, page

HOSTILE_PATHS = [
    "/CON",
    "/..%2F..%2Foutside",
    "/%2e%2e/%2e%2e/escape",
    "/caf%C3%A9/Men%C3%BC",
    "/nul.txt",
    "/a%00b",
    "/" + "long" * 80,
    "/q?x=../../y",
]
PDF_BODY = make_pdf(
    [[(20.0, "Annual report"), (11.0, "The salmon came back to the rivers this year.")]],
    info={"Title": "Salmon report"},
)


def site() -> dict[str, Any]:
    links = "".join(f'<a href="{path}">page</a>' for path in HOSTILE_PATHS)
    routes: dict[str, Any] = {
        "/": page(
            "<title>Tea Docs</title><meta name=description content='All about tea.'>"
            f"<h1>Welcome</h1><p>The home of tea.</p>{links}"
            '<a href="/story">story</a><a href="/report.pdf">PDF</a><a href="/broken.pdf">PDF</a>'
        ),
        "/story": page(ARTICLE),
        "/report.pdf": lambda _path: Reply(body=PDF_BODY, content_type="application/pdf"),
        "/broken.pdf": lambda _path: Reply(
            body=b"%PDF-1.7\nnot really", content_type="application/pdf"
        ),
    }
    for path in HOSTILE_PATHS:
        routes[path.partition("?")[0]] = page(f"<title>{path}</title><p>Page {path} here.</p>")
    return routes


def records_of(path: Path) -> dict[str, dict[str, Any]]:
    lines = path.read_text().splitlines()
    return {record["url"]: record for record in map(json.loads, lines)}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("content")
    with RouteServer(site()) as server:
        result = parcrawl(
            *("crawl", server.url("/"), "--follow", "--content", "fast", "-w", "1"),
            *("--markdown-dir", str(tmp / "md"), "--llms-txt", str(tmp / "out" / "llms.txt")),
            *("-o", str(tmp / "out" / "pages.jsonl"), "-q"),
        )
    assert result.returncode == 0, result.stderr
    return tmp, records_of(tmp / "out" / "pages.jsonl")


def test_records_have_main_content_markdown_and_metadata(
    crawled: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    _, records = crawled
    story = next(r for url, r in records.items() if url.endswith("/story"))

    assert "salmon have been seen spawning" in story["content"]
    assert "Accept all cookies" not in story["content"]
    assert story["markdown"].startswith("# Rivers return to life")
    assert story["meta"]["description"] == "How three rivers came back to life."
    assert story["title"] == "Rivers return | The Example Times"  # the parse's fields stay


def test_each_page_has_its_markdown_file_inside_the_folder(
    crawled: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    tmp, records = crawled
    folder = tmp / "md"
    files = {r["markdown_file"] for r in records.values() if r.get("markdown_file")}

    assert len(files) == len(HOSTILE_PATHS) + 3  # the home page, the story, the good PDF
    written = {str(p.relative_to(folder)) for p in folder.rglob("*.md")}
    assert written == files
    for name in files:
        front = read_front_matter((folder / name).read_text().splitlines(keepends=True))
        assert front is not None
        assert (folder / name).resolve().is_relative_to(folder.resolve())
    assert sorted(p.name for p in tmp.iterdir()) == ["md", "out"]  # nothing escaped


def test_a_pdf_is_read_and_a_broken_one_is_its_own_error_record(
    crawled: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    _, records = crawled
    good = next(r for url, r in records.items() if url.endswith("/report.pdf"))
    broken = next(r for url, r in records.items() if url.endswith("/broken.pdf"))

    assert good["error"] is None
    assert good["title"] == "Salmon report"
    assert "salmon came back" in good["content"]
    assert good["markdown"].startswith("# Annual report")
    assert broken["error"]["code"] == "content_error"
    assert broken["markdown_file"] is None
    assert broken["sha256"] is not None


def test_llms_txt_lists_the_pages_under_the_home_pages_title(
    crawled: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    tmp, records = crawled
    llms = (tmp / "out" / "llms.txt").read_text()
    full = (tmp / "out" / "llms-full.txt").read_text()

    assert llms.startswith("# Tea Docs\n\n> All about tea.\n")
    story = next(url for url in records if url.endswith("/story"))
    assert f"({story})" in llms
    assert "salmon have been seen spawning" in full
    assert "/broken.pdf" not in llms


def test_a_markdown_folder_that_cannot_be_made_stops_the_crawl_touching_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "taken").write_text("a file")
    with RouteServer({"/": page("<p>x</p>")}) as server:
        result = parcrawl(
            *("crawl", server.url("/"), "--markdown-dir", str(tmp_path / "taken")),
            *("-o", str(tmp_path / "out.jsonl"), "--llms-txt", str(tmp_path / "llms.txt")),
        )

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "it is a file, not a folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert server.requests == []


def test_a_bad_engine_name_is_one_line_and_exit_2() -> None:
    result = parcrawl("crawl", "http://127.0.0.1:9/", "--content", "best")

    assert result.returncode == 2
    assert "invalid choice: 'best'" in result.stderr


def test_a_recrawl_keeps_the_folder_in_step_with_the_site(tmp_path: Path) -> None:
    routes: dict[str, Any] = {
        "/": page('<title>Home</title><p>The home page.</p><a href="/a">a</a><a href="/b">b</a>'),
        "/a": page("<title>A</title><article><p>First words of page a.</p></article>"),
        "/b": page("<title>B</title><article><p>Page b, soon gone.</p></article>"),
    }
    folder, llms = tmp_path / "md", tmp_path / "llms.txt"
    crawl = [
        *("--follow", "--content", "fast", "--state", str(tmp_path / "site.crawl")),
        *("--markdown-dir", str(folder), "--llms-txt", str(llms), "-w", "0", "-q"),
    ]
    with RouteServer(routes) as server:
        first = parcrawl("crawl", server.url("/"), *crawl, "-o", str(tmp_path / "1.jsonl"))
        assert first.returncode == 0, first.stderr
        files_before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.md"))
        routes["/a"] = page("<title>A</title><article><p>New words of page a.</p></article>")
        routes["/b"] = lambda _path: Reply(status=404, body=b"gone")
        server.routes.update(routes)
        again = parcrawl(
            "crawl", server.url("/"), *crawl, "--recrawl", "-o", str(tmp_path / "2.jsonl")
        )
    assert again.returncode == 0, again.stderr

    records = records_of(tmp_path / "2.jsonl")
    changes = {url.rsplit("/", 1)[1]: r["change"] for url, r in records.items()}
    assert changes == {"": "unchanged", "a": "changed", "b": "gone"}
    files_after = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.md"))
    assert files_after == files_before  # no second file for any page; b's kept
    a_file = next(r["markdown_file"] for url, r in records.items() if url.endswith("/a"))
    assert "New words of page a." in (folder / a_file).read_text()
    assert (folder / "_gone.txt").read_text() == server.url("/b") + "\n"
    assert server.url("/b") not in llms.read_text()
    assert server.url("/a") in llms.read_text()


@pytest.mark.parametrize("command", ["crawl", "run"])
def test_a_bare_content_flag_before_the_url_or_job_file_leaves_it_as_such(
    command: str, tmp_path: Path
) -> None:
    with RouteServer({"/story": page(ARTICLE)}) as server:
        target = server.url("/story")
        if command == "run":
            target = str(tmp_path / "job.toml")
            Path(target).write_text(f"seeds = [{server.url('/story')!r}]\n")
        out = tmp_path / "pages.jsonl"
        result = parcrawl(command, "--content", target, "-w", "0", "-o", str(out), "-q")

    assert result.returncode == 0, result.stderr
    [story] = records_of(out).values()
    assert "salmon have been seen spawning" in story["content"]  # the precise engine's
