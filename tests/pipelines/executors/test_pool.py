"""Tests for pipelines.executors.pool: whether workers need the user's ``__main__``, and when
they cannot."""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from pathlib import Path

import pytest

from crawler.errors import ConfigError
from crawler.models import PageFields
from crawler.settings import ExtractSettings, StepSettings
from pipelines.executors import needs_main
from pipelines.worker import PageProcessor, parse_page


def fake_main(monkeypatch: pytest.MonkeyPatch, script: Path | None) -> types.ModuleType:
    """Stand in for the user's main module: a script file, or code from stdin (no file)."""
    main = types.ModuleType("__main__")
    if script is not None:
        script.write_text("# the user's crawl script\n")
        main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    return main


def parse_in_main(main: types.ModuleType) -> PageProcessor:
    def my_parse(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
        return parse_page(url, body, headers)

    my_parse.__module__ = "__main__"
    my_parse.__qualname__ = "my_parse"
    main.my_parse = my_parse  # type: ignore[attr-defined]
    return PageProcessor(my_parse)


def test_the_default_processor_needs_nothing_from_main() -> None:
    steps = [StepSettings.model_validate({"use": "tests.support.user_steps:tag", "label": "k"})]
    assert not needs_main(PageProcessor())
    assert not needs_main(PageProcessor.from_settings(ExtractSettings(), steps))


def test_a_parse_function_in_a_script_needs_main(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    main = fake_main(monkeypatch, tmp_path / "crawl.py")
    assert needs_main(parse_in_main(main))


def test_a_parse_function_from_stdin_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    main = fake_main(monkeypatch, None)
    with pytest.raises(ConfigError, match=r"'my_parse' is defined in the main module.*workers = 0"):
        needs_main(parse_in_main(main))


def test_a_step_named_in_main_from_stdin_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    main = fake_main(monkeypatch, None)
    main.shout = lambda record: record  # type: ignore[attr-defined]
    steps = [StepSettings.model_validate({"use": "__main__:shout"})]
    with pytest.raises(ConfigError, match=r"the step '__main__:shout' is defined in the main"):
        needs_main(PageProcessor.from_settings(ExtractSettings(), steps))
