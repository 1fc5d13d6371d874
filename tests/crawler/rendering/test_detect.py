"""The guess at pages built by script: application shells flagged, static pages left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.demo import SyntheticSite
from crawler.rendering import page_shape, script_built

BUNDLE = '<script src="/static/app.3f2a.js"></script>'
PROSE = "<p>" + "A paragraph of ordinary prose that a reader would read. " * 12 + "</p>"
PYDOCS = Path("/usr/share/doc/python3.11/html")


def page(body: str, head: str = "") -> bytes:
    head = f"<head><title>t</title>{head}</head>"
    return f"<!doctype html><html>{head}<body>{body}</body></html>".encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f'<div id="root"></div>{BUNDLE}', "empty_root"),
        (f"<div id='app'>  </div>{BUNDLE}", "empty_root"),
        (f'<div id="__next"></div>{BUNDLE}', "empty_root"),
        (f"<app-root></app-root>{BUNDLE}", "empty_root"),
        (f"<div data-reactroot></div>{BUNDLE}", "empty_root"),
        (
            f"<noscript>You need to enable JavaScript to run this app.</noscript>"
            f'<div id="main"><p>Loading the catalogue of products...</p></div>{BUNDLE}',
            "noscript",
        ),
        (f"<div class='spinner'>Loading...</div>{BUNDLE}", "little_text"),
        (
            '<div class="shell"><h1>Shop</h1></div>'
            '<script id="__NEXT_DATA__" type="application/json">{"props":{}}</script>' + BUNDLE,
            "framework",
        ),
    ],
)
def test_a_shell_is_flagged_with_its_reason(body: str, reason: str) -> None:
    assert script_built(page(body)) == reason


@pytest.mark.parametrize(
    "body",
    [
        PROSE,  # no script at all
        PROSE + BUNDLE,  # scripts around plenty of text
        f'<div id="root">{PROSE}</div>{BUNDLE}',  # a server-rendered application
        f'<div id="app" data-server-rendered="true">{PROSE}</div>{BUNDLE}',
        f"<noscript>Please enable JavaScript for the search box.</noscript>{PROSE * 3}{BUNDLE}",
        "<p>A short page with no script.</p>",
    ],
)
def test_a_static_page_is_not(body: str) -> None:
    assert script_built(page(body)) is None


@pytest.mark.parametrize("offset", [0, 10_000, 16_000, 16_380, 30_000])
def test_text_inside_a_long_inline_script_is_never_read_as_the_pages(offset: int) -> None:
    # the page's bytes are read a window at a time: a script across a window's edge
    state = "<script>window.state = '" + "data of the application " * 4000 + "';</script>"
    padding = "<div class='x'></div>" * (offset // 21)  # tags, no text: moves the script
    shell = page(f"{padding}<div class='spinner'>Loading...</div>{state}")
    assert script_built(shell) == "little_text"


def test_markup_that_is_no_page_is_not() -> None:
    assert script_built(b"") is None
    assert script_built(b"  \n") is None


def test_no_page_of_the_demo_site_is() -> None:
    site = SyntheticSite(pages=150)
    flagged = [path for path in site.html_paths() if script_built(site.response(path)[2])]
    assert flagged == []


def test_no_page_of_the_python_docs_is_but_the_search_page() -> None:
    # scripts/system-packages installs python3.11-doc
    assert PYDOCS.is_dir()
    flagged = {
        path.relative_to(PYDOCS).as_posix()
        for path in PYDOCS.rglob("*.html")
        if script_built(path.read_bytes())
    }
    assert flagged <= {"search.html"}  # its results are built by script


def test_a_page_shape_counts_visible_text_and_absolute_links() -> None:
    html = page(
        '<p>Hello <b>world</b></p><script>var hidden = "no";</script>'
        '<a href="/a">a</a><a href="b#x">b</a><a href="#top">top</a>'
        '<a href="mailto:x@example.org">m</a>'
    )
    shape = page_shape(html, "http://example.org/dir/")
    assert shape.links == {"http://example.org/a", "http://example.org/dir/b"}
    assert shape.text == len("Helloworldabtopm")
