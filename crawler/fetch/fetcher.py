"""The fetcher: one shared ``httpx.AsyncClient`` turning requests into ``FetchResult``s.

It never raises for a URL's own failure: DNS, refused connections, timeouts, TLS and HTTP
errors all come back as a result carrying a ``FetchFailure``. httpx exceptions stop here.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from http import cookiejar
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any

import httpx

from crawler.admission import PRIVATE_REFUSAL, AddressGuard, guarded_transport
from crawler.errors import BodyTooLarge, DecodeError, FetchError, InvalidUrl, UnsupportedEncoding
from crawler.fetch.decoding import BoundedDecoder, accept_encoding
from crawler.models import (
    FetchFailure,
    FetchRequest,
    FetchResult,
    Headers,
    WireExchange,
    media_type,
    utc_now,
)
from crawler.settings import FetchSettings
from crawler.urls import canonical_url, host_key, request_url, split_credentials

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

RedirectCheck = Callable[[str], Awaitable[FetchFailure | None]]
"""Vets a redirect target before it is fetched: None to follow, or why not."""

TIMEOUT_PHASES = {
    "connection.connect_tcp": "opening the TCP connection",
    "connection.start_tls": "the TLS handshake",
    "http11.send_request_headers": "sending the request",
    "http11.send_request_body": "sending the request",
    "http11.receive_response_headers": "waiting for the response headers",
    "http11.receive_response_body": "reading the response body",
    "http2.send_request_headers": "sending the request",
    "http2.receive_response_headers": "waiting for the response headers",
    "http2.receive_response_body": "reading the response body",
}
"""httpcore's trace events, by what the user would call that phase of a request."""

Conditions = Callable[[str], dict[str, str] | None]
"""The conditional request headers for a URL (a recrawl's validators), or None."""

RequestGate = Callable[[str], Awaitable[None]]
"""Waits until a request to a URL's host may start (politeness); called before each hop."""

DNS_FAILURE_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
)


