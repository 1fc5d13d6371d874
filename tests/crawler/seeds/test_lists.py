"""Tests for crawler.seeds.lists: reading URLs from arguments and files, skipping non-URLs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from crawler.errors import InputError
from crawler.seeds import SeedReader, count_seed_lines


async def read_all(reader: SeedReader) -> list[str]:
    return [url async for url in reader]


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


async def test_cli_urls_come_first_then_files_in_order(tmp_path: Path) -> None:
    first = write(tmp_path / "first.txt", "http://f1.test/a\nhttp://f1.test/b\n")
    second = write(tmp_path / "second.txt", "https://f2.test/\n")
    reader = SeedReader(urls=["http://cli.test/1", "http://cli.test/2"], files=[first, second])

    assert await read_all(reader) == [
        "http://cli.test/1",
        "http://cli.test/2",
        "http://f1.test/a",
        "http://f1.test/b",
        "https://f2.test/",
    ]
    assert reader.invalid == 0


async def test_urls_are_normalized(tmp_path: Path) -> None:
    seeds = write(tmp_path / "seeds.txt", "   http://bücher.example/a%20b  \n")
    reader = SeedReader(files=[seeds])
    assert await read_all(reader) == ["http://xn--bcher-kva.example/a%20b"]


@pytest.mark.parametrize(
    "line", ["http://a.test/a.html\tcomment", "http://a.test/a.html extra words"]
)
async def test_a_list_line_is_its_first_field_and_more_text_is_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, line: str
) -> None:
    seeds = write(tmp_path / "seeds.txt", f"http://a.test/first\n{line}\n")
    reader = SeedReader(files=[seeds])
    with caplog.at_level(logging.WARNING, logger="crawler.seeds"):
        urls = await read_all(reader)
    assert urls == ["http://a.test/first", "http://a.test/a.html"]
    rest = line.split(None, 1)[1]
    assert [r.getMessage() for r in caplog.records] == [
        f"{seeds}:2: text after the URL ignored: {rest!r} (a space in a URL is %20)"
    ]


async def test_a_comment_after_the_url_is_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seeds = write(tmp_path / "seeds.txt", "http://a.test/x   # the home page\n")
    with caplog.at_level(logging.WARNING, logger="crawler.seeds"):
        assert await read_all(SeedReader(files=[seeds])) == ["http://a.test/x"]
    assert caplog.records == []


async def test_blank_lines_and_comments_are_skipped(tmp_path: Path) -> None:
    seeds = write(
        tmp_path / "seeds.txt",
        "# my seeds\n\nhttp://a.test/\n   \n   # indented comment\n\t\nhttp://b.test/\n",
    )
    reader = SeedReader(files=[seeds])
    assert await read_all(reader) == ["http://a.test/", "http://b.test/"]
    assert reader.invalid == 0


async def test_invalid_lines_are_skipped_with_a_warning_naming_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seeds = write(
        tmp_path / "seeds.txt",
        "http://ok.test/1\n# comment\nftp://files.test/x\n\nnot a url\nhttp://ok.test/2\n",
    )
    reader = SeedReader(files=[seeds])

    with caplog.at_level(logging.WARNING, logger="crawler.seeds"):
        urls = await read_all(reader)

    assert urls == ["http://ok.test/1", "http://ok.test/2"]
    assert reader.invalid == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert f"{seeds}:3" in warnings[0]
    assert "ftp://files.test/x" in warnings[0]
    assert f"{seeds}:5" in warnings[1]
    assert "in the line 'not a url'" in warnings[1]


async def test_invalid_cli_url_is_skipped_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    reader = SeedReader(urls=["http://ok.test/", "mailto:x@y.test", "http://ok.test/2"])
    with caplog.at_level(logging.WARNING, logger="crawler.seeds"):
        urls = await read_all(reader)
    assert urls == ["http://ok.test/", "http://ok.test/2"]
    assert reader.invalid == 1
    assert "argument 2" in caplog.text


async def test_windows_line_endings_and_no_final_newline(tmp_path: Path) -> None:
    seeds = tmp_path / "windows.txt"
    seeds.write_bytes(b"http://a.test/1\r\n# note\r\n\r\nbad line\r\nhttp://a.test/2")
    reader = SeedReader(files=[seeds])

    assert await read_all(reader) == ["http://a.test/1", "http://a.test/2"]
    assert reader.invalid == 1
    assert await count_seed_lines([seeds]) == 3


async def test_line_numbers_count_past_the_read_chunk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Enough lines to need several reads of the file: numbering must stay exact across them.
    lines = [f"http://a.test/{n:06d}" for n in range(30_000)]
    lines[25_000 - 1] = "bad line"
    seeds = write(tmp_path / "many.txt", "\n".join(lines) + "\n")
    reader = SeedReader(files=[seeds])

    with caplog.at_level(logging.WARNING, logger="crawler.seeds"):
        urls = await read_all(reader)

    assert len(urls) == 29_999
    assert urls[:2] == ["http://a.test/000000", "http://a.test/000001"]
    assert urls[-1] == "http://a.test/029999"
    assert f"{seeds}:25000:" in caplog.text


def test_check_raises_for_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputError, match="not found"):
        SeedReader(files=[missing]).check()


def test_check_raises_for_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="folder"):
        SeedReader(files=[tmp_path]).check()


def test_check_names_the_bad_file(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", "http://a.test/\n")
    missing = tmp_path / "missing-seeds.txt"
    with pytest.raises(InputError, match=re.escape(str(missing))):
        SeedReader(files=[good, missing]).check()


def test_check_passes_for_readable_files(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", "http://a.test/\n")
    SeedReader(urls=["http://b.test/"], files=[good]).check()


async def test_reading_a_missing_file_raises_input_error(tmp_path: Path) -> None:
    reader = SeedReader(files=[tmp_path / "gone.txt"])
    with pytest.raises(InputError, match=r"gone\.txt"):
        await read_all(reader)


async def test_count_seed_lines_counts_non_blank_non_comment_lines(tmp_path: Path) -> None:
    one = write(tmp_path / "one.txt", "# header\nhttp://a.test/\n\nnot a url\nhttp://b.test/\n")
    two = write(tmp_path / "two.txt", "http://c.test/")
    empty = write(tmp_path / "empty.txt", "")
    assert await count_seed_lines([one, two, empty]) == 4
    assert await count_seed_lines([]) == 0


@pytest.mark.parametrize(
    ("urls", "lines", "message"),
    [
        (["http://ok.test:99999/"], "", "no valid URL to crawl: the seed is invalid"),
        ([], "ftp://files.test/x\nnot a url\n", "no valid URL to crawl: all 2 seeds are invalid"),
    ],
)
async def test_seeds_that_are_all_invalid_are_an_input_error(
    tmp_path: Path, urls: list[str], lines: str, message: str
) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(lines)
    reader = SeedReader(urls=urls, files=[seeds])
    with pytest.raises(InputError, match=message):
        await read_all(reader)


async def test_no_seeds_at_all_is_no_error(tmp_path: Path) -> None:
    # A resumed crawl or a sitemap-only job may bring no seeds of its own.
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    assert await read_all(SeedReader(files=[empty])) == []


async def test_thousands_of_junk_lines_are_ten_warnings_and_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [f"junk,{n},{'x' * 500}" for n in range(3000)]
    lines[1500] = "http://ok.test/in-the-middle"
    seeds = write(tmp_path / "mostly-junk.txt", "\n".join(lines))
    with caplog.at_level(logging.WARNING, logger="crawler.seeds"):
        urls = await read_all(SeedReader(files=[seeds]))
    assert urls == ["http://ok.test/in-the-middle"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 11
    assert warnings[0].startswith(f"{seeds}:1: ")
    assert warnings[9].startswith(f"{seeds}:10: ")
    assert warnings[-1] == f"{seeds}: … and 2,989 more invalid lines (skipped)"
    assert all(len(warning) < 600 for warning in warnings)  # a long line is clipped


async def test_a_binary_file_is_one_error_line_not_a_warning_per_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    binary = tmp_path / "crawl.sqlite"
    binary.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40 + b"\nhttp://a.test/\n")
    with (
        caplog.at_level(logging.WARNING, logger="crawler.seeds"),
        pytest.raises(InputError) as raised,
    ):
        await read_all(SeedReader(files=[binary]))
    assert str(raised.value) == (
        f"no valid URL to crawl: {binary} is not a URL list (binary data, or text not in UTF-8)"
    )
    assert caplog.records == []
    assert await count_seed_lines([binary]) == 0


async def test_a_file_of_nothing_but_junk_is_named_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    junk = write(tmp_path / "pages.csv", "\n".join(f"row {n},a,b" for n in range(3000)))
    with (
        caplog.at_level(logging.WARNING, logger="crawler.seeds"),
        pytest.raises(InputError) as raised,
    ):
        await read_all(SeedReader(files=[junk]))
    assert str(raised.value) == (
        f"no valid URL to crawl: {junk} is not a URL list "
        "(none of its 3,000 lines is an http(s) URL)"
    )
    assert caplog.records == []


async def test_a_file_that_is_no_url_list_beside_a_good_one_is_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 500)
    good = write(tmp_path / "good.txt", "http://a.test/\n")
    with caplog.at_level(logging.WARNING, logger="crawler.seeds"):
        urls = await read_all(SeedReader(files=[good, binary]))
    assert urls == ["http://a.test/"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{binary} is not a URL list (binary data, or text not in UTF-8) (skipped)"
    ]
