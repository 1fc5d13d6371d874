"""The crawl's one shared ``httpx.AsyncClient``: pooled connections, cookies kept per origin.

It builds the client; requests, redirects and failures are the fetcher's.
"""

from __future__ import annotations

import logging
from http.cookiejar import CookieJar

import httpx

from crawler.admission import AddressGuard
from crawler.fetch.cookies import OriginCookiePolicy
from crawler.fetch.decoding import accept_encoding
from crawler.fetch.proxies import ProxyRoutes
from crawler.fetch.tls import ssl_context
from crawler.fetch.transport import GuardedTransport, proxy_names
from crawler.settings import FetchSettings

log = logging.getLogger(__name__)

KEEPALIVE_S = 5.0
"""How long an idle connection is kept (httpx's own default)."""


def build_client(
    settings: FetchSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    guard: AddressGuard | None = None,
) -> httpx.AsyncClient:
    """The shared client: pooled keep-alive connections sized to the crawl's concurrency.

    Without an injected ``transport``, connections go through ``guard`` (no private
    addresses from public seeds), directly or through the proxy the settings or the
    environment name, with the settings' TLS trust and HTTP/2.

    Raises:
        ConfigError: a proxy, CA file or HTTP/2 setting that cannot work.
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
        routes = ProxyRoutes.from_settings(settings)
        for proxy in proxy_names(routes):
            log.info("requests go through the proxy %s", proxy.url)
        transport = GuardedTransport(
            ssl_context(settings),
            routes,
            guard,
            max_connections=settings.concurrency,
            max_keepalive_connections=settings.concurrency,
            keepalive_expiry=KEEPALIVE_S,
            http2=settings.http2,
        )
    return httpx.AsyncClient(
        cookies=CookieJar(policy=OriginCookiePolicy()),
        follow_redirects=False,  # the fetcher follows them itself, vetting each hop
        timeout=timeout,
        limits=limits,
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": accept_encoding()},
        transport=transport,
    )
