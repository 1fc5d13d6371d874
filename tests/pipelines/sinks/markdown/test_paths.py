"""Markdown file paths: readable where the URL allows, safe and distinct whatever it holds."""

from __future__ import annotations

import posixpath
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.errors import InvalidUrl
from pipelines.sinks.markdown import markdown_path
from pipelines.sinks.markdown.paths import MAX_PATH_BYTES

WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?", re.IGNORECASE)
WINDOWS_FORBIDDEN = set('<>:"\\|?*') | {chr(code) for code in range(32)}


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://example.org/docs/intro", "example.org/docs/intro.md"),
        ("https://example.org/docs/", "example.org/docs/index.md"),
        ("https://example.org/", "example.org/index.md"),
        ("https://example.org", "example.org/index.md"),
        ("https://example.org/page.html", "example.org/page.html.md"),
        ("https://example.org/a#section", "example.org/a.md"),
        ("https://Bücher.Example/", "xn--bcher-kva.example/index.md"),
    ],
)
def test_a_plain_url_gives_a_path_that_mirrors_it(url: str, path: str) -> None:
    assert markdown_path(url) == path


@pytest.mark.parametrize(
    ("url", "readable"),
    [
        ("https://example.org/a/../../../etc/passwd", "example.org/a/_~"),
        ("https://example.org/a%2F..%2F..%2Fb", "example.org/a_.._.._b~"),
        ("https://example.org/x%00y", "example.org/x_y~"),
        ("https://example.org/con", "example.org/_con~"),
        ("https://example.org/docs/nul.txt/x", "example.org/docs/_nul.txt~"),
        ("https://example.org/.env", "example.org/env~"),
        ("https://example.org/search?q=tea+cake", "example.org/search_q=tea+cake~"),
        ("https://example.org/?page=2", "example.org/index_page=2~"),
        ("https://example.org/a/index", "example.org/a/index~"),
        ("https://example.org/Docs", "example.org/docs~"),
        ("https://example.org/caf%C3%A9", "example.org/café~"),
        ("http://example.org/", "example.org~"),
        ("https://example.org:8443/", "example.org_8443~"),
    ],
)
def test_a_part_that_had_to_change_stays_readable_and_gains_a_digest(
    url: str, readable: str
) -> None:
    path = markdown_path(url)

    assert path.startswith(readable.replace("=", "_").replace("+", "_"))
    assert re.search(r"~[0-9a-f]{16}(\.md)?(/|$)", path)


def test_a_300_character_segment_is_capped_and_stays_unique() -> None:
    first = markdown_path("https://example.org/" + "a" * 300 + "/page")
    second = markdown_path("https://example.org/" + "a" * 299 + "b/page")

    assert first != second
    assert max(len(name.encode()) for name in first.split("/")) <= 120


def test_a_very_deep_url_folds_into_a_path_of_bounded_length() -> None:
    deep = "https://example.org/" + "/".join(f"level{n}" for n in range(400)) + "/end"

    path = markdown_path(deep)

    assert len(path.encode()) <= MAX_PATH_BYTES
    assert path.startswith("example.org/level0/level1/")
    assert path != markdown_path(deep + "x")


def test_urls_differing_only_in_case_never_share_a_file_on_a_case_blind_system() -> None:
    urls = ["https://example.org/Page", "https://example.org/page", "https://example.org/PAGE"]

    assert len({markdown_path(url).casefold() for url in urls}) == 3


def test_a_folder_and_a_file_of_the_same_url_path_do_not_clash() -> None:
    as_file = markdown_path("https://example.org/x")  # x.md
    as_folder = posixpath.dirname(markdown_path("https://example.org/x.md/y"))

    assert as_file != as_folder


@pytest.mark.parametrize(
    "url", ["ftp://example.org/a", "/relative/path", "https://", "http://[::1"]
)
def test_what_is_no_http_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidUrl):
        markdown_path(url)


# -- properties over hostile URLs ---------------------------------------------------------

HOSTILE_PARTS = st.sampled_from(
    ["..", ".", "", "%2F", "%2f..", "%00", "\x00", "CON", "nul.txt", "com1", "Lpt9.md", ".git",
     "a" * 300, "é", "e\u0301", "ß", "SS", "index", "index.md", "x.md", "~", "a~b", " ", "a.",
     "%", "%zz", "?", "#", "\\", ":", "*", "\u202e", "\ud800"]
)  # fmt: skip
SEGMENTS = st.lists(
    st.one_of(HOSTILE_PARTS, st.text(alphabet=string.printable + "éßİ\u0301", max_size=30)),
    max_size=8,
)
HOSTS = st.sampled_from(["example.org", "EXAMPLE.org", "example.org:8080", "xn--caf-dma.example"])
URLS = st.builds(
    lambda scheme, host, segments, query: (
        f"{scheme}://{host}/"
        + "/".join(s.replace("/", "%2F").replace("?", "%3F").replace("#", "%23") for s in segments)
        + (f"?{query}" if query is not None else "")
    ),
    st.sampled_from(["http", "https"]),
    HOSTS,
    SEGMENTS,
    st.one_of(
        st.none(), st.text(alphabet=string.printable, max_size=20).map(lambda q: q.replace("#", ""))
    ),
)


@settings(max_examples=400, deadline=None)
@given(URLS)
def test_no_url_leads_outside_the_folder_or_to_an_unsafe_name(url: str) -> None:
    path = markdown_path(url)
    names = path.split("/")

    assert not path.startswith("/")
    assert posixpath.normpath(path) == path  # no "..", ".", or empty name to resolve
    assert path.endswith(".md")
    for name in names:
        assert name not in ("", ".", "..")
        assert not WINDOWS_FORBIDDEN & set(name), name
        assert not WINDOWS_RESERVED.fullmatch(name), name
        assert not name.endswith((".", " ")), name
        assert not name.startswith("."), name
        assert len(name.encode()) <= 130, name
    assert len(path.encode()) <= MAX_PATH_BYTES + 130


@settings(max_examples=300, deadline=None)
@given(st.lists(URLS, min_size=2, max_size=6, unique=True))
@pytest.mark.slow
def test_distinct_urls_get_distinct_files_even_on_a_case_blind_system(urls: list[str]) -> None:
    # the same resource spelt two ways (a host's case) is one page; anything else is two
    identities = {_identity(url) for url in urls}
    paths = {markdown_path(url).casefold() for url in urls}

    assert len(paths) == len(identities)


def _identity(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.lower()}{slash}{path}"
