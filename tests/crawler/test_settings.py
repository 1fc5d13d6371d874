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
    assert message.startswith("fetch.concurrency: ")
    assert "integer" in message
    assert "'many'" in message


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
    assert error_of({key: 3}).startswith(f"{key}: input should be a valid list, got 3")


def test_worker_memory_is_a_limit_a_worker_can_start_with_or_zero_for_none() -> None:
    assert build_settings({}).worker_memory_mb == 512
    assert build_settings({"worker_memory_mb": 0}).worker_memory_mb == 0
    assert error_of({"worker_memory_mb": 64}) == (
        "worker_memory_mb: value error, must be 0 (no limit) or >= 128, got 64"
    )
