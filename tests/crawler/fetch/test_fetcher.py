"""Tests for crawler.fetch.fetcher: results and failure codes for each kind of response, limits."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from crawler.fetch import Fetcher
from crawler.frontier import FETCHED, LocalFrontier, Outcome
from crawler.models import FetchFailure, FetchRequest, FetchResult
from crawler.settings import FetchSettings
from crawler.urls import host_key

SITE = "http://site.test"
HTML = "text/html; charset=utf-8"
PAGE = b"<html><head><title>Hi</title></head><body><p>Hello</p></body></html>"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


async def fetch(url: str, **settings: object) -> FetchResult:
    async with Fetcher(FetchSettings(**settings)) as fetcher:  # type: ignore[arg-type]
        return await fetcher.fetch(FetchRequest(url))


async def fetch_via(
    handler: httpx.MockTransport, url: str = f"{SITE}/", **settings: object
) -> FetchResult:
    async with Fetcher(FetchSettings(**settings), transport=handler) as fetcher:  # type: ignore[arg-type]
        return await fetcher.fetch(FetchRequest(url))


# -- successful pages ----------------------------------------------------------------


async def test_html_page_keeps_body_and_response_facts(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/page").respond(200, content=PAGE, headers={"Content-Type": HTML})
    before = datetime.now(UTC)

    result = await fetch(f"{SITE}/page")

    assert result.failure is None
    assert result.status == 200
    assert result.body == PAGE
    assert result.size == len(PAGE)
    assert result.content_type == HTML
    assert result.parseable
    assert result.final_url == f"{SITE}/page"
    assert result.request.url == f"{SITE}/page"
    assert result.header("content-type") == HTML
    assert result.elapsed_ms >= 0
    assert result.fetched_at.endswith("Z")
    fetched_at = datetime.fromisoformat(result.fetched_at)
    assert fetched_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= fetched_at <= datetime.now(UTC)


async def test_headers_are_plain_lower_case_pairs(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/").respond(
        200, content=PAGE, headers=[("Content-Type", HTML), ("X-Thing", "1"), ("X-Thing", "2")]
    )
    result = await fetch(f"{SITE}/")
    assert ("x-thing", "1") in result.headers
    assert ("x-thing", "2") in result.headers
    assert all(type(name) is str and type(value) is str for name, value in result.headers)


async def test_user_agent_names_parcrawl(router: respx.MockRouter) -> None:
    route = router.get(f"{SITE}/").respond(200, content=PAGE, headers={"Content-Type": HTML})
    await fetch(f"{SITE}/")
    assert "parcrawl" in route.calls.last.request.headers["user-agent"].lower()


async def test_user_agent_setting_is_sent(router: respx.MockRouter) -> None:
    route = router.get(f"{SITE}/").respond(200, content=PAGE, headers={"Content-Type": HTML})
    await fetch(f"{SITE}/", user_agent="mybot/2.0 (+https://example.org/bot)")
    assert route.calls.last.request.headers["user-agent"] == "mybot/2.0 (+https://example.org/bot)"


# -- HTTP errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(404, "http_4xx"), (410, "http_4xx"), (503, "http_5xx")]
)
async def test_http_error_status_is_a_failure(
    router: respx.MockRouter, status: int, code: str
) -> None:
    router.get(f"{SITE}/x").respond(
        status, content=b"<p>error page</p>", headers={"Content-Type": HTML}
    )

    result = await fetch(f"{SITE}/x")

    assert result.failure is not None
    assert result.failure.code == code
    assert str(status) in result.failure.message
    assert result.status == status
    assert result.body == b""
    assert not result.parseable


# -- redirects -----------------------------------------------------------------------


async def test_redirect_chain_records_final_url(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/old").respond(301, headers={"Location": f"{SITE}/newer"})
    router.get(f"{SITE}/newer").respond(302, headers={"Location": "/newest"})
    router.get(f"{SITE}/newest").respond(200, content=PAGE, headers={"Content-Type": HTML})

    result = await fetch(f"{SITE}/old")

    assert result.failure is None
    assert result.status == 200
    assert result.final_url == f"{SITE}/newest"
    assert result.request.url == f"{SITE}/old"
    assert result.body == PAGE


async def test_more_redirects_than_allowed_is_a_failure(router: respx.MockRouter) -> None:
    for n in range(5):
        router.get(f"{SITE}/r{n}").respond(302, headers={"Location": f"{SITE}/r{n + 1}"})
    router.get(f"{SITE}/r5").respond(200, content=PAGE, headers={"Content-Type": HTML})

    assert (await fetch(f"{SITE}/r0", max_redirects=5)).failure is None
    result = await fetch(f"{SITE}/r0", max_redirects=4)

    assert result.failure is not None
    assert result.failure.code == "too_many_redirects"


async def test_redirect_loop_is_detected_at_once(router: respx.MockRouter) -> None:
    first = router.get(f"{SITE}/a").respond(302, headers={"Location": f"{SITE}/b"})
    router.get(f"{SITE}/b").respond(302, headers={"Location": f"{SITE}/a#again"})
    result = await fetch(f"{SITE}/a")
    assert result.failure is not None
    assert result.failure.code == "redirect_loop"
    assert result.status == 302
    assert first.call_count == 1  # not fetched again before the loop was noticed


async def test_each_redirect_hop_is_vetted(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/a").respond(301, headers={"Location": "/b"})
    router.get(f"{SITE}/b").respond(302, headers={"Location": "http://elsewhere.test/c"})
    elsewhere = router.get("http://elsewhere.test/c").respond(200, html="<p>no</p>")
    vetted: list[str] = []

    async def only_same_site(target: str) -> FetchFailure | None:
        vetted.append(target)
        if target.startswith(SITE):
            return None
        return FetchFailure("out_of_scope", f"redirect to {target} leaves the site")

    async with Fetcher(FetchSettings()) as fetcher:
        result = await fetcher.fetch(FetchRequest(f"{SITE}/a"), check_redirect=only_same_site)
    assert vetted == [f"{SITE}/b", "http://elsewhere.test/c"]
    assert result.failure is not None
    assert result.failure.code == "out_of_scope"
    assert result.final_url == "http://elsewhere.test/c"
    assert not elsewhere.called


async def test_redirect_to_a_non_http_scheme_is_refused(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/a").respond(302, headers={"Location": "ftp://files.test/x"})
    result = await fetch(f"{SITE}/a")
    assert result.failure is not None
    assert result.failure.code == "bad_redirect"


# -- network errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connect"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "dns"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "dns"),
        (httpx.ConnectTimeout("timed out"), "timeout"),
        (httpx.ReadTimeout("timed out"), "timeout"),
        (httpx.ReadError("connection reset by peer"), "read"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "protocol"),
    ],
)
async def test_network_errors_become_failures(
    router: respx.MockRouter, error: Exception, code: str
) -> None:
    router.get(f"{SITE}/").mock(side_effect=error)

    result = await fetch(f"{SITE}/")

    assert result.failure is not None
    assert result.failure.code == code
    assert result.failure.message
    assert result.status is None
    assert result.body == b""
    assert result.final_url == f"{SITE}/"


async def test_total_timeout_cuts_off_slow_headers() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, content=PAGE, headers={"Content-Type": HTML})

    result = await fetch_via(httpx.MockTransport(handler), timeout_s=0.2)

    assert result.failure is not None
    assert result.failure.code == "timeout"
    assert result.elapsed_ms < 5000


async def test_total_timeout_cuts_off_a_trickling_body() -> None:
    # Each chunk arrives well inside any read timeout; only the total limit can stop it.
    async def trickle() -> AsyncIterator[bytes]:
        yield b"<html><body>"
        for _ in range(100):
            await asyncio.sleep(0.05)
            yield b"<p>more</p>"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle(), headers={"Content-Type": HTML})

    result = await fetch_via(httpx.MockTransport(handler), timeout_s=0.2)

    assert result.failure is not None
    assert result.failure.code == "timeout"
    assert result.body == b""


async def test_unsupported_scheme_is_a_failure() -> None:
    async with Fetcher(FetchSettings()) as fetcher:
        result = await fetcher.fetch(FetchRequest("ftp://site.test/file"))
    assert result.failure is not None
    assert result.failure.code == "invalid_url"


# -- size limits and non-HTML --------------------------------------------------------


async def test_html_body_larger_than_max_bytes_is_too_large(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/big").respond(200, content=b"x" * 2000, headers={"Content-Type": HTML})

    result = await fetch(f"{SITE}/big", max_bytes=1000)

    assert result.failure is not None
    assert result.failure.code == "too_large"
    assert result.body == b""


async def test_html_body_at_max_bytes_is_kept(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/exact").respond(200, content=b"x" * 1000, headers={"Content-Type": HTML})
    result = await fetch(f"{SITE}/exact", max_bytes=1000)
    assert result.failure is None
    assert result.size == 1000


async def test_streamed_html_without_length_is_limited_too() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"y" * 100

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"Content-Type": HTML})

    result = await fetch_via(httpx.MockTransport(handler), max_bytes=1000)

    assert result.failure is not None
    assert result.failure.code == "too_large"


async def test_non_html_keeps_no_body_but_declared_size(router: respx.MockRouter) -> None:
    pdf = b"%PDF-1.4 " + b"0" * 5000
    router.get(f"{SITE}/doc.pdf").respond(
        200, content=pdf, headers={"Content-Type": "application/pdf"}
    )

    result = await fetch(f"{SITE}/doc.pdf")

    assert result.failure is None
    assert result.status == 200
    assert result.body == b""
    assert result.size == len(pdf)
    assert result.content_type == "application/pdf"
    assert not result.parseable


async def test_non_html_without_content_length_is_not_downloaded() -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"z" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"Content-Type": "application/pdf"})

    result = await fetch_via(httpx.MockTransport(handler))

    assert result.header("content-length") is None
    assert result.failure is None
    assert result.body == b""
    assert result.size is None  # unknown, and not worth a megabyte of download to learn
    assert sent <= 1


async def test_accepted_types_are_configurable(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/feed").respond(
        200, content=b"<rss/>", headers={"Content-Type": "application/rss+xml"}
    )
    async with Fetcher(FetchSettings(accept_types=["application/rss+xml"])) as fetcher:
        result = await fetcher.fetch(FetchRequest(f"{SITE}/feed"))
    assert result.parseable
    assert result.body == b"<rss/>"


async def test_xhtml_is_kept_as_html(router: respx.MockRouter) -> None:
    router.get(f"{SITE}/x").respond(
        200, content=PAGE, headers={"Content-Type": "application/xhtml+xml"}
    )
    result = await fetch(f"{SITE}/x")
    assert result.parseable
    assert result.body == PAGE


# -- politeness through the frontier -------------------------------------------------


async def test_frontier_and_fetcher_keep_per_host_limit_under_load(
    router: respx.MockRouter,
) -> None:
    in_flight: Counter[str] = Counter()
    most: Counter[str] = Counter()
    served: Counter[str] = Counter()

    async def handler(request: httpx.Request) -> httpx.Response:
        key = host_key(str(request.url))
        in_flight[key] += 1
        most[key] = max(most[key], in_flight[key])
        try:
            await asyncio.sleep(0.01)
            served[str(request.url)] += 1
            return httpx.Response(200, content=PAGE, headers={"Content-Type": HTML})
        finally:
            in_flight[key] -= 1

    router.route(host="one.test").mock(side_effect=handler)
    frontier = LocalFrontier(per_host=3)
    urls = [f"http://one.test/page/{n}" for n in range(200)]
    for url in urls:
        assert frontier.add(FetchRequest(url))
    frontier.close_input()
    results: list[FetchResult] = []

    async with Fetcher(FetchSettings(concurrency=20, per_host=3)) as fetcher:

        async def worker() -> None:
            while (lease := await frontier.get()) is not None:
                try:
                    results.append(await fetcher.fetch(lease.request))
                finally:
                    await frontier.end(lease, FETCHED)
                    await frontier.done([Outcome(lease.request.url, 200, None)])

        async with asyncio.timeout(60), asyncio.TaskGroup() as group:
            for _ in range(20):
                group.create_task(worker())

    assert most["http://one.test:80"] == 3
    assert sorted(served) == sorted(urls)
    assert set(served.values()) == {1}
    assert len(results) == 200
    assert all(result.failure is None for result in results)


# -- credentials, the error boundary, Retry-After ----------------------------------------


async def test_credentials_go_only_to_the_origin_they_came_with() -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        if request.url.host == "site.test":
            return httpx.Response(302, headers={"Location": "http://other.test/x"})
        return httpx.Response(200, html="<title>other</title>")

    async with Fetcher(FetchSettings(), transport=httpx.MockTransport(handler)) as fetcher:
        url = fetcher.take_credentials("http://alice:s3cr3t@site.test/private")
        result = await fetcher.fetch(FetchRequest(url))

    assert url == "http://site.test/private"
    assert result.final_url == "http://other.test/x"
    [(first_url, first_auth), (second_url, second_auth)] = seen
    assert second_url == "http://other.test/x"
    assert first_url == url
    assert first_auth is not None
    assert first_auth.startswith("Basic ")
    assert second_auth is None


async def test_an_unexpected_error_is_the_result_s_internal_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise KeyError("surprise")

    result = await fetch_via(httpx.MockTransport(handler))
    assert result.failure == FetchFailure("internal", "KeyError: 'surprise'")


async def test_a_cancelled_fetch_is_not_swallowed() -> None:
    started = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(60)
        return httpx.Response(200)

    async with Fetcher(FetchSettings(), transport=httpx.MockTransport(handler)) as fetcher:
        task = asyncio.create_task(fetcher.fetch(FetchRequest(f"{SITE}/")))
        await asyncio.wait_for(started.wait(), timeout=30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_content_length_of_unicode_digits_is_ignored() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = [(b"Content-Type", b"application/pdf"), (b"Content-Length", "²".encode())]
        return httpx.Response(200, headers=headers)

    result = await fetch_via(httpx.MockTransport(handler))
    assert result.failure is None
    assert result.size is None
