"""The ``[render]`` section: its defaults, bad values refused in one plain line naming the
key, and the per-URL rules (host with its subdomains, URL regex, later over earlier)."""

from __future__ import annotations

import pytest

from crawler.errors import ConfigError
from crawler.settings import RenderChoice, RenderRules, RenderSettings, Settings, build_settings


def test_rendering_is_off_unless_asked_for() -> None:
    render = Settings().render

    assert render.mode == "never"
    assert render.block == ["image", "media", "font"]
    assert render.memory_limit == 1024**3
    assert render.page_heap == 256 * 1024**2
    assert not RenderRules(render).renders


def test_sizes_take_units() -> None:
    render = build_settings({"render": {"memory_limit": "2GB", "page_heap": "64MiB"}}).render

    assert render.memory_limit == 2 * 1000**3
    assert render.page_heap == 64 * 1024**2


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "often"}, "render.mode: must be 'never', 'auto' or 'always', got 'often'"),
        ({"concurrency": 0}, "render.concurrency: must be >= 1, got 0"),
        ({"concurrency": 33}, "render.concurrency: must be <= 32, got 33"),
        ({"timeout_s": 0}, "render.timeout_s: must be > 0.0, got 0"),
        ({"wait": "idle"}, "render.wait: must be 'load' or 'networkidle', got 'idle'"),
        ({"memory_limit": "lots"}, "render.memory_limit: not a size: 'lots'"),
        ({"allow_origins": ["cdn.example.com"]}, "render.allow_origins: not an origin"),
        ({"block": ["images"]}, "render.block: not a resource type: 'images' (document, "),
        ({"rules": [{"mode": "always"}]}, "render.rules[0]: a render rule needs host or match"),
        ({"rules": [{"match": "("}]}, "render.rules[0].match: not a valid regex"),
        ({"rules": [{"host": "a.example", "wait": "load"}]}, "render.rules[0].wait: unknown"),
        ({"headless": False}, "render.headless: unknown setting"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_settings({"render": values})

    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_rules_override_the_section_for_their_host_and_its_subdomains() -> None:
    render = RenderSettings.model_validate(
        {
            "mode": "auto",
            "wait_for": "main",
            "rules": [
                {"host": "App.Example.com", "mode": "always"},
                {"match": r"/dashboard/", "wait_for": "#chart"},
                {"host": "static.example.com", "mode": "never"},
            ],
        }
    )
    rules = RenderRules(render)

    assert rules.renders
    assert rules.choice("https://app.example.com/") == RenderChoice("always", "main")
    assert rules.choice("https://eu.app.example.com/x") == RenderChoice("always", "main")
    assert rules.choice("https://notapp.example.com/") == RenderChoice("auto", "main")
    assert rules.choice("https://app.example.com/dashboard/1") == ("always", "#chart")
    assert rules.choice("https://static.example.com/dashboard/") == ("never", "#chart")
    assert rules.choice("https://other.example/") == RenderChoice("auto", "main")


def test_a_rule_that_renders_one_site_makes_the_crawl_render() -> None:
    render = RenderSettings.model_validate({"rules": [{"host": "app.example", "mode": "auto"}]})
    rules = RenderRules(render)

    assert rules.renders
    assert rules.choice("http://app.example/").mode == "auto"
    assert rules.choice("http://example.org/").mode == "never"
