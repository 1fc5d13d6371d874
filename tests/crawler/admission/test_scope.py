"""Tests for crawler.admission.scope: which links a crawl follows, and why it skips the others."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crawler.admission import Scope, Skip, site_key
from crawler.errors import ConfigError
from crawler.settings import ScopeSettings

SEED = "https://example.org/"


def make_scope(seeds: tuple[str, ...] = (SEED,), **values: Any) -> Scope:
    return Scope(ScopeSettings(**values), seeds)


# -- each reason, with a realistic link ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "depth", "reason"),
    [
        ("https://example.org/docs/intro", 1, None),
        ("mailto:webmaster@example.org", 1, Skip.SCHEME),
        ("javascript:void(0)", 1, Skip.SCHEME),
        ("ftp://example.org/pub/file.txt", 1, Skip.SCHEME),
        ("tel:+15551234567", 1, Skip.SCHEME),
        ("https://cdn.tracker.net/pixel", 1, Skip.OFFSITE),
        ("https://example.org/guide/chapter-9", 4, Skip.DEPTH),
        ("https://example.org/files/annual-report.PDF", 1, Skip.EXTENSION),
        ("https://example.org/img/logo.png?v=3", 1, Skip.EXTENSION),
        ("https://example.org/logout?next=/", 1, Skip.EXCLUDED),
        ("https://example.org/search?q=" + "a" * 2100, 1, Skip.URL_TOO_LONG),
        ("https://example.org/a/b/a/b/a/b/a/b/", 1, Skip.REPEATED_SEGMENTS),
        ("https://example.org/x/x/x/x/", 1, Skip.REPEATED_SEGMENTS),
    ],
)
def test_each_reason(url: str, depth: int, reason: Skip | None) -> None:
    scope = make_scope(max_depth=3, exclude=[r"/logout\b"])
    assert scope.check(url, depth) is reason


def test_not_included_when_no_include_pattern_matches() -> None:
    scope = make_scope(include=[r"^https://example\.org/blog/", r"/docs/"])
    assert scope.check("https://example.org/blog/2024/hello", 1) is None
    assert scope.check("https://example.org/en/docs/start", 1) is None
    assert scope.check("https://example.org/shop/cart", 1) is Skip.NOT_INCLUDED


def test_exclude_wins_over_include() -> None:
    scope = make_scope(include=[r"/blog/"], exclude=[r"[?&]replytocom="])
    assert scope.check("https://example.org/blog/post?replytocom=12", 1) is Skip.EXCLUDED
    assert scope.check("https://example.org/blog/post", 1) is None


def test_query_variants_reason() -> None:
    scope = make_scope(max_query_variants=2)
    assert scope.check("https://example.org/list?page=1", 1) is None
    assert scope.check("https://example.org/list?page=2", 1) is None
    assert scope.check("https://example.org/list?page=3", 1) is Skip.QUERY_VARIANTS


def test_reason_codes_are_stable_strings() -> None:
    assert f"{Skip.QUERY_VARIANTS}" == "query_variants"
    assert {reason.value for reason in Skip} == {
        "scheme",
        "offsite",
        "denied_domain",
        "excluded",
        "not_included",
        "depth",
        "extension",
        "url_too_long",
        "repeated_segments",
        "query_variants",
    }


# -- hosts and domains -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "url", "reason"),
    [
        ("http://example.org/start", "http://example.org/about", None),
        ("http://example.org/start", "http://example.org:80/about", None),
        # The upgrade: an http:// seed's site is also its https:// face on port 443.
        ("http://example.org/start", "HTTPS://Example.ORG./about", None),
        ("http://example.org/start", "https://example.org:443/about", None),
        ("http://example.org/start", "https://example.org:8443/about", Skip.OFFSITE),
        ("http://example.org/start", "http://example.org:8080/about", Skip.OFFSITE),
        ("http://example.org/start", "https://docs.example.org/", Skip.OFFSITE),
        ("http://example.org/start", "https://example.com/", Skip.OFFSITE),
        # An https site's old http:// links stay in scope, on port 80 only.
        ("https://example.org/", "http://example.org/old-link", None),
        ("https://example.org/", "http://example.org:8080/", Skip.OFFSITE),
        # Another port is another site; only 80 and 443 pair up, not the seed's odd port.
        ("http://127.0.0.1:8791/", "http://127.0.0.1:8791/page", None),
        ("http://127.0.0.1:8791/", "http://127.0.0.1:8792/page", Skip.OFFSITE),
        ("http://127.0.0.1:8791/", "http://127.0.0.1/page", Skip.OFFSITE),
        ("http://127.0.0.1:8791/", "https://127.0.0.1:8791/page", Skip.OFFSITE),
    ],
)
def test_default_scope_is_the_seed_sites(seed: str, url: str, reason: Skip | None) -> None:
    assert make_scope(seeds=(seed,)).check(url, 1) is reason


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://example.org/a", "https://EXAMPLE.org:443/b", True),
        ("http://example.org:80/", "https://example.org/", True),
        ("http://127.0.0.1:8791/", "http://127.0.0.1:8792/", False),
        ("http://example.org:8080/", "https://example.org:8080/", False),
        ("https://[2001:db8::1]/", "http://[2001:DB8:0::1]/", True),
        ("https://example.org/", "https://www.example.org/", False),
    ],
)
def test_site_key(a: str, b: str, same: bool) -> None:
    assert (site_key(a) == site_key(b)) is same


@pytest.mark.parametrize("url", ["mailto:x@example.org", "http:///path", "http://h:99999/"])
def test_site_key_of_a_url_without_a_site(url: str) -> None:
    assert site_key(url) is None


def test_default_scope_grows_with_add_seed() -> None:
    scope = make_scope(seeds=())
    assert scope.check("https://example.org/", 0) is Skip.OFFSITE
    scope.add_seed("https://example.org/")
    scope.add_seed("https://blog.example.net/")
    assert scope.check("https://example.org/", 0) is None
    assert scope.check("https://blog.example.net/post", 1) is None


def test_userinfo_does_not_fool_the_host_check() -> None:
    scope = make_scope()
    assert scope.check("https://example.org@evil.test/phish", 1) is Skip.OFFSITE
    assert scope.check("https://user:pw@example.org/private", 1) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://example.org/", None),
        ("https://docs.example.org/guide", None),
        ("http://a.b.example.org:8080/", None),
        ("https://DOCS.Example.Org./", None),
        ("https://badexample.org/", Skip.OFFSITE),
        ("https://example.org.evil.test/", Skip.OFFSITE),
        ("https://example.com/", Skip.OFFSITE),
        ("https://org/", Skip.OFFSITE),
    ],
)
def test_allow_domains_include_subdomains_not_lookalikes(url: str, reason: Skip | None) -> None:
    scope = make_scope(seeds=("https://unrelated.test/",), allow_domains=["example.org"])
    assert scope.check(url, 1) is reason


def test_allow_domains_replace_seed_hosts() -> None:
    scope = make_scope(seeds=("https://seed.test/",), allow_domains=["example.org"])
    assert scope.check("https://seed.test/other", 1) is Skip.OFFSITE


@pytest.mark.parametrize("spelling", [".example.org", "*.example.org", " Example.ORG. "])
def test_allow_domain_spellings(spelling: str) -> None:
    scope = make_scope(allow_domains=[spelling])
    assert scope.check("https://www.example.org/", 1) is None
    assert scope.check("https://example.org/", 1) is None


def test_deny_wins_over_allow_and_covers_subdomains() -> None:
    scope = make_scope(allow_domains=["example.org"], deny_domains=["shop.example.org"])
    assert scope.check("https://www.example.org/", 1) is None
    assert scope.check("https://shop.example.org/cart", 1) is Skip.DENIED_DOMAIN
    assert scope.check("https://eu.shop.example.org/", 1) is Skip.DENIED_DOMAIN
    assert scope.check("https://myshop.example.org/", 1) is None


def test_deny_wins_over_a_seed_host() -> None:
    scope = make_scope(deny_domains=["example.org"])
    assert scope.check("https://example.org/", 0) is Skip.DENIED_DOMAIN


def test_idna_allow_domain_matches_the_punycode_host() -> None:
    scope = make_scope(allow_domains=["bücher.de"])
    assert scope.check("http://xn--bcher-kva.de/", 1) is None
    assert scope.check("http://shop.xn--bcher-kva.de/", 1) is None
    assert scope.check("http://bücher.de/katalog", 1) is None
    assert scope.check("http://buecher.de/", 1) is Skip.OFFSITE


def test_idna_seed_host_matches_a_unicode_link() -> None:
    scope = make_scope(seeds=("http://xn--bcher-kva.de/",))
    assert scope.check("http://BÜCHER.de/katalog", 1) is None


def test_ipv6_literals() -> None:
    scope = make_scope(seeds=("http://[2001:db8::1]:8080/",))
    assert scope.check("http://[2001:DB8::1]:8080/page", 1) is None
    assert scope.check("http://[2001:db8:0:0::1]:8080/page", 1) is None
    assert scope.check("https://[2001:db8::1]:9000/page", 1) is Skip.OFFSITE
    assert scope.check("http://[2001:db8::2]/page", 1) is Skip.OFFSITE
    assert scope.check("http://[2001:db8::1/broken", 1) is Skip.OFFSITE

    allowed = make_scope(allow_domains=["[::1]"])
    assert allowed.check("http://[::1]:8000/", 1) is None


def test_an_allow_domain_without_a_port_allows_every_port() -> None:
    scope = make_scope(seeds=("http://127.0.0.1:8791/",), allow_domains=["127.0.0.1"])
    assert scope.check("http://127.0.0.1:8791/", 1) is None
    assert scope.check("http://127.0.0.1:8792/", 1) is None
    assert scope.check("http://127.0.0.2:8791/", 1) is Skip.OFFSITE


@pytest.mark.parametrize(
    ("allow", "url", "reason"),
    [
        ("example.org:8080", "http://example.org:8080/", None),
        ("example.org:8080", "https://docs.example.org:8080/", None),
        ("example.org:8080", "http://example.org/", Skip.OFFSITE),
        ("example.org:443", "https://example.org/", None),
        ("example.org:443", "http://example.org/", Skip.OFFSITE),
        ("127.0.0.1:8792", "http://127.0.0.1:8792/x", None),
        ("127.0.0.1:8792", "http://127.0.0.1:8791/x", Skip.OFFSITE),
        ("[::1]:8000", "http://[::1]:8000/", None),
        ("[::1]:8000", "http://[::1]:8001/", Skip.OFFSITE),
        ("::1", "http://[::1]:8001/", None),
    ],
)
def test_an_allow_domain_with_a_port_allows_that_port_only(
    allow: str, url: str, reason: Skip | None
) -> None:
    assert make_scope(allow_domains=[allow]).check(url, 1) is reason


def test_seed_sites_on_two_ports_are_both_in_scope() -> None:
    scope = make_scope(seeds=("http://127.0.0.1:8791/", "http://127.0.0.1:8792/"))
    assert scope.check("http://127.0.0.1:8791/a", 1) is None
    assert scope.check("http://127.0.0.1:8792/b", 1) is None
    assert scope.check("http://127.0.0.1:8793/c", 1) is Skip.OFFSITE


def test_a_deny_domain_with_a_port_keeps_off_that_port_only() -> None:
    scope = make_scope(allow_domains=["example.org"], deny_domains=["example.org:8080"])
    assert scope.check("http://example.org:8080/", 1) is Skip.DENIED_DOMAIN
    assert scope.check("http://example.org:8081/", 1) is None


@pytest.mark.parametrize(
    ("key", "value"),
    [("allow_domains", "example.org:http"), ("deny_domains", "example.org:70000")],
)
def test_a_domain_with_a_bad_port_is_a_config_error(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=rf"^scope\.{key}\[1\]: '{value}' is not a domain"):
        Scope.validate(ScopeSettings(**{key: ["example.org", value]}))


def test_ip_addresses_have_no_subdomains() -> None:
    scope = make_scope(allow_domains=["2.3"])
    assert scope.check("http://10.1.2.3/", 1) is Skip.OFFSITE


def test_url_without_host_is_offsite() -> None:
    assert make_scope().check("http:///path/only", 1) is Skip.OFFSITE


# -- depth, extensions, segments --------------------------------------------------------


def test_depth_limit_is_inclusive_and_none_is_unlimited() -> None:
    limited = make_scope(max_depth=2)
    assert limited.check("https://example.org/a", 2) is None
    assert limited.check("https://example.org/a", 3) is Skip.DEPTH
    assert make_scope(max_depth=None).check("https://example.org/a", 10_000) is None
    assert make_scope(max_depth=0).check("https://example.org/a", 1) is Skip.DEPTH


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://example.org/a/report.PDF", Skip.EXTENSION),
        ("https://example.org/a/photo.jpeg#top", Skip.EXTENSION),
        ("https://example.org/dl/archive.tar.gz", Skip.EXTENSION),
        ("https://example.org/file.pdf;jsessionid=ABC123", Skip.EXTENSION),
        ("https://example.org/a.b/c", None),
        ("https://example.org/view?file=report.pdf", None),
        ("https://example.org/docs/", None),
        ("https://example.org/page.html", None),
        ("https://example.org/.well-known", None),
    ],
)
def test_skip_extensions_look_at_the_last_segment_only(url: str, reason: Skip | None) -> None:
    assert make_scope().check(url, 1) is reason


def test_skip_extensions_are_configurable_and_case_insensitive() -> None:
    scope = make_scope(skip_extensions=[".PHP"])
    assert scope.check("https://example.org/index.php", 1) is Skip.EXTENSION
    assert scope.check("https://example.org/report.pdf", 1) is None


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/2024/01/01/happy-new-year/", None),
        ("/x/x/x/", None),
        ("/x/x/x/x/", Skip.REPEATED_SEGMENTS),
        ("/a/b/a/b/a/b/", None),
        ("/a/b/a/b/a/b/a/b", Skip.REPEATED_SEGMENTS),
        ("/shop/images/shop/images/shop/images/shop/images/item", Skip.REPEATED_SEGMENTS),
        ("/a//b///c////d", None),
    ],
)
def test_repeated_segments(path: str, reason: Skip | None) -> None:
    assert make_scope().check("https://example.org" + path, 1) is reason


def test_repeated_segment_limit_is_configurable() -> None:
    scope = make_scope(max_repeated_segments=1)
    assert scope.check("https://example.org/en/docs/", 1) is None
    assert scope.check("https://example.org/en/docs/en/", 1) is Skip.REPEATED_SEGMENTS


# -- query variants ----------------------------------------------------------------------


def test_calendar_trap_is_bounded() -> None:
    scope = make_scope(max_query_variants=200)
    urls = [f"https://example.org/cal?d={n}" for n in range(10_000)]
    results = [scope.check(url, 1) for url in urls]
    assert results.count(None) == 200
    assert results.count(Skip.QUERY_VARIANTS) == 9_800
    assert results[:200] == [None] * 200


def test_followed_variant_stays_followed_and_other_paths_have_their_own_budget() -> None:
    scope = make_scope(max_query_variants=3)
    for n in range(5):
        scope.check(f"https://example.org/cal?d={n}", 1)
    assert scope.check("https://example.org/cal?d=0", 1) is None
    assert scope.check("https://example.org/cal", 1) is None
    assert scope.check("https://example.org/events?d=9", 1) is None
    assert scope.check("https://docs.example.org/cal?d=9", 1) is Skip.OFFSITE


def test_rejected_url_does_not_use_a_variant_slot() -> None:
    scope = make_scope(max_query_variants=2, exclude=[r"sort=price"], max_depth=2)
    assert scope.check("https://example.org/list?sort=price", 1) is Skip.EXCLUDED
    assert scope.check("https://example.org/list?page=9", 3) is Skip.DEPTH
    assert scope.check("https://example.org/list?page=1", 1) is None
    assert scope.check("https://example.org/list?page=2", 1) is None
    assert scope.check("https://example.org/list?page=3", 1) is Skip.QUERY_VARIANTS


# -- configuration -----------------------------------------------------------------------


def test_bad_exclude_regex_names_the_key_path() -> None:
    settings = ScopeSettings(exclude=[r"/logout", r"/tag/(unclosed"])
    with pytest.raises(ConfigError, match=re.escape("scope.exclude[1]: not a valid regex: ")):
        Scope.validate(settings)
    with pytest.raises(ConfigError, match=re.escape("scope.exclude[1]:")):
        Scope(settings, [SEED])


def test_bad_include_regex_names_the_key_path() -> None:
    settings = ScopeSettings(include=["*.html"])
    with pytest.raises(ConfigError, match=re.escape("scope.include[0]: not a valid regex")):
        Scope.validate(settings)


def test_valid_settings_pass_validation() -> None:
    Scope.validate(ScopeSettings(include=[r"/blog/"], exclude=[r"\?print=1$"]))
