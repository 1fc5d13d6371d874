"""The ``[content]`` section: the engine, its limits and the files it writes, from a job
file or values, refused in plain words; checked before a crawl touches any file."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest

from crawler.api import Crawl
from crawler.errors import (
    ConfigError,
    ContentError,
    ContentTimeLimit,
    ExtraMissing,
    OutputError,
    UsageError,
)
from crawler.jobfile import load_job
from crawler.outputs import check_crawl_files
from crawler.settings import Settings, build_settings
from pipelines.worker import content


def test_content_is_off_unless_asked_for() -> None:
    settings = Settings()

    assert settings.content.engine == "off"
    assert settings.content.markdown_dir is None
    assert settings.content.llms_txt is None


def test_a_markdown_folder_or_llms_txt_alone_gets_the_precise_engine() -> None:
    assert build_settings({"content": {"markdown_dir": "md"}}).content.engine == "precise"
    assert build_settings({"content": {"llms_txt": "llms.txt"}}).content.engine == "precise"
    fast = build_settings({"content": {"engine": "fast", "markdown_dir": "md"}})
    assert fast.content.engine == "fast"


def test_files_with_the_engine_turned_off_are_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        build_settings({"content": {"engine": "off", "markdown_dir": "md"}})

    assert str(info.value) == "content.markdown_dir: needs a content engine, not engine = 'off'"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"engine": "best"}, "content.engine: must be 'off', 'precise' or 'fast', got 'best'"),
        ({"time_limit_s": 0}, "content.time_limit_s: must be > 0.0, got 0"),
        ({"images": "yes"}, "content.images: must be true or false, got 'yes'"),
        ({"pdf_files": True}, "content.pdf_files: unknown setting"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_settings({"content": values})

    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("llms_txt", "full"),
    [
        ("out/llms.txt", "out/llms-full.txt"),
        ("llms.md", "llms-full.md"),
        ("out.d/llms", "out.d/llms-full"),
    ],
)
def test_llms_full_txt_goes_beside_llms_txt(llms_txt: str, full: str) -> None:
    settings = build_settings({"content": {"llms_txt": llms_txt}})

    assert settings.content.llms_full_txt == str(Path(full))


def test_a_job_files_content_paths_resolve_against_its_folder(tmp_path: Path) -> None:
    job = tmp_path / "jobs" / "docs.toml"
    job.parent.mkdir()
    job.write_text(
        "seeds = ['http://127.0.0.1:9/']\n"
        "[content]\nengine = 'fast'\nmarkdown_dir = 'out/md'\nllms_txt = 'out/llms.txt'\n"
        "site_title = 'Docs'\n"
    )

    settings = load_job(job).settings

    assert settings.content.engine == "fast"
    assert settings.content.markdown_dir == str(job.parent / "out" / "md")
    assert settings.content.llms_txt == str(job.parent / "out" / "llms.txt")
    assert settings.content.site_title == "Docs"


def test_a_markdown_folder_where_a_file_stands_stops_the_crawl_touching_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "md").write_text("not a folder")
    settings = build_settings({"content": {"markdown_dir": str(tmp_path / "md")}})

    with pytest.raises(OutputError) as info:
        check_crawl_files(settings)

    assert info.value.exit_code == 2
    assert "it is a file, not a folder" in str(info.value)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["md"]


def test_llms_files_under_a_file_stop_the_crawl(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    settings = build_settings({"content": {"llms_txt": str(tmp_path / "out" / "llms.txt")}})

    with pytest.raises(OutputError, match="is a file, not a folder") as info:
        check_crawl_files(settings)
    assert info.value.exit_code == 2


def test_a_missing_markdown_folder_passes_and_is_not_made_yet(tmp_path: Path) -> None:
    settings = build_settings({"content": {"markdown_dir": str(tmp_path / "new" / "md")}})

    check_crawl_files(settings)

    assert list(tmp_path.iterdir()) == []


def test_a_missing_extra_stops_the_crawl_before_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "html_to_markdown", None)
    monkeypatch.setattr(
        "importlib.util.find_spec", lambda name, *a: None if name == "html_to_markdown" else 1
    )
    settings = build_settings({"content": {"engine": "fast"}})

    with pytest.raises(ExtraMissing) as info:
        Crawl(settings).check()

    assert info.value.exit_code == 2
    assert "pip install 'parcrawl[content]'" in str(info.value)
    Crawl(Settings()).check()  # content off: nothing to check


def test_the_engines_errors_are_the_kernels_and_cross_the_process_boundary() -> None:
    with pytest.raises(ContentError):
        content.parse_html("")
    assert issubclass(ExtraMissing, UsageError)

    back = pickle.loads(pickle.dumps(ContentTimeLimit(2.5)))

    assert isinstance(back, ContentTimeLimit)
    assert back.time_limit_s == 2.5
    assert str(back) == "content extraction took longer than 2.5 s"


def test_fetchers_share_the_markdown_folder_and_leave_llms_txt_to_the_parent() -> None:
    from cli.fetchers import fetcher_output  # noqa: PLC0415

    settings = build_settings(
        {
            "output": {"jsonl": "out.jsonl"},
            "cluster": {"frontier": "redis://127.0.0.1:9/0", "crawl_id": "x", "fetchers": 2},
            "content": {"markdown_dir": "md", "llms_txt": "llms.txt"},
        }
    )

    child = fetcher_output(settings, 1)

    assert child.content.markdown_dir == "md"
    assert child.content.llms_txt is None
    assert child.content.engine == "precise"
