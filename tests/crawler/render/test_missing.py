"""Rendering that cannot start says so in one line, before anything is launched or
written: Playwright not installed, no Chromium, a Chromium that does not start."""

from __future__ import annotations

import sys

import pytest

from crawler.errors import BrowserMissing, ConfigError
from crawler.fetch import Fetcher
from crawler.render import BrowserPool, check_browser
from crawler.settings import FetchSettings, RenderSettings


def settings(**values: object) -> RenderSettings:
    return RenderSettings.model_validate(values)


async def start(render: RenderSettings) -> None:
    async with Fetcher(FetchSettings()) as fetcher:
        pool = BrowserPool(render, fetcher=fetcher, allow_private=False)
        try:
            await pool.start()
        finally:
            await pool.aclose()


def test_the_installed_chromium_is_found_on_path() -> None:
    check_browser(settings())  # /usr/bin/chromium: raises nothing


async def test_a_browser_path_that_is_not_there_is_refused_in_one_line(tmp_path) -> None:
    missing = settings(browser=str(tmp_path / "chromium"))
    expected = f"rendering needs Chromium: {tmp_path / 'chromium'} is not an executable file"

    with pytest.raises(BrowserMissing) as checked:
        check_browser(missing)
    with pytest.raises(BrowserMissing) as started:
        await start(missing)

    assert isinstance(checked.value, ConfigError)  # exit 2, a usage problem
    for error in (checked.value, started.value):
        assert str(error).startswith(expected)
        assert "\n" not in str(error)


def test_no_chromium_on_path_is_refused_naming_the_package(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(BrowserMissing) as info:
        check_browser(settings())

    assert str(info.value) == (
        "rendering needs Chromium: none found (install the chromium package or set "
        "[render] browser)"
    )


async def test_playwright_not_installed_is_refused_naming_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright.async_api", None)  # import fails

    with pytest.raises(BrowserMissing) as checked:
        check_browser(settings())
    with pytest.raises(BrowserMissing) as started:
        await start(settings())

    for error in (checked.value, started.value):
        assert str(error) == "rendering needs Playwright: pip install 'parcrawl[render]'"


async def test_a_program_that_is_no_browser_fails_to_start_in_one_line() -> None:
    with pytest.raises(BrowserMissing) as info:
        await start(settings(browser="/bin/true"))

    assert str(info.value).startswith("rendering needs Chromium: /bin/true did not start (")
    assert "\n" not in str(info.value)
