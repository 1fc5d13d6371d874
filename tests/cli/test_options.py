"""The flags that set settings: every one is a settings path with a description, and the
help shows the schema's description and default (one table, the schema's)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli import OPTIONS, main
from cli.options import schema_field
from crawler.settings import Settings
from crawler.settings.sizes import parse_size
from tests.support.cli import parcrawl

DEFAULTS = Settings()


def setting(path: str) -> object:
    value: object = DEFAULTS
    for key in path.split("."):
        value = getattr(value, key)
    return value


def flag_helps(help_text: str) -> dict[str, str]:
    """Each flag of a ``--help`` text (by its first name) and its entry, the flags and their
    help, on one line with single spaces (as wrapped for any width)."""
    entries: list[list[str]] = []
    for line in help_text.splitlines():
        if line.startswith("  -"):
            entries.append([line])
        elif line.startswith("   ") and entries:
            entries[-1].append(line)
    return {lines[0].split()[0].rstrip(","): " ".join(" ".join(lines).split()) for lines in entries}


def test_every_option_is_a_settings_path_with_a_description() -> None:
    for path in OPTIONS:
        field = schema_field(path)  # KeyError: no such setting
        assert field.description, f"{path} has no description in crawler/settings.py"
        setting(path)  # a job-file key too


def test_an_unknown_path_is_no_settings_field() -> None:
    with pytest.raises(KeyError):
        schema_field("fetch.no_such_key")


@pytest.fixture(scope="module")
def crawl_help() -> dict[str, str]:
    result = parcrawl("crawl", "--help")
    assert result.returncode == 0, result.stderr
    return flag_helps(result.stdout)


def described(path: str) -> str:
    """The schema's description as the help says it: no final period, first word lowered."""
    text = schema_field(path).description or ""
    return text.removesuffix(".").lower()


@pytest.mark.parametrize(
    ("path", "flag"),
    [
        ("fetch.concurrency", "--concurrency"),
        ("fetch.per_host", "--per-host"),
        ("batch_size", "--batch-size"),
        ("fetch.user_agent", "--user-agent"),
        ("cluster.executor", "--executor"),
    ],
)
def test_crawl_help_shows_the_schema_s_description_and_default(
    crawl_help: dict[str, str], path: str, flag: str
) -> None:
    expected = f"{described(path)} (default {setting(path)})"
    assert crawl_help[flag].lower().endswith(f" {expected.lower()}"), crawl_help[flag]


def test_crawl_help_shows_sizes_and_seconds_as_the_flag_takes_them(
    crawl_help: dict[str, str],
) -> None:
    size = re.fullmatch(r"--max-bytes SIZE (.*) \(default (\S+)\)", crawl_help["--max-bytes"])
    assert size is not None
    assert size.group(1).lower() == described("fetch.max_bytes")
    assert parse_size(size.group(2)) == DEFAULTS.fetch.max_bytes  # 10MiB, as -max-bytes takes
    timeout = re.fullmatch(r"--timeout S (.*) \(default (\S+) s\)", crawl_help["--timeout"])
    assert timeout is not None
    assert timeout.group(1).lower() == described("fetch.timeout_s")
    assert float(timeout.group(2)) == DEFAULTS.fetch.timeout_s


def test_switches_and_repeatable_flags_say_so_instead_of_a_default(
    crawl_help: dict[str, str],
) -> None:
    assert crawl_help["--follow"].lower() == f"--follow {described('follow')}"
    assert crawl_help["--include"].lower() == (
        f"--include regex {described('scope.include')}; repeatable"
    )
    assert crawl_help["--ignore-robots"].lower() == (
        f"--ignore-robots {described('robots.obey')} (default on; this flag turns it off)"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["crawl", "--cont", "http://127.0.0.1:9/"],  # was --content, the URL its engine
        ["crawl", "--max-p", "3", "http://127.0.0.1:9/"],
    ],
)
def test_a_flag_cut_short_is_refused_in_one_line_before_anything_is_written(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(SystemExit) as stopped:
        main([*argv, "-o", str(out)])

    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"parcrawl: error: unrecognized arguments: {argv[1]}")
    assert "\n" not in error
    assert not out.exists()
