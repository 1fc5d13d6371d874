"""Tests for crawler.admission.robots: what robots.txt lets through, its failures, one fetch
per host."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from crawler.admission import RobotsCache, RobotsResponse, RobotsVerdict
from crawler.settings import FetchSettings, RobotsSettings

ALLOWED = RobotsVerdict.ALLOWED
DISALLOWED = RobotsVerdict.DISALLOWED

SITE = "https://site.test"
UA = "parcrawl/0.1.0"


def ok(text: str | bytes) -> RobotsResponse:
    return RobotsResponse(200, text.encode() if isinstance(text, str) else text)


class FakeFetch:
    """Answers robots.txt URLs from a script and records every URL asked for.

    Each URL's responses are used in turn, the last one repeating; unknown URLs get a 404.
    """

    def __init__(
        self, responses: dict[str, list[RobotsResponse]] | None = None, delay_s: float = 0.0
    ) -> None:
        self.responses = responses or {}
        self.delay_s = delay_s
        self.calls: list[str] = []

    async def __call__(self, url: str) -> RobotsResponse:
        self.calls.append(url)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        script = self.responses.get(url, [RobotsResponse(404, b"")])
        return script.pop(0) if len(script) > 1 else script[0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_cache(
    robots: str | bytes | RobotsResponse | list[RobotsResponse],
    *,
    user_agent: str = UA,
    clock: FakeClock | None = None,
    retry: FetchSettings | None = None,
    **settings: object,
) -> tuple[RobotsCache, FakeFetch]:
    """A cache whose only host, SITE, serves ``robots`` (a body means HTTP 200)."""
    if isinstance(robots, str | bytes):
        robots = ok(robots)
    script = robots if isinstance(robots, list) else [robots]
    fetch = FakeFetch({f"{SITE}/robots.txt": script})
    cache = RobotsCache(
        fetch,
        user_agent=user_agent,
        settings=RobotsSettings(**settings),  # type: ignore[arg-type]
        retry=retry,
        clock=clock or FakeClock(),
    )
    return cache, fetch


# -- rules ---------------------------------------------------------------------------


async def test_disallowed_path_is_refused_and_others_allowed() -> None:
    cache, _ = make_cache("User-agent: *\nDisallow: /private/\n")

    assert await cache.verdict(f"{SITE}/private/report.html") is not ALLOWED
    assert await cache.verdict(f"{SITE}/public/report.html") is ALLOWED
    assert await cache.verdict(f"{SITE}/") is ALLOWED


async def test_our_group_wins_over_star_and_star_applies_to_others() -> None:
    robots = (
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: parcrawl\nDisallow: /drafts/\n\n"
        "User-agent: otherbot\nAllow: /\n"
    )
    ours, _ = make_cache(robots)
    stranger, _ = make_cache(robots, user_agent="somebot/2.0 (+https://example.org)")

    assert await ours.verdict(f"{SITE}/article") is ALLOWED
    assert await ours.verdict(f"{SITE}/drafts/1") is not ALLOWED
    assert await stranger.verdict(f"{SITE}/article") is not ALLOWED


async def test_product_token_matches_case_insensitively() -> None:
    cache, _ = make_cache("User-agent: ParCrawl\nDisallow: /x\n", user_agent="parcrawl/9.9 (bot)")

    assert await cache.verdict(f"{SITE}/x") is not ALLOWED


async def test_longest_match_decides_between_allow_and_disallow() -> None:
    cache, _ = make_cache(
        "User-agent: *\nDisallow: /shop\nAllow: /shop/catalog\nDisallow: /shop/catalog/admin\n"
    )

    assert await cache.verdict(f"{SITE}/shop/cart") is not ALLOWED
    assert await cache.verdict(f"{SITE}/shop/catalog/shoes?page=2") is ALLOWED
    assert await cache.verdict(f"{SITE}/shop/catalog/admin/users") is not ALLOWED


async def test_wildcards_and_end_anchor() -> None:
    cache, _ = make_cache("User-agent: *\nDisallow: /*.pdf$\nDisallow: /*?sessionid=\n")

    assert await cache.verdict(f"{SITE}/docs/manual.pdf") is not ALLOWED
    assert await cache.verdict(f"{SITE}/docs/manual.pdf.html") is ALLOWED
    assert await cache.verdict(f"{SITE}/cart?sessionid=42") is not ALLOWED


async def test_robots_txt_itself_is_allowed_without_a_fetch() -> None:
    cache, fetch = make_cache("User-agent: *\nDisallow: /\n")

    assert await cache.verdict(f"{SITE}/robots.txt") is ALLOWED
    assert fetch.calls == []


async def test_byte_order_mark_does_not_hide_the_first_group() -> None:
    cache, _ = make_cache(b"\xef\xbb\xbfUser-agent: *\nDisallow: /private\n")

    assert await cache.verdict(f"{SITE}/private") is not ALLOWED


async def test_obey_false_allows_everything_without_fetching() -> None:
    cache, fetch = make_cache("User-agent: *\nDisallow: /\nCrawl-delay: 5\n", obey=False)

    assert await cache.verdict(f"{SITE}/anything") is ALLOWED
    assert await cache.crawl_delay_s(f"{SITE}/anything") is None
    assert fetch.calls == []


# -- unavailable and unreachable robots.txt --------------------------------------------


@pytest.mark.parametrize("status", [404, 403, 401, 410])
async def test_client_error_means_no_rules(status: int) -> None:
    cache, _ = make_cache(RobotsResponse(status, b"User-agent: *\nDisallow: /\n"))

    assert await cache.verdict(f"{SITE}/private/anything") is ALLOWED
    assert await cache.crawl_delay_s(f"{SITE}/") is None
    assert await cache.sitemaps(f"{SITE}/") == []


@pytest.mark.parametrize("status", [500, 503, 429, None])
async def test_server_or_network_error_refuses_the_host(status: int | None) -> None:
    cache, _ = make_cache(RobotsResponse(status, b""))

    assert await cache.verdict(f"{SITE}/") is not ALLOWED
    assert await cache.verdict(f"{SITE}/page") is not ALLOWED


async def test_server_error_is_retried_after_the_wait_and_then_obeyed() -> None:
    clock = FakeClock()
    cache, fetch = make_cache(
        [RobotsResponse(500, b"oops"), ok("User-agent: *\nDisallow: /private\n")],
        clock=clock,
        retry_after_error_s=60.0,
    )

    assert await cache.verdict(f"{SITE}/page") is not ALLOWED
    clock.now += 59.0
    assert await cache.verdict(f"{SITE}/page") is not ALLOWED
    assert len(fetch.calls) == 1

    clock.now += 1.0
    assert await cache.verdict(f"{SITE}/page") is ALLOWED
    assert await cache.verdict(f"{SITE}/private") is not ALLOWED
    clock.now += 3600.0
    assert await cache.verdict(f"{SITE}/page") is ALLOWED
    assert fetch.calls == [f"{SITE}/robots.txt"] * 2


REFUSED = RobotsResponse(None, b"", ("connect", "All connection attempts failed"))
TIMED_OUT = RobotsResponse(None, b"", ("timeout", "no response in 30 s"))
QUICK_RETRIES = FetchSettings(retries=2, retry_backoff_s=0.01)


async def test_a_refused_connection_is_retried_and_then_the_rules_obeyed() -> None:
    cache, fetch = make_cache(
        [REFUSED, TIMED_OUT, ok("User-agent: *\nDisallow: /private\n")], retry=QUICK_RETRIES
    )

    assert await cache.verdict(f"{SITE}/page") is ALLOWED
    assert await cache.verdict(f"{SITE}/private") is not ALLOWED
    assert fetch.calls == [f"{SITE}/robots.txt"] * 3


async def test_a_host_still_unreachable_after_the_retries_is_refused_with_the_last_error() -> None:
    cache, fetch = make_cache([REFUSED, REFUSED, TIMED_OUT, ok("")], retry=QUICK_RETRIES)

    assert await cache.verdict(f"{SITE}/page") is RobotsVerdict.UNAVAILABLE
    assert await cache.unavailable_reason(f"{SITE}/page") == TIMED_OUT.error
    assert fetch.calls == [f"{SITE}/robots.txt"] * 3  # the first attempt and 2 retries


@pytest.mark.parametrize(
    "response",
    [
        RobotsResponse(None, b"", ("dns", "Name or service not known")),
        RobotsResponse(503, b""),
    ],
    ids=["dns", "503"],
)
async def test_a_failure_pages_would_not_retry_is_not_retried(
    response: RobotsResponse,
) -> None:
    cache, fetch = make_cache([response, ok("")], retry=QUICK_RETRIES)

    assert await cache.verdict(f"{SITE}/page") is not ALLOWED
    assert len(fetch.calls) == 1


async def test_failure_is_logged_with_the_robots_url(caplog: pytest.LogCaptureFixture) -> None:
    cache, _ = make_cache(RobotsResponse(None, b""))

    with caplog.at_level(logging.INFO, logger="crawler.admission"):
        await cache.verdict(f"{SITE}/page")

    assert any(
        f"{SITE}/robots.txt" in record.getMessage() and "network error" in record.getMessage()
        for record in caplog.records
    )


async def test_fetch_that_raises_blocks_the_host_instead_of_crashing() -> None:
    calls: list[str] = []

    async def broken(url: str) -> RobotsResponse:
        calls.append(url)
        raise RuntimeError("bug in the fetcher")

    clock = FakeClock()
    cache = RobotsCache(broken, user_agent=UA, settings=RobotsSettings(), clock=clock)

    assert await cache.verdict(f"{SITE}/page") is not ALLOWED
    assert await cache.verdict(f"{SITE}/other") is not ALLOWED
    assert calls == [f"{SITE}/robots.txt"]


# -- Crawl-delay and Sitemap -------------------------------------------------------------


async def test_crawl_delay_is_read_for_our_agent() -> None:
    cache, _ = make_cache(
        "User-agent: *\nCrawl-delay: 10\n\nUser-agent: parcrawl\nCrawl-delay: 2.5\n"
    )

    assert await cache.crawl_delay_s(f"{SITE}/") == 2.5


async def test_crawl_delay_is_capped() -> None:
    cache, _ = make_cache("User-agent: *\nCrawl-delay: 3600\n", max_crawl_delay_s=30.0)

    assert await cache.crawl_delay_s(f"{SITE}/") == 30.0


@pytest.mark.parametrize(
    "robots", ["User-agent: *\nDisallow: /x\n", "User-agent: *\nCrawl-delay: soon\n"]
)
async def test_crawl_delay_absent_or_malformed_is_none(robots: str) -> None:
    cache, _ = make_cache(robots)

    assert await cache.crawl_delay_s(f"{SITE}/") is None


async def test_sitemaps_are_listed_as_absolute_urls() -> None:
    cache, _ = make_cache(
        "Sitemap: https://site.test/sitemap.xml\n"
        "User-agent: *\nDisallow: /tmp\n"
        "Sitemap: /news-sitemap.xml\n"
        "Sitemap: https://cdn.test/sitemaps/all.xml.gz\n"
        "Sitemap: https://site.test/sitemap.xml\n"
        "Sitemap: ftp://site.test/old.xml\n"
    )

    assert await cache.sitemaps(f"{SITE}/any/page") == [
        "https://site.test/sitemap.xml",
        "https://site.test/news-sitemap.xml",
        "https://cdn.test/sitemaps/all.xml.gz",
    ]


# -- one fetch per host ---------------------------------------------------------------


async def test_concurrent_callers_share_one_fetch() -> None:
    fetch = FakeFetch({f"{SITE}/robots.txt": [ok("User-agent: *\nDisallow: /private\n")]}, 0.05)
    cache = RobotsCache(fetch, user_agent=UA, settings=RobotsSettings())
    urls = [f"{SITE}/page/{i}" for i in range(10)] + [f"{SITE}/private/{i}" for i in range(10)]

    results = await asyncio.gather(*(cache.verdict(url) for url in urls))

    assert results == [ALLOWED] * 10 + [DISALLOWED] * 10
    assert fetch.calls == [f"{SITE}/robots.txt"]
    await cache.verdict(f"{SITE}/later")
    await cache.crawl_delay_s(f"{SITE}/later")
    await cache.sitemaps(f"{SITE}/later")
    assert fetch.calls == [f"{SITE}/robots.txt"]


async def test_a_cancelled_caller_does_not_cancel_the_shared_fetch() -> None:
    fetch = FakeFetch({f"{SITE}/robots.txt": [ok("User-agent: *\nDisallow: /private\n")]}, 0.05)
    cache = RobotsCache(fetch, user_agent=UA, settings=RobotsSettings())

    impatient = asyncio.create_task(cache.verdict(f"{SITE}/a"))
    patient = asyncio.create_task(cache.verdict(f"{SITE}/private"))
    await _until(lambda: bool(fetch.calls))  # both wait on the one fetch in flight
    impatient.cancel()

    assert await patient is DISALLOWED
    assert fetch.calls == [f"{SITE}/robots.txt"]


async def test_aclose_cancels_a_fetch_in_flight() -> None:
    fetch = FakeFetch({f"{SITE}/robots.txt": [ok("User-agent: *\nDisallow: /\n")]}, 10.0)
    cache = RobotsCache(fetch, user_agent=UA, settings=RobotsSettings())
    waiting = asyncio.create_task(cache.verdict(f"{SITE}/a"))
    await _until(lambda: bool(fetch.calls))  # the fetch is in flight

    await asyncio.wait_for(cache.aclose(), timeout=1.0)

    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_each_scheme_host_and_port_has_its_own_robots_txt() -> None:
    fetch = FakeFetch(
        {
            "https://site.test/robots.txt": [ok("User-agent: *\nDisallow: /\n")],
            "http://site.test/robots.txt": [ok("User-agent: *\nDisallow: /http-only\n")],
            "https://site.test:8443/robots.txt": [RobotsResponse(404, b"")],
        }
    )
    cache = RobotsCache(fetch, user_agent=UA, settings=RobotsSettings())

    assert await cache.verdict("https://site.test/page") is not ALLOWED
    # The same host, spelled out:
    assert await cache.verdict("https://SITE.test:443/other") is not ALLOWED
    assert await cache.verdict("http://site.test/page") is ALLOWED
    assert await cache.verdict("http://site.test/http-only") is not ALLOWED
    assert await cache.verdict("https://site.test:8443/page") is ALLOWED
    assert sorted(fetch.calls) == [
        "http://site.test/robots.txt",
        "https://site.test/robots.txt",
        "https://site.test:8443/robots.txt",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://site.test/a/b?c=d#e", "https://site.test/robots.txt"),
        ("HTTP://Site.Test:80/x", "http://site.test/robots.txt"),
        ("https://site.test:8443/x", "https://site.test:8443/robots.txt"),
        ("https://user:secret@site.test/x", "https://site.test/robots.txt"),
        ("http://bücher.example/x", "http://xn--bcher-kva.example/robots.txt"),
        ("http://[::1]:8080/x", "http://[::1]:8080/robots.txt"),
    ],
)
def test_robots_url(url: str, expected: str) -> None:
    cache, _ = make_cache("")

    assert cache.robots_url(url) == expected


# -- hostile bodies -------------------------------------------------------------------


async def test_oversized_body_is_cut_at_max_bytes() -> None:
    head = "User-agent: *\nDisallow: /early\n"
    padding = "# " + "x" * 4000 + "\n"
    cache, _ = make_cache(head + padding + "Disallow: /late\n", max_bytes=1024)

    assert await cache.verdict(f"{SITE}/early") is not ALLOWED
    assert await cache.verdict(f"{SITE}/late") is ALLOWED


async def test_cut_inside_a_multibyte_character_is_harmless() -> None:
    head = "User-agent: *\nDisallow: /early\n# "
    # An odd number of bytes before the cut puts it inside a two-byte "é".
    head += " " * ((1024 - len(head.encode()) + 1) % 2)
    body = head.encode() + "é".encode() * 2000
    with pytest.raises(UnicodeDecodeError):
        body[:1024].decode()
    cache, _ = make_cache(body, max_bytes=1024)

    assert await cache.verdict(f"{SITE}/early") is not ALLOWED
    assert await cache.verdict(f"{SITE}/elsewhere") is ALLOWED


async def test_binary_garbage_means_no_rules() -> None:
    junk = b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 16
    cache, _ = make_cache(junk)

    assert await cache.verdict(f"{SITE}/anything") is ALLOWED
    assert await cache.crawl_delay_s(f"{SITE}/") is None


async def _until(condition: Callable[[], bool], deadline_s: float = 30.0) -> None:
    """Poll ``condition`` under a deadline; fail if the situation under test never arose."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "the situation under test never arose"
        await asyncio.sleep(0.001)


async def test_only_the_hosts_asked_about_last_keep_their_robots_txt() -> None:
    fetch = FakeFetch()
    cache = RobotsCache(fetch, user_agent=UA, settings=RobotsSettings(), max_hosts=2)
    for host in ("a", "b", "a", "c"):  # a asked again: b is the one asked least recently
        await cache.verdict(f"https://{host}.test/page")
    await cache.verdict("https://a.test/other")  # kept: no second fetch
    await cache.verdict("https://b.test/other")  # forgotten: fetched again
    assert fetch.calls == [
        "https://a.test/robots.txt",
        "https://b.test/robots.txt",
        "https://c.test/robots.txt",
        "https://b.test/robots.txt",
    ]


async def test_robots_txt_kept_stay_bounded_over_many_hosts() -> None:
    fetch = FakeFetch()
    cache = RobotsCache(fetch, user_agent=UA, settings=RobotsSettings(), max_hosts=100)
    for n in range(2_000):
        assert await cache.verdict(f"https://h{n}.test/") == ALLOWED
    assert len(cache._hosts) == 100  # what the bound is about: what the cache holds
    await cache.aclose()
