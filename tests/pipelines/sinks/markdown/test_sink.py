"""The Markdown folder sink: one file per page with main content, named in its record, never
outside the folder; kept across a resumed crawl and a recrawl; llms.txt made from it."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from crawler.errors import OutputError
from crawler.models import Record
from crawler.settings import build_settings
from pipelines.sinks import sinks_for
from pipelines.sinks.markdown import (
    GONE_FILE,
    MarkdownFolder,
    MarkdownSink,
    markdown_path,
    read_front_matter,
    write_llms_files,
)
from tests.support.records import failed, page

HOSTILE_URLS = [
    "https://site.test/",
    "https://site.test/docs/intro",
    "https://site.test/%2e%2e/%2e%2e/escape",
    "https://site.test/..%2F..%2Fetc%2Fpasswd",
    "https://site.test/CON",
    "https://site.test/nul.txt/aux",
    "https://site.test/Docs/Intro",
    "https://site.test/a%00b",
    "https://site.test/" + "x" * 400,
    "https://site.test/caf%C3%A9?q=1&r=../../x",
    "https://site.test/.hidden/.md",
    "http://SITE.test:8080/index",
]


def content_record(url: str, markdown: str = "# Title\n\nSome text.\n", **meta: Any) -> Record:
    """A page's record as a crawl with ``--content`` makes it."""
    record = page(url, "Record title")
    extra: dict[str, Any] = record  # type: ignore[assignment]
    extra["content"] = markdown.replace("#", "").strip()
    extra["markdown"] = markdown
    extra["meta"] = {"title": "Meta title", "description": "About it.", "lang": "en", **meta}
    return record


async def written(sink: MarkdownSink, records: list[Record]) -> list[Record]:
    await sink.open()
    try:
        await sink.write(records)
    finally:
        await sink.close()
    return records


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


