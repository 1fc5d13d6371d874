"""The crawl's httpx transport: httpcore connection pools, direct or through a proxy, built
through httpcore's public API so that the address guard sees every connection it can.

Direct connections resolve and check the address at connect time (``GuardedBackend``); a
proxy resolves the target itself, so the target's name is resolved and checked here before
the request is handed to the proxy. TLS settings are ``crawler.fetch.tls``'s.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, NoReturn

import httpcore
import httpx

from crawler.admission import AddressGuard, GuardedBackend, resolve
from crawler.fetch.proxies import Proxy, ProxyRoutes

log = logging.getLogger(__name__)

VETTED_KEEP_S = 60.0
"""How long a host name checked before a proxied request stays approved."""
VETTED_MAX = 10_000
"""Approved names kept at most (a crawl of many hosts): past it, all are checked anew."""

_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
"""httpcore's exceptions and httpx's names for them, the most specific first."""


def _raise_as_httpx(exc: Exception, request: httpx.Request, prefix: str = "") -> NoReturn:
    """Raise ``exc`` under httpx's name for it (the fetcher knows httpx's), or as it is."""
    for source, target in _EXCEPTIONS:
        if isinstance(exc, source):
            raise target(prefix + (str(exc) or type(exc).__name__), request=request) from exc
    raise exc


class GuardedTransport(httpx.AsyncBaseTransport):
    """Sends each request directly or through its proxy (``ProxyRoutes``), the address
    guard holding either way.

    Args:
        ssl_context: verifies the servers crawled (and an https proxy).
        routes: which requests go through which proxy.
        guard: the address guard; None lets every address through (``allow_private``).
        pool: httpcore pool options (``max_connections``, ``http2``, ...).
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        routes: ProxyRoutes,
        guard: AddressGuard | None,
        **pool: Any,
    ) -> None:
        self._guard = guard
        self._routes = routes
        backend: httpcore.AsyncNetworkBackend | None = None
        if guard is not None:
            backend = GuardedBackend(httpcore.AnyIOBackend(), guard)
        self._direct = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=backend, **pool
        )
        self._proxied: dict[str, httpcore.AsyncHTTPProxy] = {}
        for proxy in {proxy.url: proxy for proxy in routes.by_scheme.values()}.values():
            # The proxy is the user's own choice: its address is not the guard's to judge.
            self._proxied[proxy.url] = httpcore.AsyncHTTPProxy(
                proxy_url=proxy.url,
                proxy_auth=proxy.auth,
                ssl_context=ssl_context,
                proxy_ssl_context=ssl_context if proxy.url.startswith("https:") else None,
                **pool,
            )
        self._vetted: dict[str, float] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        proxy = self._routes.proxy_for(url.scheme, url.host) if self._routes else None
        pool: httpcore.AsyncConnectionPool | httpcore.AsyncHTTPProxy = self._direct
        prefix = ""
        if proxy is not None:
            pool = self._proxied[proxy.url]
            prefix = f"proxy {proxy.url}: "
            await self._vet(url.host, url.port or (443 if url.scheme == "https" else 80), request)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,  # httpx's streams are both kinds
            extensions=request.extensions,
        )
        try:
            response = await pool.handle_async_request(core_request)
        except Exception as exc:
            connecting = isinstance(exc, httpcore.ConnectError | httpcore.ConnectTimeout)
            _raise_as_httpx(exc, request, prefix if connecting else "")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, request),
            extensions=response.extensions,
        )

    async def _vet(self, host: str, port: int, request: httpx.Request) -> None:
        """Resolve and check ``host`` before a proxy is asked to connect to it.

        A name the crawler cannot resolve itself is left to the proxy: on networks where
        only the proxy resolves names, that is every name.
        """
        guard = self._guard
        if guard is None or guard.allow_private:
            return
        now = time.monotonic()
        if self._vetted.get(host, 0.0) > now:
            return
        timeout = request.extensions.get("timeout", {}).get("connect")
        try:
            addresses = await resolve(host, port, timeout)
        except httpcore.ConnectTimeout as exc:
            _raise_as_httpx(exc, request)
        except httpcore.ConnectError:
            log.debug("%s does not resolve here: the proxy resolves it", host)
            return
        try:
            guard.pick(host, addresses)
        except httpcore.ConnectError as exc:
            _raise_as_httpx(exc, request)
        if len(self._vetted) >= VETTED_MAX:
            self._vetted.clear()  # a name checked again costs one lookup
        self._vetted[host] = now + VETTED_KEEP_S

    async def aclose(self) -> None:
        await self._direct.aclose()
        for pool in self._proxied.values():
            await pool.aclose()

    async def __aenter__(self) -> GuardedTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    """httpcore's response body as httpx reads it, its errors in httpx's names."""

    def __init__(self, stream: Any, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            _raise_as_httpx(exc, self._request)

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


def proxy_names(routes: ProxyRoutes) -> list[Proxy]:
    """The distinct proxies of ``routes``, for a log line (credentials left out)."""
    return list({proxy.url: proxy for proxy in routes.by_scheme.values()}.values())
