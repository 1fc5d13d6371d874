"""Every record says which protocol answered; HTTP/2's trace events are read as HTTP/1.1's."""

from __future__ import annotations

import httpx

from crawler.fetch import Fetcher
from crawler.fetch.exchange import Exchange
from crawler.models import FetchFailure, FetchRequest, FetchResult, record_from
from crawler.settings import FetchSettings


async def test_a_record_says_which_protocol_answered():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<title>t</title>", extensions={"http_version": b"HTTP/2"})

    async with Fetcher(FetchSettings(), transport=httpx.MockTransport(answer)) as fetcher:
        result = await fetcher.fetch(FetchRequest("https://example.org/"))
    assert result.http_version == "HTTP/2"
    assert record_from(result)["http_version"] == "HTTP/2"


def test_a_url_that_got_no_response_has_no_protocol():
    result = FetchResult.unfetched(FetchRequest("https://example.org/"), FetchFailure("dns", "x"))
    assert record_from(result)["http_version"] is None


async def test_an_http2_redirect_is_seen_in_its_trace_as_an_http11_one():
    for returned in [
        (b"HTTP/1.1", 302, b"Found", [(b"Location", b"/next")]),
        (302, [(b"location", b"/next")]),  # HTTP/2: status and headers only
    ]:
        exchange = Exchange("https://example.org/")
        await exchange.trace("http2.receive_response_headers.complete", {"return_value": returned})
        assert exchange.status == 302
        assert exchange.location == "/next"
