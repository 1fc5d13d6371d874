"""Tests for the fast parse path (worker.lxml_parse, lxml_extract): the same record as bs4's.

The bs4 path is the reference: every page here is parsed both ways and the records compared
whole, on the demo site, the legacy-encoding pages, hostile and broken markup.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pickle
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crawler.demo import SyntheticSite
from crawler.errors import ConfigError
from crawler.models import FetchRequest, FetchResult
from crawler.settings import build_settings
from crawler.testing import MockSite, crawl_site, process_html
from pipelines.worker.lxml_parse import parse_page_lxml
from pipelines.worker.parse import parse_page
from pipelines.worker.processor import PageProcessor
from tests.support.cli import REPO, parcrawl
from tests.support.hostile import ENCODED_PAGES

URL = "http://site.test/dir/page.html"
HTML = {"content-type": "text/html"}

BROKEN_PAGES = {
    "empty": b"",
    "blank": b"  \n ",
    "text only": b"just words, no tags",
    "unclosed p": b"<p>hi",
    "script splits words": b"<body>a<b>b</b>c<script>x</script>d<!--c-->e</body>",
    "hidden links and titles": (
        b"<html><head><title>T</title><noscript><a href=/n>n</a><title>X</title></noscript>"
        b"</head><body><noscript><a href=/m>m</a></noscript><template><a href=/t>t</a>"
        b"</template><a href=/v>v</a></body></html>"
    ),
    "hidden canonical": b"<head><noscript><link rel=canonical href=/nc></noscript></head>x",
    "title only": b"<title>only</title>",
    "content around html": b"<!-- c --><html lang=' fr '><p>x</p></html>tail",
    "table soup": b"<table><a href=x>1</a><tr><td>2<td>3</table>",
    "svg title first": b"<svg><title>s</title></svg><title>t</title>",
    "bases": b"<base><base href=/b/><a href=c>c</a>",
    "canonical and description": (
        b"<link rel='Alternate CANONICAL' href='  /c#f '>"
        b"<meta name=' Description ' content='  a\n b '>"
    ),
    "odd hrefs": (
        b"<a href='http://h:99999/'>x</a><a href='mailto:x'>m</a><a href='#f'>f</a>"
        b"<a href=' //o.test/x '>o</a><a href='javascript:void(0)'>j</a><a>none</a>"
    ),
    "entities and nul": b"<p>a&nbsp;b&amp;c</p><p>d\x00e</p>",
    "after the end": b"<html><body><p>1</body></html><p>after",
    "frameset": b"<frameset><frame src=x></frameset>",
    "xml declaration": b"<?xml version='1.0' encoding='utf-8'?><html><body>x</body></html>",
    "misnested": b"<p>unclosed <b>bold <i>it</p> more",
    "cdata": b"<![CDATA[x]]><p>y</p>",
    "script with markup": b"<style>p{}</style><p>s</p><script>var a='<a href=/z>'</script>",
    "nested forms and lists": b"<form><form><li>a<li>b<ul><li>c</form>d",
    "bad bytes": b"<title>caf\xe9</title><p>\xff\xfe ok</p>",
    "many links": b"".join(b"<a href=/p%d>p</a>" % (i % 40) for i in range(200)),
}


def _both(url: str, body: bytes, headers: dict[str, str], max_links: int = 5000) -> None:
    expected = parse_page(url, body, headers, max_links=max_links)
    assert parse_page_lxml(url, body, headers, max_links=max_links) == expected


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
def test_every_demo_site_page_parses_the_same() -> None:
    site = SyntheticSite(pages=120, seed=3)
    for path in site.html_paths():
        _, content_type, body = site.response(path)
        # a small cap too, so the links_dropped count is compared as well
        for cap in (5000, 7):
            _both("http://127.0.0.1:8000" + path, body, {"content-type": content_type}, cap)


@pytest.mark.parametrize("name", list(ENCODED_PAGES))
def test_legacy_encoded_pages_parse_the_same(name: str) -> None:
    page = ENCODED_PAGES[name]
    _both(f"http://site.test/{name}", page.body, {"content-type": page.content_type})
    _both(f"http://site.test/{name}", page.body, {})


@pytest.mark.parametrize("name", list(BROKEN_PAGES))
def test_broken_and_hostile_markup_parses_the_same(name: str) -> None:
    _both(URL, BROKEN_PAGES[name], HTML, max_links=10)


def test_a_script_between_two_words_keeps_them_two_words_on_both_paths() -> None:
    page = parse_page_lxml(URL, BROKEN_PAGES["script splits words"], HTML)
    assert page["text"] == "a b c d e"


def test_links_and_titles_inside_noscript_and_template_are_not_the_page_s() -> None:
    for parse in (parse_page, parse_page_lxml):
        page = parse(URL, BROKEN_PAGES["hidden links and titles"], HTML)
        assert page["title"] == "T"
        assert page["links"] == ["http://site.test/v"]
        assert parse(URL, BROKEN_PAGES["hidden canonical"], HTML)["canonical"] is None


def _bs4_parse_tests() -> list[tuple[str, Callable[[], None]]]:
    module = importlib.import_module("tests.pipelines.worker.test_parse")
    return [
        (name, function)
        for name, function in vars(module).items()
        if name.startswith("test_") and not inspect.signature(function).parameters
    ]


@pytest.mark.parametrize(("name", "check"), _bs4_parse_tests())
def test_the_bs4_path_s_own_tests_pass_on_the_fast_path(
    name: str, check: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # test_parse's checks call its module-level parse_page: pointed at the fast path, each
    # of them asserts the same fields of the fast path
    monkeypatch.setattr(sys.modules[check.__module__], "parse_page", parse_page_lxml)
    check()


# -- extracted CSS fields -------------------------------------------------------------

EXTRACT_PAGE = """<html><head><title>Shop</title>
<meta name="price" content=" 12.50 "><script>var price = '99.00';</script></head><body>
<h1 class="  big   title ">Mug <small>blue</small></h1>
<p class="price"></p><p class="price">Price: <b>12.50</b> EUR</p>
<ul id="tags"><li>kitchen</li><li></li><li>gift <!-- c --> idea</li><li>sale</li></ul>
<a rel=" nofollow  ugc " href="/a">A</a><a href="/b">B</a>
<table><tr><td headers=" h1  h2 ">cell</td></tr></table>
<div id="spaced">a<script>x</script>b<style>p{}</style>c</div>
<p class="sku">SKU-0042</p><div><p>first</p><p>second</p></div>
<input type="TEXT" value="typed"><p lang="EN-gb">english</p><div id="Case">cased</div>
<svg><a href="/in-svg">drawn</a></svg>
</body></html>"""

EXTRACT_FIELDS: dict[str, dict[str, Any]] = {
    "title": {"css": "h1"},
    "title_class": {"css": "h1", "attr": "class"},
    "price": {"css": "p.price"},
    "price_number": {"css": ".price", "regex": r"(\d+\.\d+)"},
    "meta_price": {"css": "meta[name=price]", "attr": "content"},
    "tags": {"css": "#tags li", "all": True},
    "tags_with_s": {"css": "#tags > li", "all": True, "regex": "s"},
    "rels": {"css": "a[rel]", "attr": "rel", "all": True},
    "hrefs": {"css": "a", "attr": "href", "all": True},
    "headers": {"css": "td", "attr": "headers"},
    "spaced": {"css": "#spaced"},
    "script": {"css": "script"},
    "missing": {"css": ".nothing", "default": "n/a"},
    "missing_all": {"css": ".nothing", "all": True, "default": ["x"]},
    "no_match_regex": {"css": ".sku", "regex": r"EAN-(\d+)"},
    "sku": {"css": "p.sku", "regex": r"SKU-(\d+)"},
    "second": {"css": "div > p:nth-child(2)"},
    "not_first": {"css": "#tags li:not(:first-child)", "all": True},
    "attr_missing": {"css": "h1", "attr": "data-x", "default": "none"},
    "has": {"css": "ul:has(> li)", "attr": "id"},
    # values soupsieve compares ignoring case or whitespace, namespaces: these selectors
    # go to the bs4 tree on the fast path, so they agree too
    "type_any_case": {"css": "input[type=text]", "attr": "value"},
    "lang_prefix": {"css": "[lang|=en]"},
    "rel_exact": {"css": 'a[rel="nofollow ugc"]', "attr": "href"},
    "class_exact": {"css": '[class="big title"]'},
    "namespace": {"css": "*|a[href$=svg]", "attr": "href"},
    "id_case": {"css": "#case", "default": "none"},
    "href_suffix": {"css": "[href$=b]", "attr": "href"},
    "not_attribute": {"css": "a:not([rel])", "attr": "href", "all": True},
    "href_as_written": {"css": "a", "attr": "href", "all": True, "absolute": False},
    "text_as_url": {"css": "#tags li", "absolute": True},
}


def _record(html: str, parser: str, extract: dict[str, Any], url: str) -> dict[str, Any]:
    settings = build_settings({"parser": parser, "extract": extract})
    record = process_html(html, settings, url=url)
    assert record is not None
    return {key: value for key, value in record.items() if key != "fetched_at"}


@pytest.mark.parametrize("name", list(EXTRACT_FIELDS))
def test_each_kind_of_css_field_is_the_same_on_both_paths(name: str) -> None:
    extract = {"fields": {name: EXTRACT_FIELDS[name]}}
    fast = _record(EXTRACT_PAGE, "lxml", extract, URL)
    assert fast == _record(EXTRACT_PAGE, "bs4", extract, URL)


@pytest.mark.parametrize(
    "head",
    [
        "<base href='/shop/'>",
        "<base target=_top><base href='https://cdn.test/x/'>",  # the first with an href
        "<noscript><base href='/hidden/'></noscript>",  # not the page's
        "<base href='http://[::1'>",  # unusable: the page's URL
    ],
)
def test_url_fields_resolve_against_the_same_base_on_both_paths(head: str) -> None:
    extract = {"fields": {"hrefs": {"css": "a", "attr": "href", "all": True}}}
    page = f"<head>{head}</head><a href='p.html'>p</a><a href='/q'>q</a>"
    fast = _record(page, "lxml", extract, URL)
    assert fast == _record(page, "bs4", extract, URL)
    hrefs = fast["fields"]["hrefs"]
    assert hrefs[1].endswith("/q")
    assert all(href.startswith(("http://", "https://")) for href in hrefs)


def test_css_fields_work_with_the_soupsieve_an_older_python_gets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python 3.11.0-3.11.4 (Debian 12's own) resolves soupsieve 2.10, whose css_parser has
    # no HTML_CASE_INSENSITIVE_ATTRIBUTES: the fast path once imported it from there, and
    # every job with a CSS rule ended in an ImportError. That module as 2.10 has it (for
    # whoever imports it; soupsieve's own code keeps its globals):
    real = importlib.import_module("soupsieve.css_parser")
    older = types.ModuleType(real.__name__)
    older.__dict__.update(
        (name, value)
        for name, value in vars(real).items()
        if name != "HTML_CASE_INSENSITIVE_ATTRIBUTES"
    )
    monkeypatch.setitem(sys.modules, real.__name__, older)
    for name in ("title", "type_any_case", "lang_prefix", "rel_exact"):
        extract = {"fields": {name: EXTRACT_FIELDS[name]}}
        fast = _record(EXTRACT_PAGE, "lxml", extract, URL)
        assert fast == _record(EXTRACT_PAGE, "bs4", extract, URL)
    assert _record(EXTRACT_PAGE, "lxml", {"fields": EXTRACT_FIELDS}, URL)["fields"]["title"] == (
        "Mug blue"
    )


def test_css_fields_read_what_a_user_expects_on_the_fast_path() -> None:
    fields = _record(EXTRACT_PAGE, "lxml", {"fields": EXTRACT_FIELDS}, URL)["fields"]
    assert fields["title"] == "Mug blue"
    assert fields["title_class"] == "big title"
    assert fields["price"] == "Price: 12.50 EUR"  # the empty placeholder is skipped
    assert fields["tags"] == ["kitchen", "gift idea", "sale"]
    assert fields["rels"] == ["nofollow ugc"]
    assert fields["spaced"] == "a b c"
    assert fields["script"] is None
    assert fields["missing_all"] == ["x"]
    assert fields["sku"] == "0042"
    assert fields["has"] == "tags"  # :has is soupsieve's: that page took the bs4 tree
    assert fields["hrefs"] == [
        "http://site.test/a",
        "http://site.test/b",
        "http://site.test/in-svg",
    ]
    assert fields["href_as_written"] == ["/a", "/b", "/in-svg"]


def test_class_names_split_by_a_form_feed_are_one_name_to_cssselect() -> None:
    # The one known difference of CSS fields: soupsieve splits class="a<FF>b" into two
    # names (as bs4 does), cssselect's XPath only on ASCII space, tab, CR and LF.
    page = "<p class='a\fb'>x</p>"
    extract = {"fields": {"b": {"css": ".b"}}}
    assert _record(page, "bs4", extract, URL)["fields"] == {"b": "x"}
    assert _record(page, "lxml", extract, URL)["fields"] == {"b": None}


def test_per_url_rules_apply_on_the_fast_path_as_on_bs4() -> None:
    extract = {
        "fields": {"heading": {"css": "h1"}},
        "rules": [
            {"match": r"/product/", "fields": {"heading": {"css": "p.sku"}}},
            {"match": r"/other/", "fields": {"tags": {"css": "li", "all": True}}},
        ],
    }
    for url in ("http://shop.test/product/1", "http://shop.test/other/2", URL):
        assert _record(EXTRACT_PAGE, "lxml", extract, url) == _record(
            EXTRACT_PAGE, "bs4", extract, url
        )
    product = _record(EXTRACT_PAGE, "lxml", extract, "http://shop.test/product/1")
    assert product["fields"] == {"heading": "SKU-0042"}


def test_demo_site_pages_extract_the_same_on_both_paths() -> None:
    extract = {
        "fields": {
            "heading": {"css": "h1"},
            "sections": {"css": "h2", "all": True},
            "first_cell": {"css": "td"},
            "links": {"css": "a", "attr": "href", "all": True, "regex": r"page/(\d+)"},
        }
    }
    site = SyntheticSite(pages=20, seed=5)
    for path in site.html_paths():
        body = site.response(path)[2]
        url = "http://127.0.0.1:8000" + path
        fast = _record(body.decode("utf-8"), "lxml", extract, url)
        assert fast == _record(body.decode("utf-8"), "bs4", extract, url)
        assert fast["fields"]["heading"]


def test_a_page_whose_soup_outgrows_a_small_worker_parses_on_the_fast_path() -> None:
    links = "".join(f"<a href='/p{n}'>{n}</a>" for n in range(120_000))
    site = MockSite({"/many": "<title>many</title>" + links})
    records = crawl_site(site, "/many", workers=1, worker_memory_mb=128)
    record = records[site.url("/many")]
    assert record["error"] is None
    assert record["title"] == "many"
    assert record["links_dropped"] == 115_000  # the default cap of 5000 kept the rest


# -- the setting ------------------------------------------------------------------------


def test_parser_setting_takes_lxml_or_bs4_only() -> None:
    assert build_settings({}).parser == "lxml"
    assert build_settings({"parser": "bs4"}).parser == "bs4"
    with pytest.raises(ConfigError, match="parser"):
        build_settings({"parser": "html5lib"})


def test_a_site_crawl_writes_the_same_records_with_either_parser() -> None:
    demo = SyntheticSite(pages=25, seed=2)
    site = MockSite({path: demo.response(path)[2].decode() for path in demo.html_paths()})
    extract = {"fields": {"heading": {"css": "h1"}, "cells": {"css": "td", "all": True}}}
    crawls = {
        parser: crawl_site(site, "/", follow=True, workers=1, parser=parser, extract=extract)
        for parser in ("lxml", "bs4")
    }
    pages = [site.url(path) for path in demo.html_paths()]
    assert set(crawls["lxml"]) == set(crawls["bs4"]) >= set(pages)
    assert all(crawls["lxml"][url]["fields"]["heading"] for url in pages)
    for url, record in crawls["lxml"].items():
        other = crawls["bs4"][url]
        assert {**record, "fetched_at": "", "elapsed_ms": 0} == {
            **other,
            "fetched_at": "",
            "elapsed_ms": 0,
        }


@pytest.mark.slow
def test_the_command_line_and_job_files_take_the_parser(tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text('seeds = ["http://127.0.0.1:9/"]\nparser = "bs4"\n')
    assert 'parser = "bs4"' in parcrawl("check", str(job)).stdout
    assert 'parser = "lxml"' in parcrawl("check", str(job), "--parser", "lxml").stdout
    refused = parcrawl("check", str(job), "--parser", "html5lib")
    assert refused.returncode == 2
    assert "--parser" in refused.stderr
    job.write_text('seeds = ["http://127.0.0.1:9/"]\nparser = "soup"\n')
    refused = parcrawl("check", str(job))
    assert refused.returncode == 2
    assert "parser" in refused.stderr


WORKER_CHECK = """
import pickle, sys
processor, result = pickle.loads(sys.stdin.buffer.read())
record = processor(result).record
assert record is not None and record["title"] == "t" and record["fields"]["h"], record
print("bs4" in sys.modules, "soupsieve" in sys.modules)
"""


@pytest.mark.parametrize(
    ("parser", "css", "imported"),
    [
        ("lxml", "h1", "False False"),
        ("lxml", "ul:has(li)", "True True"),  # soupsieve runs that selector: bs4 is needed
        ("bs4", "h1", "True True"),
    ],
)
def test_a_fast_path_worker_does_not_import_bs4(parser: str, css: str, imported: str) -> None:
    settings = build_settings({"parser": parser, "extract": {"fields": {"h": {"css": css}}}})
    processor = PageProcessor.from_settings(settings.extract, settings.steps, parser=parser)
    body = b"<title>t</title><ul><li>x</li></ul><h1>h</h1>"
    result = FetchResult(
        request=FetchRequest(URL),
        final_url=URL,
        status=200,
        headers=(("content-type", "text/html"),),
        content_type="text/html",
        body=body,
        size=len(body),
        elapsed_ms=0.0,
        fetched_at="2026-01-01T00:00:00.000Z",
        body_kept=True,
    )
    # a fresh interpreter gets the processor pickled, as a worker process does: what
    # unpickling it and processing one page imported
    out = subprocess.run(
        [sys.executable, "-c", WORKER_CHECK],
        input=pickle.dumps((processor, result)),
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        timeout=60,
    )
    assert out.stdout.decode().split("\n")[-2] == imported
