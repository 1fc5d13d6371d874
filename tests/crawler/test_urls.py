"""Tests for crawler.urls: which seeds are accepted, the canonical dedup key and the host key."""

from __future__ import annotations

import itertools
import re

import pytest
from w3lib.url import safe_url_string

from crawler.urls import (
    MAX_URL_CHARS,
    InvalidUrl,
    _checked,
    _plain,
    already_safe,
    as_request_url,
    canonical_url,
    host_key,
    masked,
    normalize_seed,
    request_url,
    split_credentials,
)

# -- normalize_seed ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://example.com/page", "http://example.com/page"),
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("  https://example.com/padded  \n", "https://example.com/padded"),
        ("HTTPS://example.com:8443/x", "https://example.com:8443/x"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://example.com/a b/c", "http://example.com/a%20b/c"),
        ("https://example.com/päth?q=ü", "https://example.com/p%C3%A4th?q=%C3%BC"),
    ],
)
def test_normalize_seed_accepts_http_and_https(text: str, expected: str) -> None:
    assert normalize_seed(text) == expected


def test_normalize_seed_result_is_ascii() -> None:
    url = normalize_seed("http://bücher.example/straße mit leerzeichen?ä=ö")
    assert url.isascii()
    assert " " not in url


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ftp://example.com/file.txt", "http(s)"),
        ("mailto:someone@example.com", "http(s)"),
        ("javascript:alert(1)", "http(s)"),
        ("file:///etc/passwd", "http(s)"),
        ("//example.com/no-scheme", "http(s)"),
        ("example.com/no-scheme", "http(s)"),
        ("garbage", "http(s)"),
        ("", "http(s)"),
        ("http://", "no host"),
        ("http:///path/only", "no host"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://example.com:abc/", "not a valid URL"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_normalize_seed_rejects_non_crawlable(text: str, reason: str) -> None:
    with pytest.raises(InvalidUrl, match=re.escape(reason)):
        normalize_seed(text)


def test_invalid_url_is_a_value_error_naming_the_input() -> None:
    with pytest.raises(ValueError, match=re.escape("ftp://example.com/x")):
        normalize_seed("ftp://example.com/x")


# -- canonical_url -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/Path", "http://example.com/Path"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("http://example.com/a#section-2", "http://example.com/a"),
        ("http://example.com/a?b=2&a=1&c=3", "http://example.com/a?a=1&b=2&c=3"),
        ("http://example.com/%7euser", "http://example.com/~user"),
        ("http://example.com/%7Euser", "http://example.com/~user"),
        ("http://example.com/a%2fb", "http://example.com/a%2Fb"),
        ("http://example.com/a b", "http://example.com/a%20b"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://user:pw@example.com:80/", "http://user:pw@example.com/"),
        ("http://[::1]:80/x", "http://[::1]/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_keeps_port_of_other_schemes() -> None:
    assert canonical_url("ftp://example.com:21/f") == "ftp://example.com:21/f"


@pytest.mark.parametrize(
    "spelling",
    [
        "http://example.com/a?x=1&y=2",
        "HTTP://EXAMPLE.COM/a?x=1&y=2",
        "http://example.com:80/a?x=1&y=2",
        "http://example.com/a?y=2&x=1",
        "http://example.com/a?x=1&y=2#frag",
        "http://example.com/%61?x=1&y=2",
    ],
)
def test_spellings_of_one_page_share_a_canonical_url(spelling: str) -> None:
    assert canonical_url(spelling) == canonical_url("http://example.com/a?x=1&y=2")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("http://example.com/a", "https://example.com/a"),
        ("http://example.com/a", "http://example.com:8080/a"),
        ("http://example.com/a", "http://example.com/A"),
        ("http://example.com/a?x=1", "http://example.com/a?x=2"),
        ("http://example.com/a", "http://example.org/a"),
    ],
)
def test_different_pages_keep_different_canonical_urls(one: str, other: str) -> None:
    assert canonical_url(one) != canonical_url(other)


# -- host_key ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.org/a", "http://example.org:80"),
        ("https://example.org/a", "https://example.org:443"),
        ("https://Example.ORG:443/b?c#d", "https://example.org:443"),
        ("HTTP://EXAMPLE.ORG/", "http://example.org:80"),
        ("http://example.org:8080/", "http://example.org:8080"),
    ],
)
def test_host_key(url: str, expected: str) -> None:
    assert host_key(url) == expected


def test_host_key_is_shared_by_explicit_and_default_port() -> None:
    assert host_key("http://example.org/x") == host_key("http://example.org:80/y")


def test_host_key_separates_scheme_and_port() -> None:
    keys = {
        host_key("http://example.org/"),
        host_key("https://example.org/"),
        host_key("http://example.org:8080/"),
        host_key("http://www.example.org/"),
    }
    assert len(keys) == 4


# -- request_url, credentials ---------------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "abc", "-1", "+80", "18850:80", "0", "\u0663"])
def test_request_url_refuses_invalid_ports(port: str) -> None:
    with pytest.raises(InvalidUrl, match="not a valid URL"):
        request_url(f"http://example.com:{port}/")


