"""The fetcher's part in recrawls and archives: conditional headers on the first hop only,
304s kept out of parsing, and what it keeps of the wire when an archive asks (no more)."""

from __future__ import annotations

import httpx

from crawler.fetch import Fetcher
from crawler.models import FetchRequest, FetchResult
from crawler.settings import FetchSettings

SITE = "http://site.test"
HTML = "text/html; charset=utf-8"


def site(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new"})
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"', "Content-Type": HTML})
        return httpx.Response(200, content=b"<p>page</p>", headers={"Content-Type": HTML})

    return httpx.MockTransport(answer)


async def fetch(transport: httpx.MockTransport, url: str, **options: object) -> FetchResult:
    async with Fetcher(FetchSettings(), transport=transport, **options) as fetcher:  # type: ignore[arg-type]
        return await fetcher.fetch(FetchRequest(url))


async def test_a_recrawl_asks_conditionally_and_a_304_is_not_parsed() -> None:
    seen: list[httpx.Request] = []
    asked = {f"{SITE}/page": {"If-None-Match": '"v1"', "If-Modified-Since": "x"}}
    result = await fetch(site(seen), f"{SITE}/page", conditions=asked.get)
    assert seen[0].headers["if-none-match"] == '"v1"'
    assert result.status == 304
    assert result.failure is None
    assert not result.parseable
    assert result.exchanges == ()  # no archive asked for them


async def test_validators_go_with_the_requested_url_only_not_a_redirect_target() -> None:
    seen: list[httpx.Request] = []
    result = await fetch(
        site(seen), f"{SITE}/old", conditions=lambda url: {"If-None-Match": '"v1"'}
    )
    assert [request.url.path for request in seen] == ["/old", "/new"]
    assert "if-none-match" in seen[0].headers
    assert "if-none-match" not in seen[1].headers
    assert result.status == 200


async def test_a_plain_fetch_sends_no_conditions() -> None:
    seen: list[httpx.Request] = []
    await fetch(site(seen), f"{SITE}/page")
    assert "if-none-match" not in seen[0].headers
    assert "if-modified-since" not in seen[0].headers


async def test_captured_exchanges_hold_each_hop_without_credentials() -> None:
    seen: list[httpx.Request] = []
    async with Fetcher(FetchSettings(), transport=site(seen), capture=True) as fetcher:
        url = fetcher.take_credentials("http://user:secret@site.test/old")
        result = await fetcher.fetch(FetchRequest(url))
    assert "authorization" in seen[0].headers  # sent to the site...
    first, second = result.exchanges
    assert first.url == f"{SITE}/old"
    assert first.request_head.startswith(b"GET /old HTTP/1.1\r\n")
    assert b"authorization" not in first.request_head.lower()  # ...never archived
    assert first.response_head.startswith(b"HTTP/1.1 301 Moved Permanently\r\n")
    assert second.url == f"{SITE}/new"
    assert second.body == b"<p>page</p>"
    assert second.response_head.endswith(b"\r\n\r\n")
