"""The fetcher: one shared ``httpx.AsyncClient`` turning requests into ``FetchResult``s.

It never raises for a URL's own failure: DNS, refused connections, timeouts, TLS and HTTP
errors all come back as a result carrying a ``FetchFailure``. httpx exceptions stop here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import httpx

from crawler.admission import AddressGuard
from crawler.errors import BodyTooLarge, FetchError, InvalidUrl
from crawler.fetch.bodies import decoded_body
from crawler.fetch.client import build_client
from crawler.fetch.cookies import cookie_header
from crawler.fetch.exchange import Exchange, redirect_target
from crawler.fetch.failures import classify_httpx_error, internal_failure, log_internal
from crawler.fetch.passthrough import Relayed, relay
from crawler.frontier import Turn
from crawler.models import (
    FetchFailure,
    FetchRequest,
    FetchResult,
    media_type,
    utc_now,
)
from crawler.settings import FetchSettings
from crawler.settings.sites import Sites
from crawler.urls import ParamFilter, canonical_url, host_key, request_url, split_credentials

log = logging.getLogger(__name__)

RedirectCheck = Callable[[str], Awaitable[FetchFailure | None]]
"""Vets a redirect target before it is fetched: None to follow, or why not."""

Conditions = Callable[[str], dict[str, str] | None]
"""The conditional request headers for a URL (a recrawl's validators), or None."""

RequestGate = Callable[[str], Awaitable[Turn]]
"""Waits until a request to a URL's host may start (politeness); called before each hop,
whose turn is told when the request goes on the wire and closed after it."""

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]
"""httpcore's trace hook: awaited with each event of a request as it happens."""

SENT_EVENT = "send_request_headers.started"
"""The trace event (HTTP/1.1 and HTTP/2) of a request's head going on the wire."""