async def test_each_page_gets_its_file_with_front_matter_named_in_its_record(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "md"
    [record] = await written(MarkdownSink(folder), [content_record("https://site.test/docs/intro")])

    assert record["markdown_file"] == "site.test/docs/intro.md"  # type: ignore[typeddict-item]
    text = (folder / "site.test" / "docs" / "intro.md").read_text()
    assert read_front_matter(text.splitlines(keepends=True)) == {
        "url": "https://site.test/docs/intro",
        "title": "Meta title",
        "description": "About it.",
        "fetched_at": record["fetched_at"],
        "lang": "en",
        "depth": 1,
    }
    assert text.endswith("---\n\n# Title\n\nSome text.\n")


async def test_hostile_urls_all_land_inside_the_folder_each_in_its_own_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "md"
    records = await written(MarkdownSink(folder), [content_record(url) for url in HOSTILE_URLS])

    names = [record["markdown_file"] for record in records]  # type: ignore[typeddict-item]
    assert len(set(names)) == len(HOSTILE_URLS)
    assert sorted(files_under(folder)) == sorted(names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["md"]  # nothing beside it
    for record, name in zip(records, names, strict=True):
        lines = (folder / name).read_text().splitlines(keepends=True)
        front = read_front_matter(lines)
        assert front is not None
        assert front["url"] == record["url"]


async def test_errors_and_pages_without_main_content_get_no_file(tmp_path: Path) -> None:
    folder = tmp_path / "md"
    records = await written(
        MarkdownSink(folder),
        [
            failed("https://site.test/down", "timeout", "timed out"),
            content_record("https://site.test/empty", markdown="  \n"),
            page("https://site.test/no-content-fields", "Plain"),
        ],
    )

    assert [r["markdown_file"] for r in records] == [None, None, None]  # type: ignore[typeddict-item]
    assert files_under(folder) == []


async def test_a_symlink_planted_in_the_folder_cannot_lead_a_write_outside(
    tmp_path: Path,
) -> None:
    folder, outside = tmp_path / "md", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (folder / "site.test").symlink_to(outside, target_is_directory=True)
    sink = MarkdownSink(folder)
    await sink.open()

    with pytest.raises(OutputError, match="leads out of"):
        await sink.write([content_record("https://site.test/page")])
    await sink.close()

    assert list(outside.iterdir()) == []


async def test_a_resumed_crawl_rewrites_a_pages_file_and_keeps_the_others(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "md"
    await written(MarkdownSink(folder), [content_record("https://site.test/a")])
    await written(
        MarkdownSink(folder),
        [
            content_record("https://site.test/a", "# Again\n"),
            content_record("https://site.test/b"),
        ],
    )

    assert files_under(folder) == ["site.test/a.md", "site.test/b.md"]
    assert (folder / "site.test" / "a.md").read_text().endswith("\n# Again\n")
    assert not any(p.name.startswith(".") for p in folder.rglob("*"))  # no temporary left


def recrawled(record: Record, change: str, **values: Any) -> Record:
    extra: dict[str, Any] = record  # type: ignore[assignment]
    extra.update(change=change, **values)
    return record


async def test_a_recrawl_keeps_unchanged_and_gone_pages_files_and_lists_the_gone(
    tmp_path: Path,
) -> None:
    folder, llms = tmp_path / "md", tmp_path / "llms.txt"
    first = [content_record(f"https://site.test/{name}") for name in ("", "stays", "goes")]
    await written(MarkdownSink(folder), first)
    before = (folder / "site.test" / "stays.md").read_text()

    unchanged = recrawled(page("https://site.test/stays", "Stays", status=304), "unchanged")
    gone = recrawled(failed("https://site.test/goes", "http_4xx", "404"), "gone", status=404)
    again = [unchanged, gone]
    await written(MarkdownSink(folder, llms_txt=llms, llms_full_txt=tmp_path / "full.txt"), again)

    assert unchanged["markdown_file"] == "site.test/stays.md"  # type: ignore[typeddict-item]
    assert gone["markdown_file"] is None  # type: ignore[typeddict-item]
    assert (folder / "site.test" / "stays.md").read_text() == before
    assert (folder / "site.test" / "goes.md").exists()  # nothing fetched is lost
    assert (folder / GONE_FILE).read_text() == "https://site.test/goes\n"
    assert "https://site.test/goes" not in llms.read_text()
    assert "https://site.test/stays" in llms.read_text()

    back = content_record("https://site.test/goes", "# Back\n")
    await written(MarkdownSink(folder, llms_txt=llms, llms_full_txt=tmp_path / "full.txt"), [back])

    assert not (folder / GONE_FILE).exists()
    assert "https://site.test/goes" in llms.read_text()


async def test_llms_files_list_every_page_of_the_folder_under_the_home_pages_title(
    tmp_path: Path,
) -> None:
    folder, llms, full = tmp_path / "md", tmp_path / "out" / "llms.txt", tmp_path / "full.txt"
    records = [
        content_record("https://site.test/guide/install", "# Install\n\n---\n\nRun it.\n"),
        content_record("https://site.test/", "# Welcome\n", title="Tea Docs", description="Tea."),
    ]
    await written(MarkdownSink(folder, llms_txt=llms, llms_full_txt=full), records)

    assert llms.read_text() == (
        "# Tea Docs\n\n> Tea.\n\n"
        "## Pages\n\n- [Tea Docs](https://site.test/): Tea.\n\n"
        "## Guide\n\n- [Meta title](https://site.test/guide/install): About it.\n"
    )
    text = full.read_text()
    assert text.startswith(
        "# Tea Docs\n\n> Tea.\n\n---\n\n# Tea Docs\n\nSource: https://site.test/"
    )
    assert "Run it." in text
    assert text.count("\n---\n") == 2  # the page's own rule became ***: pages only
    assert list(llms.parent.iterdir()) == [llms]  # no temporary file left


async def test_llms_txt_alone_uses_a_temporary_folder_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile  # noqa: PLC0415

    monkeypatch.setattr(tempfile, "tempdir", None)
    llms = tmp_path / "llms.txt"
    sink = MarkdownSink(
        None, llms_txt=llms, llms_full_txt=tmp_path / "llms-full.txt", site_title="Mine"
    )
    [record] = await written(sink, [content_record("https://site.test/a")])

    assert "markdown_file" not in record
    assert llms.read_text().startswith("# Mine\n")
    assert "Some text." in (tmp_path / "llms-full.txt").read_text()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_llms_full_txt_streams_from_the_files_in_bounded_memory(tmp_path: Path) -> None:
    folder = MarkdownFolder(tmp_path / "md")
    folder.prepare()
    body = "word " * 20_000 + "\n"  # 100 kB a page, 20 MB in all
    for number in range(200):
        url = f"https://site.test/p{number}"
        folder.write(markdown_path(url), f'---\nurl: "{url}"\n---\n\n{body}')

    tracemalloc.start()
    try:
        count = write_llms_files(folder, tmp_path / "llms.txt", tmp_path / "full.txt")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 200
    assert (tmp_path / "full.txt").stat().st_size > 200 * len(body)
    assert peak < 2_000_000  # a few pages' worth, not the 20 MB of all of them


async def test_the_markdown_sink_goes_first_so_json_lines_name_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = build_settings(
        {"output": {"jsonl": str(tmp_path / "out.jsonl")}, "content": {"markdown_dir": "md"}}
    )
    monkeypatch.chdir(tmp_path)
    records = [content_record("https://site.test/x")]
    sinks = sinks_for(settings.output, content=settings.content)
    assert [type(s).__name__ for s in sinks] == ["MarkdownSink", "JsonlSink"]
    for sink in sinks:
        await sink.open()
    for sink in sinks:
        await sink.write(records)
    for sink in sinks:
        await sink.close()

    line = json.loads((tmp_path / "out.jsonl").read_text())
    assert line["markdown_file"] == "site.test/x.md"
    assert (tmp_path / "md" / "site.test" / "x.md").is_file()
    assert [type(s).__name__ for s in sinks_for(settings.output)] == ["JsonlSink"]
