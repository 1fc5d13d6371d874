"""Tests for crawler.settings: defaults, and one-line errors naming the bad setting."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.errors import ConfigError, UsageError
from crawler.settings import FetchSettings, Settings, build_settings


def error_of(values: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        build_settings(values)
    return str(info.value)


def test_defaults() -> None:
    settings = build_settings({})
    assert isinstance(settings, Settings)
    fetch = settings.fetch
    assert fetch.concurrency == 16
    assert fetch.per_host == 4
    assert fetch.max_redirects == 10
    assert fetch.max_bytes == 10 * 1024 * 1024
    assert fetch.timeout_s > 0
    assert fetch.connect_timeout_s > 0
    assert fetch.read_timeout_s > 0
    assert "parcrawl" in fetch.user_agent
    assert settings.workers >= 0
    assert settings.batch_size >= 1


def test_values_override_defaults_and_leave_the_rest() -> None:
    settings = build_settings({"fetch": {"per_host": 2, "timeout_s": 5}})
    assert settings.fetch.per_host == 2
    assert settings.fetch.timeout_s == 5.0
    assert settings.fetch.concurrency == 16
    assert settings.fetch == FetchSettings(per_host=2, timeout_s=5)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"fetch": {"per_host": 0}}, "fetch.per_host: must be >= 1, got 0"),
        ({"fetch": {"concurrency": 0}}, "fetch.concurrency: must be >= 1, got 0"),
        ({"fetch": {"concurrency": 20_000}}, "fetch.concurrency: must be <= 10000, got 20000"),
        ({"fetch": {"max_redirects": -1}}, "fetch.max_redirects: must be >= 0, got -1"),
        ({"workers": -1}, "workers: must be >= 0, got -1"),
        ({"batch_size": 0}, "batch_size: must be >= 1, got 0"),
    ],
)
def test_bound_errors_name_the_key_path(values: dict[str, Any], message: str) -> None:
    assert error_of(values) == message


def test_timeout_must_be_positive() -> None:
    message = error_of({"fetch": {"timeout_s": 0}})
    assert message.startswith("fetch.timeout_s: must be > 0")
    assert message.endswith("got 0")


def test_wrong_type_names_key_and_value() -> None:
    message = error_of({"fetch": {"concurrency": "many"}})
    assert message == "fetch.concurrency: must be a whole number, got 'many'"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"fetch": {"per_hots": 3}}, "fetch.per_hots: unknown setting"),
        ({"fecth": {"per_host": 3}}, "fecth: unknown setting"),
        ({"threads": 3}, "threads: unknown setting"),
    ],
)
def test_unknown_keys_are_rejected(values: dict[str, Any], message: str) -> None:
    assert error_of(values) == message


def test_every_problem_is_reported_on_one_line() -> None:
    message = error_of({"fetch": {"per_host": 0, "concurrency": 0, "bogus": 1}})
    assert "\n" not in message
    assert "fetch.per_host: must be >= 1, got 0" in message
    assert "fetch.concurrency: must be >= 1, got 0" in message
    assert "fetch.bogus: unknown setting" in message


def test_config_error_is_a_usage_error_with_exit_code_2() -> None:
    with pytest.raises(UsageError) as info:
        build_settings({"fetch": {"per_host": 0}})
    assert info.value.exit_code == 2


def test_settings_are_frozen() -> None:
    settings = build_settings({})
    with pytest.raises(ValueError, match="frozen"):
        settings.fetch.per_host = 99  # type: ignore[misc]


@pytest.mark.parametrize("key", ["seeds", "seeds_file"])
def test_seeds_and_seeds_file_take_one_string_or_a_list(key: str) -> None:
    assert getattr(build_settings({key: "one"}), key) == ["one"]
    assert getattr(build_settings({key: ["one", "two"]}), key) == ["one", "two"]
    assert getattr(Settings.model_validate({key: "one"}), key) == ["one"]
    assert error_of({key: 3}) == f"{key}: must be a list, got 3"


def test_worker_memory_is_a_limit_a_worker_can_start_with_or_zero_for_none() -> None:
    assert build_settings({}).worker_memory_mb == 512
    assert build_settings({"worker_memory_mb": 0}).worker_memory_mb == 0
    assert error_of({"worker_memory_mb": 64}) == (
        "worker_memory_mb: must be 0 (no limit) or >= 128, got 64"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"recrawl": True}, "recrawl: needs a state file to compare with (--state FILE) "
         "or a shared frontier (--frontier REDIS_URL)"),
        ({"changed_only": True}, "changed_only: needs recrawl (--recrawl)"),
        ({"cluster": {"fetchers": 2}},
         "cluster.fetchers: 2 fetchers need a shared frontier (--frontier REDIS_URL)"),
        ({"cluster": {"frontier": "redis://h/0"}},
         "cluster.crawl_id: a shared frontier needs a crawl id (--crawl-id NAME)"),
        ({"cluster": {"frontier": "http://u:pw@h/", "crawl_id": "x"}},
         "cluster.frontier: not a Redis URL: 'http://u:***@h/' (redis://host:6379/0, "
         "rediss:// for TLS)"),
        ({"follow": "yes"}, "follow: must be true or false, got 'yes'"),
        ({"fetch": {"max_bytes": True}}, "fetch.max_bytes: must be a whole number, got true"),
        ({"fetch": {"timeout_s": "3"}}, "fetch.timeout_s: must be a number, got '3'"),
        ({"fetch": 3}, "fetch: must be a table, got 3"),
        ({"parser": "html5"}, "parser: must be 'lxml' or 'bs4', got 'html5'"),
        ({"output": {"warc": "a.warc"}},
         "output.warc: must end in .warc.gz (each record is gzipped on its own), got 'a.warc'"),
        ({"extract": {"fields": {"price": {"css": "p", "default": {"a": 1}}}}},
         "extract.fields.price.default: must be a string, a whole number, a number, "
         "true or false or a list of strings"),
        ({"state": "s.crawl", "cluster": {"frontier": "redis://h/0", "crawl_id": "x"}},
         "state: a state file and a shared frontier (--frontier) do not go together: a shared "
         "crawl keeps its state in Redis (run again with the same crawl id to resume it)"),
    ],
)  # fmt: skip
def test_errors_are_plain_words_not_pydantic(values: dict[str, Any], message: str) -> None:
    assert error_of(values) == message


SIZE_KEYS = [("fetch", "max_bytes"), ("robots", "max_bytes"), ("output", "warc_max_size")]


@pytest.mark.parametrize(("section", "key"), SIZE_KEYS)
@pytest.mark.parametrize(
    ("size", "size_bytes"),
    [
        ("5MB", 5_000_000),
        ("5MiB", 5 * 1024**2),
        ("5000000", 5_000_000),
        (5_000_000, 5_000_000),
        ("5 mb", 5_000_000),
        ("1.5GB", 1_500_000_000),
        ("64KiB", 65_536),
    ],
)
def test_every_size_key_takes_the_same_forms(
    section: str, key: str, size: str | int, size_bytes: int
) -> None:
    settings = build_settings({section: {key: size}})
    assert getattr(getattr(settings, section), key) == size_bytes


@pytest.mark.parametrize(("section", "key"), SIZE_KEYS)
def test_a_size_that_is_not_one_says_how_to_write_one(section: str, key: str) -> None:
    assert error_of({section: {key: "5XB"}}) == (
        f"{section}.{key}: not a size: '5XB' (bytes, or with a unit: 5MB, 5MiB, 1.5GB)"
    )