class Fetcher:
    """Fetches one URL at a time per call; many calls run concurrently on one client.

    Args:
        settings: timeouts, limits and the User-Agent.
        client: an ``httpx.AsyncClient`` to use instead of building one (tests, custom
            proxies); the caller then owns and closes it.
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
        exchange = _Exchange(request.url, fetched_at)
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
        exchange = _Exchange(url)  # only to name the phase of a timeout
        try:
            async with asyncio.timeout(self._settings.timeout_s) as deadline:
                gate = _outside_deadline(before_request, deadline)
                for _ in range(max_redirects + 1):
                    if gate is not None:
                        await gate(url)
                    async with self._client.stream(
                        "GET", url, auth=self._auth(url), extensions={"trace": exchange.trace}
                    ) as response:
                        target = _redirect_target(response)
                        if target is None:
                            if response.status_code >= 400:
                                return response.status_code, b"", None
                            body = await _decoded_body(response, max_bytes, keep_prefix=True)
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

    async def _follow(
        self,
        exchange: _Exchange,
        check_redirect: RedirectCheck | None,
        before_request: RequestGate | None = None,
    ) -> None:
        visited: set[str] | None = None  # canonical keys, made at the first redirect only
        conditions = self._conditions(exchange.url) if self._conditions is not None else None
        while True:
            if before_request is not None:
                await before_request(exchange.url)
            url = exchange.url
            extensions = {"trace": exchange.trace}
            exchange.location = None
            try:
                async with self._client.stream(
                    "GET", url, auth=self._auth(url), extensions=extensions, headers=conditions
                ) as response:
                    conditions = None  # the validators are the requested URL's only
                    exchange.saw(response)
                    target = _redirect_target(response)
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

    def _parseable(self, response: httpx.Response, exchange: _Exchange) -> bool:
        # A 304 (a recrawl's page not modified) has no body: its record comes from the last run.
        return media_type(exchange.content_type) in self._accept and response.status_code != 304

    async def _read_captured(self, response: httpx.Response, exchange: _Exchange) -> None:
        """``_read``, keeping the response as on the wire in ``exchange`` (for WARC)."""
        raw: list[bytes] = []
        truncated: str | None = None
        try:
            if response.status_code < 400 and media_type(exchange.content_type) in self._accept:
                try:
                    body = await _decoded_body(response, self._max_bytes, raw=raw)
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
            return await _decoded_body(response, self._max_bytes, keep_prefix=False)
        except BodyTooLarge:
            raise self._too_large() from None

    def _too_large(self) -> FetchError:
        limit = self._settings.max_bytes
        return FetchError("too_large", f"body exceeds max_bytes ({limit} bytes)")

    def take_credentials(self, url: str) -> str:
        """``url`` without its ``user:password@``; they go only with requests to its origin.

        Called as a seed enters the crawl, so no record, log line or state file ever holds
        the password; requests to that scheme, host and port get it as Basic auth.
        """
        bare, credentials = split_credentials(url)
        if credentials is not None:
            self._credentials[host_key(bare)] = httpx.BasicAuth(*credentials)
        return bare

    def _auth(self, url: str) -> httpx.BasicAuth | None:
        if not self._credentials:
            return None
        return self._credentials.get(host_key(url))


# The standard library's own port rule for cookies (not in its type stubs).
_REQUEST_PORT: Callable[[urllib.request.Request], str] = getattr(cookiejar, "request_port")  # noqa: B009


class OriginCookiePolicy(DefaultCookiePolicy):
    """Cookies go back only to the host and port that set them.

    The standard rules match cookies by domain and ignore ports, so one shared client
    would hand a cookie set by one site to another service on the same host.
    """

    def set_ok(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        if not super().set_ok(cookie, request):
            return False
        if not all(part.isascii() for part in (cookie.name, cookie.value or "", cookie.path)):
            return False  # it could never be sent back: a header is ASCII
        cookie.port = _REQUEST_PORT(request)
        cookie.port_specified = True
        return True


class _Exchange:
    """What is known so far about one fetch, hop by hop, for the record even if it fails."""

    def __init__(self, url: str, started_at: str = "") -> None:
        self.url = url
        self.started_at = started_at
        self.status: int | None = None
        self.headers: Headers = ()
        self.content_type: str | None = None
        self.body = b""
        self.size: int | None = None
        self.body_kept = False
        self.phase: str | None = None
        self.location: str | None = None
        self.wire: list[WireExchange] | None = None  # only when an archive asks

    def capture(self, response: httpx.Response, body: bytes, truncated: str | None) -> None:
        """Keep this hop's request and response as they went over the wire (for WARC)."""
        if self.wire is None:
            self.wire = []
        self.wire.append(
            WireExchange(
                str(response.request.url),
                self.started_at,
                _request_head(response),
                _response_head(response),
                body,
                truncated,
            )
        )
        self.started_at = utc_now()

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: the phase a request is in (to name a timeout), and a
        redirect's raw Location (httpx raises on a bad one before handing the response)."""
        if event.endswith(".started"):
            self.phase = event.removesuffix(".started")
        elif event.endswith("receive_response_headers.complete"):
            _, status, _, headers = info.get("return_value", (None, None, None, ()))
            if status in REDIRECT_STATUSES:
                self.status = status
                for name, value in headers:
                    if name.lower() == b"location":
                        self.location = value.decode("latin-1")

    def saw(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = _plain_headers(response.headers)
        self.content_type = response.headers.get("content-type")
        self.size = _declared_length(response.headers)


def _outside_deadline(gate: RequestGate | None, deadline: asyncio.Timeout) -> RequestGate | None:
    """``gate``, with the time it waits added to ``deadline``: politeness is not slowness."""
    if gate is None:
        return None

    async def wait(url: str) -> None:
        loop = asyncio.get_running_loop()
        began, when = loop.time(), deadline.when()
        deadline.reschedule(None)  # a Crawl-delay may be as long as the whole timeout
        try:
            await gate(url)
        finally:
            if when is not None:
                deadline.reschedule(when + loop.time() - began)

    return wait


def _redirect_target(response: httpx.Response) -> str | None:
    """The absolute URL a redirect points to, or None when ``response`` is no redirect."""
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location", "").strip()
    if not location:
        return None
    try:
        return request_url(location, base=str(response.url))
    except InvalidUrl as exc:
        raise FetchError("bad_redirect", f"unusable Location header: {exc}") from exc


def _about_location(exc: httpx.RemoteProtocolError | httpx.InvalidURL) -> bool:
    return isinstance(exc, httpx.InvalidURL) or "location" in str(exc).lower()


def _bad_location(location: str, base: str, exc: Exception) -> FetchError:
    try:
        request_url(location, base=base)
    except InvalidUrl as invalid:
        return FetchError("bad_redirect", f"unusable Location header: {invalid}")
    return FetchError("bad_redirect", f"unusable Location header: {exc}")


def _decoder_for(response: httpx.Response, max_bytes: int) -> BoundedDecoder:
    # A mock transport hands over the whole body, already decoded by httpx: only count it.
    encoding = None if response.is_stream_consumed else response.headers.get("content-encoding")
    return BoundedDecoder(encoding, max_bytes)


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as sent (still content-encoded, unless a mock decoded it), chunk by chunk."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


async def _decoded_body(
    response: httpx.Response,
    max_bytes: int,
    *,
    keep_prefix: bool = False,
    raw: list[bytes] | None = None,
) -> bytes:
    """The body, decoded by our bounded decoder: never more than ``max_bytes`` of it.

    ``raw`` collects the chunks as received (still content-encoded), for an archive.

    Over the limit it raises ``BodyTooLarge``, or, with ``keep_prefix``, stops reading and
    returns what it decoded so far (robots.txt and sitemaps are cut, not failed).

    Raises:
        FetchError: ``decode`` for a corrupt or unknown content encoding.
    """
    chunks: list[bytes] = []
    try:
        decoder = _decoder_for(response, max_bytes)
        async for chunk in _raw_chunks(response):
            if raw is not None:
                raw.append(chunk)
            chunks.append(decoder.feed(chunk))
        chunks.append(decoder.flush())
    except BodyTooLarge as exc:
        if not keep_prefix:
            raise
        chunks.append(exc.partial)
    except (DecodeError, UnsupportedEncoding) as exc:
        raise FetchError("decode", f"cannot decode the body: {exc}") from exc
    return b"".join(chunks)[:max_bytes]


def build_client(
    settings: FetchSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    guard: AddressGuard | None = None,
) -> httpx.AsyncClient:
    """The shared client: pooled keep-alive connections sized to the crawl's concurrency.

    Without an injected ``transport``, connections go through ``guard`` (no private
    addresses from public seeds).
    """
    timeout = httpx.Timeout(
        connect=settings.connect_timeout_s,
        read=settings.read_timeout_s,
        write=settings.read_timeout_s,
        pool=settings.timeout_s,
    )
    limits = httpx.Limits(
        max_connections=settings.concurrency,
        max_keepalive_connections=settings.concurrency,
    )
    if transport is None and guard is not None:
        transport = guarded_transport(guard, limits=limits)
    return httpx.AsyncClient(
        cookies=CookieJar(policy=OriginCookiePolicy()),
        follow_redirects=False,  # the fetcher follows them itself, vetting each hop
        timeout=timeout,
        limits=limits,
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": accept_encoding()},
        transport=transport,
    )


def classify_httpx_error(
    exc: httpx.HTTPError | httpx.InvalidURL, *, phase: str | None = None
) -> FetchFailure:
    """Map an httpx exception to a stable failure code and a short message.

    ``phase`` (an httpcore trace event name) says what a timeout interrupted: httpx raises
    a bare ``ConnectTimeout`` for the TCP connect and the TLS handshake alike.
    """
    message = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        if phase in TIMEOUT_PHASES:
            message = f"timed out during {TIMEOUT_PHASES[phase]}" + (f": {exc}" if str(exc) else "")
        return FetchFailure("timeout", message)
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchFailure("too_many_redirects", message)
    if isinstance(exc, httpx.ConnectError):
        lowered = message.lower()
        if PRIVATE_REFUSAL in lowered:
            return FetchFailure("private_address", message)
        if any(hint in lowered for hint in DNS_FAILURE_HINTS):
            return FetchFailure("dns", message)
        if _caused_by_ssl(exc) or "ssl" in lowered or "certificate" in lowered:
            return FetchFailure("tls", message)
        return FetchFailure("connect", message)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FetchFailure("invalid_url", message)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return FetchFailure("protocol", message)
    if isinstance(exc, httpx.DecodingError):
        return FetchFailure("decode", message)
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return FetchFailure("read", message)
    return FetchFailure("network", message)


def log_internal(url: str, failure: FetchFailure) -> None:
    """One warning line for the user; the traceback only in a debug log (``-v``)."""
    log.warning("unexpected error with %s: %s", url, failure.message)
    log.debug("traceback of the error with %s", url, exc_info=True)


def internal_failure(exc: Exception) -> FetchFailure:
    """The record of an unexpected error: its type and first line, never a traceback."""
    first_line = (str(exc).strip().splitlines() or [""])[0][:300]
    return FetchFailure("internal", f"{type(exc).__name__}: {first_line}".rstrip(": "))


def _caused_by_ssl(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


ARCHIVE_DROPPED_HEADERS = frozenset({b"authorization", b"proxy-authorization"})
"""Request headers an archive never keeps: a seed's password stays out of every file."""


def _request_head(response: httpx.Response) -> bytes:
    """The request line and headers as sent, credentials left out."""
    request = response.request
    lines = [b"%s %s %s" % (request.method.encode(), request.url.raw_path, _version(response))]
    lines += [
        name + b": " + value
        for name, value in request.headers.raw
        if name.lower() not in ARCHIVE_DROPPED_HEADERS
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _response_head(response: httpx.Response) -> bytes:
    """The status line and headers as received.

    The body is kept without its transfer coding (chunks), so a ``Transfer-Encoding``
    header is kept under the name replay tools know, ``X-Archive-Orig-Transfer-Encoding``.
    """
    status = b"%s %d %s" % (
        _version(response),
        response.status_code,
        response.reason_phrase.encode("latin-1", "replace"),
    )
    lines = [status.rstrip()]
    for name, value in response.headers.raw:
        kept = b"X-Archive-Orig-Transfer-Encoding" if name.lower() == b"transfer-encoding" else name
        lines.append(kept + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _version(response: httpx.Response) -> bytes:
    return (response.http_version or "HTTP/1.1").encode("ascii", "replace")


def _plain_headers(headers: httpx.Headers) -> Headers:
    return tuple((name.lower(), value) for name, value in headers.multi_items())


def _declared_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length")
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() is true, int("²") fails
        return None
    return int(text)