@pytest.mark.parametrize(
    ("text", "base", "expected"),
    [
        (
            "/a b/ü?q=ä x#frag",
            "http://example.com/x",
            "http://example.com/a%20b/%C3%BC?q=%C3%A4%20x",
        ),
        ("http://u:secret@example.com:8080/p", None, "http://example.com:8080/p"),
        ("//example.com:443/", "https://other.test/", "https://example.com:443/"),
    ],
)
def test_request_url_is_what_would_be_requested(text: str, base: str | None, expected: str) -> None:
    assert request_url(text, base=base) == expected


@pytest.mark.parametrize(
    "text", ["data:text/html,x", "javascript:alert(1)", "http://[::1/", "/" + "a" * 40_000]
)
def test_request_url_refuses_what_cannot_be_requested(text: str) -> None:
    with pytest.raises(InvalidUrl) as caught:
        request_url(text, base="http://example.com/")
    assert len(str(caught.value)) < 400


# Every printable ASCII character, some that are not, and pairs of the ones that combine
# (percent escapes, dot segments, ports), in each part of a URL.
_CHARS = [chr(code) for code in range(0x20, 0x7F)] + ["\t", "\x7f", "\xe9", "\u0663", "\u3002"]
_PAIRS = ["".join(pair) for pair in itertools.product("%aF0/.:@?#'\\-_[", repeat=2)]
_TEMPLATES = [
    "http://ex{}ample.com/",
    "http://example.com{}/",
    "https://example.com:{}80/p",
    "http://example.com:80{}/",
    "http://example.com/a{}b",
    "http://example.com/p?q{}=1",
    "http://example.com{}?a=1",
    "http://{}example.com/",
    "HTTP://Example.com/{}",
    "http://xn--{}bcher-kva.example/",
    "http://example.com/a?{}",
    "http://example.com/{}" + "a" * (MAX_URL_CHARS - 20),
]


@pytest.mark.parametrize("template", _TEMPLATES)
def test_the_shortcut_keeps_only_urls_that_w3lib_keeps(template: str) -> None:
    kept = [url for url in map(template.format, _CHARS + _PAIRS) if already_safe(url)]
    assert [url for url in kept if safe_url_string(url) != url] == []


def test_urls_let_through_unchecked_pass_every_check_unchanged() -> None:
    templates = [*_TEMPLATES, "http://example.com:6553{}/"]  # ports around the largest
    urls = [template.format(text) for template in templates for text in _CHARS + _PAIRS]
    plain = [url for url in urls if _plain(url)]
    assert len(plain) > len(urls) // 5  # the shortcut is taken, not only declined
    for url in plain:
        assert _checked(url, keep_credentials=False) == url


def test_common_links_take_the_shortcut_and_come_out_the_same() -> None:
    for text in ("/docs/a-b_c.html?x=1&y=%20", "page2.html", "../up/", "https://example.org:8443/"):
        url = request_url(text, base="http://example.com/dir/index.html")
        assert already_safe(url)
        assert url == safe_url_string(url)
    assert not already_safe("http://Example.com/")  # w3lib lower-cases the host
    assert not already_safe("http://example.com?a")  # w3lib adds the "/" before the query


def test_split_credentials_returns_the_bare_url_and_the_decoded_pair() -> None:
    bare, credentials = split_credentials("http://al%40ice:s3%3Acr3t@example.com:81/x?y")
    assert bare == "http://example.com:81/x?y"
    assert credentials == ("al@ice", "s3:cr3t")
    assert split_credentials("http://example.com/") == ("http://example.com/", None)


def test_masked_hides_only_the_password() -> None:
    assert masked("http://alice:s3cr3t@example.com/p@q") == "http://alice:***@example.com/p@q"
    assert masked("http://alice@example.com/") == "http://alice@example.com/"
    assert masked("http://example.com/a@b") == "http://example.com/a@b"


def test_an_invalid_seed_message_does_not_show_its_password() -> None:
    with pytest.raises(InvalidUrl) as caught:
        normalize_seed("http://alice:s3cr3t@example.com:99999/")
    assert "s3cr3t" not in str(caught.value)
    assert "alice:***@" in str(caught.value)


def test_canonical_url_of_an_invalid_port_is_the_url_itself() -> None:
    assert canonical_url("http://example.com:99999/") == "http://example.com:99999/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/a?b=1", "http://example.com/a?b=1"),
        ("http://u:p@example.com/a", "http://example.com/a"),
        ("http://example.com/a b#f", "http://example.com/a%20b"),
        ("http://é.example/", "http://xn--9ca.example/"),
    ],
)
def test_as_request_url_agrees_with_request_url(url: str, expected: str) -> None:
    assert as_request_url(url) == request_url(url) == expected


def test_as_request_url_refuses_an_invalid_port() -> None:
    with pytest.raises(InvalidUrl):
        as_request_url("http://example.com:99999/")