class Fetcher:
    """Fetches one URL at a time per call; many calls run concurrently on one client.

    Args:
        settings: timeouts, limits and the User-Agent.
        client: an ``httpx.AsyncClient`` to use instead of building one (tests); the
            caller then owns and closes it, and its proxies, TLS and address checks.
        transport: an httpx transport for the client this fetcher builds
            (``httpx.MockTransport`` in tests).
        conditions: the conditional headers (``If-None-Match``, ...) for a URL, or None;
            sent with a request's first hop only (a recrawl).
        capture: keep each hop's request and response as on the wire in the result's
            ``exchanges`` (a WARC archive). Off, a fetch does no extra work.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        conditions: Conditions | None = None,
        capture: bool = False,
    ) -> None:
        self._settings = settings
        self._conditions = conditions
        self._capture = capture
        self._max_bytes = settings.max_bytes
        self._accept = frozenset(media_type(kind) for kind in settings.accept_types)
        self._owns_client = client is None
        # Only a client of our own making connects through the address guard; an injected
        # client or transport (a proxy, a mock) decides where its connections go.
        self.address_guard = AddressGuard(allow_private=settings.allow_private)
        guard = self.address_guard if client is None and transport is None else None
        self._client = client or build_client(settings, transport=transport, guard=guard)
        self._credentials: dict[str, httpx.BasicAuth] = {}
        self._sites = Sites(settings.sites)
        self.strip_params = ParamFilter(settings.strip_params)
        """Drops the ``strip_params`` parameters from a URL entering the crawl."""

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client if this fetcher built it."""
        if self._owns_client:
            await self._client.aclose()

    async def fetch(
        self,
        request: FetchRequest,
        *,
        check_redirect: RedirectCheck | None = None,
        before_request: RequestGate | None = None,
    ) -> FetchResult:
        """Fetch ``request``; every failure is returned inside the result, never raised.

        Redirects are followed here, hop by hop, rather than by httpx, so that each target
        can be vetted by ``check_redirect`` (scope, robots.txt, already crawled) and loops
        are caught. ``before_request`` is awaited before every hop; its wait does not count
        against the timeout.
        """
        fetched_at = utc_now()
        started = time.perf_counter()
        exchange = Exchange(request.url, fetched_at)
        failure: FetchFailure | None = None
        try:
            async with asyncio.timeout(self._settings.timeout_s) as deadline:
                gate = _outside_deadline(before_request, deadline)
                await self._follow(exchange, check_redirect, gate)
        except FetchError as exc:
            failure = FetchFailure(exc.code, exc.message)
        except TimeoutError:
            limit = self._settings.timeout_s
            failure = FetchFailure("timeout", f"no complete response in {limit:g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = classify_httpx_error(exc, phase=exchange.phase)
        except Exception as exc:  # the boundary: a bad value in one response costs one record
            failure = internal_failure(exc)
            log_internal(request.url, failure)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        if failure is not None:
            log.info("fetch failed %s: %s %s", request.url, failure.code, failure.message)
        return FetchResult(
            request=request,
            final_url=exchange.url,
            status=exchange.status,
            headers=exchange.headers,
            content_type=exchange.content_type,
            body=exchange.body,
            size=exchange.size,
            elapsed_ms=elapsed_ms,
            fetched_at=fetched_at,
            failure=failure,
            body_kept=exchange.body_kept and failure is None,
            exchanges=tuple(exchange.wire) if exchange.wire else (),
            http_version=exchange.http_version,
            answer_ms=exchange.answer_ms,
        )

    async def fetch_resource(
        self,
        url: str,
        *,
        max_bytes: int,
        max_redirects: int = 5,
        before_request: RequestGate | None = None,
    ) -> tuple[int | None, bytes, FetchFailure | None]:
        """GET a small auxiliary file (robots.txt, a sitemap): its status, body and failure.

        Never raises: a network failure or timeout is status None with the failure; a
        redirect chain longer than ``max_redirects`` ends at the last redirect's status. A
        body over ``max_bytes`` is cut there (RFC 9309 asks to parse at least 500 KiB of
        robots.txt, not to fail). ``before_request`` is awaited before every hop, outside
        the timeout.
        """
        exchange = Exchange(url)  # only to name the phase of a timeout
        try:
            async with asyncio.timeout(self._settings.timeout_s) as deadline:
                gate = _outside_deadline(before_request, deadline)
                for _ in range(max_redirects + 1):
                    async with (
                        _on_the_wire(gate, url, exchange.trace) as trace,
                        self._client.stream(
                            "GET", url, extensions={"trace": trace}, **self._extras(url)
                        ) as response,
                    ):
                        target = redirect_target(response)
                        if target is None:
                            if response.status_code >= 400:
                                return response.status_code, b"", None
                            body = await decoded_body(response, max_bytes, keep_prefix=True)
                            return response.status_code, body, None
                        status = response.status_code
                    url = target
                return status, b"", None
        except FetchError as exc:
            failure = FetchFailure(exc.code, exc.message)
        except TimeoutError:
            failure = FetchFailure("timeout", f"no response in {self._settings.timeout_s:g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = classify_httpx_error(exc, phase=exchange.phase)
        except Exception as exc:  # the boundary, as in ``fetch``
            failure = internal_failure(exc)
            log_internal(url, failure)
        log.info("could not fetch %s: %s %s", url, failure.code, failure.message)
        return None, b"", failure

    async def passthrough(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        cookies: str | None = None,
        check_redirect: RedirectCheck | None = None,
    ) -> Relayed | FetchFailure:
        """Relay a rendering browser's request: the crawl's client, site rules and limits.

        ``cookies`` is the browser's ``Cookie`` header for it (a page's script may set
        cookies the site's API asks for): sent merged with the crawl's jar, never kept in it.
        The answer is the status, headers and decoded body (at most ``max_bytes``), or the
        failure; redirects are followed here, each target vetted by ``check_redirect``.
        Bounded by the fetch timeout; never raises for the request's own failure.
        """
        return await relay(
            self._client,
            method,
            url,
            headers=headers,
            body=body,
            extras=lambda target, browser: self._extras(target, browser_cookies=browser),
            max_bytes=self._max_bytes,
            timeout_s=self._settings.timeout_s,
            max_redirects=self._settings.max_redirects,
            vet=check_redirect,
            cookies=cookies or "",
        )

    async def _follow(
        self,
        exchange: Exchange,
        check_redirect: RedirectCheck | None,
        before_request: RequestGate | None = None,
    ) -> None:
        visited: set[str] | None = None  # canonical keys, made at the first redirect only
        conditions = self._conditions(exchange.url) if self._conditions is not None else None
        while True:
            url = exchange.url
            exchange.location = None
            try:
                async with (
                    _on_the_wire(before_request, url, exchange.trace) as trace,
                    self._client.stream(
                        "GET", url, extensions={"trace": trace}, **self._extras(url, conditions)
                    ) as response,
                ):
                    conditions = None  # the validators are the requested URL's only
                    exchange.saw(response)
                    target = redirect_target(response, self.strip_params)
                    if target is None:
                        if self._capture:
                            await self._read_captured(response, exchange)
                            return
                        exchange.body, exchange.size = await self._read(response, exchange.size)
                        exchange.body_kept = self._parseable(response, exchange)
                        return
                    if self._capture:
                        exchange.capture(response, b"", None if exchange.size == 0 else "unread")
            except (httpx.RemoteProtocolError, httpx.InvalidURL) as exc:
                if exchange.location is None or not _about_location(exc):
                    raise
                # httpx reads the Location of every redirect, followed or not, and fails
                # on one it cannot parse: that is this redirect's fault, not the network's.
                raise _bad_location(exchange.location, url, exc) from exc
            if visited is None:
                visited = {canonical_url(url)}
            if len(visited) > self._settings.max_redirects:
                limit = self._settings.max_redirects
                raise FetchError("too_many_redirects", f"more than {limit} redirects")
            key = canonical_url(target)
            if key in visited:
                raise FetchError("redirect_loop", f"redirect loop back to {target}")
            visited.add(key)
            exchange.url = target
            if check_redirect is not None and (refusal := await check_redirect(target)):
                raise FetchError(refusal.code, refusal.message)

    def _parseable(self, response: httpx.Response, exchange: Exchange) -> bool:
        # A 304 (a recrawl's page not modified) has no body: its record comes from the last run.
        return media_type(exchange.content_type) in self._accept and response.status_code != 304

    async def _read_captured(self, response: httpx.Response, exchange: Exchange) -> None:
        """``_read``, keeping the response as on the wire in ``exchange`` (for WARC)."""
        raw: list[bytes] = []
        truncated: str | None = None
        try:
            if response.status_code < 400 and media_type(exchange.content_type) in self._accept:
                try:
                    body = await decoded_body(response, self._max_bytes, raw=raw)
                except BodyTooLarge:
                    truncated = "length"
                    raise self._too_large() from None
                exchange.body, exchange.size = body, len(body)
            else:
                truncated = None if exchange.size == 0 else "unread"
                exchange.body, exchange.size = await self._read(response, exchange.size)
            exchange.body_kept = self._parseable(response, exchange)
        finally:
            exchange.capture(response, b"".join(raw), truncated)

    async def _read(
        self, response: httpx.Response, declared: int | None
    ) -> tuple[bytes, int | None]:
        """The body worth keeping and the response size; raises FetchError for HTTP errors.

        Only accepted media types (HTML by default) are read; for anything else the size
        is the declared length and nothing more is downloaded.
        """
        status = response.status_code
        if status >= 400:
            reason = f"HTTP {status} {response.reason_phrase}".strip()
            raise FetchError(f"http_{status // 100}xx", reason, status=status)
        if status == 304:
            # No body follows, but reading its end lets the connection be used again.
            await response.aread()
            return b"", 0
        if media_type(response.headers.get("content-type")) in self._accept:
            body = await self._read_body(response)
            return body, len(body)
        if declared is not None and declared > self._settings.max_bytes:
            raise self._too_large()
        return b"", declared

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The decoded body, never more than max_bytes of it, however it is compressed.

        The raw stream goes through our own bounded decoder: httpx's decoders have no
        output bound, and a stacked gzip bomb expands a 2 KB chunk to a gigabyte.
        """
        try:
            return await decoded_body(response, self._max_bytes, keep_prefix=False)
        except BodyTooLarge:
            raise self._too_large() from None

    def _too_large(self) -> FetchError:
        limit = self._settings.max_bytes
        return FetchError("too_large", f"body exceeds max_bytes ({limit} bytes)")

    def take_credentials(self, url: str) -> str:
        """``url`` without its ``user:password@``; they go only with requests to its origin.

        Called as a seed enters the crawl, so no record, log line or state file ever holds
        the password; requests to that scheme, host and port get it as Basic auth. The
        ``strip_params`` parameters are dropped here too: this is where a seed becomes the
        URL the crawl knows.
        """
        bare, credentials = split_credentials(self.strip_params(url))
        if credentials is not None:
            self._credentials[host_key(bare)] = httpx.BasicAuth(*credentials)
        return bare

    def _extras(
        self, url: str, conditions: dict[str, str] | None = None, *, browser_cookies: str = ""
    ) -> dict[str, Any]:
        """The ``auth`` and ``headers`` a request to ``url`` goes with: a seed's credentials
        for its origin, the ``sites`` rules matching it (their cookies and a rendering
        browser's with the site's own), and a recrawl's ``conditions``."""
        site = self._sites.extras(url)
        auth = self._credentials.get(host_key(url)) if self._credentials else None
        if auth is None and site.credentials is not None:
            auth = httpx.BasicAuth(*site.credentials)
        headers = {**site.headers, **conditions} if conditions else site.headers or None
        if site.cookies or browser_cookies:
            # httpx sends none of its jar with a request that has its own Cookie header
            jar = self._client.cookies.jar
            cookie = cookie_header(jar, url, site.cookies, browser_cookies)
            headers = {**(headers or {}), "Cookie": cookie}
        return {"auth": auth, "headers": headers}


def _outside_deadline(gate: RequestGate | None, deadline: asyncio.Timeout) -> RequestGate | None:
    """``gate``, with the time it waits added to ``deadline``: politeness is not slowness."""
    if gate is None:
        return None

    async def wait(url: str) -> Turn:
        loop = asyncio.get_running_loop()
        began, when = loop.time(), deadline.when()
        deadline.reschedule(None)  # a Crawl-delay may be as long as the whole timeout
        try:
            return await gate(url)
        finally:
            if when is not None:
                deadline.reschedule(when + loop.time() - began)

    return wait


@asynccontextmanager
async def _on_the_wire(gate: RequestGate | None, url: str, trace: Trace) -> AsyncIterator[Trace]:
    """Pass ``gate`` for one request to ``url``; the trace hook to send it with tells its
    turn when its head goes on the wire, and the turn is closed when the request is over.

    The host's delay counts from that moment, not from the gate: between the two a new
    connection is made, which on a busy machine took up to half a second. A transport that
    reports no such event (a mock) leaves the delay counted from the gate.
    """
    if gate is None:
        yield trace
        return
    turn = await gate(url)

    async def traced(event: str, info: dict[str, Any]) -> None:
        if event.endswith(SENT_EVENT):
            await turn.sent()
        await trace(event, info)

    try:
        yield traced
    finally:
        await turn.close()


def _about_location(exc: httpx.RemoteProtocolError | httpx.InvalidURL) -> bool:
    return isinstance(exc, httpx.InvalidURL) or "location" in str(exc).lower()


def _bad_location(location: str, base: str, exc: Exception) -> FetchError:
    try:
        request_url(location, base=base)
    except InvalidUrl as invalid:
        return FetchError("bad_redirect", f"unusable Location header: {invalid}")
    return FetchError("bad_redirect", f"unusable Location header: {exc}")
