"""Rendering through the Python API, in a real Chromium: ``render=`` as a mode or a table,
with a rule per URL. One browser start per test: marked slow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawler import crawl
from tests.support.routes import Reply, RouteServer
from tests.support.spa import app_server, static_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app() -> Iterator[RouteServer]:
    with app_server() as server:
        yield server


def test_always_renders_every_html_page(app: RouteServer) -> None:
    with static_server() as static:
        result = crawl([app.url("/p/1"), static.url("/s/1")], workers=0, render="always")
    pages = result.by_url()
    built = pages[app.url("/p/1")]
    assert (built["rendered"], built["render_reason"], built["title"]) == (
        True,
        "always",
        "Product 1",
    )
    assert pages[static.url("/s/1")]["render_reason"] == "always"
    assert sum(result.stats.rendered.values()) == 2


def test_a_rule_renders_its_pages_in_a_crawl_that_does_not(app: RouteServer) -> None:
    render = {"mode": "never", "rules": [{"match": "/p/1$", "mode": "always"}]}
    result = crawl([app.url("/p/1"), app.url("/p/2")], workers=0, render=render)
    pages = result.by_url()
    assert pages[app.url("/p/1")]["render_reason"] == "rule"
    assert pages[app.url("/p/1")]["title"] == "Product 1"
    assert (pages[app.url("/p/2")]["rendered"], pages[app.url("/p/2")]["render_reason"]) == (
        False,
        "never",
    )
    assert pages[app.url("/p/2")]["title"] == "Loading"  # the shell, as fetched


def test_a_page_served_in_another_charset_is_read_from_its_dom_in_utf_8() -> None:
    latin = "<title>Caf\u00e9</title><p>d\u00e9j\u00e0 vu</p><script>var x = 1;</script>"
    reply = Reply(body=latin.encode("windows-1252"), content_type="text/html; charset=windows-1252")
    with RouteServer({"/": lambda _path: reply}) as server:
        result = crawl(server.url("/"), workers=0, render="always")
    (record,) = result.records
    assert (record["rendered"], record["title"]) == (True, "Caf\u00e9")
    assert record["content_type"] == "text/html; charset=utf-8"
